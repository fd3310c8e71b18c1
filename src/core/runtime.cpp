// SPDX-License-Identifier: Apache-2.0
#include "core/runtime.h"

#include "core/dispatch.h"
#include "core/objects.h"
#include "core/op_name.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <vaccel/log.h>

#ifdef VACCEL_BUILTIN_PLUGIN
// Static builds (VACCEL_STATIC_GUEST, cmake/StaticGuest.cmake) link one
// plugin, the rpc transport, into the program: its VACCEL_PLUGIN()
// descriptor is registered at every bootstrap, so a guest needs neither
// dlopen() nor VACCEL_PLUGINS.
namespace vaccel::core::builtin
{
extern "C" const struct vaccel_plugin *vaccel_plugin;
}
#endif

// Defined (and exported) by a program that must be able to answer before its
// plugins are loaded: the agent listens while libtorch loads. Weak: in every
// other program it is absent and plugins load at bootstrap as always.
extern "C" __attribute__((weak)) const int vaccel_defer_plugin_loading;

namespace vaccel::core
{

// The runtime must exist before the load-time bootstrap below runs.
namespace detail
{
__attribute__((init_priority(200))) RuntimeHolder g_runtime;
}

bool profiling_enabled() noexcept
{
	return runtime().profiling();
}

namespace
{

char *dup_or_null(const std::string &s)
{
	return s.empty() ? nullptr : strdup(s.c_str());
}

} // namespace

Status Runtime::bootstrap(const Config &config)
{
	std::lock_guard lock(lifecycle_mu_);
	// Checked before anything is torn down: a bad config leaves a running
	// runtime as it was.
	if (config.log_level < VACCEL_LOG_ERROR ||
	    config.log_level > VACCEL_LOG_DEBUG)
		return Status::error(VACCEL_EINVAL,
				     "log level %d is not in 1..4",
				     config.log_level);
	// As upstream: bootstrapping a running library starts it again with
	// the new config, as if vaccel_cleanup() had been called first.
	if (initialized()) {
		vaccel_debug("vAccel is initialized: cleaning up to restart");
		cleanup_locked(CleanupKind::program);
	}
	config_ = config;
	plugins_.set_upstream_rules(config.upstream_compat);
	log_.set_level(config.log_level);
	if (!log_.open(config.log_file))
		vaccel_error("cannot open log file %s: %s; logging to stderr",
			     config.log_file.c_str(), std::strerror(errno));
	profiling_.store(config.profiling_enabled, std::memory_order_relaxed);
	for (size_t i = 0; i < VACCEL_OP_MAX; ++i) {
		op_calls_[i] = 0;
		op_ns_[i] = 0;
	}
	if (!plugin_loading_deferred())
		VACCEL_RETURN_IF_ERROR(make_rundir());
	c_config_.plugins = dup_or_null(config_.plugins);
	c_config_.log_level =
	    static_cast<vaccel_log_level_t>(config_.log_level);
	c_config_.log_file = dup_or_null(config_.log_file);
	c_config_.profiling_enabled = config_.profiling_enabled;
	c_config_.version_ignore = config_.version_ignore;
	// Initialized before plugins load: their init may use the API
	// (sessions, rundir, config).
	initialized_.store(true, std::memory_order_release);
	vaccel_debug("vAccel initialized, rundir %s, %s session routing",
		     rundir_ready_.load() ? rundir_.path().c_str()
					  : "(made with the deferred plugins)",
		     config.upstream_compat ? "upstream" : "per-op");
#ifdef VACCEL_BUILTIN_PLUGIN
	// First, so that it leads every session's preference order.
	if (Status b = plugins_.add_static(
		const_cast<struct vaccel_plugin *>(builtin::vaccel_plugin),
		config_.version_ignore);
	    !b.is_ok())
		vaccel_error("built-in plugin: %s", b.message().c_str());
#endif
	if (!config_.plugins.empty()) {
		if (plugin_loading_deferred())
			deferred_plugins_ = config_.plugins;
		else
			(void)plugins_.load_list(config_.plugins,
						 config_.version_ignore);
	}
	arm_exit_cleanup();
	return Status::ok();
}

Status Runtime::make_rundir()
{
	VACCEL_RETURN_IF_ERROR(rundir_.create());
	session_dirs_.open();
	rundir_ready_.store(true, std::memory_order_release);
	return Status::ok();
}

bool Runtime::plugin_loading_deferred() noexcept
{
	return &vaccel_defer_plugin_loading != nullptr &&
	       vaccel_defer_plugin_loading != 0;
}

Status Runtime::load_deferred_plugins()
{
	std::lock_guard lock(lifecycle_mu_);
	if (!initialized())
		return Status(VACCEL_EINVAL, "vAccel is not initialized");
	// Before any plugin: their init may make sessions.
	if (!rundir_ready_.load(std::memory_order_acquire))
		VACCEL_RETURN_IF_ERROR(make_rundir());
	const std::string list = std::exchange(deferred_plugins_, {});
	if (list.empty())
		return Status::ok();
	return plugins_.load_list(list, config_.version_ignore);
}

void Runtime::print_op_profile()
{
	for (size_t i = 0; i < VACCEL_OP_MAX; ++i) {
		uint64_t n = op_calls_[i].load(std::memory_order_relaxed);
		if (n == 0)
			continue;
		uint64_t ns = op_ns_[i].load(std::memory_order_relaxed);
		vaccel_info(
		    "[prof] %s: calls %llu total %llu ns mean %llu ns",
		    vaccel_op_type_to_str(static_cast<vaccel_op_type_t>(i)),
		    static_cast<unsigned long long>(n),
		    static_cast<unsigned long long>(ns),
		    static_cast<unsigned long long>(ns / n));
	}
}

Status Runtime::cleanup(CleanupKind kind)
{
	std::lock_guard lock(lifecycle_mu_);
	cleanup_locked(kind);
	return Status::ok();
}

void Runtime::cleanup_locked(CleanupKind kind)
{
	if (!initialized())
		return;
	if (profiling())
		print_op_profile();
	// Sessions and resources the program never released: free what the
	// runtime owns. Their structs are zeroed (id included, as upstream)
	// only when the program asked for the cleanup: at exit they may be
	// gone already, and nobody can look at them any more.
	std::vector<std::pair<vaccel_session *, vaccel_session_state *>>
	    sessions;
	std::vector<std::pair<vaccel_resource *, vaccel_resource_state *>>
	    resources;
	{
		std::unique_lock olock(objects_mu_);
		for (auto &[id, s] : sessions_)
			sessions.push_back(s);
		for (auto &[id, r] : resources_)
			resources.push_back(r);
		sessions_.clear();
		resources_.clear();
	}
	if (!sessions.empty() || !resources.empty())
		vaccel_debug(
		    "cleanup: %zu sessions and %zu resources still alive",
		    sessions.size(), resources.size());
	const bool zero = kind == CleanupKind::program;
	for (auto [sess, s] : sessions) {
		s->dead = true;
		s->table.store(nullptr, std::memory_order_release);
		s->hooks = nullptr;
		s->resources.clear();
		dead_sessions_.push_back(s);
		if (zero)
			*sess = vaccel_session{};
	}
	for (auto [res, r] : resources) {
		r->discard();
		r->dead = true;
		dead_resources_.push_back(r);
		if (zero)
			*res = vaccel_resource{};
	}
	initialized_.store(false, std::memory_order_release);
	deferred_plugins_.clear();
	plugins_.unload_all();
	session_dirs_.close();
	rundir_ready_.store(false, std::memory_order_release);
	rundir_.release();
	free(c_config_.plugins);
	free(c_config_.log_file);
	c_config_ = {};
	profiling_.store(false, std::memory_order_relaxed);
	log_.close();
}

std::string Runtime::session_dir(vaccel_id_t id) const
{
	const std::string &base = rundir();
	if (base.empty())
		return {};
	return base + "/session." + std::to_string(id);
}

Status Runtime::no_rundir()
{
	return Status(
	    VACCEL_EIO,
	    "no run directory yet: the program deferred its plugins "
	    "and has not loaded them (vaccel_plugin_load_deferred())");
}

Status Runtime::prepare_next_session_dir()
{
	if (!initialized())
		return Status(VACCEL_ESESS, "vAccel is not initialized");
	// Read under the preparer's lock, which cleanup takes before the run
	// directory goes (close()): never a path of a run directory that is
	// being removed.
	session_dirs_.prepare([this]() -> std::string {
		std::string path = session_dir(next_session_id_.load());
		// Too long for sess->rundir: that session fails before it
		// could claim the directory.
		if (path.size() >= VACCEL_SESSION_RUNDIR_MAX)
			return {};
		return path;
	});
	return Status::ok();
}

void Runtime::add_session(vaccel_id_t id, vaccel_session *sess,
			  vaccel_session_state *state)
{
	std::unique_lock lock(objects_mu_);
	sessions_[id] = {sess, state};
}

void Runtime::remove_session(vaccel_id_t id)
{
	std::unique_lock lock(objects_mu_);
	sessions_.erase(id);
}

vaccel_session *Runtime::find_session(vaccel_id_t id)
{
	std::shared_lock lock(objects_mu_);
	auto it = sessions_.find(id);
	return it == sessions_.end() ? nullptr : it->second.first;
}

size_t Runtime::session_count()
{
	std::shared_lock lock(objects_mu_);
	return sessions_.size();
}

void Runtime::add_resource(vaccel_id_t id, vaccel_resource *res,
			   vaccel_resource_state *state)
{
	std::unique_lock lock(objects_mu_);
	resources_[id] = {res, state};
}

void Runtime::remove_resource(vaccel_id_t id)
{
	std::unique_lock lock(objects_mu_);
	resources_.erase(id);
}

vaccel_resource *Runtime::find_resource(vaccel_id_t id)
{
	std::shared_lock lock(objects_mu_);
	auto it = resources_.find(id);
	return it == resources_.end() ? nullptr : it->second.first;
}

std::vector<vaccel_resource *> Runtime::resources_of_type(int type)
{
	std::shared_lock lock(objects_mu_);
	std::vector<vaccel_resource *> out;
	for (auto &[id, r] : resources_)
		if (static_cast<int>(r.first->type) == type)
			out.push_back(r.first);
	return out;
}

size_t Runtime::resource_count()
{
	std::shared_lock lock(objects_mu_);
	return resources_.size();
}

// ---- dispatch slow paths -------------------------------------------------

namespace
{

// Logs at error level and records the message for vaccel_last_error().
void op_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void op_error(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	set_thread_error(buf);
	vaccel_error("%s", buf);
}

} // namespace

int op_bad_session(vaccel_op_type_t op) noexcept
{
	op_error("%s: invalid session (NULL, not initialized or released)",
		 op_name(op));
	return VACCEL_EINVAL;
}

int op_not_supported(vaccel_op_type_t op, const vaccel_session *sess) noexcept
{
	op_error("%s: no loaded plugin implements this op (session %lld)",
		 op_name(op), static_cast<long long>(sess->id));
	return VACCEL_ENOTSUP;
}

int op_threw(vaccel_op_type_t op, const Plugin *plugin) noexcept
{
	op_error("%s: plugin %s threw an exception", op_name(op),
		 plugin ? plugin->name.c_str() : "?");
	return VACCEL_EBACKEND;
}

int op_failed(vaccel_op_type_t op, const Plugin *plugin, int rc,
	      uint64_t mark) noexcept
{
	// The plugin logged its reason already: recorded, not logged again.
	set_thread_error(
	    plugin_failure(op_name(op), plugin ? plugin->name : "?", rc, mark));
	return rc;
}

void op_profile(vaccel_op_type_t op, uint64_t ns) noexcept
{
	runtime().record_op(op, ns);
}

// ---- library load / unload -----------------------------------------------

namespace
{

bool env_enabled(const char *name)
{
	const char *v = std::getenv(name);
	if (v == nullptr)
		return true;
	auto b = parse_bool(v);
	return !b.is_ok() || b.value();
}

void exit_cleanup()
{
	if (env_enabled("VACCEL_CLEANUP_ENABLED"))
		(void)runtime().cleanup(CleanupKind::exit);
}

__attribute__((constructor(300))) void on_library_load()
{
	if (!env_enabled("VACCEL_BOOTSTRAP_ENABLED"))
		return;
	auto cfg = config_from_environment();
	if (!cfg.is_ok()) {
		// Never exit the program: report and stay uninitialized.
		std::fprintf(stderr, "vaccel: bootstrap failed: %s\n",
			     cfg.status().message().c_str());
		return;
	}
	Status st = runtime().bootstrap(cfg.value());
	if (!st.is_ok())
		std::fprintf(stderr, "vaccel: bootstrap failed: %s\n",
			     st.message().c_str());
}

__attribute__((destructor(300))) void on_library_unload()
{
	if (!env_enabled("VACCEL_CLEANUP_ENABLED"))
		return;
	(void)runtime().cleanup(CleanupKind::exit);
}

} // namespace

void arm_exit_cleanup() noexcept
{
	(void)std::atexit(exit_cleanup);
}

} // namespace vaccel::core
