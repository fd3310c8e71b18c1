// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the handlers.
#include "handlers.h"

namespace vaccel::agent::handlers
{

RpcStatus vaccel_call(int rc, const char *what, int64_t session_id)
{
	if (rc == VACCEL_OK)
		return RpcStatus::ok();
	const char *detail = vaccel_last_error();
	return RpcStatus::vaccel(rc, "session %lld: %s failed (%d): %s",
				 static_cast<long long>(session_id), what, rc,
				 detail != nullptr ? detail : "");
}

RpcStatus session_and_model(Context &ctx, int64_t session_id, int64_t model_id,
			    SessionAndModel *out)
{
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.session(ctx.conn, session_id, &out->sess));
	return ctx.objects.resource(ctx.conn, model_id, &out->model);
}

} // namespace vaccel::agent::handlers
