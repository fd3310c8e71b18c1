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
	auto state = std::make_unique<vaccel_session_state>();
	*sess = vaccel_session{};
	sess->hint = flags;
	const DispatchTable *t = rt.plugins().table_for(flags);
	state->table.store(t, std::memory_order_release);
	sess->plugin = t->primary ? t->primary->desc : nullptr;
	sess->is_virtio = t->primary != nullptr &&
			  (t->primary->desc->info->is_virtio ||
			   (t->primary->type & VACCEL_PLUGIN_REMOTE) != 0);
	sess->id = rt.reserve_session_id();

	std::error_code ec;
	state->rundir = rt.rundir() + "/session." + std::to_string(sess->id);
	// The public field is a fixed array, as in upstream's layout.
	if (state->rundir.size() >= sizeof(sess->rundir)) {
		*sess = vaccel_session{};
		return Status(VACCEL_ENAMETOOLONG,
			      "session directory path is too long");
	}
	if (Status st = make_private_dir(state->rundir); !st) {
		*sess = vaccel_session{};
		return st;
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
	{
		std::lock_guard lock(st->mu);
		if (!st->resources.empty())
			return Status::error(
			    VACCEL_EBUSY,
			    "session %lld still has %zu registered resources",
			    static_cast<long long>(sess->id),
			    st->resources.size());
	}
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
	sess->hint = flags;
	if (session_refresh_table(sess) == nullptr)
		return Status(VACCEL_ENOMEM, "cannot build op routing");
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
