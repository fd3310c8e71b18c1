// SPDX-License-Identifier: Apache-2.0
#include "envelope.h"

#include "transport/codec.h"
#include "transport/reply_slot.h"
#include "transport/transport.h"

#include "rpc/ttrpc.pb.h"

#include <new>

namespace vaccel::rpc_plugin
{

namespace
{

// The vAccel code for a non-OK ttrpc status.
Status status_from_reply(const rpc::ttrpc::Status &st,
			 std::optional<rpc::Status> *detail)
{
	const std::string &msg = st.message();
	if (st.details_size() > 0 &&
	    st.details(0).type_url() == transport::kVaccelErrorTypeUrl) {
		rpc::Error err;
		if (err.ParseFromString(st.details(0).value()) &&
		    err.has_ffi_error() && err.ffi_error() != 0) {
			if (detail != nullptr && err.has_status())
				*detail = err.status();
			return Status(static_cast<int>(err.ffi_error()), msg);
		}
	}
	using transport::RpcCode;
	// A draining agent's refusal: it did not run the request, so it may
	// go to another agent (failover.h), told by the detail, not the text.
	if (static_cast<RpcCode>(st.code()) == RpcCode::Unavailable &&
	    st.details_size() > 0 &&
	    st.details(0).type_url() == transport::kDrainingTypeUrl)
		return Status::error(VACCEL_EIO, "the agent is draining: %s",
				     msg.c_str())
		    .with(transport::Cause::Draining);
	switch (static_cast<RpcCode>(st.code())) {
	case RpcCode::InvalidArgument:
		return Status(VACCEL_EINVAL, msg);
	case RpcCode::NotFound:
		return Status(VACCEL_ENOENT, msg);
	case RpcCode::PermissionDenied:
		return Status(VACCEL_EPERM, msg);
	case RpcCode::ResourceExhausted: // a quota or the agent's budget
		return Status(VACCEL_EBUSY, msg);
	case RpcCode::Unimplemented:
		return Status(VACCEL_ENOTSUP, msg)
		    .with(transport::Cause::Unimplemented);
	case RpcCode::DeadlineExceeded: // the call's timeout, as a timeout
		return Status(VACCEL_EIO, msg);
	default:
		return Status::error(VACCEL_EREMOTEIO, "status %d: %s",
				     st.code(), msg.c_str());
	}
}

} // namespace

void encode_head(std::string_view service, std::string_view method,
		 size_t payload_size, std::chrono::milliseconds timeout,
		 std::string *out, std::string_view reply_slot)
{
	const int64_t nanos =
	    timeout.count() > 0 ? std::chrono::nanoseconds(timeout).count() : 0;
	if (reply_slot.empty()) {
		transport::codec::put_request_head(out, service, method, nanos,
						   {}, payload_size);
		return;
	}
	const transport::codec::KeyValue kv{transport::kReplySlotKey,
					    reply_slot};
	transport::codec::put_request_head(out, service, method, nanos,
					   std::span(&kv, 1), payload_size);
}

Status encode(std::string_view service, std::string_view method,
	      std::string_view payload, std::chrono::milliseconds timeout,
	      std::string *out)
{
	try {
		encode_head(service, method, payload.size(), timeout, out);
		out->append(payload);
	} catch (const std::bad_alloc &) {
		return Status(VACCEL_ENOMEM, "out of memory encoding request");
	}
	return Status::ok();
}

// Only a failure's status goes through the generated parser (for its
// message and details).
Status reply_payload(std::span<const uint8_t> bytes,
		     std::span<const uint8_t> *payload,
		     std::optional<rpc::Status> *detail)
{
	transport::codec::ResponseView r;
	if (!transport::codec::parse_response(bytes, &r))
		return Status(VACCEL_EREMOTEIO, "malformed response");
	*payload = r.payload;
	if (r.code == 0)
		return Status::ok();
	// A failure: the generated class reads its status (merging repeated
	// status fields as protobuf does).
	rpc::ttrpc::Response whole;
	if (!whole.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
		return Status(VACCEL_EREMOTEIO, "malformed response status");
	return status_from_reply(whole.status(), detail);
}

Status decode(std::span<const uint8_t> bytes,
	      google::protobuf::MessageLite *reply,
	      std::optional<rpc::Status> *detail)
{
	std::span<const uint8_t> payload;
	VACCEL_RETURN_IF_ERROR(reply_payload(bytes, &payload, detail));
	if (reply != nullptr &&
	    !reply->ParseFromArray(payload.data(),
				   static_cast<int>(payload.size())))
		return Status(VACCEL_EREMOTEIO, "malformed response payload");
	return Status::ok();
}

} // namespace vaccel::rpc_plugin
