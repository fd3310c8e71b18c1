// SPDX-License-Identifier: Apache-2.0
// State shared by the rpc plugin's files: the one plugin object, made by
// init and destroyed by fini (ops and hooks only run in between), and the
// agent-side identity of sessions and resources.
#pragma once

#include "client.h"
#include "copies.h"
#include "failover.h"
#include "resources.h"
#include "sessions.h"

#include <vaccel.h>

#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <utility>

namespace vaccel::rpc_plugin
{

struct RpcPlugin {
	RpcPlugin(Config cfg, std::shared_ptr<const SandboxDevice> device)
	    : copies(cfg.copy_threads, cfg.copy_min),
	      client(std::move(cfg), std::move(device)), resources(client),
	      sessions(client, resources)
	{
	}
	Copies copies;
	Client client;
	Resources resources;
	Sessions sessions;
	// Work ahead of the first session while the program starts (its
	// code is in this plugin: joined before the plugin can be unloaded).
	std::jthread ahead;
};

// Logs @p st (once, here) and returns its code.
inline int fail(const char *what, const Status &st)
{
	vaccel_error("[rpc] %s: %s", what, st.message().c_str());
	return st.code();
}

// Runs the body of a hook or op: they are C entry points, so nothing may
// unwind into the runtime. Allocation failure is the one exception
// expected.
template <class Fn> int run_guarded(const char *what, Fn &&fn) noexcept
{
	try {
		return fn();
	} catch (const std::bad_alloc &) {
		vaccel_error("[rpc] %s: out of memory", what);
		return VACCEL_ENOMEM;
	} catch (const std::exception &e) {
		vaccel_error("[rpc] %s: %s", what, e.what());
		return VACCEL_EIO;
	} catch (...) {
		vaccel_error("[rpc] %s: unexpected exception", what);
		return VACCEL_EIO;
	}
}

// The plugin object; valid between init and fini.
RpcPlugin &plugin() noexcept;

// run_guarded(), and with VACCEL_RPC_TRACE one trace line for the op.
template <class Fn> int guarded(const char *what, Fn &&fn) noexcept
{
	CallTrace &trace = plugin().client.trace();
	if (!trace.enabled())
		return run_guarded(what, std::forward<Fn>(fn));
	CallTrace::current() = {};
	const auto start = std::chrono::steady_clock::now();
	const int rc = run_guarded(what, std::forward<Fn>(fn));
	trace.record(what, rc, std::chrono::steady_clock::now() - start,
		     CallTrace::current());
	return rc;
}

// guarded(), for an op or hook of @p sess: run again on another agent when
// its agent goes away (failover.h).
template <class Fn>
int session_op(const char *what, const vaccel_session *sess, Replay replay,
	       Fn &&fn) noexcept
{
	return guarded(what, [&]() -> int {
		return run_on_session(what, sess, replay, fn);
	});
}

// Registers every op type; called by init.
int register_ops();

// The agent-side session behind @p sess; VACCEL_EINVAL if it has none.
inline Result<Remote> remote_session(const vaccel_session *sess)
{
	return Sessions::remote(sess);
}
// The agent-side copy of @p res on the session's connection
// (@p generation).
inline Result<Remote> remote_resource(const vaccel_resource *res,
				      uint64_t generation)
{
	return Resources::find(res, generation);
}

} // namespace vaccel::rpc_plugin
