// SPDX-License-Identifier: Apache-2.0
// Tensors of the Torch, TensorFlow and TensorFlow Lite ops (vaccel.TorchTensor,
// vaccel.TFTensor, vaccel.TFLiteTensor), TF nodes and statuses, and the
// model ops that use them (added to vaccel.Session).
//
// A tensor made from a numpy array views the array's memory (the array is
// kept alive by the tensor); only a non-contiguous or byte-swapped array is
// copied first. Output tensors are allocated by the plugin and owned by the
// Python object; numpy() / np.asarray() return a view of them, not a copy.
// The three C tensor structs differ only in the width of their fields, so
// one template serves them through a traits struct.
#include "common.h"

#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace vaccel_py
{

namespace
{

struct DtypeName {
	int code;
	const char *numpy;
};

struct TorchTraits {
	using CType = vaccel_torch_tensor;
	using NrDims = int64_t;
	using Dim = int64_t;
	using DType = vaccel_torch_data_type;
	static constexpr const char *kName = "TorchTensor";
	static constexpr DtypeName kTypes[] = {
	    {VACCEL_TORCH_BYTE, "uint8"},    {VACCEL_TORCH_CHAR, "int8"},
	    {VACCEL_TORCH_SHORT, "int16"},   {VACCEL_TORCH_INT, "int32"},
	    {VACCEL_TORCH_LONG, "int64"},    {VACCEL_TORCH_HALF, "float16"},
	    {VACCEL_TORCH_FLOAT, "float32"},
	};
	static int make(CType **t, NrDims n, const Dim *d, DType ty)
	{
		return vaccel_torch_tensor_new(t, n, d, ty);
	}
	static int allocate(CType **t, NrDims n, const Dim *d, DType ty,
			    size_t size)
	{
		return vaccel_torch_tensor_allocate(t, n, d, ty, size);
	}
	static int set_data(CType *t, void *p, size_t n)
	{
		return vaccel_torch_tensor_set_data(t, p, n);
	}
	static int del(CType *t) { return vaccel_torch_tensor_delete(t); }
};

struct TFTraits {
	using CType = vaccel_tf_tensor;
	using NrDims = int;
	using Dim = int64_t;
	using DType = vaccel_tf_data_type;
	static constexpr const char *kName = "TFTensor";
	static constexpr DtypeName kTypes[] = {
	    {VACCEL_TF_FLOAT, "float32"},
	    {VACCEL_TF_DOUBLE, "float64"},
	    {VACCEL_TF_INT32, "int32"},
	    {VACCEL_TF_UINT8, "uint8"},
	    {VACCEL_TF_INT16, "int16"},
	    {VACCEL_TF_INT8, "int8"},
	    {VACCEL_TF_COMPLEX64, "complex64"},
	    {VACCEL_TF_INT64, "int64"},
	    {VACCEL_TF_BOOL, "bool"},
	    {VACCEL_TF_UINT16, "uint16"},
	    {VACCEL_TF_COMPLEX128, "complex128"},
	    {VACCEL_TF_HALF, "float16"},
	    {VACCEL_TF_UINT32, "uint32"},
	    {VACCEL_TF_UINT64, "uint64"},
	};
	static int make(CType **t, NrDims n, const Dim *d, DType ty)
	{
		return vaccel_tf_tensor_new(t, n, d, ty);
	}
	static int allocate(CType **t, NrDims n, const Dim *d, DType ty,
			    size_t size)
	{
		return vaccel_tf_tensor_allocate(t, n, d, ty, size);
	}
	static int set_data(CType *t, void *p, size_t n)
	{
		return vaccel_tf_tensor_set_data(t, p, n);
	}
	static int del(CType *t) { return vaccel_tf_tensor_delete(t); }
};

struct TFLiteTraits {
	using CType = vaccel_tflite_tensor;
	using NrDims = int;
	using Dim = int32_t;
	using DType = vaccel_tflite_data_type;
	static constexpr const char *kName = "TFLiteTensor";
	static constexpr DtypeName kTypes[] = {
	    {VACCEL_TFLITE_FLOAT32, "float32"},
	    {VACCEL_TFLITE_INT32, "int32"},
	    {VACCEL_TFLITE_UINT8, "uint8"},
	    {VACCEL_TFLITE_INT64, "int64"},
	    {VACCEL_TFLITE_BOOL, "bool"},
	    {VACCEL_TFLITE_INT16, "int16"},
	    {VACCEL_TFLITE_COMPLEX64, "complex64"},
	    {VACCEL_TFLITE_INT8, "int8"},
	    {VACCEL_TFLITE_FLOAT16, "float16"},
	    {VACCEL_TFLITE_FLOAT64, "float64"},
	    {VACCEL_TFLITE_COMPLEX128, "complex128"},
	    {VACCEL_TFLITE_UINT64, "uint64"},
	    {VACCEL_TFLITE_UINT32, "uint32"},
	    {VACCEL_TFLITE_UINT16, "uint16"},
	};
	static int make(CType **t, NrDims n, const Dim *d, DType ty)
	{
		return vaccel_tflite_tensor_new(t, n, d, ty);
	}
	static int allocate(CType **t, NrDims n, const Dim *d, DType ty,
			    size_t size)
	{
		return vaccel_tflite_tensor_allocate(t, n, d, ty, size);
	}
	static int set_data(CType *t, void *p, size_t n)
	{
		return vaccel_tflite_tensor_set_data(t, p, n);
	}
	static int del(CType *t) { return vaccel_tflite_tensor_delete(t); }
};

template <class T> class Tensor
{
public:
	typename T::CType *t = nullptr; // owned: deleted with the object
	py::object source;              // the array whose memory t views
	std::optional<BufferView> view;

	Tensor() = default;
	Tensor(const Tensor &) = delete;
	Tensor &operator=(const Tensor &) = delete;
	~Tensor()
	{
		if (t != nullptr)
			T::del(t);
	}
};

template <class T> std::optional<const char *> numpy_name(int code)
{
	for (const auto &d : T::kTypes)
		if (d.code == code)
			return d.numpy;
	return std::nullopt;
}

template <class T>
std::optional<typename T::DType> dtype_code(const std::string &numpy)
{
	for (const auto &d : T::kTypes)
		if (numpy == d.numpy)
			return static_cast<typename T::DType>(d.code);
	return std::nullopt;
}

// A tensor viewing @p obj (anything numpy.asarray() accepts).
template <class T>
std::unique_ptr<Tensor<T>> from_array(const py::handle &obj,
				      std::optional<typename T::DType> type)
{
	py::module_ np = py::module_::import("numpy");
	py::object arr = np.attr("asarray")(obj);
	const bool contiguous =
	    arr.attr("flags").attr("c_contiguous").cast<bool>();
	const bool native = arr.attr("dtype").attr("isnative").cast<bool>();
	if (!contiguous || !native)
		// The documented copy: the C tensor needs one dense block.
		arr = np.attr("ascontiguousarray")(
		    arr, arr.attr("dtype").attr("newbyteorder")("="));
	const std::string name = py::str(arr.attr("dtype").attr("name"));
	std::optional<typename T::DType> ty = type;
	if (!ty)
		ty = dtype_code<T>(name);
	if (!ty)
		fail(VACCEL_EINVAL, T::kName,
		     "numpy dtype " + name + " has no " + T::kName +
			 " data type");
	auto shape = arr.attr("shape").cast<std::vector<py::ssize_t>>();
	std::vector<typename T::Dim> dims;
	for (auto s : shape)
		dims.push_back(static_cast<typename T::Dim>(s));
	if (dims.empty())
		dims.push_back(1); // a 0-d array is a one-element tensor
	auto out = std::make_unique<Tensor<T>>();
	check(T::make(&out->t, static_cast<typename T::NrDims>(dims.size()),
		      dims.data(), *ty),
	      "vaccel_tensor_new");
	out->view.emplace(arr, true, T::kName);
	check(T::set_data(out->t, out->view->data(), out->view->size()),
	      "vaccel_tensor_set_data");
	out->source = arr;
	return out;
}

template <class T>
std::unique_ptr<Tensor<T>> empty_tensor(const std::vector<int64_t> &shape,
					typename T::DType type)
{
	auto np_name = numpy_name<T>(type);
	if (!np_name)
		fail(VACCEL_EINVAL, T::kName,
		     "data type " + std::to_string(static_cast<int>(type)) +
			 " has no numpy equivalent");
	const size_t item = py::dtype(std::string(*np_name)).itemsize();
	size_t n = 1;
	std::vector<typename T::Dim> dims;
	for (auto s : shape) {
		if (s < 0)
			fail(VACCEL_EINVAL, T::kName, "negative dimension");
		n *= static_cast<size_t>(s);
		dims.push_back(static_cast<typename T::Dim>(s));
	}
	if (dims.empty())
		fail(VACCEL_EINVAL, T::kName, "a tensor needs >= 1 dimension");
	auto out = std::make_unique<Tensor<T>>();
	check(T::allocate(&out->t, static_cast<typename T::NrDims>(dims.size()),
			  dims.data(), type, n * item),
	      "vaccel_tensor_allocate");
	return out;
}

// A numpy view of the tensor's data, kept alive by @p self.
template <class T> py::object to_numpy(py::object self)
{
	auto &tt = self.cast<Tensor<T> &>();
	const auto *c = tt.t;
	auto np_name = numpy_name<T>(c->data_type);
	if (!np_name)
		fail(VACCEL_EINVAL, "numpy",
		     std::string(T::kName) + " data type " +
			 std::to_string(static_cast<int>(c->data_type)) +
			 " has no numpy equivalent");
	py::dtype dt{std::string(*np_name)};
	std::vector<py::ssize_t> shape;
	size_t n = 1;
	for (typename T::NrDims i = 0; i < c->nr_dims; i++) {
		shape.push_back(static_cast<py::ssize_t>(c->dims[i]));
		n *= static_cast<size_t>(c->dims[i]);
	}
	const size_t item = static_cast<size_t>(dt.itemsize());
	if (n * item != c->size)
		fail(VACCEL_EINVAL, "numpy",
		     std::string(T::kName) + " holds " +
			 std::to_string(c->size) + " bytes but its dims need " +
			 std::to_string(n * item));
	if (c->data == nullptr) // empty tensor: numpy wants some pointer
		return py::array(dt, shape);
	return py::array(dt, shape, c->data, self);
}

template <class T>
void bind_tensor(py::module_ &m, py::enum_<typename T::DType> &)
{
	using TT = Tensor<T>;
	py::class_<TT>(m, T::kName, R"doc(
A tensor of the model ops. Construct from a numpy array (viewed, not
copied; the array is kept alive), or with .empty(shape, data_type). Output
tensors are owned by the object; .numpy() and numpy.asarray(t) are views.
)doc")
	    .def(py::init([](const py::handle &array,
			     std::optional<typename T::DType> data_type) {
			 return from_array<T>(array, data_type);
		 }),
		 py::arg("array"), py::arg("data_type") = py::none())
	    .def_static("empty", &empty_tensor<T>, py::arg("shape"),
			py::arg("data_type"))
	    .def_property_readonly("dims",
				   [](const TT &t) {
					   std::vector<int64_t> d;
					   for (typename T::NrDims i = 0;
						i < t.t->nr_dims; i++)
						   d.push_back(t.t->dims[i]);
					   return py::tuple(py::cast(d));
				   })
	    .def_property_readonly("shape",
				   [](const TT &t) {
					   std::vector<int64_t> d;
					   for (typename T::NrDims i = 0;
						i < t.t->nr_dims; i++)
						   d.push_back(t.t->dims[i]);
					   return py::tuple(py::cast(d));
				   })
	    .def_property_readonly("data_type",
				   [](const TT &t) { return t.t->data_type; })
	    .def_property_readonly(
		"size", [](const TT &t) { return t.t->size; }, "bytes of data")
	    .def_property_readonly("owned",
				   [](const TT &t) { return t.t->owned; })
	    .def_property_readonly("data_ptr",
				   [](const TT &t) {
					   return reinterpret_cast<uintptr_t>(
					       t.t->data);
				   })
	    .def("numpy", &to_numpy<T>, "A numpy view of the data.")
	    .def(
		"__array__",
		[](py::object self, const py::object &dtype) {
			py::object a = to_numpy<T>(self);
			if (!dtype.is_none())
				return a.attr("astype")(dtype);
			return a;
		},
		py::arg("dtype") = py::none())
	    .def("__repr__", [](const TT &t) {
		    std::string s = std::string("<vaccel.") + T::kName + " (";
		    for (typename T::NrDims i = 0; i < t.t->nr_dims; i++)
			    s += (i ? ", " : "") + std::to_string(t.t->dims[i]);
		    return s + ") type " +
			   std::to_string(static_cast<int>(t.t->data_type)) +
			   ", " + std::to_string(t.t->size) + " bytes>";
	    });
}

// The C pointers of a list of inputs (tensors or arrays), with the
// objects that own them in @p keep.
template <class T>
std::vector<typename T::CType *> inputs(const py::handle &seq,
					std::vector<py::object> &keep)
{
	std::vector<typename T::CType *> out;
	for (py::handle h : py::iter(seq)) {
		py::object o;
		if (py::isinstance<Tensor<T>>(h))
			o = py::reinterpret_borrow<py::object>(h);
		else
			o = py::cast(from_array<T>(h, std::nullopt));
		out.push_back(o.cast<Tensor<T> &>().t);
		keep.push_back(std::move(o));
	}
	return out;
}

// Takes ownership of the tensors a plugin returned.
template <class T> py::list outputs(std::vector<typename T::CType *> &outs)
{
	py::list l;
	for (auto *&c : outs) {
		if (c == nullptr) {
			l.append(py::none());
			continue;
		}
		auto t = std::make_unique<Tensor<T>>();
		t->t = std::exchange(c, nullptr);
		l.append(py::cast(std::move(t)));
	}
	return l;
}

template <class T> void free_outputs(std::vector<typename T::CType *> &outs)
{
	for (auto *&c : outs)
		if (c != nullptr)
			T::del(std::exchange(c, nullptr));
}

struct TFNode {
	std::string name;
	int id = 0;
};

struct TFStatus {
	int code = 0;
	std::string message;
};

TFStatus take_status(vaccel_tf_status &s)
{
	TFStatus out{s.code, s.message != nullptr ? s.message : ""};
	vaccel_tf_status_release(&s);
	return out;
}

// Node lists: TFNode objects, (name, id) tuples or names (id 0).
std::vector<TFNode> nodes_of(const py::handle &seq)
{
	std::vector<TFNode> out;
	for (py::handle h : py::iter(seq)) {
		if (py::isinstance<TFNode>(h))
			out.push_back(h.cast<TFNode>());
		else if (py::isinstance<py::str>(h))
			out.push_back({h.cast<std::string>(), 0});
		else {
			auto t = h.cast<std::pair<std::string, int>>();
			out.push_back({t.first, t.second});
		}
	}
	return out;
}

std::vector<vaccel_tf_node> c_nodes(std::vector<TFNode> &nodes)
{
	std::vector<vaccel_tf_node> out;
	for (auto &n : nodes)
		out.push_back({n.name.data(), n.id});
	return out;
}

int check_count(size_t n, const char *what)
{
	if (n > static_cast<size_t>(INT32_MAX))
		fail(VACCEL_EINVAL, what, "too many tensors");
	return static_cast<int>(n);
}

} // namespace

void init_tensors(py::module_ &m)
{
	py::enum_<vaccel_torch_data_type> torch_t(m, "TorchDataType");
	torch_t.value("BYTE", VACCEL_TORCH_BYTE)
	    .value("CHAR", VACCEL_TORCH_CHAR)
	    .value("SHORT", VACCEL_TORCH_SHORT)
	    .value("INT", VACCEL_TORCH_INT)
	    .value("LONG", VACCEL_TORCH_LONG)
	    .value("HALF", VACCEL_TORCH_HALF)
	    .value("FLOAT", VACCEL_TORCH_FLOAT);
	py::enum_<vaccel_tf_data_type> tf_t(m, "TFDataType");
	tf_t.value("FLOAT", VACCEL_TF_FLOAT)
	    .value("DOUBLE", VACCEL_TF_DOUBLE)
	    .value("INT32", VACCEL_TF_INT32)
	    .value("UINT8", VACCEL_TF_UINT8)
	    .value("INT16", VACCEL_TF_INT16)
	    .value("INT8", VACCEL_TF_INT8)
	    .value("STRING", VACCEL_TF_STRING)
	    .value("COMPLEX64", VACCEL_TF_COMPLEX64)
	    .value("INT64", VACCEL_TF_INT64)
	    .value("BOOL", VACCEL_TF_BOOL)
	    .value("QINT8", VACCEL_TF_QINT8)
	    .value("QUINT8", VACCEL_TF_QUINT8)
	    .value("QINT32", VACCEL_TF_QINT32)
	    .value("BFLOAT16", VACCEL_TF_BFLOAT16)
	    .value("QINT16", VACCEL_TF_QINT16)
	    .value("QUINT16", VACCEL_TF_QUINT16)
	    .value("UINT16", VACCEL_TF_UINT16)
	    .value("COMPLEX128", VACCEL_TF_COMPLEX128)
	    .value("HALF", VACCEL_TF_HALF)
	    .value("RESOURCE", VACCEL_TF_RESOURCE)
	    .value("VARIANT", VACCEL_TF_VARIANT)
	    .value("UINT32", VACCEL_TF_UINT32)
	    .value("UINT64", VACCEL_TF_UINT64);
	py::enum_<vaccel_tflite_data_type> tflite_t(m, "TFLiteDataType");
	tflite_t.value("NOTYPE", VACCEL_TFLITE_NOTYPE)
	    .value("FLOAT32", VACCEL_TFLITE_FLOAT32)
	    .value("INT32", VACCEL_TFLITE_INT32)
	    .value("UINT8", VACCEL_TFLITE_UINT8)
	    .value("INT64", VACCEL_TFLITE_INT64)
	    .value("STRING", VACCEL_TFLITE_STRING)
	    .value("BOOL", VACCEL_TFLITE_BOOL)
	    .value("INT16", VACCEL_TFLITE_INT16)
	    .value("COMPLEX64", VACCEL_TFLITE_COMPLEX64)
	    .value("INT8", VACCEL_TFLITE_INT8)
	    .value("FLOAT16", VACCEL_TFLITE_FLOAT16)
	    .value("FLOAT64", VACCEL_TFLITE_FLOAT64)
	    .value("COMPLEX128", VACCEL_TFLITE_COMPLEX128)
	    .value("UINT64", VACCEL_TFLITE_UINT64)
	    .value("RESOURCE", VACCEL_TFLITE_RESOURCE)
	    .value("VARIANT", VACCEL_TFLITE_VARIANT)
	    .value("UINT32", VACCEL_TFLITE_UINT32)
	    .value("UINT16", VACCEL_TFLITE_UINT16)
	    .value("INT4", VACCEL_TFLITE_INT4);

	bind_tensor<TorchTraits>(m, torch_t);
	bind_tensor<TFTraits>(m, tf_t);
	bind_tensor<TFLiteTraits>(m, tflite_t);

	py::class_<TFNode>(m, "TFNode", "A graph node: name and output index.")
	    .def(py::init([](std::string name, int id) {
			 return TFNode{std::move(name), id};
		 }),
		 py::arg("name"), py::arg("id") = 0)
	    .def_readwrite("name", &TFNode::name)
	    .def_readwrite("id", &TFNode::id)
	    .def("__repr__", [](const TFNode &n) {
		    return "<vaccel.TFNode " + n.name + ":" +
			   std::to_string(n.id) + ">";
	    });
	py::class_<TFStatus>(m, "TFStatus", "Status returned by the TF ops.")
	    .def_readonly("code", &TFStatus::code)
	    .def_readonly("message", &TFStatus::message)
	    .def("__repr__", [](const TFStatus &s) {
		    return "<vaccel.TFStatus " + std::to_string(s.code) + " '" +
			   s.message + "'>";
	    });
}

void add_tensor_ops(py::class_<Session> &cls)
{
	// ---- torch ------------------------------------------------------
	cls.def(
	    "torch_model_load",
	    [](Session &s, Resource &r) {
		    call_op(s, &r, "vaccel_torch_model_load",
			    [](vaccel_session *cs, vaccel_resource *cr) {
				    return vaccel_torch_model_load(cs, cr);
			    });
	    },
	    py::arg("model"));
	cls.def(
	    "torch_model_run",
	    [](Session &s, Resource &r, const py::handle &ins, int nr_outputs,
	       std::optional<py::buffer> run_options) {
		    std::vector<py::object> keep;
		    auto in = inputs<TorchTraits>(ins, keep);
		    if (nr_outputs < 0)
			    fail(VACCEL_EINVAL, "vaccel_torch_model_run",
				 "nr_outputs < 0");
		    std::vector<vaccel_torch_tensor *> out(
			static_cast<size_t>(nr_outputs), nullptr);
		    std::optional<BufferView> opts_view;
		    vaccel_torch_buffer opts{};
		    if (run_options) {
			    opts_view.emplace(*run_options, false,
					      "run_options");
			    // Read only by the plugin, never freed here.
			    opts.data = static_cast<char *>(opts_view->data());
			    opts.size = opts_view->size();
		    }
		    const int nin = check_count(in.size(), "torch_model_run");
		    try {
			    call_op(
				s, &r, "vaccel_torch_model_run",
				[&](vaccel_session *cs, vaccel_resource *cr) {
					return vaccel_torch_model_run(
					    cs, cr,
					    run_options ? &opts : nullptr,
					    in.data(), nin, out.data(),
					    nr_outputs);
				});
		    } catch (...) {
			    free_outputs<TorchTraits>(out);
			    throw;
		    }
		    return outputs<TorchTraits>(out);
	    },
	    py::arg("model"), py::arg("inputs"), py::arg("nr_outputs") = 1,
	    py::arg("run_options") = py::none(),
	    "Run a loaded TorchScript model; returns nr_outputs tensors.");
	cls.def(
	    "torch_sgemm",
	    [](Session &s, const py::handle &a, const py::handle &b,
	       const py::handle &c, int m, int n, int k) {
		    std::vector<py::object> keep;
		    auto ta = inputs<TorchTraits>(py::make_tuple(a), keep);
		    auto tb = inputs<TorchTraits>(py::make_tuple(b), keep);
		    auto tc = inputs<TorchTraits>(py::make_tuple(c), keep);
		    std::vector<vaccel_torch_tensor *> out(1, nullptr);
		    try {
			    call_op(s, nullptr, "vaccel_torch_sgemm",
				    [&](vaccel_session *cs, vaccel_resource *) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
					    return vaccel_torch_sgemm(
						cs, ta.data(), tb.data(),
						tc.data(), m, n, k, out.data());
#pragma GCC diagnostic pop
				    });
		    } catch (...) {
			    free_outputs<TorchTraits>(out);
			    throw;
		    }
		    return py::object(outputs<TorchTraits>(out)[0]);
	    },
	    py::arg("a"), py::arg("b"), py::arg("c"), py::arg("m"),
	    py::arg("n"), py::arg("k"),
	    "Deprecated upstream op; returns the output tensor or None.");

	// ---- tensorflow -------------------------------------------------
	cls.def(
	    "tf_model_load",
	    [](Session &s, Resource &r) {
		    vaccel_tf_status st{};
		    call_op(s, &r, "vaccel_tf_model_load",
			    [&](vaccel_session *cs, vaccel_resource *cr) {
				    return vaccel_tf_model_load(cs, cr, &st);
			    });
		    return take_status(st);
	    },
	    py::arg("model"));
	cls.def(
	    "tf_model_unload",
	    [](Session &s, Resource &r) {
		    vaccel_tf_status st{};
		    call_op(s, &r, "vaccel_tf_model_unload",
			    [&](vaccel_session *cs, vaccel_resource *cr) {
				    return vaccel_tf_model_unload(cs, cr, &st);
			    });
		    return take_status(st);
	    },
	    py::arg("model"));
	cls.def(
	    "tf_model_run",
	    [](Session &s, Resource &r, const py::handle &in_nodes,
	       const py::handle &ins, const py::handle &out_nodes,
	       std::optional<py::buffer> run_options) {
		    auto inn = nodes_of(in_nodes);
		    auto outn = nodes_of(out_nodes);
		    auto cin = c_nodes(inn);
		    auto cout = c_nodes(outn);
		    std::vector<py::object> keep;
		    auto in = inputs<TFTraits>(ins, keep);
		    if (in.size() != inn.size())
			    fail(VACCEL_EINVAL, "vaccel_tf_model_run",
				 "one input node per input tensor needed");
		    std::vector<vaccel_tf_tensor *> out(outn.size(), nullptr);
		    std::optional<BufferView> opts_view;
		    vaccel_tf_buffer opts{};
		    if (run_options) {
			    opts_view.emplace(*run_options, false,
					      "run_options");
			    opts.data = opts_view->data();
			    opts.size = opts_view->size();
		    }
		    const int nin = check_count(in.size(), "tf_model_run");
		    const int nout = check_count(out.size(), "tf_model_run");
		    vaccel_tf_status st{};
		    try {
			    call_op(
				s, &r, "vaccel_tf_model_run",
				[&](vaccel_session *cs, vaccel_resource *cr) {
					return vaccel_tf_model_run(
					    cs, cr,
					    run_options ? &opts : nullptr,
					    cin.data(), in.data(), nin,
					    cout.data(), out.data(), nout, &st);
				});
		    } catch (...) {
			    free_outputs<TFTraits>(out);
			    vaccel_tf_status_release(&st);
			    throw;
		    }
		    auto status = take_status(st);
		    return py::make_tuple(outputs<TFTraits>(out), status);
	    },
	    py::arg("model"), py::arg("in_nodes"), py::arg("inputs"),
	    py::arg("out_nodes"), py::arg("run_options") = py::none(),
	    "Run a loaded TF model: (list of output tensors, TFStatus). "
	    "Nodes are TFNode, (name, id) or names.");

	// ---- tensorflow lite --------------------------------------------
	cls.def(
	    "tflite_model_load",
	    [](Session &s, Resource &r) {
		    call_op(s, &r, "vaccel_tflite_model_load",
			    [](vaccel_session *cs, vaccel_resource *cr) {
				    return vaccel_tflite_model_load(cs, cr);
			    });
	    },
	    py::arg("model"));
	cls.def(
	    "tflite_model_unload",
	    [](Session &s, Resource &r) {
		    call_op(s, &r, "vaccel_tflite_model_unload",
			    [](vaccel_session *cs, vaccel_resource *cr) {
				    return vaccel_tflite_model_unload(cs, cr);
			    });
	    },
	    py::arg("model"));
	cls.def(
	    "tflite_model_run",
	    [](Session &s, Resource &r, const py::handle &ins, int nr_outputs) {
		    std::vector<py::object> keep;
		    auto in = inputs<TFLiteTraits>(ins, keep);
		    if (nr_outputs < 0)
			    fail(VACCEL_EINVAL, "vaccel_tflite_model_run",
				 "nr_outputs < 0");
		    std::vector<vaccel_tflite_tensor *> out(
			static_cast<size_t>(nr_outputs), nullptr);
		    const int nin = check_count(in.size(), "tflite_model_run");
		    uint8_t status = 0;
		    try {
			    call_op(
				s, &r, "vaccel_tflite_model_run",
				[&](vaccel_session *cs, vaccel_resource *cr) {
					return vaccel_tflite_model_run(
					    cs, cr, in.data(), nin, out.data(),
					    nr_outputs, &status);
				});
		    } catch (...) {
			    free_outputs<TFLiteTraits>(out);
			    throw;
		    }
		    return py::make_tuple(outputs<TFLiteTraits>(out),
					  static_cast<int>(status));
	    },
	    py::arg("model"), py::arg("inputs"), py::arg("nr_outputs") = 1,
	    "Run a loaded TFLite model: (list of output tensors, status).");
}

} // namespace vaccel_py
