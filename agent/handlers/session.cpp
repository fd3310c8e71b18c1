// SPDX-License-Identifier: Apache-2.0
// CreateSession, UpdateSession, DestroySession.
#include "handlers.h"

#include <mutex>

namespace vaccel::agent::handlers
{

RpcStatus create_session(Context &ctx, rpc::session::CreateRequest &req,
			 rpc::session::CreateResponse &resp)
{
	Charge quota;
	AGENT_RETURN_IF_ERROR(Charge::take(ctx.tenant, Limit::Sessions, 1,
					   "CreateSession", ctx.conn, &quota));
	vaccel_session *raw = nullptr;
	if (int rc = vaccel_session_new(&raw, req.flags()); rc != VACCEL_OK)
		return vaccel_call(rc, "session init", 0);
	auto sess = std::make_shared<AgentSession>(raw);
	sess->hold(std::move(quota));
	// On failure (connection already gone) `sess` releases the session.
	AGENT_RETURN_IF_ERROR(ctx.objects.add_session(ctx.conn, sess));
	// The next session's directory, while this reply goes out.
	ctx.service.session_dirs().request();
	const int64_t id = sess->wire_id();
	resp.set_session_id(id);
	vaccel_debug("agent: connection %llu: created session %lld (flags "
		     "0x%x)",
		     static_cast<unsigned long long>(ctx.conn),
		     static_cast<long long>(id), req.flags());
	return RpcStatus::ok();
}

RpcStatus update_session(Context &ctx, rpc::session::UpdateRequest &req,
			 Empty &)
{
	std::shared_ptr<AgentSession> sess;
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.session(ctx.conn, req.session_id(), &sess));
	// Exclusive: the runtime forbids updating a session during its ops.
	std::unique_lock lock(sess->op_lock());
	return vaccel_call(vaccel_session_update(sess->get(), req.flags()),
			   "update", req.session_id());
}

RpcStatus destroy_session(Context &ctx, rpc::session::DestroyRequest &req,
			  Empty &)
{
	std::shared_ptr<AgentSession> sess;
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.take_session(ctx.conn, req.session_id(), &sess));
	vaccel_debug("agent: connection %llu: destroying session %lld",
		     static_cast<unsigned long long>(ctx.conn),
		     static_cast<long long>(req.session_id()));
	// Dropping the last reference unregisters the session's resources,
	// releases those it alone used, and releases the session; if an op
	// on it still runs elsewhere, that happens when the op returns.
	sess.reset();
	ctx.service.session_dirs().request();
	return RpcStatus::ok();
}

} // namespace vaccel::agent::handlers
