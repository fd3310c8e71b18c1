// SPDX-License-Identifier: Apache-2.0
// vaccel.Arg (one struct vaccel_arg) and vaccel.ArgArray (struct
// vaccel_arg_array): the typed arguments of exec, genop and opencv.
//
// Zero-copy: an Arg made from an object with the buffer protocol (numpy
// array, bytearray, memoryview, bytes...) points at that object's memory
// and holds a buffer view on it, so outputs land in the caller's array.
// Python scalars and strings have no stable memory of their own and are
// copied into storage the Arg owns.
#include "common.h"

#include <cstring>
#include <string>
#include <type_traits>

namespace vaccel_py
{

namespace
{

// Element size of a typed tag (0 for RAW, STRING, BUFFER, CUSTOM).
size_t elem_size(vaccel_arg_type_t t)
{
	switch (t) {
#define VACCEL_PY_ELEM_(NAME, CTYPE, TAG, ARRAY_TAG)                           \
	case TAG:                                                              \
	case ARRAY_TAG:                                                        \
		return sizeof(CTYPE);
		VACCEL_ARG_NUMERIC_TYPES(VACCEL_PY_ELEM_)
#undef VACCEL_PY_ELEM_
	default:
		return 0;
	}
}

bool is_array_tag(vaccel_arg_type_t t)
{
	switch (t) {
#define VACCEL_PY_ARRAY_(NAME, CTYPE, TAG, ARRAY_TAG) case ARRAY_TAG:
		VACCEL_ARG_NUMERIC_TYPES(VACCEL_PY_ARRAY_)
#undef VACCEL_PY_ARRAY_
		return true;
	default:
		return false;
	}
}

// The numpy dtype of a typed tag's elements.
std::optional<py::dtype> tag_dtype(vaccel_arg_type_t t)
{
	switch (t) {
#define VACCEL_PY_DTYPE_(NAME, CTYPE, TAG, ARRAY_TAG)                          \
	case TAG:                                                              \
	case ARRAY_TAG:                                                        \
		if constexpr (std::is_same_v<CTYPE, char>)                     \
			return py::dtype::of<int8_t>();                        \
		else if constexpr (std::is_same_v<CTYPE, unsigned char>)       \
			return py::dtype::of<uint8_t>();                       \
		else                                                           \
			return py::dtype::of<CTYPE>();
		VACCEL_ARG_NUMERIC_TYPES(VACCEL_PY_DTYPE_)
#undef VACCEL_PY_DTYPE_
	default:
		return std::nullopt;
	}
}

// The tag of a numpy buffer: its dtype, scalar for 0-d, array otherwise;
// RAW for dtypes vAccel has no tag for (float16, complex, records...).
vaccel_arg_type_t infer_tag(const BufferView &v)
{
	const bool scalar = v.ndim() == 0;
	auto pick = [scalar](vaccel_arg_type_t s, vaccel_arg_type_t a) {
		return scalar ? s : a;
	};
	const size_t sz = v.itemsize();
	switch (v.format()) {
	case 'b':
		return pick(VACCEL_ARG_INT8, VACCEL_ARG_INT8_ARRAY);
	case 'B':
		return pick(VACCEL_ARG_UINT8, VACCEL_ARG_UINT8_ARRAY);
	case 'h':
		return pick(VACCEL_ARG_INT16, VACCEL_ARG_INT16_ARRAY);
	case 'H':
		return pick(VACCEL_ARG_UINT16, VACCEL_ARG_UINT16_ARRAY);
	case 'i':
	case 'l':
	case 'q':
		if (sz == 4)
			return pick(VACCEL_ARG_INT32, VACCEL_ARG_INT32_ARRAY);
		if (sz == 8)
			return pick(VACCEL_ARG_INT64, VACCEL_ARG_INT64_ARRAY);
		return VACCEL_ARG_RAW;
	case 'I':
	case 'L':
	case 'Q':
		if (sz == 4)
			return pick(VACCEL_ARG_UINT32, VACCEL_ARG_UINT32_ARRAY);
		if (sz == 8)
			return pick(VACCEL_ARG_UINT64, VACCEL_ARG_UINT64_ARRAY);
		return VACCEL_ARG_RAW;
	case 'f':
		return pick(VACCEL_ARG_FLOAT32, VACCEL_ARG_FLOAT32_ARRAY);
	case 'd':
		return pick(VACCEL_ARG_FLOAT64, VACCEL_ARG_FLOAT64_ARRAY);
	case '?':
		return pick(VACCEL_ARG_BOOL, VACCEL_ARG_BOOL_ARRAY);
	default:
		return VACCEL_ARG_RAW;
	}
}

bool is_numpy(const py::handle &obj)
{
	if (py::isinstance<py::array>(obj))
		return true;
	static py::object generic =
	    py::module_::import("numpy").attr("generic");
	return py::isinstance(obj, generic);
}

// Stores the Python number @p v as a CTYPE in @p a's own storage.
template <class T> void store_number(Arg &a, const py::handle &v)
{
	T x{};
	if constexpr (std::is_same_v<T, bool>)
		x = v.cast<bool>();
	else if constexpr (std::is_floating_point_v<T>)
		x = v.cast<T>();
	else {
		// pybind's integer casters refuse values out of range.
		try {
			x = v.cast<T>();
		} catch (const py::cast_error &) {
			fail(VACCEL_EINVAL, "vaccel.Arg",
			     std::string(py::str(v)) +
				 " does not fit the requested integer type");
		}
	}
	a.owned.resize(sizeof(T));
	std::memcpy(a.owned.data(), &x, sizeof(T));
}

// Packs a Python int/float/bool as the scalar tag @p t.
void store_scalar(Arg &a, const py::handle &v, vaccel_arg_type_t t)
{
	switch (t) {
#define VACCEL_PY_STORE_(NAME, CTYPE, TAG, ARRAY_TAG)                          \
	case TAG:                                                              \
		store_number<CTYPE>(a, v);                                     \
		return;
		VACCEL_ARG_NUMERIC_TYPES(VACCEL_PY_STORE_)
#undef VACCEL_PY_STORE_
	default:
		fail(VACCEL_EINVAL, "vaccel.Arg",
		     std::string("a Python number cannot be stored as ") +
			 vaccel_arg_type_to_str(t) +
			 "; pass a numpy array for array types");
	}
}

void finish_owned(Arg &a, vaccel_arg_type_t t, uint32_t custom_id)
{
	a.arg.buf = a.owned.empty() ? nullptr : a.owned.data();
	a.arg.size = a.owned.size();
	a.arg.type = t;
	a.arg.custom_type_id = custom_id;
	a.arg.owned = false;
	a.readonly = false;
}

std::unique_ptr<Arg> make_arg(const py::handle &obj,
			      std::optional<vaccel_arg_type_t> type,
			      uint32_t custom_id)
{
	auto a = std::make_unique<Arg>();
	a->source = py::reinterpret_borrow<py::object>(obj);
	if (py::isinstance<py::str>(obj)) {
		std::string s = obj.cast<std::string>();
		a->owned.assign(s.begin(), s.end());
		a->owned.push_back('\0');
		finish_owned(*a, type.value_or(VACCEL_ARG_STRING), custom_id);
		return a;
	}
	if (py::isinstance<vaccel_op_type_t>(obj)) {
		store_scalar(*a,
			     py::int_(py::reinterpret_borrow<py::object>(obj)),
			     type.value_or(VACCEL_ARG_UINT8));
		finish_owned(*a, type.value_or(VACCEL_ARG_UINT8), custom_id);
		return a;
	}
	// bool before int: bool is an int subclass.
	if (PyBool_Check(obj.ptr())) {
		auto t = type.value_or(VACCEL_ARG_BOOL);
		store_scalar(*a, obj, t);
		finish_owned(*a, t, custom_id);
		return a;
	}
	if (PyLong_Check(obj.ptr())) {
		auto t = type.value_or(VACCEL_ARG_INT64);
		store_scalar(*a, obj, t);
		finish_owned(*a, t, custom_id);
		return a;
	}
	if (PyFloat_Check(obj.ptr())) {
		auto t = type.value_or(VACCEL_ARG_FLOAT64);
		store_scalar(*a, obj, t);
		finish_owned(*a, t, custom_id);
		return a;
	}
	if (!PyObject_CheckBuffer(obj.ptr()))
		throw py::type_error(
		    "vaccel.Arg: expected a buffer (numpy array, bytes, "
		    "bytearray, memoryview), str, int, float, bool or OpType, "
		    "got " +
		    std::string(
			py::str(py::type::handle_of(obj).attr("__name__"))));
	a->view.emplace(obj, true, "vaccel.Arg");
	vaccel_arg_type_t t = VACCEL_ARG_RAW;
	if (type)
		t = *type;
	else if (is_numpy(obj))
		t = infer_tag(*a->view);
	a->arg.buf = a->view->data();
	a->arg.size = a->view->size();
	a->arg.type = t;
	a->arg.custom_type_id = custom_id;
	a->arg.owned = false;
	a->readonly = a->view->readonly();
	return a;
}

// The value of an arg, decoded by its tag.
py::object arg_value(const py::object &self, const vaccel_arg &a)
{
	const size_t es = elem_size(a.type);
	if (es != 0 && !is_array_tag(a.type)) {
		if (a.size != es || a.buf == nullptr)
			fail(VACCEL_EINVAL, "vaccel.Arg.value",
			     std::string(vaccel_arg_type_to_str(a.type)) +
				 " arg holds " + std::to_string(a.size) +
				 " bytes, not one value");
		switch (a.type) {
#define VACCEL_PY_VALUE_(NAME, CTYPE, TAG, ARRAY_TAG)                          \
	case TAG: {                                                            \
		CTYPE v{};                                                     \
		std::memcpy(&v, a.buf, sizeof(v));                             \
		if constexpr (std::is_same_v<CTYPE, char>)                     \
			return py::int_(static_cast<int>(v));                  \
		else                                                           \
			return py::cast(v);                                    \
	}
			VACCEL_ARG_NUMERIC_TYPES(VACCEL_PY_VALUE_)
#undef VACCEL_PY_VALUE_
		default:
			break;
		}
	}
	if (es != 0) {
		auto dt = tag_dtype(a.type);
		const auto n = static_cast<py::ssize_t>(a.size / es);
		return py::array(*dt, {n}, {static_cast<py::ssize_t>(es)},
				 a.buf, self);
	}
	if (a.type == VACCEL_ARG_STRING) {
		const char *s = static_cast<const char *>(a.buf);
		size_t n = 0;
		while (n < a.size && s[n] != '\0')
			n++;
		return py::str(s, n);
	}
	return py::bytes(static_cast<const char *>(a.buf), a.size);
}

// ---- ArgArray --------------------------------------------------------------

class ArgArray
{
public:
	vaccel_arg_array arr{};
	std::vector<py::object> keep; // Args whose memory the array views
	std::vector<bool> readonly;   // per arg

	ArgArray() { check(vaccel_arg_array_init(&arr, 0), "ArgArray"); }
	~ArgArray() { vaccel_arg_array_release(&arr); }
	ArgArray(const ArgArray &) = delete;
	ArgArray &operator=(const ArgArray &) = delete;

	// Appends @p a (kept alive) with the C function that @p add calls.
	template <class F> void append(py::object a, bool ro, F &&add)
	{
		const size_t before = arr.count;
		check(add(), "vaccel_arg_array_add");
		if (arr.count != before + 1)
			fail(VACCEL_EINVAL, "vaccel_arg_array_add",
			     "the array did not grow");
		keep.push_back(std::move(a));
		readonly.push_back(ro);
	}

	// Any object accepted by vaccel.Arg, appended as is (with its tag).
	void add(const py::handle &obj, std::optional<vaccel_arg_type_t> type)
	{
		py::object ao;
		if (py::isinstance<Arg>(obj) && !type)
			ao = py::reinterpret_borrow<py::object>(obj);
		else
			ao = py::cast(make_arg(obj, type, 0));
		Arg &a = ao.cast<Arg &>();
		vaccel_arg one = a.arg;
		append(ao, a.readonly, [&] {
			vaccel_arg_array src{};
			vaccel_arg_array_wrap(&src, &one, 1);
			return vaccel_arg_array_add_range(&arr, &src, 0, 1,
							  false);
		});
	}
};

template <class T> using AddScalarFn = int (*)(vaccel_arg_array *, T *);
template <class T> using AddArrayFn = int (*)(vaccel_arg_array *, T *, size_t);
template <class T> using GetScalarFn = int (*)(vaccel_arg_array *, T *);
template <class T>
using GetArrayFn = int (*)(vaccel_arg_array *, T **, size_t *);

template <class T>
void add_scalar(ArgArray &self, const py::handle &v, vaccel_arg_type_t tag,
		AddScalarFn<T> fn)
{
	auto a = std::make_unique<Arg>();
	store_scalar(*a, v, tag);
	finish_owned(*a, tag, 0);
	auto *p = reinterpret_cast<T *>(a->owned.data());
	self.append(py::cast(std::move(a)), false,
		    [&] { return fn(&self.arr, p); });
}

template <class T>
void add_array(ArgArray &self, const py::handle &v, vaccel_arg_type_t tag,
	       AddArrayFn<T> fn)
{
	auto a = make_arg(v, tag, 0);
	auto dt = tag_dtype(tag);
	if (!is_numpy(v) ||
	    !py::dtype(py::reinterpret_borrow<py::object>(v).attr("dtype"))
		 .is(*dt))
		fail(VACCEL_EINVAL, "vaccel.ArgArray",
		     std::string(vaccel_arg_type_to_str(tag)) +
			 " needs a numpy array of dtype " +
			 std::string(py::str(*dt)) +
			 " (no implicit conversion: the array is viewed, not "
			 "copied)");
	if (a->arg.size == 0)
		fail(VACCEL_EINVAL, "vaccel.ArgArray", "the array is empty");
	auto *p = static_cast<T *>(a->arg.buf);
	const size_t n = a->arg.size / sizeof(T);
	const bool ro = a->readonly;
	self.append(py::cast(std::move(a)), ro,
		    [&] { return fn(&self.arr, p, n); });
}

template <class T>
py::object get_scalar(ArgArray &self, GetScalarFn<T> fn, const char *what)
{
	T v{};
	check(fn(&self.arr, &v), what);
	if constexpr (std::is_same_v<T, char>)
		return py::int_(static_cast<int>(v));
	else
		return py::cast(v);
}

template <class T>
py::object get_array(py::object self_obj, GetArrayFn<T> fn,
		     vaccel_arg_type_t tag, const char *what)
{
	ArgArray &self = self_obj.cast<ArgArray &>();
	T *vals = nullptr;
	size_t n = 0;
	check(fn(&self.arr, &vals, &n), what);
	return py::array(*tag_dtype(tag), {static_cast<py::ssize_t>(n)},
			 {static_cast<py::ssize_t>(sizeof(T))}, vals, self_obj);
}

} // namespace

py::object to_arg(const py::handle &obj)
{
	if (py::isinstance<Arg>(obj))
		return py::reinterpret_borrow<py::object>(obj);
	return py::cast(make_arg(obj, std::nullopt, 0));
}

ArgList collect_args(const py::handle &seq, bool writable, const char *what)
{
	ArgList out;
	if (seq.is_none())
		return out;
	if (py::isinstance<ArgArray>(seq)) {
		ArgArray &a = seq.cast<ArgArray &>();
		for (size_t i = 0; i < a.arr.count; i++) {
			if (writable && a.readonly[i])
				fail(VACCEL_EINVAL, what,
				     "write arg " + std::to_string(i) +
					 " is read-only");
			out.args.push_back(a.arr.args[i]);
		}
		out.keep.push_back(py::reinterpret_borrow<py::object>(seq));
		out.array = out.keep.back();
		return out;
	}
	if (py::isinstance<py::str>(seq) || PyObject_CheckBuffer(seq.ptr()))
		throw py::type_error(std::string(what) +
				     ": args must be a list/tuple of args or "
				     "a vaccel.ArgArray, not a single value");
	size_t i = 0;
	for (py::handle item : py::iter(seq)) {
		py::object ao = to_arg(item);
		Arg &a = ao.cast<Arg &>();
		if (writable && a.readonly)
			fail(VACCEL_EINVAL, what,
			     "write arg " + std::to_string(i) +
				 " is read-only (pass a writable buffer, "
				 "e.g. a numpy array or bytearray)");
		out.args.push_back(a.arg);
		out.keep.push_back(std::move(ao));
		i++;
	}
	return out;
}

void init_args(py::module_ &m)
{
	py::enum_<vaccel_arg_type_t> at(m, "ArgType", "Tags of vaccel_arg.");
#define VACCEL_PY_ENUM_(NAME, CTYPE, TAG, ARRAY_TAG)                           \
	at.value(vaccel_arg_type_to_base_str(TAG), TAG);                       \
	at.value(vaccel_arg_type_to_base_str(ARRAY_TAG), ARRAY_TAG);
	at.value("RAW", VACCEL_ARG_RAW);
	VACCEL_ARG_NUMERIC_TYPES(VACCEL_PY_ENUM_)
#undef VACCEL_PY_ENUM_
	at.value("STRING", VACCEL_ARG_STRING);
	at.value("BUFFER", VACCEL_ARG_BUFFER);
	at.value("CUSTOM", VACCEL_ARG_CUSTOM);

	py::class_<Arg>(m, "Arg", py::buffer_protocol(), R"doc(
One vAccel argument (struct vaccel_arg).

Arg(obj, type=None, custom_id=0):
  - a buffer (numpy array, bytearray, memoryview, bytes): viewed in place,
    never copied. A numpy array is tagged by its dtype (0-d: the scalar tag,
    e.g. INT32; otherwise the array tag, e.g. INT32_ARRAY); other buffers
    are RAW. The buffer must be C-contiguous; to be an output it must be
    writable.
  - str: copied, NUL-terminated, tagged STRING.
  - int / float / bool: copied, tagged INT64 / FLOAT64 / BOOL unless
    `type` names another scalar type (e.g. ArgType.INT32).
  - OpType: copied as a UINT8 (the first read arg of genop).
`type` overrides the tag; nothing is converted for buffers.
)doc")
	    .def(py::init([](const py::handle &obj,
			     std::optional<vaccel_arg_type_t> type,
			     uint32_t custom_id) {
			 return make_arg(obj, type, custom_id);
		 }),
		 py::arg("obj"), py::arg("type") = py::none(),
		 py::arg("custom_id") = 0)
	    .def_static(
		"empty",
		[](size_t size, vaccel_arg_type_t type) {
			auto a = std::make_unique<Arg>();
			a->owned.assign(size, 0);
			finish_owned(*a, type, 0);
			return a;
		},
		py::arg("size"), py::arg("type") = VACCEL_ARG_RAW,
		"An output arg of `size` zeroed bytes owned by the Arg.")
	    .def_property_readonly("type",
				   [](const Arg &a) { return a.arg.type; })
	    .def_property_readonly("size",
				   [](const Arg &a) { return a.arg.size; })
	    .def_property_readonly(
		"custom_id", [](const Arg &a) { return a.arg.custom_type_id; })
	    .def_property_readonly("readonly",
				   [](const Arg &a) { return a.readonly; })
	    .def_property_readonly(
		"data_ptr",
		[](const Arg &a) {
			return reinterpret_cast<uintptr_t>(a.arg.buf);
		},
		"Address of the bytes (equals arr.ctypes.data for an array "
		"passed without a copy).")
	    .def_property_readonly(
		"obj", [](const Arg &a) { return a.source; },
		"The object the Arg was made from.")
	    .def_property_readonly(
		"value",
		[](py::object self) {
			return arg_value(self, self.cast<Arg &>().arg);
		},
		"The contents decoded by tag: a number for scalar tags, a "
		"numpy view for array tags, str for STRING, bytes otherwise.")
	    .def("tobytes",
		 [](const Arg &a) {
			 return py::bytes(static_cast<const char *>(a.arg.buf),
					  a.arg.size);
		 })
	    .def("__len__", [](const Arg &a) { return a.arg.size; })
	    .def_buffer([](Arg &a) {
		    return py::buffer_info(
			a.arg.buf, 1, "B", 1,
			{static_cast<py::ssize_t>(a.arg.size)}, {1},
			a.readonly);
	    })
	    .def("__repr__", [](const Arg &a) {
		    return std::string("<vaccel.Arg ") +
			   vaccel_arg_type_to_str(a.arg.type) + " " +
			   std::to_string(a.arg.size) + " bytes>";
	    });

	py::class_<ArgArray> aa(m, "ArgArray", R"doc(
A growable list of args with a read cursor (struct vaccel_arg_array).

add_<type>(value) appends a scalar (copied into storage the array keeps),
add_<type>_array(ndarray) a view of a numpy array of exactly that dtype
(no copy), add_string(str), add_buffer(buffer), add(obj, type=None) any
object vaccel.Arg accepts. get_<type>(), get_<type>_array() (a numpy view),
get_string(), get_buffer() and get_raw() read the arg at the cursor and
advance, as the C functions. Pass an ArgArray as the read or write args of
exec/genop/opencv. Not thread-safe: use one array per thread.
)doc");
	aa.def(py::init<>())
	    .def(py::init([](const py::iterable &items) {
			 auto a = std::make_unique<ArgArray>();
			 for (py::handle it : items)
				 a->add(it, std::nullopt);
			 return a;
		 }),
		 py::arg("args"))
	    .def("add", &ArgArray::add, py::arg("obj"),
		 py::arg("type") = py::none())
	    .def(
		"add_string",
		[](ArgArray &self, const std::string &s) {
			auto a = make_arg(py::str(s), VACCEL_ARG_STRING, 0);
			char *p = reinterpret_cast<char *>(a->owned.data());
			self.append(py::cast(std::move(a)), false, [&] {
				return vaccel_arg_array_add_string(&self.arr,
								   p);
			});
		},
		py::arg("value"))
	    .def(
		"add_buffer",
		[](ArgArray &self, const py::buffer &b) {
			auto a = make_arg(b, VACCEL_ARG_BUFFER, 0);
			void *p = a->arg.buf;
			size_t n = a->arg.size;
			bool ro = a->readonly;
			self.append(py::cast(std::move(a)), ro, [&] {
				return vaccel_arg_array_add_buffer(&self.arr, p,
								   n);
			});
		},
		py::arg("buffer"))
	    .def("get_string",
		 [](ArgArray &self) {
			 char *s = nullptr;
			 check(vaccel_arg_array_get_string(&self.arr, &s),
			       "vaccel_arg_array_get_string");
			 return std::string(s);
		 })
	    .def(
		"get_buffer",
		[](py::object so) {
			ArgArray &self = so.cast<ArgArray &>();
			void *b = nullptr;
			size_t n = 0;
			check(vaccel_arg_array_get_buffer(&self.arr, &b, &n),
			      "vaccel_arg_array_get_buffer");
			return py::array(py::dtype::of<uint8_t>(),
					 {static_cast<py::ssize_t>(n)}, {1}, b,
					 so);
		},
		"The BUFFER arg at the cursor as a uint8 numpy view.")
	    .def(
		"get_raw",
		[](py::object so) {
			ArgArray &self = so.cast<ArgArray &>();
			void *b = nullptr;
			size_t n = 0;
			check(vaccel_arg_array_get_raw(&self.arr, &b, &n),
			      "vaccel_arg_array_get_raw");
			return py::array(py::dtype::of<uint8_t>(),
					 {static_cast<py::ssize_t>(n)}, {1}, b,
					 so);
		},
		"The RAW arg at the cursor as a uint8 numpy view.")
	    .def_property(
		"position",
		[](const ArgArray &s) {
			return vaccel_arg_array_position(&s.arr);
		},
		[](ArgArray &s, size_t p) {
			vaccel_arg_array_set_position(&s.arr, p);
		})
	    .def("reset_position",
		 [](ArgArray &s) { vaccel_arg_array_reset_position(&s.arr); })
	    .def("remaining_count",
		 [](const ArgArray &s) {
			 return vaccel_arg_array_remaining_count(&s.arr);
		 })
	    .def("__len__",
		 [](const ArgArray &s) {
			 return vaccel_arg_array_count(&s.arr);
		 })
	    .def("__getitem__",
		 [](py::object so, py::ssize_t i) {
			 ArgArray &s = so.cast<ArgArray &>();
			 const auto n = static_cast<py::ssize_t>(s.arr.count);
			 if (i < 0)
				 i += n;
			 if (i < 0 || i >= n)
				 throw py::index_error("ArgArray index out of "
						       "range");
			 // A view of slot i, keeping the array alive.
			 auto a = std::make_unique<Arg>();
			 a->arg = vaccel_arg_array_raw(&s.arr)[i];
			 a->arg.owned = false;
			 a->readonly = s.readonly[static_cast<size_t>(i)];
			 a->source = so;
			 return a;
		 })
	    .def("__repr__", [](const ArgArray &s) {
		    return "<vaccel.ArgArray " + std::to_string(s.arr.count) +
			   " args, position " + std::to_string(s.arr.position) +
			   ">";
	    });

#define VACCEL_PY_ARRAY_FNS_(NAME, CTYPE, TAG, ARRAY_TAG)                      \
	aa.def(                                                                \
	    "add_" #NAME,                                                      \
	    [](ArgArray &s, const py::handle &v) {                             \
		    add_scalar<CTYPE>(s, v, TAG, vaccel_arg_array_add_##NAME); \
	    },                                                                 \
	    py::arg("value"));                                                 \
	aa.def(                                                                \
	    "add_" #NAME "_array",                                             \
	    [](ArgArray &s, const py::handle &v) {                             \
		    add_array<CTYPE>(s, v, ARRAY_TAG,                          \
				     vaccel_arg_array_add_##NAME##_array);     \
	    },                                                                 \
	    py::arg("values"));                                                \
	aa.def("get_" #NAME, [](ArgArray &s) {                                 \
		return get_scalar<CTYPE>(s, vaccel_arg_array_get_##NAME,       \
					 "vaccel_arg_array_get_" #NAME);       \
	});                                                                    \
	aa.def("get_" #NAME "_array", [](py::object s) {                       \
		return get_array<CTYPE>(                                       \
		    s, vaccel_arg_array_get_##NAME##_array, ARRAY_TAG,         \
		    "vaccel_arg_array_get_" #NAME "_array");                   \
	});
	VACCEL_ARG_NUMERIC_TYPES(VACCEL_PY_ARRAY_FNS_)
#undef VACCEL_PY_ARRAY_FNS_
}

} // namespace vaccel_py
