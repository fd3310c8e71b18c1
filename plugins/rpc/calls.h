// SPDX-License-Identifier: Apache-2.0
// The calls in flight on one connection: stream ids, the record each call's
// reply lands in, who reads the socket (leader/follower, client.h) and the
// connection's failure, which ends every waiting call.
#pragma once

#include "base/status.h"
#include "fn_ref.h"
#include "transport/transport.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

namespace vaccel::rpc_plugin
{

using base::Result;
using base::Status;

// A reply's bytes: one frame's payload, or a chunked reply gathered into
// one buffer of the size its envelope announced.
struct ReplyBytes {
	std::vector<uint8_t> frame;
	std::unique_ptr<uint8_t[]> big;
	size_t big_size = 0;

	[[nodiscard]] std::span<const uint8_t> bytes() const noexcept
	{
		if (big)
			return {big.get(), big_size};
		return frame;
	}
};

// One call waiting for its response. Guarded by its CallTable's mutex,
// except the chunk buffer (below) and reads of done without it.
struct Pending {
	std::condition_variable cv;
	// Set under the lock, after the status and payload; atomic so that
	// the reader can ask without the lock, after every frame, whether its
	// own call is settled.
	std::atomic<bool> done{false};
	// Blocked on cv, as opposed to still sending or reading the socket.
	bool waiting = false;
	Status status;
	ReplyBytes payload;
	// A chunked reply (the connection's current reader only, until done):
	// allocated at the size its first chunk announces, then filled
	// straight from the socket.
	std::unique_ptr<uint8_t[]> chunks;
	size_t chunks_size = 0;
	size_t chunks_got = 0;
};

class CallTable
{
public:
	// Reads the socket as its only reader until @p mine is complete, the
	// deadline passes or the connection failed (the reader fails it).
	using ReadFn = FnRef<void(const Pending &mine, transport::Deadline)>;

	explicit CallTable(std::chrono::milliseconds call_timeout)
	    : call_timeout_(call_timeout)
	{
	}
	CallTable(const CallTable &) = delete;
	CallTable &operator=(const CallTable &) = delete;

	// A new call: its stream id and the record its reply lands in; the
	// reason the connection failed instead, once it has.
	Result<std::pair<uint32_t, std::shared_ptr<Pending>>> open();
	// Waits for @p call's reply: as the reader (through @p read) when
	// nobody reads, else until the reader completes it or hands the
	// reading over. Past @p dl the call fails alone and forgets @p id.
	Result<ReplyBytes> await(const std::shared_ptr<Pending> &call,
				 uint32_t id, transport::Deadline dl,
				 ReadFn read);

	// The call on @p id, still waiting (a chunk of its reply came); null
	// when its caller gave up.
	std::shared_ptr<Pending> find(uint32_t id);
	// As find(), removing it: its reply is complete.
	std::shared_ptr<Pending> take(uint32_t id);
	void forget(uint32_t id);
	// Completes @p call (already removed) and wakes its caller.
	void finish(Pending &call, Status st, ReplyBytes data = {});
	[[nodiscard]] bool done(const Pending &call);
	// Done, or the connection failed: the reader stops.
	[[nodiscard]] bool settled(const Pending &call);

	// Marks the connection failed (the first reason wins) and fails every
	// waiting call; false when it already was.
	bool fail(const Status &why);
	// Without the lock, for callers that poll.
	[[nodiscard]] bool failed() const noexcept
	{
		return failed_flag_.load(std::memory_order_relaxed);
	}
	enum class Activity {
		Failed,
		Busy, // calls in flight, or a caller reading the socket
		Idle,
	};
	[[nodiscard]] Activity activity();

private:
	using Entry = std::pair<uint32_t, std::shared_ptr<Pending>>;
	uint32_t take_stream_id();
	void wake_next_reader();
	// The entry of @p id, or end(). Called with mu_ held.
	std::vector<Entry>::iterator entry(uint32_t id);
	void drop(std::vector<Entry>::iterator it);
	void complete_locked(Pending &call, Status st, ReplyBytes data);

	const std::chrono::milliseconds call_timeout_;
	std::mutex mu_; // guards everything below
	// A few calls are in flight at a time: a flat list searched in
	// order costs less than a hash map's node per call.
	std::vector<Entry> pending_;
	uint32_t next_id_ = 1;
	bool failed_ = false;
	Status death_;
	bool reading_ = false; // a caller reads the socket
	// failed_, readable without mu_.
	std::atomic<bool> failed_flag_{false};
};

} // namespace vaccel::rpc_plugin
