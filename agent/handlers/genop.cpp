// SPDX-License-Identifier: Apache-2.0
// Genop: the generic op through which our plugin sends every op but the
// tf/tflite/torch model ops. The args map one to one onto vaccel_arg;
// vaccel_genop() then checks each op's layout (src/capi/genop.cpp), so all
// this handler checks is what it must before building the arrays: counts,
// sizes, tags, and that an EXEC_WITH_RESOURCE names a resource of this
// connection.
#include "handlers.h"

#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace vaccel::agent::handlers
{

namespace
{

RpcStatus check_arg(const rpc::genop::Arg &a, const char *dir, int i)
{
	const int type = a.arg_type();
	if (type < VACCEL_ARG_RAW || type > VACCEL_ARG_CUSTOM)
		return RpcStatus::invalid("%s arg %d: type %d is unknown", dir,
					  i, type);
	if (a.parts() > 1)
		return RpcStatus::invalid(
		    "%s arg %d: split args (%u parts) are not supported", dir,
		    i, a.parts());
	if (a.size() != 0 && !a.buf().empty() && a.size() != a.buf().size())
		return RpcStatus::invalid(
		    "%s arg %d: size %u does not match its %zu bytes", dir, i,
		    a.size(), a.buf().size());
	return RpcStatus::ok();
}

vaccel_arg make_arg(std::string &bytes, const rpc::genop::Arg &a)
{
	vaccel_arg arg{};
	arg.buf = bytes.empty() ? nullptr : bytes.data();
	arg.size = bytes.size();
	arg.type = static_cast<vaccel_arg_type_t>(a.arg_type());
	arg.custom_type_id = a.custom_type_id();
	arg.owned = false; // the request (or `storage`) owns the bytes
	return arg;
}

// For EXEC_WITH_RESOURCE, the resource id (read arg 1) is an agent id: it
// must name a resource of this connection, which the handler then holds for
// the length of the call. Layout errors are left to vaccel_genop().
RpcStatus exec_resource(Context &ctx, const std::vector<vaccel_arg> &read,
			std::shared_ptr<AgentResource> *out)
{
	if (read.size() < 2 || read[0].size != 1 || read[0].buf == nullptr)
		return RpcStatus::ok();
	if (*static_cast<const uint8_t *>(read[0].buf) !=
	    VACCEL_OP_EXEC_WITH_RESOURCE)
		return RpcStatus::ok();
	if (read[1].size != sizeof(int64_t) || read[1].buf == nullptr)
		return RpcStatus::ok();
	int64_t id = 0;
	std::memcpy(&id, read[1].buf, sizeof(id));
	return ctx.objects.resource(ctx.conn, id, out);
}

} // namespace

RpcStatus genop(Context &ctx, rpc::genop::Request &req,
		rpc::genop::Response &resp)
{
	const auto nr_read = static_cast<size_t>(req.read_args_size());
	const auto nr_write = static_cast<size_t>(req.write_args_size());
	if (nr_read > ctx.limits.max_args || nr_write > ctx.limits.max_args)
		return RpcStatus::invalid(
		    "%zu read / %zu write args exceed the limit of %zu",
		    nr_read, nr_write, ctx.limits.max_args);

	std::vector<vaccel_arg> read(nr_read);
	for (size_t i = 0; i < nr_read; ++i) {
		auto *a = req.mutable_read_args(static_cast<int>(i));
		AGENT_RETURN_IF_ERROR(
		    check_arg(*a, "read", static_cast<int>(i)));
		read[i] = make_arg(*a->mutable_buf(), *a);
	}

	// Write args arrive as sizes (our plugin) or as buffers (upstream
	// clients); either way the op gets zeroed or initialized bytes the
	// agent owns, and they all must fit in the reply.
	std::vector<std::string> storage(nr_write);
	std::vector<vaccel_arg> write(nr_write);
	size_t total = 0;
	for (size_t i = 0; i < nr_write; ++i) {
		auto &a = *req.mutable_write_args(static_cast<int>(i));
		AGENT_RETURN_IF_ERROR(
		    check_arg(a, "write", static_cast<int>(i)));
		const size_t size = a.buf().empty() ? a.size() : a.buf().size();
		if (size > ctx.reply_limit() - total)
			return RpcStatus::invalid(
			    "write args of more than %llu bytes do not fit in "
			    "a reply",
			    static_cast<unsigned long long>(ctx.reply_limit()));
		total += size;
		if (a.buf().empty())
			storage[i].assign(size, '\0');
		else
			storage[i] = std::move(*a.mutable_buf()); // no copy
		write[i] = make_arg(storage[i], a);
	}

	AGENT_RETURN_IF_ERROR(run_genop(ctx, req.session_id(), read, write));

	for (size_t i = 0; i < nr_write; ++i) {
		const auto &in = req.write_args(static_cast<int>(i));
		auto *out = resp.add_write_args();
		out->set_size(static_cast<uint32_t>(storage[i].size()));
		out->set_arg_type(in.arg_type());
		out->set_custom_type_id(in.custom_type_id());
		out->set_buf(std::move(storage[i]));
	}
	return RpcStatus::ok();
}

RpcStatus run_genop(Context &ctx, int64_t session_id,
		    std::vector<vaccel_arg> &read,
		    std::vector<vaccel_arg> &write)
{
	if (read.size() > ctx.limits.max_args ||
	    write.size() > ctx.limits.max_args)
		return RpcStatus::invalid(
		    "%zu read / %zu write args exceed the limit of %zu",
		    read.size(), write.size(), ctx.limits.max_args);
	std::shared_ptr<AgentSession> sess;
	AGENT_RETURN_IF_ERROR(ctx.objects.session(ctx.conn, session_id, &sess));
	std::shared_ptr<AgentResource> res;
	AGENT_RETURN_IF_ERROR(exec_resource(ctx, read, &res));
	int rc = VACCEL_OK;
	{
		std::shared_lock lock(sess->op_lock());
		const OpTimer timed(ctx);
		rc = vaccel_genop(sess->get(),
				  read.empty() ? nullptr : read.data(),
				  static_cast<int>(read.size()),
				  write.empty() ? nullptr : write.data(),
				  static_cast<int>(write.size()));
	}
	return vaccel_call(rc, "genop", session_id);
}

} // namespace vaccel::agent::handlers
