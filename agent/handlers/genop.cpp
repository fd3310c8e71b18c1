// SPDX-License-Identifier: Apache-2.0
// Genop: the generic op through which our plugin sends every op but the
// tf/tflite/torch model ops. The args map one to one onto vaccel_arg;
// vaccel_genop() then checks each op's layout (src/capi/genop.cpp), so all
// this handler checks is what it must before building the arrays: counts,
// sizes, tags, and what the tenant's policy says of the op (exec above all:
// a library path and symbol on the allow-list, or an uploaded library the
// policy names by hash, of this connection).
#include "handlers.h"

#include "../audit.h"

#include <cctype>
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

// What the policy judges a genop by, copied out of its args first: they may
// point into the client's shared memory, which the client can change
// between a check and the op's own read. The args are pointed at these
// copies, so the op runs on exactly what was checked.
struct Pinned {
	uint8_t op = 0;
	std::string library, symbol;
	int64_t resource_id = 0; // EXEC_WITH_RESOURCE: the runtime's id
	std::shared_ptr<AgentResource> resource;
};

// Copies arg @p a into @p out and points it there; returns the C string
// the op will see (up to the first NUL).
std::string_view pin(vaccel_arg &a, std::string &out)
{
	out.assign(static_cast<const char *>(a.buf), a.size);
	a.buf = out.data();
	return std::string_view(out.c_str());
}

RpcStatus refuse_exec(Context &ctx, std::string_view what)
{
	RpcStatus st = RpcStatus::denied(
	    "tenant %s may not exec %.*s (policy rule %s.exec)",
	    ctx.tenant.name().c_str(), static_cast<int>(what.size()),
	    what.data(), ctx.tenant.table().c_str());
	audit::refused(ctx.tenant.name(), ctx.conn, "Genop/exec",
		       ctx.tenant.table() + ".exec", st.message());
	return st;
}

RpcStatus check_exec(Context &ctx, std::vector<vaccel_arg> &read, Pinned &p)
{
	if (read.size() < 3 || read[1].buf == nullptr || read[2].buf == nullptr)
		return RpcStatus::ok(); // vaccel_genop() refuses the layout
	const std::string_view symbol = pin(read[2], p.symbol);
	const TenantPolicy &policy = ctx.tenant.policy();
	if (p.op == VACCEL_OP_EXEC) {
		const std::string_view lib = pin(read[1], p.library);
		// A host path only: "sha256:..." names uploads, and dlopen()
		// would search its library path for such a name.
		const bool hash_name = lib.rfind("sha256:", 0) == 0;
		if ((hash_name && policy.exec_rule("*", symbol) == nullptr) ||
		    policy.exec_rule(lib, symbol) == nullptr)
			return refuse_exec(ctx, std::string(lib) + ":" +
						    std::string(symbol));
		return RpcStatus::ok();
	}
	// EXEC_WITH_RESOURCE: read arg 1 is the client's (wire) id of a LIB
	// resource of this connection. Every file of it is dlopen()ed, so
	// the policy must name each by its hash.
	if (read[1].size != sizeof(int64_t))
		return RpcStatus::ok();
	int64_t wire = 0;
	std::memcpy(&wire, read[1].buf, sizeof(wire));
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.resource(ctx.conn, wire, &p.resource));
	const auto &hashes = p.resource->host().sha256;
	// A "*" library rule (trusted hosts only) covers uploads too.
	const bool any = policy.exec_rule("*", symbol) != nullptr;
	if (!any) {
		if (hashes.empty())
			return refuse_exec(ctx, "a resource not uploaded as a "
						"library");
		for (const auto &h : hashes)
			if (!policy.exec_names("sha256:" + h))
				return refuse_exec(ctx, "an uploaded library "
							"sha256:" +
							    h);
		if (policy.exec_rule("sha256:" + hashes.back(), symbol) ==
		    nullptr)
			return refuse_exec(ctx, "sha256:" + hashes.back() +
						    ":" + std::string(symbol));
	}
	p.resource_id = p.resource->id();
	read[1].buf = &p.resource_id;
	return RpcStatus::ok();
}

// "Genop/exec" for VACCEL_OP_EXEC: how audit lines name a genop.
std::string genop_name(vaccel_op_type_t op)
{
	std::string name = vaccel_op_type_to_str(op); // "VACCEL_OP_EXEC"
	name.erase(0, std::string_view("VACCEL_OP_").size());
	for (char &ch : name)
		ch = static_cast<char>(
		    std::tolower(static_cast<unsigned char>(ch)));
	return "Genop/" + name;
}

// Reads the op byte once, and judges the op by the tenant's policy.
RpcStatus check_genop(Context &ctx, std::vector<vaccel_arg> &read, Pinned &p)
{
	if (read.empty() || read[0].size != 1 || read[0].buf == nullptr)
		return RpcStatus::ok(); // no op to run: vaccel_genop() refuses
	p.op = *static_cast<const uint8_t *>(read[0].buf);
	read[0].buf = &p.op;
	if (p.op >= VACCEL_OP_MAX)
		return RpcStatus::ok(); // unknown: vaccel_genop() refuses
	if (ctx.call.sample != nullptr) // counted under its op too
		ctx.call.sample->op = p.op;
	const auto op = static_cast<vaccel_op_type_t>(p.op);
	const OpClass cls = op_class_of(op);
	if (!ctx.tenant.policy().allows(cls)) // named only when refused
		return ctx.tenant.allow(cls, genop_name(op), ctx.conn);
	if (op == VACCEL_OP_EXEC || op == VACCEL_OP_EXEC_WITH_RESOURCE)
		return check_exec(ctx, read, p);
	return RpcStatus::ok();
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
	bool session_known = false;
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
			AGENT_RETURN_IF_ERROR(
			    zeroed_write_arg(ctx, req.session_id(), size,
					     &session_known, &storage[i]));
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

RpcStatus zeroed_write_arg(Context &ctx, int64_t session_id, size_t size,
			   bool *session_known, std::string *out)
{
	if (size > 0 && !*session_known) {
		std::shared_ptr<AgentSession> sess;
		AGENT_RETURN_IF_ERROR(
		    ctx.objects.session(ctx.conn, session_id, &sess));
		*session_known = true;
	}
	out->assign(size, '\0');
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
	Pinned pinned; // holds an exec'd resource for the length of the call
	AGENT_RETURN_IF_ERROR(check_genop(ctx, read, pinned));
	int rc = VACCEL_OK;
	{
		std::shared_lock lock(sess->op_lock());
		const OpTimer timed(ctx, *sess, "genop");
		rc = vaccel_genop(sess->get(),
				  read.empty() ? nullptr : read.data(),
				  static_cast<int>(read.size()),
				  write.empty() ? nullptr : write.data(),
				  static_cast<int>(write.size()));
	}
	return vaccel_call(rc, "genop", session_id);
}

} // namespace vaccel::agent::handlers
