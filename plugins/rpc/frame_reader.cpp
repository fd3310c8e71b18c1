// SPDX-License-Identifier: Apache-2.0
#include "frame_reader.h"

#include "transport/spare_cores.h"

#include <vaccel/log.h>

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace vaccel::rpc_plugin
{

using transport::Clock;
using transport::Deadline;

namespace
{

Status lost(const Status &why)
{
	return Status(VACCEL_EIO, "connection lost: " + why.message());
}

// The size of a serialized ttrpc Response from its beginning: the agent
// writes the status field, then the payload field's header.
bool reply_size(std::span<const uint8_t> head, size_t *total)
{
	size_t pos = 0;
	auto varint = [&](uint64_t *v) {
		uint64_t x = 0;
		for (int shift = 0; shift < 64 && pos < head.size();
		     shift += 7) {
			const uint8_t b = head[pos++];
			x |= uint64_t{b & 0x7fu} << shift;
			if ((b & 0x80) == 0) {
				*v = x;
				return true;
			}
		}
		return false;
	};
	uint64_t tag = 0, n = 0;
	while (varint(&tag)) {
		if ((tag & 7) != 2 || !varint(&n))
			return false;
		if ((tag >> 3) == 2) {
			*total = pos + n;
			return true;
		}
		if (n > head.size() - pos)
			return false;
		pos += n;
	}
	return false;
}

} // namespace

FrameReader::FrameReader(transport::Stream &stream, CallTable &calls,
			 const Config &cfg, const transport::SpinPolicy &spin)
    : stream_(stream), calls_(calls), max_frame_(cfg.max_frame),
      // Bounded even when calls may wait forever: a peer stuck mid-frame
      // must not pin the caller that reads.
      read_timeout_(cfg.call_timeout.count() > 0
			? cfg.call_timeout
			: std::chrono::milliseconds(60000)),
      max_message_(cfg.max_message), spin_(spin)
{
}

Status FrameReader::lead(const Pending &mine, Deadline dl, int wake_fd)
{
	while (!calls_.settled(mine)) {
		auto ready = wait_readable(dl, wake_fd);
		if (!ready)
			return ready.status();
		if (*ready == Wait::Expired)
			return Status::ok();
		if (*ready == Wait::LookAgain)
			continue;
		// A frame has started: the rest must follow within the call
		// timeout, or the peer is stuck mid-frame.
		const Deadline frame_dl = transport::deadline_in(read_timeout_);
		auto hdr =
		    transport::read_header(stream_, max_frame_, frame_dl);
		if (!hdr)
			return lost(hdr.status());
		if (hdr->type == transport::MsgType::Data) {
			if (Status st = read_chunk(*hdr, frame_dl); !st)
				return lost(st);
			continue;
		}
		transport::Frame f;
		f.header = *hdr;
		f.payload.resize(hdr->length);
		if (Status st =
			stream_.read_exact(std::span(f.payload), frame_dl);
		    !st)
			return lost(st);
		route(std::move(f));
	}
	return Status::ok();
}

Result<FrameReader::Wait> FrameReader::wait_readable(Deadline dl, int wake_fd)
{
	pollfd fds[2] = {{stream_.fd(), POLLIN, 0}, {wake_fd, POLLIN, 0}};
	const auto start = Clock::now();
	auto plan = spin_.plan(wait_ns_);
	if (plan.poll.count() > 0 && !transport::cores_to_spare())
		plan = {};
	if (dl)
		plan = plan.within(*dl - start);
	// Bytes TLS already took off the socket: poll() would not see them.
	const bool buffered = stream_.pending();
	int n = 0;
	if (buffered) {
		n = 1;
		fds[0].revents = POLLIN;
	} else if (plan.poll.count() > 0) {
		n = transport::plan_poll(fds, plan);
	}
	// A socket's wait is the receive itself, with no poll() first;
	// fail() wakes it with shutdown(). A serial port cannot block so
	// (shutdown() would not wake it): it polls its wake_fd too.
	if (n == 0 && stream_.can_block()) {
		while (!stream_.receive(dl))
			if (dl && Clock::now() >= *dl)
				return Wait::Expired;
		// fail() ended the wait with shutdown(): not a read error.
		if (calls_.failed())
			return Wait::LookAgain;
		n = 1;
		fds[0].revents = POLLIN;
	}
	while (n == 0) {
		int timeout = -1;
		if (dl) {
			const auto left = *dl - Clock::now();
			if (left.count() <= 0)
				return Wait::Expired;
			timeout = static_cast<int>(
			    std::chrono::ceil<std::chrono::milliseconds>(left)
				.count());
		}
		n = ::poll(fds, 2, timeout);
		if (n < 0 && errno == EINTR)
			n = 0;
	}
	if (n < 0)
		return Status::error(VACCEL_EIO, "poll: %s",
				     std::strerror(errno));
	if (!buffered)
		wait_ns_ = spin_.update(
		    wait_ns_,
		    std::chrono::duration_cast<std::chrono::nanoseconds>(
			Clock::now() - start)
			.count());
	if (fds[1].revents != 0 || fds[0].revents == 0)
		return Wait::LookAgain; // failed meanwhile
	return Wait::Readable;
}

// One Data frame of a chunked reply: the first announces (in the Response
// envelope it starts) how large the whole is; the rest are read straight
// into place. A transport error is returned; a bad reply fails its call
// only.
Status FrameReader::read_chunk(const transport::FrameHeader &h, Deadline dl)
{
	std::shared_ptr<Pending> call = calls_.find(h.stream_id);
	const size_t len = h.length;
	if (call && call->chunks &&
	    len <= call->chunks_size - call->chunks_got) {
		VACCEL_RETURN_IF_ERROR(stream_.read_exact(
		    std::span(call->chunks.get() + call->chunks_got, len), dl));
		call->chunks_got += len;
		return Status::ok();
	}
	std::vector<uint8_t> first(len);
	VACCEL_RETURN_IF_ERROR(stream_.read_exact(std::span(first), dl));
	if (!call)
		return Status::ok(); // its caller gave up
	size_t total = 0;
	if (!call->chunks && reply_size(first, &total) &&
	    total <= max_message_ && total >= len) {
		call->chunks.reset(new (std::nothrow) uint8_t[total]);
		if (call->chunks) {
			std::memcpy(call->chunks.get(), first.data(), len);
			call->chunks_size = total;
			call->chunks_got = len;
			return Status::ok();
		}
	}
	// Too large, malformed, or more than announced: this call fails; the
	// connection is fine.
	calls_.forget(h.stream_id);
	calls_.finish(
	    *call,
	    Status::error(VACCEL_EREMOTEIO,
			  "bad chunked reply (more than announced, or above "
			  "%llu bytes: VACCEL_RPC_MAX_MESSAGE)",
			  static_cast<unsigned long long>(max_message_)));
	return Status::ok();
}

void FrameReader::route(transport::Frame frame)
{
	// Data frames went to read_chunk().
	if (frame.header.type != transport::MsgType::Response) {
		vaccel_debug("[rpc] ignoring a frame of type %u on stream %u",
			     static_cast<unsigned>(frame.header.type),
			     frame.header.stream_id);
		return;
	}
	std::shared_ptr<Pending> call = calls_.take(frame.header.stream_id);
	if (!call) {
		// Its caller gave up (timeout).
		vaccel_debug("[rpc] dropping a late reply on stream %u",
			     frame.header.stream_id);
		return;
	}
	ReplyBytes out;
	if (call->chunks) {
		if (!frame.payload.empty() ||
		    call->chunks_got != call->chunks_size) {
			calls_.finish(*call,
				      Status(VACCEL_EREMOTEIO,
					     "chunked reply shorter than "
					     "announced"));
			return;
		}
		out.big = std::move(call->chunks);
		out.big_size = call->chunks_size;
	} else {
		out.frame = std::move(frame.payload);
	}
	calls_.finish(*call, Status::ok(), std::move(out));
}

} // namespace vaccel::rpc_plugin
