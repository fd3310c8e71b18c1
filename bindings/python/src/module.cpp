// SPDX-License-Identifier: Apache-2.0
// The `vaccel._vaccel` extension: module entry point, vaccel.VaccelError,
// error codes and the shared helpers of common.h.
#include "common.h"

#include <pybind11/eval.h>

#include <utility>

namespace vaccel_py
{

namespace
{

// vaccel.VaccelError, created in init_errors(). Kept for the life of the
// process: the translator needs it until the interpreter is gone.
PyObject *g_error_type = nullptr;

// Python source of the exception class: defined in Python so that it has a
// real __init__(code, message) and pickles like any exception.
constexpr const char *kErrorSource = R"PY(
class VaccelError(RuntimeError):
    """A vAccel call failed.

    Attributes:
        code: the vAccel error code (a VACCEL_E* value, e.g. vaccel.EINVAL).
        name: the code's name ("EINVAL"), or "E<code>" for an unknown code.
        message: what vaccel_last_error() said about the failure (or the
            binding's own explanation for arguments it refused).
    """

    def __init__(self, code, message="", what=""):
        super().__init__(code, message, what)
        self.code = int(code)
        self.message = str(message)
        self.what = str(what)
        self.name = _error_names.get(self.code, "E%d" % self.code)

    def __str__(self):
        head = "%s failed" % self.what if self.what else "vAccel error"
        text = "%s (%s, %d)" % (head, self.name, self.code)
        return "%s: %s" % (text, self.message) if self.message else text
)PY";

struct ErrorName {
	const char *name;
	int code;
};

constexpr ErrorName kErrors[] = {
    {"OK", VACCEL_OK},
    {"EINVAL", VACCEL_EINVAL},
    {"ENOMEM", VACCEL_ENOMEM},
    {"ENOTSUP", VACCEL_ENOTSUP},
    {"EINPROGRESS", VACCEL_EINPROGRESS},
    {"EBUSY", VACCEL_EBUSY},
    {"EEXIST", VACCEL_EEXIST},
    {"ENOENT", VACCEL_ENOENT},
    {"ELIBBAD", VACCEL_ELIBBAD},
    {"ENODEV", VACCEL_ENODEV},
    {"EIO", VACCEL_EIO},
    {"ESESS", VACCEL_ESESS},
    {"EBACKEND", VACCEL_EBACKEND},
    {"ENOEXEC", VACCEL_ENOEXEC},
    {"ENAMETOOLONG", VACCEL_ENAMETOOLONG},
    {"EUSERS", VACCEL_EUSERS},
    {"EPERM", VACCEL_EPERM},
    {"ELOOP", VACCEL_ELOOP},
    {"EMLINK", VACCEL_EMLINK},
    {"ENOSPC", VACCEL_ENOSPC},
    {"ENOTDIR", VACCEL_ENOTDIR},
    {"EROFS", VACCEL_EROFS},
    {"EACCES", VACCEL_EACCES},
    {"EBADF", VACCEL_EBADF},
    {"EREMOTEIO", VACCEL_EREMOTEIO},
    {"EFAULT", VACCEL_EFAULT},
    {"ERANGE", VACCEL_ERANGE},
    {"EAGAIN", VACCEL_EAGAIN},
    {"ENOSYS", VACCEL_ENOSYS},
};

} // namespace

void fail(int code, std::string what, std::string message)
{
	throw Failure{code, std::move(message), std::move(what)};
}

void check(int rc, const char *what)
{
	if (rc != VACCEL_OK)
		fail(rc, what, vaccel_last_error());
}

// ---- BufferView ------------------------------------------------------------

BufferView::BufferView(const py::handle &obj, bool want_writable,
		       const char *what)
{
	constexpr int base = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
	if (want_writable &&
	    PyObject_GetBuffer(obj.ptr(), &view_, base | PyBUF_WRITABLE) == 0) {
		held_ = true;
		return;
	}
	PyErr_Clear();
	if (PyObject_GetBuffer(obj.ptr(), &view_, base) == 0) {
		held_ = true;
		return;
	}
	// Keep the exporter's reason ("ndarray is not C-contiguous", ...).
	std::string reason = "object does not export a buffer";
	if (PyErr_Occurred()) {
		py::error_already_set e;
		reason = e.what();
	}
	fail(VACCEL_EINVAL, what,
	     "needs a C-contiguous buffer (bytes, bytearray, numpy array...); "
	     "got " +
		 std::string(
		     py::str(py::type::handle_of(obj).attr("__name__"))) +
		 ": " + reason);
}

BufferView::~BufferView()
{
	if (held_)
		PyBuffer_Release(&view_);
}

BufferView::BufferView(BufferView &&o) noexcept
    : view_(o.view_), held_(std::exchange(o.held_, false))
{
}

BufferView &BufferView::operator=(BufferView &&o) noexcept
{
	if (this != &o) {
		if (held_)
			PyBuffer_Release(&view_);
		view_ = o.view_;
		held_ = std::exchange(o.held_, false);
	}
	return *this;
}

char BufferView::format() const
{
	if (!held_ || view_.format == nullptr)
		return 'B';
	const char *f = view_.format;
	while (*f == '@' || *f == '=' || *f == '<' || *f == '>' || *f == '!')
		f++;
	return *f != '\0' ? *f : 'B';
}

// ---- errors ----------------------------------------------------------------

void init_errors(py::module_ &m)
{
	py::dict names;
	for (const auto &e : kErrors) {
		m.attr(e.name) = e.code;
		names[py::int_(e.code)] = e.name;
	}
	m.attr("_error_names") = names;

	py::dict scope;
	scope["__builtins__"] = py::module_::import("builtins");
	scope["__name__"] = "vaccel";
	scope["_error_names"] = names;
	py::exec(kErrorSource, scope);
	py::object error_cls = scope["VaccelError"];
	error_cls.attr("__module__") = "vaccel";
	m.attr("VaccelError") = error_cls;
	g_error_type = error_cls.inc_ref().ptr();

	m.def(
	    "error_name",
	    [](int code) -> std::string {
		    for (const auto &e : kErrors)
			    if (e.code == code)
				    return e.name;
		    return "E" + std::to_string(code);
	    },
	    py::arg("code"),
	    "Name of a vAccel error code (vaccel.error_name(22) == 'EINVAL').");

	py::register_exception_translator([](std::exception_ptr p) {
		try {
			if (p)
				std::rethrow_exception(p);
		} catch (const Failure &f) {
			py::object cls =
			    py::reinterpret_borrow<py::object>(g_error_type);
			py::object exc = cls(f.code, f.message, f.what);
			PyErr_SetObject(g_error_type, exc.ptr());
		}
	});
}

} // namespace vaccel_py

PYBIND11_MODULE(_vaccel, m)
{
	m.doc() = "Python bindings of the vAccel C API (see docs/python.md).";
	// numpy is needed by every op that takes or returns arrays.
	py::module_::import("numpy");
	vaccel_py::init_errors(m);
	vaccel_py::init_runtime(m);
	vaccel_py::init_args(m);
	vaccel_py::init_resource(m);
	vaccel_py::init_tensors(m);
	vaccel_py::init_session(m);
}
