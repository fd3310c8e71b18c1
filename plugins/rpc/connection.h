// SPDX-License-Identifier: Apache-2.0
// One connected stream to the agent, shared by every call of the process
// (client.h says why and how). There is no reader thread: a caller waiting
// for its reply reads the socket itself when nobody else does
// (leader/follower, calls.h and frame_reader.h), routes whatever replies
// arrive to their callers, and hands the reading to another waiting caller
// when its own reply is in. A lone caller thus reads its own reply, with no
// thread in between to wake; before blocking it polls the socket for about
// as long as replies usually take (VACCEL_RPC_POLL_US, transport/spin.h),
// because a thread woken from a long sleep costs tens of microseconds on a
// virtual machine.
#pragma once

#include "calls.h"
#include "client.h"
#include "config.h"
#include "fork_epoch.h"
#include "frame_reader.h"
#include "shm_pool.h"

#include "transport/spin.h"
#include "transport/transport.h"

#include <google/protobuf/message_lite.h>

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace vaccel::rpc_plugin
{

// The parts of one frame's payload, gathered when written.
using FrameParts = std::vector<std::span<const uint8_t>>;

class Connection
{
public:
	Connection(transport::Stream s, uint64_t generation, const Config &cfg);
	Connection(const Connection &) = delete;
	Connection &operator=(const Connection &) = delete;
	// No call is running: each holds a reference.
	~Connection();

	// The connection is usable only after this.
	Status start();

	[[nodiscard]] uint64_t generation() const noexcept
	{
		return generation_;
	}
	// The process's fork_epoch() when this connection was made: another
	// value means a forked child, which must leave it alone.
	[[nodiscard]] uint64_t fork_epoch() const noexcept
	{
		return fork_epoch_;
	}
	[[nodiscard]] std::chrono::milliseconds call_timeout() const noexcept
	{
		return call_timeout_;
	}
	// False once the connection failed. With no call in flight nobody
	// reads the socket, so an agent that went away (restarted, say) is
	// noticed here, from the hang-up: the next session then connects
	// afresh instead of failing on the dead stream.
	[[nodiscard]] bool alive();
	// Whether the agent hung up (polled; fails the connection if so).
	[[nodiscard]] bool hung_up();
	// Whether the connection is known to have failed (no system call).
	[[nodiscard]] bool failed() const noexcept { return calls_.failed(); }
	// In a forked child: the stream belongs to the parent's
	// conversation. Close our copies of the descriptors; the caller then
	// leaks this object, whose destructor would talk on them.
	void abandon_after_fork() noexcept;

	[[nodiscard]] const Features &features() const noexcept
	{
		return features_;
	}
	// Once, before the connection is shared.
	void set_features(Features f) noexcept { features_ = f; }
	[[nodiscard]] ShmPool &shm() noexcept { return shm_; }

	// One plain call (used before the connection is shared, and by the
	// shared-memory pool), with @p fds passed along its request.
	Status call(std::string_view service, std::string_view method,
		    const google::protobuf::MessageLite &req,
		    google::protobuf::MessageLite *reply,
		    std::chrono::milliseconds timeout,
		    std::span<const int> fds = {});

	// Sends one request frame (with @p fds, if any) and waits for its
	// response payload.
	Result<ReplyBytes> roundtrip(std::span<const uint8_t> payload,
				     transport::Deadline dl,
				     std::span<const int> fds = {});
	// As above, the payload being @p head followed by @p tail. With
	// @p slot (from take_reply_slot(), named in the request's metadata),
	// polls the slot for the reply rather than the socket; the slot is
	// given back (or, when the agent may still write to it, retired).
	Result<ReplyBytes> roundtrip(std::span<const uint8_t> head,
				     std::span<const uint8_t> tail,
				     transport::Deadline dl,
				     std::optional<SlotLease> slot = {});
	// A client-streaming call: a Request frame flagged RemoteOpen
	// carrying @p open, then one Data frame per element of @p data, the
	// last flagged RemoteClosed. Frames of other calls may interleave.
	Result<ReplyBytes> roundtrip_stream(std::span<const uint8_t> open,
					    std::span<const FrameParts> data,
					    transport::Deadline dl);

	// A request whose reply is read later, by collect(): a handshake sent
	// ahead of the connection's first use.
	struct Posted {
		uint32_t id = 0;
		std::shared_ptr<Pending> call;
	};
	Result<Posted> post(std::span<const uint8_t> payload,
			    transport::Deadline dl,
			    std::span<const int> fds = {});
	// Unlike a call, logs nothing when the connection fails meanwhile
	// (the caller expects that it may have: it connects again).
	Result<ReplyBytes> collect(const Posted &p, transport::Deadline dl);

	// A free reply slot; none when the agent offers no slots, this caller
	// would not poll (VACCEL_RPC_POLL_US=0) or all are in use.
	std::optional<SlotLease> take_reply_slot(transport::Deadline dl);
	// A slot taken for a request that was never sent.
	void return_reply_slot(const SlotLease &s)
	{
		shm_.give_back_slot(s.index);
	}

private:
	// What one exchange sends: a request frame of @p payload then
	// @p tail, and for a streaming call the Data frames of @p data.
	struct Request {
		std::span<const uint8_t> payload{};
		std::span<const uint8_t> tail{};
		std::span<const FrameParts> data{};
		std::span<const int> fds{};
		bool streaming = false;
	};
	Result<ReplyBytes> exchange(const Request &req, transport::Deadline dl,
				    SlotLease *reply_slot = nullptr);
	// The sending half of exchange().
	Result<Posted> send(const Request &req, transport::Deadline dl,
			    SlotLease *reply_slot);
	Status send_request(uint32_t id, const Request &req,
			    transport::Deadline dl, SlotLease *reply_slot);
	// Whether a request posted in @p lease's slot would be taken: the
	// agent's reader watches the slots and the agent has not hung up.
	bool slot_watched(const SlotLease &lease);
	Status send_data(uint32_t id, const Pending &call,
			 std::span<const FrameParts> data,
			 transport::Deadline dl);
	Result<ReplyBytes> await(const std::shared_ptr<Pending> &call,
				 uint32_t id, transport::Deadline dl);
	Result<ReplyBytes> await_slot(const std::shared_ptr<Pending> &call,
				      uint32_t id, transport::Deadline dl,
				      const SlotLease &lease);
	bool poll_slot(uint32_t id, const SlotLease &lease,
		       const transport::SpinPolicy::Plan &plan);
	void note_slot_wait(transport::Clock::time_point start);
	// Marks the connection failed (first reason wins), fails every
	// waiting call and wakes a writer blocked on the socket.
	void fail(const Status &why);

	transport::Stream stream_;
	const uint64_t generation_;
	const std::chrono::milliseconds call_timeout_;
	const uint64_t fork_epoch_; // fork_epoch.h
	static constexpr size_t kReadAhead = 16 * 1024;
	Features features_; // set once, before the connection is shared
	const transport::SpinPolicy spin_;
	CallTable calls_;
	FrameReader reader_;
	ShmPool shm_;
	std::mutex write_mu_; // one frame on the wire at a time
	int wake_fd_ = -1;    // written by fail(), never drained
	// Smoothed wait for a reply in a slot, ns (any caller).
	std::atomic<int64_t> slot_wait_ns_{0};
};

} // namespace vaccel::rpc_plugin
