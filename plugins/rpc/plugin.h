// SPDX-License-Identifier: Apache-2.0
// State shared by the rpc plugin's files: the one plugin object, made by
// init and destroyed by fini (ops and hooks only run in between), and the
// agent-side identity of sessions and resources.
#pragma once

#include "client.h"

#include <vaccel.h>

#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <utility>

namespace vaccel::rpc_plugin
{

struct RpcPlugin {
	RpcPlugin(Config cfg, std::shared_ptr<const SandboxDevice> device)
	    : client(std::move(cfg), std::move(device))
	{
	}
	Client client;
	// Serializes the resource hooks: whether a resource already exists
	// on the agent (res->remote_id) is decided and updated under it, so
	// two sessions registering one resource at once create it once.
	std::mutex resource_mu;
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

// Registers every op type; called by init.
int register_ops();

// The agent's id of an object and the generation of the connection it
// lives on. The generation is kept in the object's private pointer
// (sess->priv, res->plugin_priv) as a plain number: nothing to allocate,
// nothing to free if a release never reaches the plugin.
struct Remote {
	int64_t id = 0;
	uint64_t generation = 0;
};

inline void *generation_to_priv(uint64_t g) noexcept
{
	return reinterpret_cast<void *>(static_cast<uintptr_t>(g));
}
inline uint64_t priv_to_generation(const void *p) noexcept
{
	return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
}

// The agent-side session behind @p sess; VACCEL_EINVAL if it has none.
Result<Remote> remote_session(const vaccel_session *sess);
// The agent-side resource behind @p res, which must live on the same
// connection as the session (@p generation).
Result<Remote> remote_resource(const vaccel_resource *res, uint64_t generation);

} // namespace vaccel::rpc_plugin
