// SPDX-License-Identifier: Apache-2.0
// ImageClassification, for upstream clients (our plugin sends
// classification as a genop so that the image name comes back too).
#include "handlers.h"

#include <cstring>
#include <shared_mutex>

namespace vaccel::agent::handlers
{

RpcStatus image_classification(Context &ctx, rpc::image::Request &req,
			       rpc::image::Response &resp)
{
	std::shared_ptr<AgentSession> sess;
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.session(ctx.conn, req.session_id(), &sess));
	// Upstream's agent hands the op 256-byte buffers; so do we.
	unsigned char text[256] = {};
	unsigned char imgname[256] = {};
	int rc = VACCEL_OK;
	{
		std::shared_lock lock(sess->op_lock());
		const OpTimer timed(ctx, *sess, "image_classification");
		rc = vaccel_image_classification(
		    sess->get(), req.image().data(), text, imgname,
		    req.image().size(), sizeof(text) - 1, sizeof(imgname) - 1);
	}
	AGENT_RETURN_IF_ERROR(
	    vaccel_call(rc, "image classification", req.session_id()));
	resp.set_tags(
	    reinterpret_cast<const char *>(text),
	    strnlen(reinterpret_cast<const char *>(text), sizeof(text)));
	return RpcStatus::ok();
}

} // namespace vaccel::agent::handlers
