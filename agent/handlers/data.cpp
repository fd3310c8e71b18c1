// SPDX-License-Identifier: Apache-2.0
// Our extensions for large data (docs/protocol.md, "Large data"): feature
// negotiation (AgentAdmin/Hello) and the shared-memory plane
// (AgentData/MapRegion, UnmapRegion, GenopShm). Chunked calls
// (AgentData/Call) are reassembled by the server before they get here.
#include "handlers.h"

#include "../audit.h"
#include "../sandbox_memory.h"

#include <string>
#include <vector>

namespace vaccel::agent::handlers
{

namespace
{

constexpr uint32_t kProtocolVersion = 1;

// Checks a region-backed arg and points @p arg at its bytes; the region is
// kept in @p held for the length of the call. Only a region this
// connection mapped can be named, and only inside its mapping.
RpcStatus region_arg(Context &ctx, const rpc::ext::ShmArg &a,
		     metrics::Direction d, int i,
		     std::vector<std::shared_ptr<ShmRegion>> &held,
		     vaccel_arg *arg)
{
	const char *dir = d == metrics::Direction::In ? "read" : "write";
	std::shared_ptr<ShmRegion> region;
	AGENT_RETURN_IF_ERROR(ctx.call.regions->find(a.region(), &region));
	if (!region->contains(a.offset(), a.size()))
		return RpcStatus::invalid(
		    "%s arg %d: [%llu, +%llu) lies outside region %u (%zu "
		    "bytes)",
		    dir, i, static_cast<unsigned long long>(a.offset()),
		    static_cast<unsigned long long>(a.size()), a.region(),
		    region->size());
	if (a.size() > UINT32_MAX)
		return RpcStatus::invalid(
		    "%s arg %d: %llu bytes is too large", dir, i,
		    static_cast<unsigned long long>(a.size()));
	arg->buf = a.size() == 0 ? nullptr : region->data() + a.offset();
	arg->size = static_cast<uint32_t>(a.size());
	count_shm(ctx, *region, d, a.size());
	// An op that copies its args to a GPU copies them from here:
	// page-locked after the first large one, as for torch inputs.
	region->prepare_for_devices(a.size());
	held.push_back(std::move(region));
	return RpcStatus::ok();
}

RpcStatus check_type(const rpc::ext::ShmArg &a, const char *dir, int i)
{
	const auto type = a.arg_type();
	if (type > VACCEL_ARG_CUSTOM)
		return RpcStatus::invalid("%s arg %d: type %u is unknown", dir,
					  i, type);
	return RpcStatus::ok();
}

// The load a client placing sessions across agents weighs: every tenant's
// calls queued or running, as one number (no tenant learns who else is
// busy), less this Hello's own charge.
uint64_t calls_besides_this(Context &ctx)
{
	uint64_t calls = 0;
	ctx.service.tenants().for_each(
	    [&](const Tenant &t) { calls += t.used(Limit::Calls); });
	return calls > 0 ? calls - 1 : 0;
}

} // namespace

RpcStatus hello(Context &ctx, rpc::ext::Hello &req, rpc::ext::Hello &resp)
{
	vaccel_debug("agent: connection %llu: peer speaks protocol %u",
		     static_cast<unsigned long long>(ctx.conn), req.version());
	resp.set_version(kProtocolVersion);
	resp.add_features("chunked");
	if (ctx.service.model_cache().enabled())
		resp.add_features("model-cache");
	if (ctx.call.regions != nullptr && ctx.call.local) {
		resp.add_features("shm");
		resp.add_features("reply-slots");
		resp.add_features("request-slots");
	}
	if (ctx.call.regions != nullptr && ctx.call.sandbox != nullptr)
		resp.add_features("sandbox-shm");
	resp.set_load(calls_besides_this(ctx));
	return RpcStatus::ok();
}

RpcStatus map_region(Context &ctx, rpc::ext::MapRegion &req, Empty &)
{
	if (ctx.call.regions == nullptr || !ctx.call.local)
		return RpcStatus::unimplemented(
		    "shared memory is offered on unix sockets only");
	transport::UniqueFd fd;
	if (ctx.call.fds != nullptr && ctx.call.fds->size() == 1)
		fd = std::move(ctx.call.fds->front());
	else if (ctx.call.fds != nullptr && ctx.call.fds->size() > 1)
		return RpcStatus::invalid("MapRegion: %zu descriptors sent, "
					  "one expected",
					  ctx.call.fds->size());
	AGENT_RETURN_IF_ERROR(ctx.call.regions->map(
	    req.region(), std::move(fd), req.size(), req.client_memory()));
	if (req.slot_size() == 0)
		return RpcStatus::ok();
	RpcStatus st = ctx.call.regions->set_slots(
	    req.region(), req.slot_size(), ctx.limits.max_frame);
	if (!st.is_ok())
		(void)ctx.call.regions->unmap(req.region()); // all or nothing
	return st;
}

RpcStatus map_sandbox_memory(Context &ctx, rpc::ext::MapSandboxMemory &req,
			     Empty &)
{
	const SandboxMemory *memory = ctx.call.sandbox;
	if (ctx.call.regions == nullptr || memory == nullptr)
		return RpcStatus::unimplemented(
		    "this connection's sandbox has no memory of its own");
	const auto &t = req.token();
	if (!memory->matches(
		{reinterpret_cast<const uint8_t *>(t.data()), t.size()})) {
		// Not an attack as such (a guest that found another device,
		// or none), but nothing it names there can be trusted to be
		// the memory the agent sees.
		audit::refused(ctx.tenant.name(), ctx.conn, "MapSandboxMemory",
			       "sandbox.token",
			       "the token does not match this sandbox's "
			       "memory");
		return RpcStatus::denied(
		    "MapSandboxMemory: the token does not match this "
		    "sandbox's memory (the client does not map the memory "
		    "the agent was given for this sandbox)");
	}
	return ctx.call.regions->attach(req.region(), memory->region());
}

RpcStatus unmap_region(Context &ctx, rpc::ext::UnmapRegion &req, Empty &)
{
	if (ctx.call.regions == nullptr)
		return RpcStatus::unimplemented(
		    "shared memory is offered on unix sockets only");
	return ctx.call.regions->unmap(req.region());
}

RpcStatus genop_shm(Context &ctx, rpc::ext::ShmGenopRequest &req,
		    rpc::genop::Response &resp)
{
	if (ctx.call.regions == nullptr)
		return RpcStatus::unimplemented(
		    "shared memory is offered on unix sockets and to "
		    "sandboxes with memory of their own only");
	const auto nr_read = static_cast<size_t>(req.read_args_size());
	const auto nr_write = static_cast<size_t>(req.write_args_size());
	if (nr_read > ctx.limits.max_args || nr_write > ctx.limits.max_args)
		return RpcStatus::invalid(
		    "%zu read / %zu write args exceed the limit of %zu",
		    nr_read, nr_write, ctx.limits.max_args);

	std::vector<std::shared_ptr<ShmRegion>> held;
	std::vector<vaccel_arg> read(nr_read);
	for (size_t i = 0; i < nr_read; ++i) {
		auto *a = req.mutable_read_args(static_cast<int>(i));
		const int n = static_cast<int>(i);
		AGENT_RETURN_IF_ERROR(check_type(*a, "read", n));
		vaccel_arg &arg = read[i];
		arg.type = static_cast<vaccel_arg_type_t>(a->arg_type());
		arg.custom_type_id = a->custom_type_id();
		if (a->region() != 0) {
			AGENT_RETURN_IF_ERROR(region_arg(
			    ctx, *a, metrics::Direction::In, n, held, &arg));
		} else {
			std::string &b = *a->mutable_buf();
			arg.buf = b.empty() ? nullptr : b.data();
			arg.size = static_cast<uint32_t>(b.size());
		}
	}

	// Inline write args are allocated here and returned in the reply;
	// region ones are written in place.
	bool session_known = false;
	std::vector<std::string> storage(nr_write);
	std::vector<vaccel_arg> write(nr_write);
	uint64_t inline_total = 0;
	for (size_t i = 0; i < nr_write; ++i) {
		const auto &a = req.write_args(static_cast<int>(i));
		const int n = static_cast<int>(i);
		AGENT_RETURN_IF_ERROR(check_type(a, "write", n));
		vaccel_arg &arg = write[i];
		arg.type = static_cast<vaccel_arg_type_t>(a.arg_type());
		arg.custom_type_id = a.custom_type_id();
		if (a.region() != 0) {
			AGENT_RETURN_IF_ERROR(region_arg(
			    ctx, a, metrics::Direction::Out, n, held, &arg));
			continue;
		}
		const uint64_t size =
		    a.buf().empty() ? a.size() : a.buf().size();
		if (size > ctx.reply_limit() - inline_total)
			return RpcStatus::invalid(
			    "inline write args of more than %llu bytes do not "
			    "fit in a reply",
			    static_cast<unsigned long long>(ctx.reply_limit()));
		inline_total += size;
		if (a.buf().empty())
			AGENT_RETURN_IF_ERROR(
			    zeroed_write_arg(ctx, req.session_id(), size,
					     &session_known, &storage[i]));
		else
			storage[i] = a.buf();
		arg.buf = storage[i].empty() ? nullptr : storage[i].data();
		arg.size = static_cast<uint32_t>(storage[i].size());
	}

	RpcStatus ran = run_genop(ctx, req.session_id(), read, write);
	for (const auto &region : held)
		region->pin_after_op();
	AGENT_RETURN_IF_ERROR(ran);

	for (size_t i = 0; i < nr_write; ++i) {
		const auto &in = req.write_args(static_cast<int>(i));
		auto *out = resp.add_write_args();
		out->set_arg_type(
		    static_cast<rpc::genop::ArgType>(in.arg_type()));
		out->set_custom_type_id(in.custom_type_id());
		if (in.region() != 0) {
			out->set_size(static_cast<uint32_t>(in.size()));
			continue;
		}
		out->set_size(static_cast<uint32_t>(storage[i].size()));
		out->set_buf(std::move(storage[i]));
	}
	return RpcStatus::ok();
}

} // namespace vaccel::agent::handlers
