// SPDX-License-Identifier: Apache-2.0
#include "core/objects.h"
#include "core/plugin_reason.h"
#include "core/rundir.h"
#include "core/runtime.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <vaccel/log.h>

namespace vaccel::core
{
namespace
{

int call_hook(int (*hook)(vaccel_session *, uint32_t), vaccel_session *s,
	      uint32_t flags)
{
	return hook != nullptr ? hook(s, flags) : VACCEL_OK;
}

Status no_upstream_plugin(uint32_t flags)
{
	return Status::error(VACCEL_ENOTSUP,
			     "no loaded plugin serves hint 0x%x under "
			     "upstream's rules (VACCEL_COMPAT=upstream)",
			     flags);
}

// Upstream's rules for moving a local session to another hint: not while
// resources are registered (they may belong to its plugin), and not to a
// hint no plugin serves.
Status check_upstream_update(vaccel_session *sess, uint32_t flags)
{
	if (sess->state->hooks != nullptr)
		return Status::ok();
	{
		std::lock_guard lock(sess->state->mu);
		if (!sess->state->resources.empty())
			return Status(VACCEL_ENOTSUP,
				      "upstream's rules keep the plugin of a "
				      "session with registered resources");
	}
	if (runtime().plugins().table_for(flags)->primary == nullptr)
		return no_upstream_plugin(flags);
	return Status::ok();
}

// Unregisters every resource of @p sess, the transport hooks included.
Status unregister_all(vaccel_session *sess)
{
	std::vector<vaccel_resource *> resources;
	{
		std::lock_guard lock(sess->state->mu);
		resources = sess->state->resources;
	}
	for (vaccel_resource *r : resources) {
		Status st = resource_unregister(r, sess);
		// EPERM: another thread unregistered it meanwhile.
		if (!st.is_ok() && st.code() != VACCEL_EPERM)
			return st;
	}
	return Status::ok();
}

} // namespace

const DispatchTable *session_refresh_table(vaccel_session *sess) noexcept
{
	if (sess->state->dead)
		return nullptr;
	try {
		const DispatchTable *t =
		    runtime().plugins().table_for(sess->hint);
		// Callers of one session may refresh it concurrently after a
		// plugin load: both stores are atomic.
		std::atomic_ref<vaccel_plugin *>(sess->plugin)
		    .store(t->primary ? t->primary->desc : nullptr,
			   std::memory_order_relaxed);
		sess->state->table.store(t, std::memory_order_release);
		return t;
	} catch (...) {
		return nullptr;
	}
}

Status session_init(vaccel_session *sess, uint32_t flags)
{
	if (sess == nullptr)
		return Status(VACCEL_EINVAL, "session is NULL");
	Runtime &rt = runtime();
	if (!rt.initialized())
		return Status(
		    VACCEL_ESESS,
		    "vAccel is not initialized (bootstrap disabled?)");
	const DispatchTable *t = rt.plugins().table_for(flags);
	// Upstream's rules fail here, not at the first op.
	if (t->primary == nullptr && rt.plugins().upstream_rules())
		return no_upstream_plugin(flags);
	auto state = std::make_unique<vaccel_session_state>();
	*sess = vaccel_session{};
	sess->hint = flags;
	state->table.store(t, std::memory_order_release);
	sess->plugin = t->primary ? t->primary->desc : nullptr;
	sess->is_virtio = t->primary != nullptr &&
			  (t->primary->desc->info->is_virtio ||
			   (t->primary->type & VACCEL_PLUGIN_REMOTE) != 0);
	sess->id = rt.reserve_session_id();

	std::error_code ec;
	state->rundir = rt.session_dir(sess->id);
	if (state->rundir.empty()) {
		*sess = vaccel_session{};
		return Runtime::no_rundir();
	}
	// The public field is a fixed array, as in upstream's layout.
	if (state->rundir.size() >= sizeof(sess->rundir)) {
		*sess = vaccel_session{};
		return Status(VACCEL_ENAMETOOLONG,
			      "session directory path is too long");
	}
	// Made ahead of the session (session_dir_ahead.h), or now.
	if (!rt.claim_session_dir(state->rundir)) {
		if (Status st = make_private_dir(state->rundir); !st) {
			*sess = vaccel_session{};
			return st;
		}
	}
	std::memcpy(sess->rundir, state->rundir.c_str(),
		    state->rundir.size() + 1);
	sess->state = state.get();
	set_empty_upstream_lists(sess);

	// A transport plugin mirrors the session remotely.
	if (t->primary != nullptr && t->primary->has_session_hooks()) {
		const uint64_t mark = error_mark();
		int rc = call_hook(t->primary->desc->info->session_init, sess,
				   flags);
		if (rc != VACCEL_OK) {
			std::filesystem::remove_all(state->rundir, ec);
			*sess = vaccel_session{};
			return Status(rc, plugin_failure("create the session",
							 t->primary->name, rc,
							 mark));
		}
		state->hooks = t->primary;
	}
	// Findable by id only now that it is complete.
	rt.add_session(sess->id, sess,
		       state.release()); // owned via sess->state
	vaccel_debug("session %lld created (hint 0x%x)",
		     static_cast<long long>(sess->id), flags);
	return Status::ok();
}

Status session_release(vaccel_session *sess)
{
	if (!vaccel::core::live(sess))
		return Status(VACCEL_EINVAL,
			      "session is NULL or not initialized");
	vaccel_session_state *st = sess->state;
	// As upstream: resources still registered are unregistered first
	// (upstream's Python bindings clean up in that order).
	VACCEL_RETURN_IF_ERROR(unregister_all(sess));
	if (st->hooks != nullptr &&
	    st->hooks->desc->info->session_release != nullptr) {
		int rc = st->hooks->desc->info->session_release(sess);
		if (rc != VACCEL_OK)
			vaccel_warn(
			    "plugin %s: session %lld release returned %d",
			    st->hooks->name.c_str(),
			    static_cast<long long>(sess->id), rc);
	}
	runtime().remove_session(sess->id);
	std::error_code ec;
	std::filesystem::remove_all(st->rundir, ec);
	vaccel_debug("session %lld released", static_cast<long long>(sess->id));
	delete st;
	*sess = vaccel_session{};
	return Status::ok();
}

Status session_update(vaccel_session *sess, uint32_t flags)
{
	if (!vaccel::core::live(sess))
		return Status(VACCEL_EINVAL,
			      "session is NULL or not initialized");
	if (runtime().plugins().upstream_rules())
		VACCEL_RETURN_IF_ERROR(check_upstream_update(sess, flags));
	// Upstream's remote session keeps its plugin and hint; the update is
	// the remote side's.
	if (!runtime().plugins().upstream_rules() ||
	    sess->state->hooks == nullptr) {
		sess->hint = flags;
		if (session_refresh_table(sess) == nullptr)
			return Status(VACCEL_ENOMEM, "cannot build op routing");
	}
	if (sess->state->hooks != nullptr &&
	    sess->state->hooks->desc->info->session_update != nullptr) {
		const uint64_t mark = error_mark();
		int rc =
		    sess->state->hooks->desc->info->session_update(sess, flags);
		if (rc != VACCEL_OK)
			return Status(
			    rc,
			    plugin_failure("update session " +
					       std::to_string(sess->id),
					   sess->state->hooks->name, rc, mark));
	}
	return Status::ok();
}

} // namespace vaccel::core
