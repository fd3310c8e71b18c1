// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the `vaccel` Python extension (vaccel._vaccel): error
// translation, buffer views and the classes every op needs.
//
// Conventions, everywhere in the extension:
//  - Only the public C API (vaccel.h) is used.
//  - A C call that fails raises vaccel.VaccelError with the vAccel code and
//    vaccel_last_error(), read on the thread that made the call, right after
//    it (the message is thread-local in the runtime).
//  - Ops run with the GIL released. Everything they touch is collected
//    first (under the GIL) into plain C structs, and the Python objects that
//    own the memory are kept referenced until the call returns.
#pragma once

#include <vaccel.h>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;

namespace vaccel_py
{

// A vAccel failure on its way to Python (translated to vaccel.VaccelError
// by the exception translator registered in module.cpp).
struct Failure {
	int code;
	std::string message;
	std::string what;
};

// Throws Failure(code, message, what).
[[noreturn]] void fail(int code, std::string what, std::string message);

// Throws Failure with vaccel_last_error() when @p rc is not VACCEL_OK.
// Call it on the thread that made the C call, before any other vAccel call.
void check(int rc, const char *what);

// Like check() but callable without the GIL: captures the outcome so the
// raise can happen once the GIL is back.
struct Outcome {
	int rc = VACCEL_OK;
	std::string message;

	void capture(int code)
	{
		rc = code;
		if (code != VACCEL_OK)
			message = vaccel_last_error();
	}
	void raise_if_failed(const char *what) const
	{
		if (rc != VACCEL_OK)
			fail(rc, what, message);
	}
};

// A C-contiguous view of a Python buffer, held for as long as this object
// lives (the exporter cannot resize or free the memory meanwhile).
class BufferView
{
public:
	BufferView() = default;
	// @p want_writable: try a writable view first; a read-only exporter
	// then yields a read-only view (readonly() tells). Non-contiguous
	// buffers are refused with VACCEL_EINVAL: copying them silently would
	// hide that outputs are lost.
	BufferView(const py::handle &obj, bool want_writable, const char *what);
	~BufferView();
	BufferView(const BufferView &) = delete;
	BufferView &operator=(const BufferView &) = delete;
	BufferView(BufferView &&o) noexcept;
	BufferView &operator=(BufferView &&o) noexcept;

	[[nodiscard]] void *data() const { return held_ ? view_.buf : nullptr; }
	[[nodiscard]] size_t size() const
	{
		return held_ ? static_cast<size_t>(view_.len) : 0;
	}
	[[nodiscard]] bool readonly() const { return !held_ || view_.readonly; }
	[[nodiscard]] int ndim() const { return held_ ? view_.ndim : 0; }
	[[nodiscard]] size_t itemsize() const
	{
		return held_ ? static_cast<size_t>(view_.itemsize) : 1;
	}
	// The struct-module format character ('i', 'f', ...), without a byte
	// order prefix; 'B' when the exporter gives none.
	[[nodiscard]] char format() const;

private:
	Py_buffer view_{};
	bool held_ = false;
};

// Counts ops in flight on a Session or Resource so that release() cannot
// free the C object under a running op. Incremented with the GIL held (so
// release(), also under the GIL, sees every op that has started),
// decremented without it.
class InFlight
{
public:
	explicit InFlight(std::atomic<int> &n) : n_(n) { n_.fetch_add(1); }
	~InFlight() { n_.fetch_sub(1); }
	InFlight(const InFlight &) = delete;
	InFlight &operator=(const InFlight &) = delete;

private:
	std::atomic<int> &n_;
};

// ---- objects shared between the translation units -----------------------

class Resource
{
public:
	vaccel_resource *res = nullptr; // NULL once released
	std::atomic<int> in_flight{0};

	Resource() = default;
	Resource(const Resource &) = delete;
	Resource &operator=(const Resource &) = delete;
	~Resource();

	// The live C resource, or VaccelError(EINVAL) when released.
	vaccel_resource *get(const char *what) const;
	void release();
};

class Session
{
public:
	vaccel_session *sess = nullptr; // NULL once released
	std::atomic<int> in_flight{0};
	// Resources registered through this session, kept alive while
	// registered and unregistered when the session is released.
	std::vector<py::object> resources;

	Session() = default;
	Session(const Session &) = delete;
	Session &operator=(const Session &) = delete;
	~Session();

	vaccel_session *get(const char *what) const;
	void release();
};

// One argument of exec/genop/opencv: a vaccel_arg plus whatever keeps its
// memory alive (a buffer view, an owned copy, or the object it came from).
class Arg
{
public:
	vaccel_arg arg{};
	bool readonly = false;
	std::optional<BufferView> view;
	std::vector<unsigned char> owned; // for Python scalars and strings
	py::object source;                // the Python object the bytes are

	Arg() = default;
	Arg(const Arg &) = delete;
	Arg &operator=(const Arg &) = delete;
};

// Converts anything accepted as an argument (an Arg, a buffer, str, int,
// float, bool, OpType) to an Arg object. Existing Args are returned as is.
py::object to_arg(const py::handle &obj);

// The vaccel_arg structs of a sequence of args (or an ArgArray), with the
// objects that own them. @p writable: every arg must be writable.
struct ArgList {
	std::vector<vaccel_arg> args;
	std::vector<py::object> keep;
	py::object array; // the ArgArray, when one was given

	// What ops return for their write args: the ArgArray given, or the
	// list of Arg objects.
	py::object result() const
	{
		return array ? array : py::object(py::cast(keep));
	}

	vaccel_arg *data() { return args.empty() ? nullptr : args.data(); }
	[[nodiscard]] size_t size() const { return args.size(); }
};
ArgList collect_args(const py::handle &seq, bool writable, const char *what);

// Runs one op without the GIL: @p f(session, resource) is called with the
// live C objects (resource NULL when @p r is), counted as in flight on
// both, and a failure raises VaccelError with the op's name.
template <class F>
void call_op(Session &s, Resource *r, const char *what, F &&f)
{
	vaccel_session *cs = s.get(what);
	vaccel_resource *cr = r != nullptr ? r->get(what) : nullptr;
	InFlight gs(s.in_flight);
	std::optional<InFlight> gr;
	if (r != nullptr)
		gr.emplace(r->in_flight);
	Outcome o;
	{
		py::gil_scoped_release nogil;
		o.capture(f(cs, cr));
	}
	o.raise_if_failed(what);
}

// Registration of each part of the module.
void init_errors(py::module_ &m);
void init_runtime(py::module_ &m);
void init_args(py::module_ &m);
void init_resource(py::module_ &m);
void init_tensors(py::module_ &m);
void init_session(py::module_ &m);
// The torch/tf/tflite ops, added to the Session class by init_session().
void add_tensor_ops(py::class_<Session> &cls);

} // namespace vaccel_py
