// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/arg.h
 * Typed arguments of the generic ops (vaccel_genop(), vaccel_exec(), ...).
 *
 * A `struct vaccel_arg` is one tagged buffer. A `struct vaccel_arg_array` is
 * a growable list of them with a read cursor (@c position): producers append
 * with the `add` functions, consumers walk the list with the `get` functions
 * (which check the tag and size of each arg before handing it out) and fill
 * output args in place with the `set` functions.
 *
 * Return codes used throughout: VACCEL_OK; VACCEL_EINVAL for NULL
 * parameters, a type or size that does not match, or a failed validator;
 * VACCEL_ERANGE when the cursor is past the last arg (get/set) or a wrapped,
 * fixed-size array is full (add); VACCEL_ENOMEM.
 *
 * Ownership: the `add` functions borrow the caller's buffer (it must outlive
 * the array), except add_serialized() and add_range(copy=true), whose
 * buffers the array owns. The `get` functions hand out pointers into the
 * arg's buffer; nothing is copied. Memory owned by an arg is malloc'd and
 * freed with free().
 */
#pragma once

#include "utils/enum.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _ENUM_PREFIX VACCEL_ARG
#define VACCEL_ARG_TYPE_ENUM_LIST(VACCEL_ENUM_ITEM)                            \
	VACCEL_ENUM_ITEM(RAW, 0, _ENUM_PREFIX)                                 \
	VACCEL_ENUM_ITEM(INT8, _ENUM_PREFIX)                                   \
	VACCEL_ENUM_ITEM(INT8_ARRAY, _ENUM_PREFIX)                             \
	VACCEL_ENUM_ITEM(INT16, _ENUM_PREFIX)                                  \
	VACCEL_ENUM_ITEM(INT16_ARRAY, _ENUM_PREFIX)                            \
	VACCEL_ENUM_ITEM(INT32, _ENUM_PREFIX)                                  \
	VACCEL_ENUM_ITEM(INT32_ARRAY, _ENUM_PREFIX)                            \
	VACCEL_ENUM_ITEM(INT64, _ENUM_PREFIX)                                  \
	VACCEL_ENUM_ITEM(INT64_ARRAY, _ENUM_PREFIX)                            \
	VACCEL_ENUM_ITEM(UINT8, _ENUM_PREFIX)                                  \
	VACCEL_ENUM_ITEM(UINT8_ARRAY, _ENUM_PREFIX)                            \
	VACCEL_ENUM_ITEM(UINT16, _ENUM_PREFIX)                                 \
	VACCEL_ENUM_ITEM(UINT16_ARRAY, _ENUM_PREFIX)                           \
	VACCEL_ENUM_ITEM(UINT32, _ENUM_PREFIX)                                 \
	VACCEL_ENUM_ITEM(UINT32_ARRAY, _ENUM_PREFIX)                           \
	VACCEL_ENUM_ITEM(UINT64, _ENUM_PREFIX)                                 \
	VACCEL_ENUM_ITEM(UINT64_ARRAY, _ENUM_PREFIX)                           \
	VACCEL_ENUM_ITEM(FLOAT32, _ENUM_PREFIX)                                \
	VACCEL_ENUM_ITEM(FLOAT32_ARRAY, _ENUM_PREFIX)                          \
	VACCEL_ENUM_ITEM(FLOAT64, _ENUM_PREFIX)                                \
	VACCEL_ENUM_ITEM(FLOAT64_ARRAY, _ENUM_PREFIX)                          \
	VACCEL_ENUM_ITEM(BOOL, _ENUM_PREFIX)                                   \
	VACCEL_ENUM_ITEM(BOOL_ARRAY, _ENUM_PREFIX)                             \
	VACCEL_ENUM_ITEM(CHAR, _ENUM_PREFIX)                                   \
	VACCEL_ENUM_ITEM(CHAR_ARRAY, _ENUM_PREFIX)                             \
	VACCEL_ENUM_ITEM(UCHAR, _ENUM_PREFIX)                                  \
	VACCEL_ENUM_ITEM(UCHAR_ARRAY, _ENUM_PREFIX)                            \
	VACCEL_ENUM_ITEM(STRING, _ENUM_PREFIX)                                 \
	VACCEL_ENUM_ITEM(BUFFER, _ENUM_PREFIX)                                 \
	VACCEL_ENUM_ITEM(CUSTOM, _ENUM_PREFIX)
/**
 * vaccel_arg_type_t: the tag of an arg. RAW=0 (untyped bytes, never
 * checked), then each numeric type followed by its _ARRAY form (INT8=1,
 * INT8_ARRAY=2, ... UCHAR_ARRAY=26), STRING=27 (NUL-terminated, the
 * terminator counted in the size), BUFFER=28 (non-empty bytes), CUSTOM=29
 * (checked by a caller-supplied validator), VACCEL_ARG_MAX=30.
 */
VACCEL_ENUM_DEF_WITH_STR_FUNCS(vaccel_arg_type, _ENUM_PREFIX,
			       VACCEL_ARG_TYPE_ENUM_LIST)
#undef _ENUM_PREFIX

/**
 * The numeric arg types, one X(name, C type, scalar tag, array tag) per
 * type. Every item yields six functions: vaccel_arg_array_add_<name>(),
 * _add_<name>_array(), _get_<name>(), _get_<name>_array(), _set_<name>()
 * and _set_<name>_array().
 */
#define VACCEL_ARG_NUMERIC_TYPES(X)                                            \
	X(int8, int8_t, VACCEL_ARG_INT8, VACCEL_ARG_INT8_ARRAY)                \
	X(int16, int16_t, VACCEL_ARG_INT16, VACCEL_ARG_INT16_ARRAY)            \
	X(int32, int32_t, VACCEL_ARG_INT32, VACCEL_ARG_INT32_ARRAY)            \
	X(int64, int64_t, VACCEL_ARG_INT64, VACCEL_ARG_INT64_ARRAY)            \
	X(uint8, uint8_t, VACCEL_ARG_UINT8, VACCEL_ARG_UINT8_ARRAY)            \
	X(uint16, uint16_t, VACCEL_ARG_UINT16, VACCEL_ARG_UINT16_ARRAY)        \
	X(uint32, uint32_t, VACCEL_ARG_UINT32, VACCEL_ARG_UINT32_ARRAY)        \
	X(uint64, uint64_t, VACCEL_ARG_UINT64, VACCEL_ARG_UINT64_ARRAY)        \
	X(float, float, VACCEL_ARG_FLOAT32, VACCEL_ARG_FLOAT32_ARRAY)          \
	X(double, double, VACCEL_ARG_FLOAT64, VACCEL_ARG_FLOAT64_ARRAY)        \
	X(bool, bool, VACCEL_ARG_BOOL, VACCEL_ARG_BOOL_ARRAY)                  \
	X(char, char, VACCEL_ARG_CHAR, VACCEL_ARG_CHAR_ARRAY)                  \
	X(uchar, unsigned char, VACCEL_ARG_UCHAR, VACCEL_ARG_UCHAR_ARRAY)

/** One tagged argument buffer. */
struct vaccel_arg {
	void *buf;   /**< the bytes; may be NULL only when @c size is 0 */
	size_t size; /**< bytes at @c buf */
	vaccel_arg_type_t type;  /**< tag of the bytes */
	uint32_t custom_type_id; /**< caller-defined id when type is CUSTOM */
	bool owned; /**< @c buf is malloc'd and freed by vaccel_arg_release() */
};

/**
 * Initialize @p arg with its own copy of @p size bytes from @p buf (zeroed
 * bytes when @p buf is NULL; no buffer at all when @p size is 0).
 * @param arg        out, not NULL.
 * @param buf        in, may be NULL; if given, @p size must be > 0.
 * @param custom_id  stored in @c custom_type_id (meaningful for CUSTOM).
 * @return VACCEL_OK, VACCEL_EINVAL, VACCEL_ENOMEM. The arg owns the copy;
 *         free it with vaccel_arg_release().
 */
int vaccel_arg_init(struct vaccel_arg *arg, const void *buf, size_t size,
		    vaccel_arg_type_t type, uint32_t custom_id);

/**
 * Initialize @p arg as a view of the caller's @p buf (not copied, not
 * freed by release). @p buf and @p size must be both set or both empty.
 * @return VACCEL_OK, VACCEL_EINVAL.
 */
int vaccel_arg_init_from_buf(struct vaccel_arg *arg, void *buf, size_t size,
			     vaccel_arg_type_t type, uint32_t custom_id);

/**
 * Free the buffer of @p arg if it owns it, and reset every field (type
 * becomes VACCEL_ARG_MAX). The struct itself is not freed.
 * @return VACCEL_OK; VACCEL_EINVAL for NULL.
 */
int vaccel_arg_release(struct vaccel_arg *arg);

/** Heap-allocating form of vaccel_arg_init(); *@p arg is written only on
 *  success. Free with vaccel_arg_delete(). Same return codes. */
int vaccel_arg_new(struct vaccel_arg **arg, const void *buf, size_t size,
		   vaccel_arg_type_t type, uint32_t custom_id);

/** Heap-allocating form of vaccel_arg_init_from_buf(); *@p arg is written
 *  only on success. Free with vaccel_arg_delete(). */
int vaccel_arg_from_buf(struct vaccel_arg **arg, void *buf, size_t size,
			vaccel_arg_type_t type, uint32_t custom_id);

/** Release and free an arg from vaccel_arg_new()/vaccel_arg_from_buf().
 *  @return VACCEL_OK; VACCEL_EINVAL for NULL. */
int vaccel_arg_delete(struct vaccel_arg *arg);

/** A list of args with a read cursor. */
struct vaccel_arg_array {
	struct vaccel_arg *args; /**< the args, @c capacity slots */
	size_t count;            /**< args in use; appends go to args[count] */
	size_t capacity;         /**< slots allocated */
	size_t position;         /**< next arg the get/set functions visit */
	bool owned; /**< @c args is ours: it may grow and release frees it */
};

/** Checks a CUSTOM arg's bytes; returns true if they are acceptable. */
typedef bool (*vaccel_arg_type_validator_fn)(const void *buf, size_t size,
					     uint32_t custom_id);

/**
 * Turns @p data_size bytes of @p data into a newly malloc'd *@p buf of
 * *@p size bytes (the arg code frees it). Returns VACCEL_OK or an error
 * code, which is passed back to the caller.
 */
typedef int (*vaccel_arg_serializer_fn)(const void *data, size_t data_size,
					uint32_t custom_id, void **buf,
					size_t *size);

/** Decodes @p size bytes of @p buf into @p data (@p data_size bytes of
 *  room). Returns VACCEL_OK or an error code, passed back to the caller. */
typedef int (*vaccel_arg_deserializer_fn)(const void *buf, size_t size,
					  uint32_t custom_id, size_t data_size,
					  void *data);

/**
 * Initialize an empty, growable array with room for @p initial_capacity
 * args (0 picks a small default).
 * @param array out, not NULL.
 * @return VACCEL_OK, VACCEL_EINVAL, VACCEL_ENOMEM. Release with
 *         vaccel_arg_array_release().
 */
int vaccel_arg_array_init(struct vaccel_arg_array *array,
			  size_t initial_capacity);

/**
 * Release every arg (freeing the buffers they own) and the slot storage of
 * an array made by init/new; for a wrapped array only the struct is reset
 * and the caller's args are left alone.
 * @return VACCEL_OK; VACCEL_EINVAL for NULL or an array with no storage
 *         (e.g. released twice).
 */
int vaccel_arg_array_release(struct vaccel_arg_array *array);

/** Heap-allocating form of vaccel_arg_array_init(); *@p array is written
 *  only on success. Free with vaccel_arg_array_delete(). */
int vaccel_arg_array_new(struct vaccel_arg_array **array,
			 size_t initial_capacity);

/** Release and free an array from vaccel_arg_array_new(). Same codes as
 *  vaccel_arg_array_release(); on error nothing is freed. */
int vaccel_arg_array_delete(struct vaccel_arg_array *array);

/**
 * Make @p array a fixed-size view of the caller's @p count args (not
 * copied; the caller keeps ownership; the array cannot grow). Used to read
 * the `struct vaccel_arg *` + count pairs the ops receive.
 * @param args may be NULL only when @p count is 0.
 * @return VACCEL_OK, VACCEL_EINVAL.
 */
int vaccel_arg_array_wrap(struct vaccel_arg_array *array,
			  struct vaccel_arg *args, size_t count);

/**
 * Release the args (buffers they own are freed) and reset count and
 * position, keeping the slot storage for reuse. NULL is ignored.
 */
void vaccel_arg_array_clear(struct vaccel_arg_array *array);

/**
 * Append an untyped (RAW) arg viewing @p buf; nothing is checked except
 * that @p buf and @p size are both set or both empty.
 * @return VACCEL_OK, VACCEL_EINVAL, VACCEL_ERANGE (wrapped array full),
 *         VACCEL_ENOMEM.
 */
int vaccel_arg_array_add_raw(struct vaccel_arg_array *array, void *buf,
			     size_t size);

/* Declarations of the typed add functions. */
#define VACCEL_ARG_ARRAY_DECL_ADD_(NAME, CTYPE, TAG, ARRAY_TAG)                \
	int vaccel_arg_array_add_##NAME(struct vaccel_arg_array *array,        \
					CTYPE *value);                         \
	int vaccel_arg_array_add_##NAME##_array(                               \
	    struct vaccel_arg_array *array, CTYPE *values, size_t count);
/**
 * vaccel_arg_array_add_<type>(array, value): append a view of the one value
 * at @c value, tagged with the scalar tag. vaccel_arg_array_add_<type>_array
 * (array, values, count): append a view of @c count (> 0) values, tagged
 * with the array tag. Neither copies: the values must outlive the array.
 * bool values must be 0 or 1. @return VACCEL_OK, VACCEL_EINVAL (NULL,
 * count 0, bool not 0/1), VACCEL_ERANGE, VACCEL_ENOMEM.
 */
VACCEL_ARG_NUMERIC_TYPES(VACCEL_ARG_ARRAY_DECL_ADD_)

/** Append a view of the NUL-terminated @p str, tagged STRING (size counts
 *  the terminator). @return as the typed add functions. */
int vaccel_arg_array_add_string(struct vaccel_arg_array *array, char *str);

/** Append a view of @p size (> 0) bytes at @p buf (not NULL), tagged
 *  BUFFER. @return as the typed add functions. */
int vaccel_arg_array_add_buffer(struct vaccel_arg_array *array, void *buf,
				size_t size);

/**
 * Append a view of @p buf tagged CUSTOM with id @p custom_id, after
 * @p validator (not NULL) accepted it.
 * @return as the typed add functions; VACCEL_EINVAL if rejected.
 */
int vaccel_arg_array_add_custom(struct vaccel_arg_array *array,
				uint32_t custom_id, void *buf, size_t size,
				vaccel_arg_type_validator_fn validator);

/**
 * Serialize @p data with @p serializer (not NULL) and append the result,
 * tagged @p type (and @p custom_id). The array owns the serialized buffer.
 * A built-in @p type must describe the serialized bytes (e.g. a FLOAT32
 * arg must be 4 bytes); RAW and CUSTOM are not checked.
 * @return VACCEL_OK, VACCEL_EINVAL, VACCEL_ERANGE, VACCEL_ENOMEM, or the
 *         serializer's error. On error nothing is appended or leaked.
 */
int vaccel_arg_array_add_serialized(struct vaccel_arg_array *array,
				    vaccel_arg_type_t type, uint32_t custom_id,
				    const void *data, size_t data_size,
				    vaccel_arg_serializer_fn serializer);

/**
 * Append @p count args of @p src starting at @p start_idx (the cursor of
 * @p src is ignored). With @p copy, @p dest owns fresh copies of their
 * buffers; otherwise it borrows them. @p count 0 is a no-op.
 * @return VACCEL_OK, VACCEL_EINVAL (NULL), VACCEL_ERANGE (range outside
 *         @p src, or @p dest is wrapped and full), VACCEL_ENOMEM. On error
 *         @p dest is unchanged.
 */
int vaccel_arg_array_add_range(struct vaccel_arg_array *dest,
			       const struct vaccel_arg_array *src,
			       size_t start_idx, size_t count, bool copy);

/** Like add_range() for the args of @p src from its cursor to its end
 *  (nothing left is not an error). */
int vaccel_arg_array_add_remaining(struct vaccel_arg_array *dest,
				   const struct vaccel_arg_array *src,
				   bool copy);

/** Like add_range() for every arg of @p src (an empty @p src is not an
 *  error). */
int vaccel_arg_array_add_all(struct vaccel_arg_array *dest,
			     const struct vaccel_arg_array *src, bool copy);

/**
 * Read the arg at the cursor, which must be tagged RAW, and advance.
 * @param buf, size out, not NULL: the arg's buffer (borrowed) and size.
 * @return VACCEL_OK, VACCEL_EINVAL (NULL, not RAW), VACCEL_ERANGE (no args
 *         left). On error the cursor does not move.
 */
int vaccel_arg_array_get_raw(struct vaccel_arg_array *array, void **buf,
			     size_t *size);

/* Declarations of the typed get functions. */
#define VACCEL_ARG_ARRAY_DECL_GET_(NAME, CTYPE, TAG, ARRAY_TAG)                \
	int vaccel_arg_array_get_##NAME(struct vaccel_arg_array *array,        \
					CTYPE *value);                         \
	int vaccel_arg_array_get_##NAME##_array(                               \
	    struct vaccel_arg_array *array, CTYPE **values, size_t *count);
/**
 * vaccel_arg_array_get_<type>(array, value): the arg at the cursor must
 * carry the scalar tag exactly (RAW args are refused) and hold exactly one
 * value; it is copied to *@c value (not NULL) and the cursor advances.
 * vaccel_arg_array_get_<type>_array(array, values, count): the arg must
 * carry the array tag and a non-empty whole number of values; *@c values
 * points into its buffer (borrowed), *@c count (may be NULL) gets the
 * number of values. @return VACCEL_OK, VACCEL_EINVAL (NULL, wrong tag or
 * size), VACCEL_ERANGE (no args left). On error nothing is written and the
 * cursor does not move.
 */
VACCEL_ARG_NUMERIC_TYPES(VACCEL_ARG_ARRAY_DECL_GET_)

/** Read a STRING arg (NUL-terminated within its size) at the cursor;
 *  *@p str points into its buffer. @return as the typed get functions. */
int vaccel_arg_array_get_string(struct vaccel_arg_array *array, char **str);

/** Read a non-empty BUFFER arg at the cursor; @p buf and @p size are out,
 *  not NULL. @return as the typed get functions. */
int vaccel_arg_array_get_buffer(struct vaccel_arg_array *array, void **buf,
				size_t *size);

/**
 * Read a CUSTOM arg with id @p expected_id at the cursor, after
 * @p validator (not NULL) accepted its bytes. @p buf out, not NULL;
 * @p size out, may be NULL. @return as the typed get functions.
 */
int vaccel_arg_array_get_custom(struct vaccel_arg_array *array,
				uint32_t expected_id, void **buf, size_t *size,
				vaccel_arg_type_validator_fn validator);

/**
 * Decode the arg at the cursor with @p deserializer (not NULL) into
 * @p data (not NULL, @p expected_size bytes). The arg must carry
 * @p expected_type (and @p expected_custom_id for CUSTOM); built-in types
 * must also be well-formed. @return as the typed get functions, or the
 * deserializer's error (the cursor then does not move).
 */
int vaccel_arg_array_get_serialized(struct vaccel_arg_array *array,
				    vaccel_arg_type_t expected_type,
				    uint32_t expected_custom_id, void *data,
				    size_t expected_size,
				    vaccel_arg_deserializer_fn deserializer);

/**
 * Write @p size bytes of @p buf into the RAW arg at the cursor (an output
 * arg the caller provided) and advance. With no @p buf / @p size the arg
 * must be empty too. @return VACCEL_OK, VACCEL_EINVAL (not RAW, or the arg
 * is smaller than @p size), VACCEL_ERANGE.
 */
int vaccel_arg_array_set_raw(struct vaccel_arg_array *array, void *buf,
			     size_t size);

/* Declarations of the typed set functions. */
#define VACCEL_ARG_ARRAY_DECL_SET_(NAME, CTYPE, TAG, ARRAY_TAG)                \
	int vaccel_arg_array_set_##NAME(struct vaccel_arg_array *array,        \
					CTYPE *value);                         \
	int vaccel_arg_array_set_##NAME##_array(                               \
	    struct vaccel_arg_array *array, CTYPE *values, size_t count);
/**
 * vaccel_arg_array_set_<type>(array, value): store *@c value (not NULL) in
 * the scalar-tagged output arg at the cursor and advance.
 * vaccel_arg_array_set_<type>_array(array, values, count): copy @c count
 * values into the array-tagged output arg, which must have room for them.
 * The checks and return codes are those of the get functions, plus
 * VACCEL_EINVAL when the values do not fit.
 */
VACCEL_ARG_NUMERIC_TYPES(VACCEL_ARG_ARRAY_DECL_SET_)

/** Copy @p str with its terminator into the STRING output arg at the
 *  cursor, which must be large enough. @return as the set functions. */
int vaccel_arg_array_set_string(struct vaccel_arg_array *array, char *str);

/** Copy @p size (> 0) bytes of @p buf into the BUFFER output arg at the
 *  cursor, which must be large enough. @return as the set functions. */
int vaccel_arg_array_set_buffer(struct vaccel_arg_array *array, void *buf,
				size_t size);

/**
 * Copy @p size bytes of @p buf into the CUSTOM output arg with id
 * @p expected_id at the cursor; its size must equal @p size and
 * @p validator (not NULL) must accept @p buf. @return as the set functions.
 */
int vaccel_arg_array_set_custom(struct vaccel_arg_array *array,
				uint32_t expected_id, void *buf, size_t size,
				vaccel_arg_type_validator_fn validator);

/**
 * Serialize @p data (@p data_size bytes) with @p serializer and copy the
 * result into the output arg at the cursor, which must carry
 * @p expected_type (and id) and be exactly as large as the result.
 * @return as the set functions, or the serializer's error.
 */
int vaccel_arg_array_set_serialized(struct vaccel_arg_array *array,
				    vaccel_arg_type_t expected_type,
				    uint32_t expected_custom_id, void *data,
				    size_t data_size,
				    vaccel_arg_serializer_fn serializer);

/**
 * The args from the cursor to the end, without moving the cursor.
 * @param args, count out, not NULL: a pointer into the array (borrowed)
 *        and how many; NULL and 0 when none are left.
 * @return VACCEL_OK, VACCEL_EINVAL.
 */
int vaccel_arg_array_get_remaining(struct vaccel_arg_array *array,
				   struct vaccel_arg **args, size_t *count);

/** Number of args from the cursor to the end; 0 for NULL. */
size_t vaccel_arg_array_remaining_count(const struct vaccel_arg_array *array);

/** The cursor; 0 for NULL. */
size_t vaccel_arg_array_position(const struct vaccel_arg_array *array);

/** Move the cursor to @p position, clamped to the count. NULL is ignored. */
void vaccel_arg_array_set_position(struct vaccel_arg_array *array,
				   size_t position);

/** Move the cursor back to the first arg. NULL is ignored. */
void vaccel_arg_array_reset_position(struct vaccel_arg_array *array);

/** Number of args in the array; 0 for NULL. */
size_t vaccel_arg_array_count(const struct vaccel_arg_array *array);

/** The args themselves (borrowed; valid until the array grows or is
 *  released), e.g. to pass to vaccel_genop(); NULL for NULL. */
struct vaccel_arg *vaccel_arg_array_raw(struct vaccel_arg_array *array);

/*
 * The arg-list API of older vAccel releases, kept for source compatibility.
 * New code should use struct vaccel_arg_array.
 */

/** A fixed-size list of args filled front to back. */
struct vaccel_arg_list {
	uint32_t size;             /**< number of slots in @c list */
	struct vaccel_arg *list;   /**< the slots */
	int curr_idx;              /**< next slot to fill */
	int *idcs_allocated_space; /**< 1 where the slot's buffer is ours */
};

#define VACCEL_ARG_LIST_DEPRECATED_                                            \
	__attribute__((deprecated("use struct vaccel_arg_array instead")))

/** Allocate a list of @p size (> 0) slots. Free with vaccel_delete_args().
 *  @return the list, or NULL for size 0 / out of memory. */
VACCEL_ARG_LIST_DEPRECATED_ struct vaccel_arg_list *
vaccel_args_init(uint32_t size);

/** Append a RAW view of @p size (> 0) bytes at @p buf (not NULL).
 *  @return VACCEL_OK; VACCEL_EINVAL for bad input or a full list. */
VACCEL_ARG_LIST_DEPRECATED_ int
vaccel_add_serial_arg(struct vaccel_arg_list *args, void *buf, uint32_t size);

/**
 * Append a CUSTOM arg with id @p type holding what @p serializer returns
 * for @p buf: a malloc'd buffer (owned by the list) and its size.
 * @return VACCEL_OK; VACCEL_EINVAL for bad input, a full list or an empty
 *         serialization.
 */
VACCEL_ARG_LIST_DEPRECATED_ int
vaccel_add_nonserial_arg(struct vaccel_arg_list *args, void *buf, uint32_t type,
			 void *(*serializer)(void *, uint32_t *));

/** Append a RAW output slot viewing the caller's @p size-byte @p buf.
 *  @return as vaccel_add_serial_arg(). */
VACCEL_ARG_LIST_DEPRECATED_ int
vaccel_expect_serial_arg(struct vaccel_arg_list *args, void *buf,
			 uint32_t size);

/** Append a RAW output slot of @p expected_size (> 0) zeroed bytes owned
 *  by the list. @return as vaccel_add_serial_arg(), or VACCEL_ENOMEM. */
VACCEL_ARG_LIST_DEPRECATED_ int
vaccel_expect_nonserial_arg(struct vaccel_arg_list *args,
			    uint32_t expected_size);

/** The buffer of args[@p idx] (borrowed), or NULL for NULL / idx < 0. The
 *  index is not bounds-checked: the caller knows the count. */
VACCEL_ARG_LIST_DEPRECATED_ void *
vaccel_extract_serial_arg(struct vaccel_arg *args, int idx);

/** What @p deserializer returns for args[@p idx]'s buffer and size, or NULL
 *  for bad input. */
VACCEL_ARG_LIST_DEPRECATED_ void *
vaccel_extract_nonserial_arg(struct vaccel_arg *args, int idx,
			     void *(*deserializer)(void *, uint32_t));

/** Copy args[@p idx].size bytes of @p buf into args[@p idx] (an output
 *  slot). @return VACCEL_OK, VACCEL_EINVAL. */
VACCEL_ARG_LIST_DEPRECATED_ int vaccel_write_serial_arg(struct vaccel_arg *args,
							int idx, void *buf);

/**
 * Serialize @p buf with @p serializer and copy the bytes into args[@p idx];
 * the serialized buffer is freed. @return VACCEL_OK; VACCEL_EINVAL for bad
 * input, an empty result or one larger than the slot.
 */
VACCEL_ARG_LIST_DEPRECATED_ int
vaccel_write_nonserial_arg(struct vaccel_arg *args, int idx, void *buf,
			   void *(*serializer)(void *, uint32_t *));

/** Free the buffers the list owns, the slots and the list.
 *  @return VACCEL_OK; VACCEL_EINVAL for NULL or a malformed list. */
VACCEL_ARG_LIST_DEPRECATED_ int
vaccel_delete_args(struct vaccel_arg_list *args);

#undef VACCEL_ARG_LIST_DEPRECATED_

#ifdef __cplusplus
}
#endif
