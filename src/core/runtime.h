// SPDX-License-Identifier: Apache-2.0
// The one runtime object: configuration, logging, the plugin registry, the
// live sessions and resources, and the run directory. It is the only global
// of the library; everything else hangs off it. Its lifecycle:
//   constructed (static storage) -> bootstrap() -> cleanup() -> bootstrap()...
// All members are safe to use from any thread.
#pragma once

#include "core/config.h"
#include "core/host_arena.h"
#include "core/log.h"
#include "core/registry.h"
#include "core/rundir.h"
#include "core/session_dir_ahead.h"
#include "core/shared_buffers.h"
#include "core/status.h"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vaccel/op.h>
#include <vector>

struct vaccel_session;
struct vaccel_resource;
struct vaccel_session_state;
struct vaccel_resource_state;

namespace vaccel::core
{

// Who asked for a cleanup: the program (vaccel_cleanup(), a re-bootstrap),
// whose live structs are zeroed as upstream does, or the exit handlers,
// which leave program memory alone.
enum class CleanupKind { program, exit };

class Runtime
{
public:
	Runtime() = default;
	Runtime(const Runtime &) = delete;
	Runtime &operator=(const Runtime &) = delete;

	// On a running runtime: cleans up first (upstream's re-bootstrap).
	Status bootstrap(const Config &config);
	Status cleanup(CleanupKind kind = CleanupKind::program);
	// Loads the plugin list that bootstrap left for later (see
	// plugin_loading_deferred()); the first failure, if any (each one is
	// also recorded as at bootstrap). Nothing deferred: ok.
	Status load_deferred_plugins();
	// Whether the program asked bootstrap to leave its plugin list for
	// later (vaccel_defer_plugin_loading, vaccel/ext.h).
	static bool plugin_loading_deferred() noexcept;
	[[nodiscard]] bool initialized() const noexcept
	{
		return initialized_.load(std::memory_order_acquire);
	}

	// The run directory; empty until it is made: at bootstrap, or, for a
	// program that defers its plugins, by load_deferred_plugins() (it
	// answers before doing any work: vaccel-agent listens first).
	[[nodiscard]] const std::string &rundir() const noexcept
	{
		static const std::string none;
		return rundir_ready_.load(std::memory_order_acquire)
			   ? rundir_.path()
			   : none;
	}
	// C view of the active configuration (strings owned by the runtime).
	[[nodiscard]] const struct vaccel_config *c_config() const noexcept
	{
		return initialized() ? &c_config_ : nullptr;
	}
	[[nodiscard]] const Config &config() const noexcept { return config_; }

	Logger &log() noexcept { return log_; }
	PluginRegistry &plugins() noexcept { return plugins_; }
	// Shared memory for tensor data, once a transport enables it. Lives
	// as long as the runtime (the process): tensors may outlive cleanup.
	HostArena &host_arena() noexcept { return host_arena_; }
	// Buffers programs allocate for op arguments (vaccel_buffer_alloc()),
	// in that memory when it is on.
	SharedBuffers &buffers() noexcept { return buffers_; }

	[[nodiscard]] bool profiling() const noexcept
	{
		return profiling_.load(std::memory_order_relaxed);
	}

	// Live objects, by id. Entries are the caller's structs; the runtime
	// never frees them, only the state they point to. An id is reserved
	// first and the object added (made findable by id and type) only once
	// it is fully initialized, so that lookups never see one half-built.
	vaccel_id_t reserve_session_id() noexcept
	{
		return next_session_id_.fetch_add(1);
	}
	// The run directory of session @p id; empty while there is no run
	// directory.
	[[nodiscard]] std::string session_dir(vaccel_id_t id) const;
	// What making a session or resource fails with while there is no run
	// directory (rundir() empty).
	[[nodiscard]] static Status no_rundir();
	// Makes the next session's directory ahead (session_dir_ahead.h).
	Status prepare_next_session_dir();
	// Whether @p path, a new session's directory, was made ahead for it.
	bool claim_session_dir(const std::string &path)
	{
		return session_dirs_.claim(path);
	}
	SessionDirAhead &session_dirs() noexcept { return session_dirs_; }
	void add_session(vaccel_id_t id, vaccel_session *sess,
			 vaccel_session_state *state);
	void remove_session(vaccel_id_t id);
	vaccel_session *find_session(vaccel_id_t id);
	size_t session_count();

	vaccel_id_t reserve_resource_id() noexcept
	{
		return next_resource_id_.fetch_add(1);
	}
	void add_resource(vaccel_id_t id, vaccel_resource *res,
			  vaccel_resource_state *state);
	void remove_resource(vaccel_id_t id);
	vaccel_resource *find_resource(vaccel_id_t id);
	std::vector<vaccel_resource *> resources_of_type(int type);
	size_t resource_count();

	// Per-op call counts and time, kept when profiling is enabled and
	// printed at cleanup.
	void record_op(int op, uint64_t ns) noexcept
	{
		op_calls_[op].fetch_add(1, std::memory_order_relaxed);
		op_ns_[op].fetch_add(ns, std::memory_order_relaxed);
	}

private:
	void print_op_profile();
	void cleanup_locked(CleanupKind kind);

	std::array<std::atomic<uint64_t>, VACCEL_OP_MAX> op_calls_{};
	std::array<std::atomic<uint64_t>, VACCEL_OP_MAX> op_ns_{};

	std::mutex lifecycle_mu_; // serializes bootstrap/cleanup
	std::atomic<bool> initialized_{false};
	std::atomic<bool> profiling_{false};
	Config config_;
	struct vaccel_config c_config_ {
	};
	// Makes rundir_ and opens session_dirs_ on it (lifecycle_mu_ held).
	Status make_rundir();
	RunDir rundir_;
	// Set once rundir_ is made; cleared before it goes.
	std::atomic<bool> rundir_ready_{false};
	Logger log_;
	PluginRegistry plugins_;
	// The configured list while its loading is deferred; empty once
	// loaded (or when nothing was deferred).
	std::string deferred_plugins_;
	HostArena host_arena_;
	SharedBuffers buffers_{host_arena_};
	SessionDirAhead session_dirs_;

	std::shared_mutex objects_mu_;
	// The state pointer is kept beside the program's struct so that
	// cleanup can free it without reading a struct that may be gone.
	std::map<vaccel_id_t,
		 std::pair<vaccel_session *, vaccel_session_state *>>
	    sessions_;
	std::map<vaccel_id_t,
		 std::pair<vaccel_resource *, vaccel_resource_state *>>
	    resources_;
	// States of objects still alive at cleanup: kept as dead shells (see
	// objects.h), never freed.
	std::vector<vaccel_session_state *> dead_sessions_;
	std::vector<vaccel_resource_state *> dead_resources_;
	std::atomic<vaccel_id_t> next_session_id_{1};
	std::atomic<vaccel_id_t> next_resource_id_{1};
};

namespace detail
{
// Never destroyed: cleanup runs from an atexit handler (see
// arm_exit_cleanup()) or the library destructor, either of which may come
// after static destructors would have run.
union RuntimeHolder {
	Runtime rt;
	RuntimeHolder() : rt() {}
	~RuntimeHolder() {}
};
extern RuntimeHolder g_runtime; // defined in runtime.cpp; use runtime()
} // namespace detail

// The runtime of this process.
inline Runtime &runtime() noexcept
{
	return detail::g_runtime.rt;
}

// Make sure cleanup runs at exit() before the static destructors of the
// plugins loaded so far (atexit handlers run in reverse registration order,
// so registering after each load puts cleanup first). Idempotent in effect.
void arm_exit_cleanup() noexcept;

// For prof.cpp and the C shims.
bool profiling_enabled() noexcept;

} // namespace vaccel::core
