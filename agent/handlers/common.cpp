// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the handlers.
#include "handlers.h"

namespace vaccel::agent::handlers
{

RpcStatus vaccel_call(int rc, const char *what, int64_t session_id)
{
	if (rc == VACCEL_OK)
		return RpcStatus::ok();
	// The runtime's message for the failure this thread just had names
	// the op, the plugin and the plugin's reason: it goes to the client
	// as it is (the code travels beside it, in the status details).
	const char *detail = vaccel_last_error();
	if (detail != nullptr && *detail != '\0')
		return RpcStatus::vaccel(rc, std::string(detail));
	return RpcStatus::vaccel(rc, "session %lld: %s failed (%d)",
				 static_cast<long long>(session_id), what, rc);
}

void count_shm(Context &ctx, const ShmRegion &region, metrics::Direction d,
	       uint64_t bytes)
{
	if (ctx.call.sample != nullptr)
		ctx.call.sample->add_bytes(region.client_memory()
					       ? metrics::Path::ShmInPlace
					       : metrics::Path::Shm,
					   d, bytes);
}

RpcStatus session_and_model(Context &ctx, int64_t session_id, int64_t model_id,
			    SessionAndModel *out)
{
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.session(ctx.conn, session_id, &out->sess));
	return ctx.objects.resource(ctx.conn, model_id, &out->model);
}

} // namespace vaccel::agent::handlers
