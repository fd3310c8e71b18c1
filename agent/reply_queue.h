// SPDX-License-Identifier: Apache-2.0
// A connection's outbound replies. A worker that finished a request hands
// its reply here and goes back to the pool at once: what the socket takes
// without blocking is written then and there, the rest waits in this queue
// and a writer thread of the connection's own (started the first time a
// reply has to wait) drains it. So a client that stops reading costs its
// own connection a queue and a thread, never a worker, and it is dropped
// when the queue passes its byte cap or the socket takes nothing for the
// write deadline.
#pragma once

#include "transport/transport.h"

#include <sys/uio.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <forward_list>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vaccel::agent
{

// One reply's bytes: one or more whole frames, owned here and written in
// order. Build with add_frame(); the bytes must not move afterwards, so
// messages travel as unique_ptr.
class OutMessage
{
public:
	// Appends a frame: a 10-byte header and its payload pieces. The
	// pieces point into strings handed to own() (or that outlive the
	// message).
	void add_frame(const uint8_t header[10],
		       std::initializer_list<std::string_view> pieces);
	// Keeps @p s alive as long as the message; returns a stable view.
	std::string_view own(std::string s);
	[[nodiscard]] size_t size() const noexcept { return size_; }

private:
	friend class ReplyQueue;
	// Advances past @p n written bytes; true when all are written.
	bool consume(size_t n) noexcept;

	// Most replies are one frame: its header lives here, the payload in
	// owned_, and the iovecs are reserved once (a reply is built and
	// freed for every call).
	std::array<char, 10> first_header_{};
	bool first_header_used_ = false;
	std::forward_list<std::string> owned_; // nodes never move
	std::vector<iovec> iov_;
	size_t at_ = 0; // first iovec not yet fully written
	size_t size_ = 0, left_ = 0;
};

class ReplyQueue
{
public:
	struct Options {
		// Bytes that may wait behind the reply being written.
		size_t max_queued = size_t{64} << 20;
		// The most the queue waits for the socket to take any byte;
		// 0: forever.
		std::chrono::milliseconds write_timeout{30000};
	};
	// Called once, from the writer thread or push(), when the peer is
	// to be dropped (cap, deadline, socket error); never under the
	// queue's lock.
	using OnFail = std::function<void(const std::string &why)>;

	// @p stream: the connection's; when it speaks TLS (set after its
	// handshake), replies go through it on the writer thread only
	// (encryption needs the whole record: no partial non-blocking
	// writes from the workers).
	ReplyQueue(transport::Stream &stream, Options opts, OnFail on_fail)
	    : stream_(stream), opts_(opts), on_fail_(std::move(on_fail))
	{
	}
	ReplyQueue(const ReplyQueue &) = delete;
	ReplyQueue &operator=(const ReplyQueue &) = delete;
	~ReplyQueue();

	// Sends or queues @p m. False when the queue is closed, or when
	// this reply made it pass its cap (then the queue closes and
	// on_fail runs).
	bool push(std::unique_ptr<OutMessage> m);
	// No more replies; what is queued is dropped and the writer ends.
	// Idempotent; any thread (not only the owner).
	void close() noexcept;
	// Waits for the writer thread to end (after close()). Not from the
	// writer itself.
	void join();
	[[nodiscard]] size_t queued() const;

private:
	// Writes what the socket takes now (lock held); false on an error
	// other than "would block", with *@p why set.
	bool write_some(std::string *why);
	bool start_writer(std::string *why);
	void writer_loop();
	// The writer's step on a TLS stream: the head message whole, with
	// the lock released while it is written; false when it failed (and
	// the queue was failed).
	bool write_tls(std::unique_lock<std::mutex> &lock);
	void fail(std::unique_lock<std::mutex> &lock, const std::string &why);

	transport::Stream &stream_;
	const Options opts_;
	OnFail on_fail_;
	mutable std::mutex mu_;
	std::condition_variable cv_;
	std::deque<std::unique_ptr<OutMessage>> queue_;
	size_t queued_ = 0; // bytes left in queue_, the head included
	bool closed_ = false;
	bool failed_ = false;
	std::thread writer_;
};

} // namespace vaccel::agent
