// SPDX-License-Identifier: Apache-2.0
#include "transport/unary_call.h"

#include "rpc/ttrpc.pb.h"

namespace vaccel::transport
{

Result<std::string> unary_call(const Address &address, const UnaryCall &call)
{
	auto s = connect(address, call.connect_timeout);
	if (!s)
		return s.status();
	rpc::ttrpc::Request req;
	req.set_service(std::string(call.service));
	req.set_method(std::string(call.method));
	req.set_payload(std::string(call.payload));
	const std::string bytes = req.SerializeAsString();
	FrameHeader h;
	h.stream_id = 1;
	h.type = MsgType::Request;
	Status st = write_frame(
	    s.value(), h,
	    std::span(reinterpret_cast<const uint8_t *>(bytes.data()),
		      bytes.size()),
	    deadline_in(call.connect_timeout), call.fds);
	if (!st)
		return st;
	auto f = read_frame(s.value(), kDefaultMaxFrame,
			    deadline_in(call.reply_timeout));
	if (!f)
		return f.status();
	rpc::ttrpc::Response resp;
	if (!resp.ParseFromArray(f->payload.data(),
				 static_cast<int>(f->payload.size())))
		return Status(VACCEL_EIO,
			      "malformed reply to " + std::string(call.method));
	const int32_t code = resp.status().code();
	if (code == static_cast<int32_t>(RpcCode::Unimplemented))
		return Status(VACCEL_ENOTSUP, "the agent does not know " +
						  std::string(call.service) +
						  "/" +
						  std::string(call.method));
	if (code != 0)
		return Status(VACCEL_EREMOTEIO,
			      "the agent refused " + std::string(call.method) +
				  ": " + resp.status().message());
	return std::move(*resp.mutable_payload());
}

} // namespace vaccel::transport
