// SPDX-License-Identifier: Apache-2.0
// The hot path of every op: find the implementing function for the session
// (a lock-free table lookup, see registry.h), call it, and keep exceptions
// from escaping a C++ plugin into C callers.
#pragma once

#include "core/objects.h"
#include "core/plugin_reason.h"
#include "core/runtime.h"

#include <chrono>
#include <vaccel/error.h>
#include <vaccel/op.h>

namespace vaccel::core
{

// Slow paths, out of line.
int op_bad_session(vaccel_op_type_t op) noexcept;
int op_not_supported(vaccel_op_type_t op, const vaccel_session *sess) noexcept;
int op_threw(vaccel_op_type_t op, const Plugin *plugin) noexcept;
// Records "<op>: plugin X: <reason>" for vaccel_last_error(), the reason
// being what the plugin logged since @p mark (core/plugin_reason.h), or
// "<op>: plugin X returned N"; returns rc.
int op_failed(vaccel_op_type_t op, const Plugin *plugin, int rc,
	      uint64_t mark) noexcept;
void op_profile(vaccel_op_type_t op, uint64_t ns) noexcept;

inline const OpEntry *find_op(vaccel_session *sess,
			      vaccel_op_type_t op) noexcept
{
	const DispatchTable *t =
	    sess->state->table.load(std::memory_order_acquire);
	if (t == nullptr || t->generation != runtime().plugins().generation())
	    [[unlikely]] {
		t = session_refresh_table(sess);
		if (t == nullptr)
			return nullptr;
	}
	const OpEntry &e = t->ops[op];
	return e.func != nullptr ? &e : nullptr;
}

// Calls the op implementation of type `Op` with signature `Fn` (the public
// function's type). The session is always the first argument.
template <class Fn, class... Args>
inline int call_op(vaccel_op_type_t op, vaccel_session *sess,
		   Args... args) noexcept
{
	if (!vaccel::core::live(sess)) [[unlikely]]
		return op_bad_session(op);
	const OpEntry *e = find_op(sess, op);
	if (e == nullptr) [[unlikely]]
		return op_not_supported(op, sess);
	auto fn = reinterpret_cast<Fn>(e->func);
	const uint64_t mark = error_mark();
	try {
		int rc;
		if (!runtime().profiling()) [[likely]] {
			rc = fn(sess, args...);
			if (rc != VACCEL_OK) [[unlikely]]
				return op_failed(op, e->plugin, rc, mark);
			return rc;
		}
		auto t0 = std::chrono::steady_clock::now();
		rc = fn(sess, args...);
		op_profile(
		    op,
		    static_cast<uint64_t>(
			std::chrono::duration_cast<std::chrono::nanoseconds>(
			    std::chrono::steady_clock::now() - t0)
			    .count()));
		if (rc != VACCEL_OK) [[unlikely]]
			return op_failed(op, e->plugin, rc, mark);
		return rc;
	} catch (...) {
		return op_threw(op, e->plugin);
	}
}

} // namespace vaccel::core
