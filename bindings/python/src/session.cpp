// SPDX-License-Identifier: Apache-2.0
// vaccel.Session and its ops (the model ops are in tensors.cpp).
//
// Arrays: inputs are taken as they are when they already have the dtype
// and layout the op needs (no copy: the plugin reads the caller's memory);
// otherwise they are converted once, which is a copy (py::array_t with
// c_style | forcecast). Outputs are never converted: a given output array
// must already be a writable, C-contiguous array of the right dtype, so
// that what the plugin writes is what the caller sees; when none is given
// a new numpy array is created and returned.
#include "common.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace vaccel_py
{

Session::~Session()
{
	if (sess == nullptr)
		return;
	// No exceptions from a destructor; a failure (e.g. after
	// vaccel_cleanup()) leaves the struct to the runtime.
	for (auto &ro : resources) {
		auto &r = ro.cast<Resource &>();
		if (r.res != nullptr)
			vaccel_resource_unregister(r.res, sess);
	}
	if (vaccel_session_delete(sess) == VACCEL_OK)
		sess = nullptr;
}

vaccel_session *Session::get(const char *what) const
{
	if (sess == nullptr)
		fail(VACCEL_EINVAL, what, "the session was released");
	return sess;
}

void Session::release()
{
	if (sess == nullptr)
		return;
	if (in_flight.load() != 0)
		fail(VACCEL_EBUSY, "vaccel.Session.release",
		     "ops on the session are still running");
	Outcome o;
	{
		py::gil_scoped_release nogil;
		for (auto &ro : resources) {
			// Casting a py::object needs no GIL: it reads the
			// instance's C++ pointer.
			auto &r = ro.cast<Resource &>();
			if (r.res != nullptr)
				vaccel_resource_unregister(r.res, sess);
		}
		o.capture(vaccel_session_delete(sess));
	}
	resources.clear();
	// EINVAL: the runtime dropped the session at vaccel_cleanup(); it is
	// gone already, which is what release() asks for.
	if (o.rc == VACCEL_OK || o.rc == VACCEL_EINVAL) {
		sess = nullptr;
		return;
	}
	o.raise_if_failed("vaccel_session_delete");
}

namespace
{

using InArray32f =
    py::array_t<float, py::array::c_style | py::array::forcecast>;

// An input array of T: the object itself when it already is a C-contiguous
// T array, a converted copy otherwise.
template <class T>
py::array_t<T, py::array::c_style | py::array::forcecast>
in_array(const py::handle &obj, const char *what)
{
	auto a =
	    py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(
		obj);
	if (!a) {
		PyErr_Clear();
		fail(VACCEL_EINVAL, what,
		     "input cannot be converted to an array of " +
			 std::string(py::str(py::dtype::of<T>())));
	}
	return a;
}

// A writable C-contiguous T array of at least @p n elements: @p given
// itself (never a copy), or a new one of exactly @p n when None.
template <class T>
py::array_t<T> out_array(const py::object &given, size_t n, const char *what)
{
	if (given.is_none())
		return py::array_t<T>(static_cast<py::ssize_t>(n));
	if (!py::isinstance<py::array>(given))
		fail(VACCEL_EINVAL, what, "an output must be a numpy array");
	auto a = py::reinterpret_borrow<py::array>(given);
	if (!a.dtype().is(py::dtype::of<T>()))
		fail(VACCEL_EINVAL, what,
		     "output dtype must be " +
			 std::string(py::str(py::dtype::of<T>())) + ", not " +
			 std::string(py::str(a.dtype())));
	if ((a.flags() & py::array::c_style) == 0 || !a.writeable())
		fail(VACCEL_EINVAL, what,
		     "output must be writable and C-contiguous");
	if (static_cast<size_t>(a.size()) < n)
		fail(VACCEL_EINVAL, what,
		     "output holds " + std::to_string(a.size()) +
			 " elements, needs " + std::to_string(n));
	return py::reinterpret_borrow<py::array_t<T>>(given);
}

// Text a plugin wrote into @p buf (up to the first NUL).
std::string text_of(const std::vector<unsigned char> &buf)
{
	auto end = std::find(buf.begin(), buf.end(), '\0');
	return {buf.begin(), end};
}

py::str decode(const std::string &s)
{
	return py::reinterpret_steal<py::str>(PyUnicode_DecodeUTF8(
	    s.data(), static_cast<py::ssize_t>(s.size()), "replace"));
}

template <class F>
py::object image_op(Session &s, const py::handle &image, size_t out_size,
		    const char *what, F &&fn)
{
	BufferView img(image, false, what);
	if (img.size() == 0)
		fail(VACCEL_EINVAL, what, "the image is empty");
	std::vector<unsigned char> name(out_size == 0 ? 1 : out_size, 0);
	call_op(s, nullptr, what, [&](vaccel_session *cs, vaccel_resource *) {
		return fn(cs, img.data(), name.data(), img.size(), name.size());
	});
	return decode(text_of(name));
}

// Row-major matrix operand: its leading dimension in elements, if the rows
// are contiguous and the row stride is a whole number of elements.
std::optional<int64_t> leading_dim(const py::array &a)
{
	if (a.ndim() != 2 ||
	    a.strides(1) != static_cast<py::ssize_t>(sizeof(float)) ||
	    a.strides(0) % static_cast<py::ssize_t>(sizeof(float)) != 0 ||
	    a.strides(0) < a.shape(1) * static_cast<py::ssize_t>(sizeof(float)))
		return std::nullopt;
	return a.strides(0) / static_cast<py::ssize_t>(sizeof(float));
}

// A float32 2-D input: viewed in place when its rows are contiguous
// (strided rows are passed with their leading dimension), copied otherwise.
py::array sgemm_input(const py::handle &obj, int64_t &ld, const char *name)
{
	py::array a = py::array::ensure(obj);
	if (!a || !a.dtype().is(py::dtype::of<float>()) || !leading_dim(a))
		a = in_array<float>(obj, "vaccel_sgemm");
	if (a.ndim() != 2)
		fail(VACCEL_EINVAL, "vaccel_sgemm",
		     std::string(name) + " must be a 2-D array");
	ld = *leading_dim(a);
	return a;
}

} // namespace

void init_session(py::module_ &mod)
{
	py::class_<Session> cls(mod, "Session", R"doc(
A vAccel session (struct vaccel_session): the context every op runs in.

Session(hint=0): `hint` is an OR of vaccel.PluginType bits; plugins of
those types are preferred, each op going to the first plugin in that order
that implements it. Use it as a context manager or call release(). Ops
release the GIL, so several Python threads can run ops at once (on one
session or on several). Resources registered through a session are kept
alive by it and unregistered when it is released.
)doc");
	cls.def(py::init([](uint32_t hint) {
			auto s = std::make_unique<Session>();
			Outcome o;
			{
				py::gil_scoped_release nogil;
				o.capture(vaccel_session_new(&s->sess, hint));
			}
			if (o.rc != VACCEL_OK)
				s->sess = nullptr;
			o.raise_if_failed("vaccel_session_new");
			return s;
		}),
		py::arg("hint") = 0)
	    .def("release", &Session::release,
		 "Unregister its resources and free the session.")
	    .def("close", &Session::release)
	    .def("__enter__", [](py::object self) { return self; })
	    .def("__exit__",
		 [](Session &self, const py::args &) { self.release(); })
	    .def_property_readonly(
		"released", [](const Session &s) { return s.sess == nullptr; })
	    .def_property_readonly(
		"id", [](const Session &s) { return s.get("id")->id; })
	    .def_property_readonly(
		"remote_id",
		[](const Session &s) { return s.get("remote_id")->remote_id; })
	    .def_property_readonly(
		"hint", [](const Session &s) { return s.get("hint")->hint; })
	    .def_property_readonly(
		"is_virtio",
		[](const Session &s) { return s.get("is_virtio")->is_virtio; })
	    .def_property_readonly(
		"rundir",
		[](const Session &s) -> std::optional<std::string> {
			const auto *c = s.get("rundir");
			if (c->rundir[0] == '\0')
				return std::nullopt;
			return std::string(c->rundir);
		})
	    .def(
		"update",
		[](Session &s, uint32_t hint) {
			call_op(s, nullptr, "vaccel_session_update",
				[&](vaccel_session *cs, vaccel_resource *) {
					return vaccel_session_update(cs, hint);
				});
		},
		py::arg("hint"),
		"Change the hint; do not call while ops run on the session.")
	    .def(
		"op_plugin",
		[](Session &s,
		   vaccel_op_type_t op) -> std::optional<std::string> {
			const char *n =
			    vaccel_session_op_plugin(s.get("op_plugin"), op);
			if (n == nullptr)
				return std::nullopt;
			return std::string(n);
		},
		py::arg("op"),
		"Name of the plugin that serves `op` here, or None.")
	    .def(
		"register",
		[](Session &s, py::object ro) {
			auto &r = ro.cast<Resource &>();
			call_op(s, &r, "vaccel_resource_register",
				[](vaccel_session *cs, vaccel_resource *cr) {
					return vaccel_resource_register(cr, cs);
				});
			s.resources.push_back(std::move(ro));
		},
		py::arg("resource"))
	    .def(
		"unregister",
		[](Session &s, Resource &r) {
			call_op(s, &r, "vaccel_resource_unregister",
				[](vaccel_session *cs, vaccel_resource *cr) {
					return vaccel_resource_unregister(cr,
									  cs);
				});
			std::erase_if(s.resources, [&](const py::object &o) {
				return &o.cast<Resource &>() == &r;
			});
		},
		py::arg("resource"))
	    .def(
		"has_resource",
		[](const Session &s, const Resource &r) {
			return vaccel_session_has_resource(
			    s.get("has_resource"), r.get("has_resource"));
		},
		py::arg("resource"))
	    .def_property_readonly(
		"resources",
		[](const Session &s) {
			// A resource released while registered was
			// unregistered by the C API: it is not listed.
			py::list l;
			for (const auto &o : s.resources)
				if (o.cast<const Resource &>().res != nullptr)
					l.append(o);
			return l;
		},
		"The Resources registered through this session.")
	    .def("__repr__", [](const Session &s) {
		    if (s.sess == nullptr)
			    return std::string("<vaccel.Session released>");
		    return "<vaccel.Session id=" + std::to_string(s.sess->id) +
			   " hint=" + std::to_string(s.sess->hint) + ">";
	    });

	// ---- ops ----------------------------------------------------------
	cls.def("noop", [](Session &s) {
		call_op(s, nullptr, "vaccel_noop",
			[](vaccel_session *cs, vaccel_resource *) {
				return vaccel_noop(cs);
			});
	});

	cls.def(
	    "image_classification",
	    [](Session &s, const py::handle &image, size_t text_size,
	       size_t imgname_size) {
		    BufferView img(image, false, "vaccel_image_classification");
		    if (img.size() == 0)
			    fail(VACCEL_EINVAL, "vaccel_image_classification",
				 "the image is empty");
		    std::vector<unsigned char> text(
			std::max<size_t>(text_size, 1), 0);
		    std::vector<unsigned char> name(
			std::max<size_t>(imgname_size, 1), 0);
		    call_op(s, nullptr, "vaccel_image_classification",
			    [&](vaccel_session *cs, vaccel_resource *) {
				    return vaccel_image_classification(
					cs, img.data(), text.data(),
					name.data(), img.size(), text.size(),
					name.size());
			    });
		    return py::make_tuple(decode(text_of(text)),
					  decode(text_of(name)));
	    },
	    py::arg("image"), py::arg("text_size") = 512,
	    py::arg("imgname_size") = 512,
	    "Classify an image (bytes or any buffer, not copied): returns "
	    "(tag, output image name).");
	cls.attr("classify") = cls.attr("image_classification");

	struct ImageOp {
		const char *name;
		const char *alias;
		int (*fn)(vaccel_session *, const void *, unsigned char *,
			  size_t, size_t);
	};
	static const ImageOp image_ops[] = {
	    {"image_detection", "detect", vaccel_image_detection},
	    {"image_segmentation", "segment", vaccel_image_segmentation},
	    {"image_pose", "pose", vaccel_image_pose},
	    {"image_depth", "depth", vaccel_image_depth},
	};
	for (const auto &op : image_ops) {
		const ImageOp *p = &op;
		cls.def(
		    op.name,
		    [p](Session &s, const py::handle &image, size_t out_size) {
			    return image_op(s, image, out_size, p->name,
					    [p](vaccel_session *cs,
						const void *img,
						unsigned char *out, size_t len,
						size_t out_len) {
						    return p->fn(cs, img, out,
								 len, out_len);
					    });
		    },
		    py::arg("image"), py::arg("out_size") = 512,
		    "Run the image op; returns the output image name.");
		cls.attr(op.alias) = cls.attr(op.name);
	}

	cls.def(
	    "sgemm",
	    [](Session &s, const py::handle &a_in, const py::handle &b_in,
	       const py::object &c_in, float alpha, float beta) {
		    int64_t lda = 0;
		    int64_t ldb = 0;
		    py::array a = sgemm_input(a_in, lda, "a");
		    py::array b = sgemm_input(b_in, ldb, "b");
		    const int64_t m = a.shape(0);
		    const int64_t k = a.shape(1);
		    const int64_t n = b.shape(1);
		    if (b.shape(0) != k)
			    fail(VACCEL_EINVAL, "vaccel_sgemm",
				 "a is " + std::to_string(m) + "x" +
				     std::to_string(k) + " but b has " +
				     std::to_string(b.shape(0)) + " rows");
		    py::array c;
		    if (c_in.is_none()) {
			    c = py::array_t<float>(
				{static_cast<py::ssize_t>(m),
				 static_cast<py::ssize_t>(n)});
			    std::memset(c.mutable_data(), 0,
					static_cast<size_t>(m * n) *
					    sizeof(float));
		    } else {
			    if (!py::isinstance<py::array>(c_in))
				    fail(VACCEL_EINVAL, "vaccel_sgemm",
					 "c must be a numpy array");
			    c = py::reinterpret_borrow<py::array>(c_in);
			    if (!c.dtype().is(py::dtype::of<float>()) ||
				!c.writeable() || c.ndim() != 2 ||
				!leading_dim(c) || c.shape(0) != m ||
				c.shape(1) != n)
				    fail(VACCEL_EINVAL, "vaccel_sgemm",
					 "c must be a writable float32 " +
					     std::to_string(m) + "x" +
					     std::to_string(n) +
					     " array with contiguous rows");
		    }
		    const int64_t ldc = *leading_dim(c);
		    // Inputs may be read-only arrays: the op only reads them.
		    auto *pa =
			static_cast<float *>(const_cast<void *>(a.data()));
		    auto *pb =
			static_cast<float *>(const_cast<void *>(b.data()));
		    auto *pc = static_cast<float *>(c.mutable_data());
		    call_op(s, nullptr, "vaccel_sgemm",
			    [&](vaccel_session *cs, vaccel_resource *) {
				    return vaccel_sgemm(cs, m, n, k, alpha, pa,
							lda, pb, ldb, beta, pc,
							ldc);
			    });
		    return c;
	    },
	    py::arg("a"), py::arg("b"), py::arg("c") = py::none(),
	    py::arg("alpha") = 1.0F, py::arg("beta") = 0.0F,
	    "C = alpha * A @ B + beta * C for row-major float32 matrices "
	    "A (m x k), B (k x n), C (m x n), written into `c` (or a new "
	    "zeroed array) and returned. Rows may be strided (the leading "
	    "dimensions follow the arrays' strides); other inputs are "
	    "converted (a copy).");

	cls.def(
	    "exec",
	    [](Session &s, const py::object &library, const std::string &symbol,
	       const py::handle &read, const py::handle &write) {
		    const std::string lib = py::str(
			py::module_::import("os").attr("fspath")(library));
		    ArgList r = collect_args(read, false, "vaccel_exec");
		    ArgList w = collect_args(write, true, "vaccel_exec");
		    call_op(s, nullptr, "vaccel_exec",
			    [&](vaccel_session *cs, vaccel_resource *) {
				    return vaccel_exec(
					cs, lib.c_str(), symbol.c_str(),
					r.data(), r.size(), w.data(), w.size());
			    });
		    return w.result();
	    },
	    py::arg("library"), py::arg("symbol"),
	    py::arg("read") = py::tuple(), py::arg("write") = py::tuple(),
	    "Call `int symbol(read, nr_read, write, nr_write)` from a shared "
	    "library. read/write: lists of args (see vaccel.Arg) or "
	    "ArgArrays; buffers are passed in place, so outputs land in the "
	    "caller's arrays. Returns the write args (Arg objects, or the "
	    "ArgArray).");

	cls.def(
	    "exec_with_resource",
	    [](Session &s, Resource &res, const std::string &symbol,
	       const py::handle &read, const py::handle &write) {
		    ArgList r =
			collect_args(read, false, "vaccel_exec_with_resource");
		    ArgList w =
			collect_args(write, true, "vaccel_exec_with_resource");
		    call_op(s, &res, "vaccel_exec_with_resource",
			    [&](vaccel_session *cs, vaccel_resource *cr) {
				    return vaccel_exec_with_resource(
					cs, cr, symbol.c_str(), r.data(),
					r.size(), w.data(), w.size());
			    });
		    return w.result();
	    },
	    py::arg("resource"), py::arg("symbol"),
	    py::arg("read") = py::tuple(), py::arg("write") = py::tuple(),
	    "exec() with the library in a LIB resource (registered with the "
	    "session).");

	struct GenericOp {
		const char *name;
		int (*fn)(vaccel_session *, vaccel_arg *, int, vaccel_arg *,
			  int);
		const char *doc;
	};
	static const GenericOp generic_ops[] = {
	    {"genop", vaccel_genop,
	     "Generic op: read[0] is the OpType (an OpType or a UINT8 arg), "
	     "the rest follow that op's layout. Returns the write args."},
	    {"opencv", vaccel_opencv, "The opencv op (arg lists)."},
	    {"opencv_unpack", vaccel_opencv_unpack,
	     "The opencv_unpack op (arg lists)."},
	};
	for (const auto &op : generic_ops) {
		const GenericOp *p = &op;
		cls.def(
		    op.name,
		    [p](Session &s, const py::handle &read,
			const py::handle &write) {
			    ArgList r = collect_args(read, false, p->name);
			    ArgList w = collect_args(write, true, p->name);
			    if (r.size() > INT32_MAX || w.size() > INT32_MAX)
				    fail(VACCEL_EINVAL, p->name,
					 "too many args");
			    call_op(s, nullptr, p->name,
				    [&](vaccel_session *cs, vaccel_resource *) {
					    return p->fn(
						cs, r.data(),
						static_cast<int>(r.size()),
						w.data(),
						static_cast<int>(w.size()));
				    });
			    return w.result();
		    },
		    py::arg("read"), py::arg("write") = py::tuple(), op.doc);
	}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	cls.def(
	    "minmax",
	    [](Session &s, const py::handle &indata, int low, int high,
	       const py::object &outdata) {
		    auto in = in_array<double>(indata, "vaccel_minmax");
		    const auto n = static_cast<size_t>(in.size());
		    if (n > INT32_MAX)
			    fail(VACCEL_EINVAL, "vaccel_minmax", "too long");
		    auto out = out_array<double>(outdata, n, "vaccel_minmax");
		    double mn = 0;
		    double mx = 0;
		    const double *pin = in.data();
		    double *pout = out.mutable_data();
		    call_op(s, nullptr, "vaccel_minmax",
			    [&](vaccel_session *cs, vaccel_resource *) {
				    return vaccel_minmax(
					cs, pin, static_cast<int>(n), low, high,
					pout, &mn, &mx);
			    });
		    return py::make_tuple(out, mn, mx);
	    },
	    py::arg("indata"), py::arg("low_threshold"),
	    py::arg("high_threshold"), py::arg("outdata") = py::none(),
	    "Deprecated upstream demo op: (outdata, min, max).");

	cls.def(
	    "fpga_arraycopy",
	    [](Session &s, const py::handle &a, const py::object &out) {
		    auto in = in_array<int>(a, "vaccel_fpga_arraycopy");
		    const auto n = static_cast<size_t>(in.size());
		    auto o = out_array<int>(out, n, "vaccel_fpga_arraycopy");
		    int *pin = const_cast<int *>(in.data());
		    int *pout = o.mutable_data();
		    call_op(s, nullptr, "vaccel_fpga_arraycopy",
			    [&](vaccel_session *cs, vaccel_resource *) {
				    return vaccel_fpga_arraycopy(cs, pin, pout,
								 n);
			    });
		    return o;
	    },
	    py::arg("a"), py::arg("out") = py::none());

	cls.def(
	    "fpga_mmult",
	    [](Session &s, const py::handle &a, const py::handle &b,
	       const py::object &c) {
		    auto fa = in_array<float>(a, "vaccel_fpga_mmult");
		    auto fb = in_array<float>(b, "vaccel_fpga_mmult");
		    const auto n = static_cast<size_t>(fa.size());
		    auto fc = out_array<float>(c, n, "vaccel_fpga_mmult");
		    float *pa = const_cast<float *>(fa.data());
		    float *pb = const_cast<float *>(fb.data());
		    float *pc = fc.mutable_data();
		    call_op(s, nullptr, "vaccel_fpga_mmult",
			    [&](vaccel_session *cs, vaccel_resource *) {
				    return vaccel_fpga_mmult(cs, pa, pb, pc, n);
			    });
		    return fc;
	    },
	    py::arg("a"), py::arg("b"), py::arg("c") = py::none());

	cls.def(
	    "fpga_parallel",
	    [](Session &s, const py::handle &a, const py::handle &b,
	       const py::object &add_out, const py::object &mult_out) {
		    auto fa = in_array<float>(a, "vaccel_fpga_parallel");
		    auto fb = in_array<float>(b, "vaccel_fpga_parallel");
		    const auto n = static_cast<size_t>(fa.size());
		    if (static_cast<size_t>(fb.size()) < n)
			    fail(VACCEL_EINVAL, "vaccel_fpga_parallel",
				 "b is shorter than a");
		    auto add =
			out_array<float>(add_out, n, "vaccel_fpga_parallel");
		    auto mul =
			out_array<float>(mult_out, n, "vaccel_fpga_parallel");
		    float *pa = const_cast<float *>(fa.data());
		    float *pb = const_cast<float *>(fb.data());
		    float *padd = add.mutable_data();
		    float *pmul = mul.mutable_data();
		    call_op(s, nullptr, "vaccel_fpga_parallel",
			    [&](vaccel_session *cs, vaccel_resource *) {
				    return vaccel_fpga_parallel(cs, pa, pb,
								padd, pmul, n);
			    });
		    return py::make_tuple(add, mul);
	    },
	    py::arg("a"), py::arg("b"), py::arg("add_output") = py::none(),
	    py::arg("mult_output") = py::none());

	cls.def(
	    "fpga_vadd",
	    [](Session &s, const py::handle &a, const py::handle &b,
	       const py::object &c) {
		    auto fa = in_array<float>(a, "vaccel_fpga_vadd");
		    auto fb = in_array<float>(b, "vaccel_fpga_vadd");
		    const auto na = static_cast<size_t>(fa.size());
		    const auto nb = static_cast<size_t>(fb.size());
		    auto fc = out_array<float>(c, std::max(na, nb),
					       "vaccel_fpga_vadd");
		    float *pa = const_cast<float *>(fa.data());
		    float *pb = const_cast<float *>(fb.data());
		    float *pc = fc.mutable_data();
		    call_op(s, nullptr, "vaccel_fpga_vadd",
			    [&](vaccel_session *cs, vaccel_resource *) {
				    return vaccel_fpga_vadd(cs, pa, pb, pc, na,
							    nb);
			    });
		    return fc;
	    },
	    py::arg("a"), py::arg("b"), py::arg("c") = py::none());
#pragma GCC diagnostic pop

	add_tensor_ops(cls);
}

} // namespace vaccel_py
