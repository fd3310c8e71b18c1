// SPDX-License-Identifier: Apache-2.0
// struct vaccel_arg / struct vaccel_arg_array and the deprecated arg list.
//
// These are value helpers over C structs that programs own, so they use
// malloc/free (C callers free what they receive) and never throw. Every
// function validates before it writes: a failed call leaves the array, its
// cursor and the caller's out-parameters as they were.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vaccel/arg.h>
#include <vaccel/error.h>

namespace
{

constexpr size_t kDefaultCapacity = 8;

enum class Kind { Variable, Scalar, Array, Invalid };

struct TypeInfo {
	Kind kind;
	size_t elem;  // element size of numeric types
	bool boolean; // values must be 0 or 1
};

constexpr TypeInfo type_info(vaccel_arg_type_t type) noexcept
{
	switch (type) {
#define VACCEL_ARG_TYPE_INFO_(NAME, CTYPE, TAG, ARRAY_TAG)                     \
	case TAG:                                                              \
		return {Kind::Scalar, sizeof(CTYPE), TAG == VACCEL_ARG_BOOL};  \
	case ARRAY_TAG:                                                        \
		return {Kind::Array, sizeof(CTYPE),                            \
			ARRAY_TAG == VACCEL_ARG_BOOL_ARRAY};
		VACCEL_ARG_NUMERIC_TYPES(VACCEL_ARG_TYPE_INFO_)
#undef VACCEL_ARG_TYPE_INFO_
	case VACCEL_ARG_RAW:
	case VACCEL_ARG_STRING:
	case VACCEL_ARG_BUFFER:
	case VACCEL_ARG_CUSTOM:
		return {Kind::Variable, 0, false};
	default:
		return {Kind::Invalid, 0, false};
	}
}

// Bytes are inspected as unsigned char: reading a bool object that holds
// anything but 0 or 1 is undefined behaviour.
bool bytes_are_bools(const void *buf, size_t size) noexcept
{
	const auto *p = static_cast<const unsigned char *>(buf);
	for (size_t i = 0; i < size; ++i)
		if (p[i] > 1)
			return false;
	return true;
}

// True if @p buf / @p size is a well-formed value of a built-in @p type.
// RAW and CUSTOM carry no built-in rules.
bool well_formed(vaccel_arg_type_t type, const void *buf, size_t size) noexcept
{
	const TypeInfo info = type_info(type);
	switch (info.kind) {
	case Kind::Invalid:
		return false;
	case Kind::Variable:
		if (type == VACCEL_ARG_RAW || type == VACCEL_ARG_CUSTOM)
			return true;
		if (buf == nullptr || size == 0)
			return false;
		return type != VACCEL_ARG_STRING ||
		       static_cast<const char *>(buf)[size - 1] == '\0';
	case Kind::Scalar:
		if (buf == nullptr || size != info.elem)
			return false;
		break;
	case Kind::Array:
		if (buf == nullptr || size == 0 || size % info.elem != 0)
			return false;
		break;
	}
	return !info.boolean || bytes_are_bools(buf, size);
}

void set_arg(vaccel_arg *arg, void *buf, size_t size, vaccel_arg_type_t type,
	     uint32_t custom_id, bool owned) noexcept
{
	arg->buf = buf;
	arg->size = size;
	arg->type = type;
	arg->custom_type_id = custom_id;
	arg->owned = owned;
}

// Make room for @p extra more args. Only arrays we allocated can grow.
int reserve(vaccel_arg_array *array, size_t extra) noexcept
{
	if (extra > SIZE_MAX - array->count)
		return VACCEL_ENOMEM;
	const size_t needed = array->count + extra;
	if (needed <= array->capacity && array->args != nullptr)
		return VACCEL_OK;
	if (!array->owned)
		return VACCEL_ERANGE;

	size_t cap = array->capacity < kDefaultCapacity ? kDefaultCapacity
							: array->capacity;
	while (cap < needed) {
		if (cap > SIZE_MAX / 2)
			return VACCEL_ENOMEM;
		cap *= 2;
	}
	if (cap > SIZE_MAX / sizeof(vaccel_arg))
		return VACCEL_ENOMEM;
	void *p = std::realloc(array->args, cap * sizeof(vaccel_arg));
	if (p == nullptr)
		return VACCEL_ENOMEM;
	array->args = static_cast<vaccel_arg *>(p);
	array->capacity = cap;
	return VACCEL_OK;
}

// Append after validating; @p owned buffers are not freed on failure (the
// caller decides).
int append(vaccel_arg_array *array, void *buf, size_t size,
	   vaccel_arg_type_t type, uint32_t custom_id, bool owned) noexcept
{
	if (array == nullptr)
		return VACCEL_EINVAL;
	if (!well_formed(type, buf, size))
		return VACCEL_EINVAL;
	if (int rc = reserve(array, 1); rc != VACCEL_OK)
		return rc;
	set_arg(&array->args[array->count], buf, size, type, custom_id, owned);
	array->count++;
	return VACCEL_OK;
}

// The arg at the cursor, if any.
int current(vaccel_arg_array *array, vaccel_arg **out) noexcept
{
	if (array == nullptr)
		return VACCEL_EINVAL;
	if (array->position >= array->count)
		return VACCEL_ERANGE;
	if (array->args == nullptr)
		return VACCEL_EINVAL;
	*out = &array->args[array->position];
	return VACCEL_OK;
}

// The arg at the cursor if it carries @p type (and is well-formed).
int current_of(vaccel_arg_array *array, vaccel_arg_type_t type,
	       vaccel_arg **out) noexcept
{
	vaccel_arg *arg = nullptr;
	if (int rc = current(array, &arg); rc != VACCEL_OK)
		return rc;
	if (arg->type != type || !well_formed(type, arg->buf, arg->size))
		return VACCEL_EINVAL;
	*out = arg;
	return VACCEL_OK;
}

template <class T, vaccel_arg_type_t Tag>
int add_value(vaccel_arg_array *array, T *value) noexcept
{
	if (array == nullptr || value == nullptr)
		return VACCEL_EINVAL;
	return append(array, value, sizeof(T), Tag, 0, false);
}

template <class T, vaccel_arg_type_t Tag>
int add_values(vaccel_arg_array *array, T *values, size_t count) noexcept
{
	if (array == nullptr || values == nullptr || count == 0 ||
	    count > SIZE_MAX / sizeof(T))
		return VACCEL_EINVAL;
	return append(array, values, count * sizeof(T), Tag, 0, false);
}

template <class T, vaccel_arg_type_t Tag>
int get_value(vaccel_arg_array *array, T *value) noexcept
{
	if (value == nullptr)
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, Tag, &arg); rc != VACCEL_OK)
		return rc;
	std::memcpy(value, arg->buf, sizeof(T));
	array->position++;
	return VACCEL_OK;
}

template <class T, vaccel_arg_type_t Tag>
int get_values(vaccel_arg_array *array, T **values, size_t *count) noexcept
{
	if (values == nullptr)
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, Tag, &arg); rc != VACCEL_OK)
		return rc;
	*values = static_cast<T *>(arg->buf);
	if (count != nullptr)
		*count = arg->size / sizeof(T);
	array->position++;
	return VACCEL_OK;
}

template <class T, vaccel_arg_type_t Tag>
int set_value(vaccel_arg_array *array, T *value) noexcept
{
	if (value == nullptr)
		return VACCEL_EINVAL;
	if (!well_formed(Tag, value, sizeof(T)))
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, Tag, &arg); rc != VACCEL_OK)
		return rc;
	std::memcpy(arg->buf, value, sizeof(T));
	array->position++;
	return VACCEL_OK;
}

template <class T, vaccel_arg_type_t Tag>
int set_values(vaccel_arg_array *array, T *values, size_t count) noexcept
{
	if (values == nullptr || count > SIZE_MAX / sizeof(T))
		return VACCEL_EINVAL;
	const size_t size = count * sizeof(T);
	if (type_info(Tag).boolean && !bytes_are_bools(values, size))
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, Tag, &arg); rc != VACCEL_OK)
		return rc;
	if (arg->size < size)
		return VACCEL_EINVAL;
	std::memcpy(arg->buf, values, size);
	array->position++;
	return VACCEL_OK;
}

// Fill @p dst from @p src, copying the bytes if asked.
int copy_arg(const vaccel_arg &src, vaccel_arg *dst, bool copy) noexcept
{
	if (!copy || src.buf == nullptr || src.size == 0) {
		set_arg(dst, src.buf, src.size, src.type, src.custom_type_id,
			false);
		return VACCEL_OK;
	}
	void *buf = std::malloc(src.size);
	if (buf == nullptr)
		return VACCEL_ENOMEM;
	std::memcpy(buf, src.buf, src.size);
	set_arg(dst, buf, src.size, src.type, src.custom_type_id, true);
	return VACCEL_OK;
}

// The next free slot of @p args, or nullptr when the list is full/bad.
vaccel_arg *next_slot(vaccel_arg_list *args) noexcept
{
	if (args->list == nullptr || args->idcs_allocated_space == nullptr ||
	    args->curr_idx < 0 ||
	    static_cast<uint32_t>(args->curr_idx) >= args->size)
		return nullptr;
	return &args->list[args->curr_idx];
}

void fill_slot(vaccel_arg_list *args, void *buf, uint32_t size,
	       vaccel_arg_type_t type, uint32_t id, bool ours) noexcept
{
	set_arg(&args->list[args->curr_idx], buf, size, type, id, false);
	args->idcs_allocated_space[args->curr_idx] = ours ? 1 : 0;
	args->curr_idx++;
}

int list_add_borrowed(vaccel_arg_list *args, void *buf, uint32_t size) noexcept
{
	if (args == nullptr || buf == nullptr || size == 0 ||
	    next_slot(args) == nullptr)
		return VACCEL_EINVAL;
	fill_slot(args, buf, size, VACCEL_ARG_RAW, 0, false);
	return VACCEL_OK;
}

} // namespace

extern "C" {

/* ---- single args ------------------------------------------------------- */

int vaccel_arg_init(struct vaccel_arg *arg, const void *buf, size_t size,
		    vaccel_arg_type_t type, uint32_t custom_id)
{
	if (arg == nullptr || (buf != nullptr && size == 0))
		return VACCEL_EINVAL;
	void *copy = nullptr;
	if (size > 0) {
		copy = std::malloc(size);
		if (copy == nullptr)
			return VACCEL_ENOMEM;
		if (buf != nullptr)
			std::memcpy(copy, buf, size);
		else
			std::memset(copy, 0, size);
	}
	set_arg(arg, copy, size, type, custom_id, true);
	return VACCEL_OK;
}

int vaccel_arg_init_from_buf(struct vaccel_arg *arg, void *buf, size_t size,
			     vaccel_arg_type_t type, uint32_t custom_id)
{
	if (arg == nullptr || (buf == nullptr) != (size == 0))
		return VACCEL_EINVAL;
	set_arg(arg, buf, size, type, custom_id, false);
	return VACCEL_OK;
}

int vaccel_arg_release(struct vaccel_arg *arg)
{
	if (arg == nullptr)
		return VACCEL_EINVAL;
	if (arg->owned)
		std::free(arg->buf);
	set_arg(arg, nullptr, 0, VACCEL_ARG_MAX, 0, false);
	return VACCEL_OK;
}

int vaccel_arg_new(struct vaccel_arg **arg, const void *buf, size_t size,
		   vaccel_arg_type_t type, uint32_t custom_id)
{
	if (arg == nullptr)
		return VACCEL_EINVAL;
	auto *a = static_cast<vaccel_arg *>(std::malloc(sizeof(vaccel_arg)));
	if (a == nullptr)
		return VACCEL_ENOMEM;
	if (int rc = vaccel_arg_init(a, buf, size, type, custom_id);
	    rc != VACCEL_OK) {
		std::free(a);
		return rc;
	}
	*arg = a;
	return VACCEL_OK;
}

int vaccel_arg_from_buf(struct vaccel_arg **arg, void *buf, size_t size,
			vaccel_arg_type_t type, uint32_t custom_id)
{
	if (arg == nullptr)
		return VACCEL_EINVAL;
	auto *a = static_cast<vaccel_arg *>(std::malloc(sizeof(vaccel_arg)));
	if (a == nullptr)
		return VACCEL_ENOMEM;
	if (int rc = vaccel_arg_init_from_buf(a, buf, size, type, custom_id);
	    rc != VACCEL_OK) {
		std::free(a);
		return rc;
	}
	*arg = a;
	return VACCEL_OK;
}

int vaccel_arg_delete(struct vaccel_arg *arg)
{
	if (int rc = vaccel_arg_release(arg); rc != VACCEL_OK)
		return rc;
	std::free(arg);
	return VACCEL_OK;
}

/* ---- array lifecycle --------------------------------------------------- */

int vaccel_arg_array_init(struct vaccel_arg_array *array,
			  size_t initial_capacity)
{
	if (array == nullptr)
		return VACCEL_EINVAL;
	const size_t cap =
	    initial_capacity > 0 ? initial_capacity : kDefaultCapacity;
	void *args = std::calloc(cap, sizeof(vaccel_arg));
	if (args == nullptr)
		return VACCEL_ENOMEM;
	array->args = static_cast<vaccel_arg *>(args);
	array->count = 0;
	array->capacity = cap;
	array->position = 0;
	array->owned = true;
	return VACCEL_OK;
}

int vaccel_arg_array_release(struct vaccel_arg_array *array)
{
	if (array == nullptr || array->args == nullptr)
		return VACCEL_EINVAL;
	if (array->owned) {
		for (size_t i = 0; i < array->count; ++i)
			vaccel_arg_release(&array->args[i]);
		std::free(array->args);
	}
	array->args = nullptr;
	array->count = 0;
	array->capacity = 0;
	array->position = 0;
	array->owned = false;
	return VACCEL_OK;
}

int vaccel_arg_array_new(struct vaccel_arg_array **array,
			 size_t initial_capacity)
{
	if (array == nullptr)
		return VACCEL_EINVAL;
	auto *a = static_cast<vaccel_arg_array *>(
	    std::malloc(sizeof(vaccel_arg_array)));
	if (a == nullptr)
		return VACCEL_ENOMEM;
	if (int rc = vaccel_arg_array_init(a, initial_capacity);
	    rc != VACCEL_OK) {
		std::free(a);
		return rc;
	}
	*array = a;
	return VACCEL_OK;
}

int vaccel_arg_array_delete(struct vaccel_arg_array *array)
{
	if (int rc = vaccel_arg_array_release(array); rc != VACCEL_OK)
		return rc;
	std::free(array);
	return VACCEL_OK;
}

int vaccel_arg_array_wrap(struct vaccel_arg_array *array,
			  struct vaccel_arg *args, size_t count)
{
	if (array == nullptr || (args == nullptr && count > 0))
		return VACCEL_EINVAL;
	array->args = args;
	array->count = count;
	array->capacity = count;
	array->position = 0;
	array->owned = false;
	return VACCEL_OK;
}

void vaccel_arg_array_clear(struct vaccel_arg_array *array)
{
	if (array == nullptr || array->args == nullptr)
		return;
	for (size_t i = 0; i < array->count; ++i)
		vaccel_arg_release(&array->args[i]);
	array->count = 0;
	array->position = 0;
}

/* ---- add ------------------------------------------------------------------
 */

int vaccel_arg_array_add_raw(struct vaccel_arg_array *array, void *buf,
			     size_t size)
{
	if (array == nullptr || (buf == nullptr) != (size == 0))
		return VACCEL_EINVAL;
	return append(array, buf, size, VACCEL_ARG_RAW, 0, false);
}

int vaccel_arg_array_add_string(struct vaccel_arg_array *array, char *str)
{
	if (array == nullptr || str == nullptr)
		return VACCEL_EINVAL;
	return append(array, str, std::strlen(str) + 1, VACCEL_ARG_STRING, 0,
		      false);
}

int vaccel_arg_array_add_buffer(struct vaccel_arg_array *array, void *buf,
				size_t size)
{
	return append(array, buf, size, VACCEL_ARG_BUFFER, 0, false);
}

int vaccel_arg_array_add_custom(struct vaccel_arg_array *array,
				uint32_t custom_id, void *buf, size_t size,
				vaccel_arg_type_validator_fn validator)
{
	if (array == nullptr || validator == nullptr)
		return VACCEL_EINVAL;
	if (!validator(buf, size, custom_id))
		return VACCEL_EINVAL;
	return append(array, buf, size, VACCEL_ARG_CUSTOM, custom_id, false);
}

int vaccel_arg_array_add_serialized(struct vaccel_arg_array *array,
				    vaccel_arg_type_t type, uint32_t custom_id,
				    const void *data, size_t data_size,
				    vaccel_arg_serializer_fn serializer)
{
	if (array == nullptr || serializer == nullptr ||
	    type_info(type).kind == Kind::Invalid)
		return VACCEL_EINVAL;
	void *buf = nullptr;
	size_t size = 0;
	if (int rc = serializer(data, data_size, custom_id, &buf, &size);
	    rc != VACCEL_OK)
		return rc;
	int rc = append(array, buf, size, type, custom_id, true);
	if (rc != VACCEL_OK)
		std::free(buf);
	return rc;
}

int vaccel_arg_array_add_range(struct vaccel_arg_array *dest,
			       const struct vaccel_arg_array *src,
			       size_t start_idx, size_t count, bool copy)
{
	if (dest == nullptr || src == nullptr)
		return VACCEL_EINVAL;
	if (start_idx >= src->count || count > src->count - start_idx)
		return VACCEL_ERANGE;
	if (count == 0)
		return VACCEL_OK;
	if (src->args == nullptr)
		return VACCEL_EINVAL;
	if (int rc = reserve(dest, count); rc != VACCEL_OK)
		return rc;

	// src->args is read only after reserve(): dest may be src.
	for (size_t i = 0; i < count; ++i) {
		int rc = copy_arg(src->args[start_idx + i],
				  &dest->args[dest->count + i], copy);
		if (rc == VACCEL_OK)
			continue;
		for (size_t j = 0; j < i; ++j)
			vaccel_arg_release(&dest->args[dest->count + j]);
		return rc;
	}
	dest->count += count;
	return VACCEL_OK;
}

int vaccel_arg_array_add_remaining(struct vaccel_arg_array *dest,
				   const struct vaccel_arg_array *src,
				   bool copy)
{
	if (dest == nullptr || src == nullptr)
		return VACCEL_EINVAL;
	if (src->position >= src->count)
		return VACCEL_OK;
	return vaccel_arg_array_add_range(dest, src, src->position,
					  src->count - src->position, copy);
}

int vaccel_arg_array_add_all(struct vaccel_arg_array *dest,
			     const struct vaccel_arg_array *src, bool copy)
{
	if (dest == nullptr || src == nullptr)
		return VACCEL_EINVAL;
	if (src->count == 0)
		return VACCEL_OK;
	return vaccel_arg_array_add_range(dest, src, 0, src->count, copy);
}

/* ---- get ------------------------------------------------------------------
 */

int vaccel_arg_array_get_raw(struct vaccel_arg_array *array, void **buf,
			     size_t *size)
{
	if (buf == nullptr || size == nullptr)
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, VACCEL_ARG_RAW, &arg); rc != VACCEL_OK)
		return rc;
	*buf = arg->buf;
	*size = arg->size;
	array->position++;
	return VACCEL_OK;
}

int vaccel_arg_array_get_string(struct vaccel_arg_array *array, char **str)
{
	if (str == nullptr)
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, VACCEL_ARG_STRING, &arg);
	    rc != VACCEL_OK)
		return rc;
	*str = static_cast<char *>(arg->buf);
	array->position++;
	return VACCEL_OK;
}

int vaccel_arg_array_get_buffer(struct vaccel_arg_array *array, void **buf,
				size_t *size)
{
	if (buf == nullptr || size == nullptr)
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, VACCEL_ARG_BUFFER, &arg);
	    rc != VACCEL_OK)
		return rc;
	*buf = arg->buf;
	*size = arg->size;
	array->position++;
	return VACCEL_OK;
}

int vaccel_arg_array_get_custom(struct vaccel_arg_array *array,
				uint32_t expected_id, void **buf, size_t *size,
				vaccel_arg_type_validator_fn validator)
{
	if (validator == nullptr || buf == nullptr)
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, VACCEL_ARG_CUSTOM, &arg);
	    rc != VACCEL_OK)
		return rc;
	if (arg->custom_type_id != expected_id ||
	    !validator(arg->buf, arg->size, arg->custom_type_id))
		return VACCEL_EINVAL;
	*buf = arg->buf;
	if (size != nullptr)
		*size = arg->size;
	array->position++;
	return VACCEL_OK;
}

int vaccel_arg_array_get_serialized(struct vaccel_arg_array *array,
				    vaccel_arg_type_t expected_type,
				    uint32_t expected_custom_id, void *data,
				    size_t expected_size,
				    vaccel_arg_deserializer_fn deserializer)
{
	if (data == nullptr || deserializer == nullptr)
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, expected_type, &arg); rc != VACCEL_OK)
		return rc;
	uint32_t id = 0;
	if (arg->type == VACCEL_ARG_CUSTOM) {
		if (arg->custom_type_id != expected_custom_id)
			return VACCEL_EINVAL;
		id = expected_custom_id;
	}
	if (int rc = deserializer(arg->buf, arg->size, id, expected_size, data);
	    rc != VACCEL_OK)
		return rc;
	array->position++;
	return VACCEL_OK;
}

/* ---- set ------------------------------------------------------------------
 */

int vaccel_arg_array_set_raw(struct vaccel_arg_array *array, void *buf,
			     size_t size)
{
	if ((buf == nullptr) != (size == 0))
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, VACCEL_ARG_RAW, &arg); rc != VACCEL_OK)
		return rc;
	if (size == 0) {
		// Nothing to write: only an empty output arg matches.
		if (arg->size != 0)
			return VACCEL_EINVAL;
	} else {
		if (arg->buf == nullptr || arg->size < size)
			return VACCEL_EINVAL;
		std::memcpy(arg->buf, buf, size);
	}
	array->position++;
	return VACCEL_OK;
}

int vaccel_arg_array_set_string(struct vaccel_arg_array *array, char *str)
{
	if (str == nullptr)
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, VACCEL_ARG_STRING, &arg);
	    rc != VACCEL_OK)
		return rc;
	const size_t len = std::strlen(str);
	if (len >= arg->size)
		return VACCEL_EINVAL;
	// Zero the tail so the arg stays NUL-terminated within its size.
	std::memcpy(arg->buf, str, len);
	std::memset(static_cast<char *>(arg->buf) + len, 0, arg->size - len);
	array->position++;
	return VACCEL_OK;
}

int vaccel_arg_array_set_buffer(struct vaccel_arg_array *array, void *buf,
				size_t size)
{
	if (buf == nullptr || size == 0)
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, VACCEL_ARG_BUFFER, &arg);
	    rc != VACCEL_OK)
		return rc;
	if (arg->size < size)
		return VACCEL_EINVAL;
	std::memcpy(arg->buf, buf, size);
	array->position++;
	return VACCEL_OK;
}

int vaccel_arg_array_set_custom(struct vaccel_arg_array *array,
				uint32_t expected_id, void *buf, size_t size,
				vaccel_arg_type_validator_fn validator)
{
	if (validator == nullptr || (buf == nullptr && size > 0))
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, VACCEL_ARG_CUSTOM, &arg);
	    rc != VACCEL_OK)
		return rc;
	if (arg->custom_type_id != expected_id || arg->size != size ||
	    (size > 0 && arg->buf == nullptr))
		return VACCEL_EINVAL;
	if (!validator(buf, size, expected_id))
		return VACCEL_EINVAL;
	if (size > 0)
		std::memcpy(arg->buf, buf, size);
	array->position++;
	return VACCEL_OK;
}

int vaccel_arg_array_set_serialized(struct vaccel_arg_array *array,
				    vaccel_arg_type_t expected_type,
				    uint32_t expected_custom_id, void *data,
				    size_t data_size,
				    vaccel_arg_serializer_fn serializer)
{
	if (data == nullptr || serializer == nullptr)
		return VACCEL_EINVAL;
	vaccel_arg *arg = nullptr;
	if (int rc = current_of(array, expected_type, &arg); rc != VACCEL_OK)
		return rc;
	uint32_t id = 0;
	if (arg->type == VACCEL_ARG_CUSTOM) {
		if (arg->custom_type_id != expected_custom_id)
			return VACCEL_EINVAL;
		id = expected_custom_id;
	}
	void *buf = nullptr;
	size_t size = 0;
	if (int rc = serializer(data, data_size, id, &buf, &size);
	    rc != VACCEL_OK)
		return rc;
	int rc = VACCEL_OK;
	if (size != arg->size ||
	    (size > 0 && (buf == nullptr || arg->buf == nullptr)))
		rc = VACCEL_EINVAL;
	else if (size > 0)
		std::memcpy(arg->buf, buf, size);
	std::free(buf);
	if (rc == VACCEL_OK)
		array->position++;
	return rc;
}

/* ---- typed add/get/set, one set of six per numeric type ------------------ */

#define VACCEL_ARG_DEFINE_TYPED_(NAME, CTYPE, TAG, ARRAY_TAG)                  \
	int vaccel_arg_array_add_##NAME(struct vaccel_arg_array *array,        \
					CTYPE *value)                          \
	{                                                                      \
		return add_value<CTYPE, TAG>(array, value);                    \
	}                                                                      \
	int vaccel_arg_array_add_##NAME##_array(                               \
	    struct vaccel_arg_array *array, CTYPE *values, size_t count)       \
	{                                                                      \
		return add_values<CTYPE, ARRAY_TAG>(array, values, count);     \
	}                                                                      \
	int vaccel_arg_array_get_##NAME(struct vaccel_arg_array *array,        \
					CTYPE *value)                          \
	{                                                                      \
		return get_value<CTYPE, TAG>(array, value);                    \
	}                                                                      \
	int vaccel_arg_array_get_##NAME##_array(                               \
	    struct vaccel_arg_array *array, CTYPE **values, size_t *count)     \
	{                                                                      \
		return get_values<CTYPE, ARRAY_TAG>(array, values, count);     \
	}                                                                      \
	int vaccel_arg_array_set_##NAME(struct vaccel_arg_array *array,        \
					CTYPE *value)                          \
	{                                                                      \
		return set_value<CTYPE, TAG>(array, value);                    \
	}                                                                      \
	int vaccel_arg_array_set_##NAME##_array(                               \
	    struct vaccel_arg_array *array, CTYPE *values, size_t count)       \
	{                                                                      \
		return set_values<CTYPE, ARRAY_TAG>(array, values, count);     \
	}

VACCEL_ARG_NUMERIC_TYPES(VACCEL_ARG_DEFINE_TYPED_)
#undef VACCEL_ARG_DEFINE_TYPED_

/* ---- cursor and accessors ------------------------------------------------ */

int vaccel_arg_array_get_remaining(struct vaccel_arg_array *array,
				   struct vaccel_arg **args, size_t *count)
{
	if (array == nullptr || args == nullptr || count == nullptr)
		return VACCEL_EINVAL;
	if (array->position >= array->count || array->args == nullptr) {
		*args = nullptr;
		*count = 0;
		return VACCEL_OK;
	}
	*args = &array->args[array->position];
	*count = array->count - array->position;
	return VACCEL_OK;
}

size_t vaccel_arg_array_remaining_count(const struct vaccel_arg_array *array)
{
	if (array == nullptr || array->position >= array->count)
		return 0;
	return array->count - array->position;
}

size_t vaccel_arg_array_position(const struct vaccel_arg_array *array)
{
	return array != nullptr ? array->position : 0;
}

void vaccel_arg_array_set_position(struct vaccel_arg_array *array,
				   size_t position)
{
	if (array != nullptr)
		array->position =
		    position > array->count ? array->count : position;
}

void vaccel_arg_array_reset_position(struct vaccel_arg_array *array)
{
	if (array != nullptr)
		array->position = 0;
}

size_t vaccel_arg_array_count(const struct vaccel_arg_array *array)
{
	return array != nullptr ? array->count : 0;
}

struct vaccel_arg *vaccel_arg_array_raw(struct vaccel_arg_array *array)
{
	return array != nullptr ? array->args : nullptr;
}

/* ---- deprecated arg list --------------------------------------------------
 * Kept with the old semantics, minus their memory errors: the ownership
 * flags start zeroed, and writes never overrun the destination slot. */

struct vaccel_arg_list *vaccel_args_init(uint32_t size)
{
	if (size == 0)
		return nullptr;
	auto *list = static_cast<vaccel_arg_list *>(
	    std::malloc(sizeof(vaccel_arg_list)));
	if (list == nullptr)
		return nullptr;
	list->list =
	    static_cast<vaccel_arg *>(std::calloc(size, sizeof(vaccel_arg)));
	list->idcs_allocated_space =
	    static_cast<int *>(std::calloc(size, sizeof(int)));
	if (list->list == nullptr || list->idcs_allocated_space == nullptr) {
		std::free(list->list);
		std::free(list->idcs_allocated_space);
		std::free(list);
		return nullptr;
	}
	list->size = size;
	list->curr_idx = 0;
	return list;
}

int vaccel_add_serial_arg(struct vaccel_arg_list *args, void *buf,
			  uint32_t size)
{
	return list_add_borrowed(args, buf, size);
}

int vaccel_add_nonserial_arg(struct vaccel_arg_list *args, void *buf,
			     uint32_t type,
			     void *(*serializer)(void *, uint32_t *))
{
	if (args == nullptr || buf == nullptr || serializer == nullptr ||
	    next_slot(args) == nullptr)
		return VACCEL_EINVAL;
	uint32_t bytes = 0;
	void *ser = serializer(buf, &bytes);
	if (ser == nullptr || bytes == 0) {
		std::free(ser);
		return VACCEL_EINVAL;
	}
	fill_slot(args, ser, bytes, VACCEL_ARG_CUSTOM, type, true);
	return VACCEL_OK;
}

int vaccel_expect_serial_arg(struct vaccel_arg_list *args, void *buf,
			     uint32_t size)
{
	return list_add_borrowed(args, buf, size);
}

int vaccel_expect_nonserial_arg(struct vaccel_arg_list *args,
				uint32_t expected_size)
{
	if (args == nullptr || expected_size == 0 || next_slot(args) == nullptr)
		return VACCEL_EINVAL;
	void *buf = std::calloc(1, expected_size);
	if (buf == nullptr)
		return VACCEL_ENOMEM;
	fill_slot(args, buf, expected_size, VACCEL_ARG_RAW, 0, true);
	return VACCEL_OK;
}

void *vaccel_extract_serial_arg(struct vaccel_arg *args, int idx)
{
	if (args == nullptr || idx < 0)
		return nullptr;
	return args[idx].buf;
}

void *vaccel_extract_nonserial_arg(struct vaccel_arg *args, int idx,
				   void *(*deserializer)(void *, uint32_t))
{
	if (args == nullptr || idx < 0 || deserializer == nullptr ||
	    args[idx].size > UINT32_MAX)
		return nullptr;
	return deserializer(args[idx].buf,
			    static_cast<uint32_t>(args[idx].size));
}

int vaccel_write_serial_arg(struct vaccel_arg *args, int idx, void *buf)
{
	if (args == nullptr || idx < 0 || buf == nullptr)
		return VACCEL_EINVAL;
	vaccel_arg &slot = args[idx];
	if (slot.size > 0 && slot.buf == nullptr)
		return VACCEL_EINVAL;
	if (slot.size > 0)
		std::memcpy(slot.buf, buf, slot.size);
	return VACCEL_OK;
}

int vaccel_write_nonserial_arg(struct vaccel_arg *args, int idx, void *buf,
			       void *(*serializer)(void *, uint32_t *))
{
	if (args == nullptr || idx < 0 || buf == nullptr ||
	    serializer == nullptr)
		return VACCEL_EINVAL;
	uint32_t bytes = 0;
	void *ser = serializer(buf, &bytes);
	vaccel_arg &slot = args[idx];
	int rc = VACCEL_OK;
	if (ser == nullptr || bytes == 0 || slot.buf == nullptr ||
	    bytes > slot.size)
		rc = VACCEL_EINVAL;
	else
		std::memcpy(slot.buf, ser, bytes);
	std::free(ser);
	return rc;
}

int vaccel_delete_args(struct vaccel_arg_list *args)
{
	if (args == nullptr || args->list == nullptr || args->size == 0 ||
	    args->idcs_allocated_space == nullptr)
		return VACCEL_EINVAL;
	for (uint32_t i = 0; i < args->size; ++i)
		if (args->idcs_allocated_space[i] == 1)
			std::free(args->list[i].buf);
	std::free(args->list);
	std::free(args->idcs_allocated_space);
	std::free(args);
	return VACCEL_OK;
}

} // extern "C"
