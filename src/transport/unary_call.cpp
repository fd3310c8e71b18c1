// SPDX-License-Identifier: Apache-2.0
#include "transport/unary_call.h"

#include "rpc/ttrpc.pb.h"
#include "transport/spare_cores.h"
#include "transport/spin.h"

#include <poll.h>

namespace vaccel::transport
{

Result<std::string> unary_call(const Address &address, const UnaryCall &call)
{
	auto c = UnaryClient::connect(address, call.connect_timeout);
	if (!c)
		return c.status();
	return c->call(call);
}

Result<UnaryClient> UnaryClient::connect(const Address &address,
					 std::chrono::milliseconds timeout)
{
	auto s = transport::connect(address, timeout);
	if (!s)
		return s.status();
	// A reply's header and payload in one receive.
	s->set_read_ahead(kReadAhead);
	// The load check's first use opens its file: here, not in a call a
	// launcher times.
	(void)cores_to_spare();
	return UnaryClient(std::move(s.value()));
}

Result<std::string> UnaryClient::call(const UnaryCall &call)
{
	if (!stream_.valid())
		return Status(VACCEL_EIO, "the connection failed earlier");
	auto reply = exchange(call);
	if (!reply && reply.status().code() == VACCEL_EIO)
		stream_.close(); // what is left on it cannot be trusted
	return reply;
}

void UnaryClient::await_reply()
{
	// Only where this thread would have a core of its own; the blocking
	// read that follows waits for whatever this did not see.
	if (stream_.pending() || !cores_to_spare())
		return;
	pollfd p{stream_.fd(), POLLIN, 0};
	spin_poll(std::span(&p, 1), kReplyPoll);
}

Result<std::string> UnaryClient::exchange(const UnaryCall &call)
{
	Stream *s = &stream_;
	rpc::ttrpc::Request req;
	req.set_service(std::string(call.service));
	req.set_method(std::string(call.method));
	req.set_payload(std::string(call.payload));
	const std::string bytes = req.SerializeAsString();
	FrameHeader h;
	h.stream_id = next_id_;
	next_id_ += 2; // a client's ids are odd and only grow
	h.type = MsgType::Request;
	Status st = write_frame(
	    *s, h,
	    std::span(reinterpret_cast<const uint8_t *>(bytes.data()),
		      bytes.size()),
	    deadline_in(call.connect_timeout), call.fds);
	if (!st)
		return st;
	await_reply();
	auto f =
	    read_frame(*s, kDefaultMaxFrame, deadline_in(call.reply_timeout));
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
