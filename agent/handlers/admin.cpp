// SPDX-License-Identifier: Apache-2.0
// GetProfiler and our AgentAdmin.Stats and AgentAdmin.Plugins extensions.
#include "handlers.h"

#include <vaccel.h>

#include <unistd.h>

#include <string>

namespace vaccel::agent::handlers
{

// The profiling regions of a session of this connection (upstream's remote
// profiling: its client asks before it destroys the session). A session
// the connection does not own, or no longer has, answers like one never
// profiled (an empty profiler, as upstream's agent answers for a session it
// does not know): a client learns nothing of anybody else's sessions.
RpcStatus get_profiler(Context &ctx, rpc::profiling::Request &req,
		       rpc::profiling::Response &resp)
{
	rpc::profiling::Profiler *p = resp.mutable_profiler();
	p->set_component_name(std::string(SessionProfile::kComponent));
	std::shared_ptr<AgentSession> sess;
	if (ctx.objects.session(ctx.conn, req.session_id(), &sess).is_ok())
		sess->profile().to_proto(p);
	return RpcStatus::ok();
}

// Stats counts every tenant's objects and calls: for the operator (the
// agent's own user, root, in-process callers) and tenants whose policy
// lists the "stats" class, never for the others, who could watch their
// co-tenants' activity through it.
RpcStatus agent_stats(Context &ctx, Empty &, rpc::ext::AgentStats &resp)
{
	const std::string &who = ctx.tenant.name();
	const bool operator_ = who == "local" || who == "uid:0" ||
			       who == "uid:" + std::to_string(::geteuid());
	if (!operator_)
		AGENT_RETURN_IF_ERROR(
		    ctx.tenant.allow(OpClass::Stats, "Stats", ctx.conn));
	const TableStats s = ctx.objects.stats();
	resp.set_sessions(s.sessions);
	resp.set_resources(s.resources);
	resp.set_connections(s.connections);
	resp.set_requests(ctx.service.requests_served());
	resp.set_buffered_bytes(ctx.service.buffered());
	resp.set_regions(ctx.service.regions_mapped().load());
	resp.set_slot_replies(
	    ctx.service.slot_replies().load(std::memory_order_relaxed));
	resp.set_slot_requests(
	    ctx.service.slot_requests().load(std::memory_order_relaxed));
	const ModelCacheStats c = ctx.service.model_cache().stats();
	resp.set_cached_models(c.entries);
	resp.set_cached_bytes(c.bytes);
	resp.set_cache_hits(c.hits);
	resp.set_cache_misses(c.misses);
	resp.set_model_uploads(c.uploads);
	resp.set_cache_dedups(c.dedups);
	resp.set_cache_evictions(c.evictions);
	return RpcStatus::ok();
}

// Plugins tells anyone who may call ops which plugins serve them (`vaccel
// info --remote`): the same for every tenant, and nothing about other
// tenants. Plugin paths stay on the host.
RpcStatus agent_plugins(Context &, Empty &, rpc::ext::AgentPlugins &resp)
{
	for (size_t i = 0; i < vaccel_plugin_count(); ++i) {
		vaccel_plugin_desc d{};
		d.struct_size = sizeof(d);
		if (vaccel_plugin_describe(i, &d) != VACCEL_OK)
			break; // unloaded meanwhile: the list is shorter
		rpc::ext::PluginInfo *p = resp.add_plugins();
		p->set_name(d.name);
		p->set_version(d.version != nullptr ? d.version : "");
		p->set_vaccel_version(
		    d.vaccel_version != nullptr ? d.vaccel_version : "");
		p->set_type(d.type);
		p->set_ops_mask(d.ops_mask);
	}
	return RpcStatus::ok();
}

} // namespace vaccel::agent::handlers
