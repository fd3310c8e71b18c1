// SPDX-License-Identifier: Apache-2.0
#include "client.h"

#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "rpc/ttrpc.pb.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "transport/codec.h"
#include "transport/reply_slot.h"
#include "transport/spin.h"

#include <vaccel/log.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vaccel::rpc_plugin
{

using transport::Clock;
using transport::Deadline;

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

// One call waiting for its response. Guarded by its connection's mu_,
// except the chunk buffer (below).
struct Pending {
	std::condition_variable cv;
	bool done = false;
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

// A memfd mapped here and in the agent (AgentData/MapRegion).
struct ShmBuffer {
	uint32_t id = 0;
	uint8_t *base = nullptr;
	size_t size = 0;
	transport::UniqueFd fd;

	ShmBuffer() = default;
	ShmBuffer(const ShmBuffer &) = delete;
	ShmBuffer &operator=(const ShmBuffer &) = delete;
	~ShmBuffer()
	{
		if (base != nullptr)
			::munmap(base, size);
	}
};

// The parts of one frame's payload, gathered when written.
using FrameParts = std::vector<std::span<const uint8_t>>;

// One reply slot of a connection's slot region (transport/reply_slot.h),
// held by one call at a time.
struct SlotLease {
	uint32_t index = 0;
	uint32_t region = 0;
	uint64_t offset = 0;
	transport::ReplySlot slot;
	// The slot region's base: its reader_polling word, when requests may
	// be posted in the slot (feature request-slots); else null.
	uint8_t *requests = nullptr;
	// How the call waits for its reply (set when it is sent).
	transport::SpinPolicy::Plan plan;
};

// The slot region: kReplySlots slots of kReplySlotSize bytes, one region
// (1 MiB, the pool's granule) mapped once per connection.
inline constexpr uint32_t kReplySlots = 16;
inline constexpr size_t kReplySlotSize = size_t{64} << 10;

// One connected stream. There is no reader thread: a caller waiting for its
// reply reads the socket itself when nobody else does (leader/follower),
// routes whatever replies arrive to their callers, and hands the reading to
// another waiting caller when its own reply is in. A lone caller thus
// reads its own reply, with no thread in between to wake; before blocking
// it polls the socket for about as long as replies usually take
// (VACCEL_RPC_POLL_US, transport/spin.h), because a thread woken from a
// long sleep costs tens of microseconds on a virtual machine.
class Connection
{
public:
	Connection(transport::Stream s, uint64_t generation, const Config &cfg)
	    : stream_(std::move(s)), generation_(generation),
	      max_frame_(cfg.max_frame),
	      // Bounded even when calls may wait forever: a peer stuck
	      // mid-frame must not pin the caller that reads.
	      read_timeout_(cfg.call_timeout.count() > 0
				? cfg.call_timeout
				: std::chrono::milliseconds(60000)),
	      call_timeout_(cfg.call_timeout), max_message_(cfg.max_message),
	      pid_(::getpid()), spin_(cfg.poll, std::chrono::microseconds{20})
	{
	}
	Connection(const Connection &) = delete;
	Connection &operator=(const Connection &) = delete;

	// No call is running: each holds a reference.
	~Connection()
	{
		fail(Status(VACCEL_EIO, "connection closed"));
		if (wake_fd_ >= 0)
			::close(wake_fd_);
	}

	// The connection is usable only after this.
	Status start()
	{
		wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (wake_fd_ < 0)
			return Status::error(VACCEL_EIO, "eventfd: %s",
					     std::strerror(errno));
		return Status::ok();
	}

	[[nodiscard]] uint64_t generation() const noexcept
	{
		return generation_;
	}
	[[nodiscard]] pid_t pid() const noexcept { return pid_; }
	// False once the connection failed. With no call in flight nobody
	// reads the socket, so an agent that went away (restarted, say) is
	// noticed here, from the hang-up: the next session then connects
	// afresh instead of failing on the dead stream.
	[[nodiscard]] bool alive()
	{
		{
			std::lock_guard lock(mu_);
			if (dead_)
				return false;
			if (reading_ || !pending_.empty())
				return true;
		}
		pollfd p{stream_.fd(), POLLIN | POLLRDHUP, 0};
		if (::poll(&p, 1, 0) > 0 &&
		    (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) !=
			0) {
			fail(Status(VACCEL_EIO,
				    "the agent closed the connection"));
			return false;
		}
		return true;
	}

	// In a forked child: the stream belongs to the parent's
	// conversation. Close our copies of the descriptors; the caller then
	// leaks this object, whose destructor would talk on them.
	void abandon_after_fork() noexcept
	{
		stream_.close();
		if (wake_fd_ >= 0)
			::close(std::exchange(wake_fd_, -1));
	}

	[[nodiscard]] const Features &features() const noexcept
	{
		return features_;
	}
	void set_features(Features f) noexcept { features_ = f; }

	// Sends one request frame (with @p fds, if any) and waits for its
	// response payload.
	Result<ReplyBytes> roundtrip(std::span<const uint8_t> payload,
				     Deadline dl, std::span<const int> fds = {})
	{
		return exchange(payload, {}, {}, dl, fds);
	}
	// As above, the payload being @p head followed by @p tail. With
	// @p slot (from take_reply_slot(), named in the request's metadata),
	// polls the slot for the reply rather than the socket; the slot is
	// given back (or, when the agent may still write to it, retired).
	Result<ReplyBytes> roundtrip(std::span<const uint8_t> head,
				     std::span<const uint8_t> tail, Deadline dl,
				     std::optional<SlotLease> slot = {})
	{
		return exchange(head, tail, {}, dl, {}, false,
				slot ? &*slot : nullptr);
	}

	// A free reply slot, mapping the slot region on the agent the first
	// time; none when the agent offers no slots, this caller would not
	// poll (VACCEL_RPC_POLL_US=0) or all are in use.
	std::optional<SlotLease> take_reply_slot(Deadline dl);
	// A slot taken for a request that was never sent.
	void return_reply_slot(const SlotLease &s) { give_back_slot(s.index); }

	// A client-streaming call: a Request frame flagged RemoteOpen
	// carrying @p open, then one Data frame per element of @p data, the
	// last flagged RemoteClosed. Frames of other calls may interleave.
	Result<ReplyBytes> roundtrip_stream(std::span<const uint8_t> open,
					    std::span<const FrameParts> data,
					    Deadline dl)
	{
		return exchange(open, {}, data, dl, {}, true);
	}

	// The shared-memory pool (see lease_shm).
	// The region naming block @p block (of @p size bytes, memfd @p fd)
	// of vAccel's shared tensor memory on this connection; mapped on
	// the agent the first time (the descriptor is passed, not kept).
	Result<uint32_t> arena_region(uint64_t block, int fd, size_t size,
				      Deadline dl);
	// @p slot_size: a fresh region mapped as request slots of that size
	// (MapRegion.slot_size); 0: any region, reused when one is idle.
	Result<std::shared_ptr<ShmBuffer>> take_region(size_t size, Deadline dl,
						       uint64_t slot_size = 0);
	void give_back(std::shared_ptr<ShmBuffer> buf);

private:
	Result<ReplyBytes> exchange(std::span<const uint8_t> payload,
				    std::span<const uint8_t> tail,
				    std::span<const FrameParts> data,
				    Deadline dl, std::span<const int> fds,
				    bool streaming = false,
				    SlotLease *reply_slot = nullptr)
	{
		auto slot = std::make_shared<Pending>();
		uint32_t id = 0;
		{
			std::lock_guard lock(mu_);
			if (dead_) {
				if (reply_slot != nullptr)
					give_back_slot(reply_slot->index);
				return death_;
			}
			id = take_stream_id();
			pending_.emplace(id, slot);
		}
		if (reply_slot != nullptr) {
			reply_slot->plan = spin_.plan(slot_wait_ns_.load());
			reply_slot->slot.arm(
			    id, reply_slot->plan.sleep.count() == 0);
		}
		transport::FrameHeader h;
		h.stream_id = id;
		h.type = transport::MsgType::Request;
		h.flags = streaming ? transport::kFlagRemoteOpen : 0;
		Status sent;
		// In the slot, when the agent's reader watches it: no system
		// call on either side (transport/reply_slot.h).
		std::span<const uint8_t> both[2] = {payload, tail};
		const bool posted =
		    reply_slot != nullptr && reply_slot->requests != nullptr &&
		    !streaming && fds.empty() &&
		    reply_slot->slot.post(
			id, both,
			transport::reader_polling(reply_slot->requests));
		if (!posted) {
			std::lock_guard lock(write_mu_);
			if (tail.empty()) {
				sent = transport::write_frame(stream_, h,
							      payload, dl, fds);
			} else {
				std::span<const uint8_t> parts[2] = {payload,
								     tail};
				sent = transport::write_frame_parts(stream_, h,
								    parts, dl);
			}
		}
		// Data frames one at a time, so that other calls' small
		// requests are not stuck behind a large one. A reply that
		// arrives early (the agent refused the call) and is read by
		// another waiting caller ends the sending (with no other
		// caller the rest is sent and ignored by the agent); the
		// half-close still goes out, so that the agent forgets the
		// stream.
		h.type = transport::MsgType::Data;
		for (size_t i = 0; sent && i < data.size(); ++i) {
			const bool last = i + 1 == data.size();
			bool refused = false;
			{
				std::lock_guard lk(mu_);
				refused = slot->done;
			}
			h.flags =
			    last || refused ? transport::kFlagRemoteClosed : 0;
			std::span<const std::span<const uint8_t>> parts =
			    data[i];
			if (refused) {
				h.flags |= transport::kFlagNoData;
				parts = {};
			}
			std::lock_guard lock(write_mu_);
			sent =
			    transport::write_frame_parts(stream_, h, parts, dl);
			if (refused)
				break;
		}
		if (sent && streaming && data.empty()) {
			h.flags = transport::kFlagRemoteClosed |
				  transport::kFlagNoData;
			std::lock_guard lock(write_mu_);
			sent = transport::write_frame(stream_, h, {}, dl);
		}
		if (!sent) {
			// A partial frame leaves the stream out of step.
			fail(Status(VACCEL_EIO,
				    "send failed: " + sent.message()));
			if (reply_slot != nullptr)
				retire_slot(reply_slot->index);
			return Status(VACCEL_EIO,
				      "send failed: " + sent.message());
		}
		if (reply_slot != nullptr)
			return await_slot(slot, id, dl, *reply_slot);
		return await(slot, id, dl);
	}

	// Polls @p lease's slot for the reply to @p id around when such
	// replies come (the same plan as for polling the socket: from the
	// start, or after sleeping most of the usual wait); then, or when the
	// agent says the reply went to the socket, waits there.
	Result<ReplyBytes> await_slot(const std::shared_ptr<Pending> &pending,
				      uint32_t id, Deadline dl,
				      const SlotLease &lease)
	{
		const transport::ReplySlot &rs = lease.slot;
		const auto start = Clock::now();
		const auto plan =
		    dl ? lease.plan.within(*dl - start) : lease.plan;
		const auto note_wait = [&] {
			slot_wait_ns_.store(spin_.update(
			    slot_wait_ns_.load(),
			    std::chrono::duration_cast<
				std::chrono::nanoseconds>(Clock::now() - start)
				.count()));
		};
		bool in_slot = false;
		bool early = false;
		if (plan.sleep.count() > 0) {
			// Asleep, the slot cannot be watched: `waiting` is
			// clear, so a reply that comes now is sent on the
			// socket, which ends the sleep (as may another call's
			// frame). Armed only afterwards.
			pollfd fds[2] = {{stream_.fd(), POLLIN, 0},
					 {wake_fd_, POLLIN, 0}};
			early =
			    transport::plan_poll(fds, {plan.sleep, {}}) != 0;
			if (!early)
				rs.waiting().store(id);
		}
		if (!early) {
			const auto until = Clock::now() + plan.poll;
			auto now = Clock::now();
			auto next_yield = now + transport::kSpinYieldEvery;
			for (;;) {
				if (rs.ready().load(
					std::memory_order_acquire) == id) {
					in_slot = true;
					break;
				}
				if (rs.socket().load(
					std::memory_order_acquire) == id ||
				    now >= until)
					break;
				if (now >= next_yield) {
					// Now and then: a dead connection
					// ends the polling.
					if (dead_flag_.load(
						std::memory_order_relaxed))
						break;
					std::this_thread::yield();
					next_yield =
					    now + transport::kSpinYieldEvery;
				} else {
					transport::cpu_relax();
				}
				now = Clock::now();
			}
			if (!in_slot)
				in_slot = rs.disarm(id);
		}
		if (in_slot) {
			note_wait();
			// A copy the agent also sent (it saw us stop polling)
			// is dropped as a late reply.
			{
				std::lock_guard lock(mu_);
				pending_.erase(id);
			}
			const uint32_t len =
			    rs.length().load(std::memory_order_relaxed);
			ReplyBytes out;
			if (len <= rs.capacity())
				out.frame.assign(rs.reply(), rs.reply() + len);
			give_back_slot(lease.index);
			if (len > rs.capacity())
				return Status(VACCEL_EREMOTEIO,
					      "reply slot overflows");
			CallTrace::current().slot = true;
			return out;
		}
		// Woken early, or done polling: the reply comes (or came) on
		// the socket, since `waiting` was clear when the agent looked.
		auto r = await(pending, id, dl);
		// Once the socket's reply is in, the agent is done with the
		// slot; after a timeout it may still write there, unless the
		// request never left the slot (taken back here: the agent
		// will never see it).
		if (r) {
			note_wait();
			give_back_slot(lease.index);
		} else if (uint32_t posted = id;
			   lease.requests != nullptr &&
			   rs.request().compare_exchange_strong(posted, 0)) {
			give_back_slot(lease.index);
		} else {
			retire_slot(lease.index);
		}
		return r;
	}

	void give_back_slot(uint32_t index)
	{
		std::lock_guard lock(shm_mu_);
		free_slots_ |= 1U << index;
	}
	// Never used again (the agent may still write to it).
	void retire_slot(uint32_t index)
	{
		std::lock_guard lock(shm_mu_);
		free_slots_ &= ~(1U << index);
	}

	// Waits for @p slot's reply: as the reader when nobody reads, else
	// until the reader completes it or hands the reading over.
	Result<ReplyBytes> await(const std::shared_ptr<Pending> &slot,
				 uint32_t id, Deadline dl)
	{
		std::unique_lock lk(mu_);
		while (!slot->done) {
			if (!reading_) {
				reading_ = true;
				lk.unlock();
				Status st = lead(*slot, dl);
				if (!st) {
					vaccel_error("[rpc] %s",
						     st.message().c_str());
					fail(std::move(st));
				}
				lk.lock();
				reading_ = false;
				// Someone still waiting reads next; a caller
				// still sending will find nobody reading.
				for (auto &[other, p] : pending_) {
					if (p->waiting) {
						p->cv.notify_one();
						break;
					}
				}
				if (slot->done)
					break;
			} else {
				slot->waiting = true;
				if (dl)
					slot->cv.wait_until(lk, *dl);
				else
					slot->cv.wait(lk);
				slot->waiting = false;
			}
			if (!slot->done && dl && Clock::now() >= *dl) {
				pending_.erase(id);
				return Status::error(
				    VACCEL_EIO,
				    "no reply within %lld ms "
				    "(VACCEL_RPC_TIMEOUT_MS)",
				    static_cast<long long>(
					call_timeout_.count()));
			}
		}
		if (!slot->status)
			return slot->status;
		return std::move(slot->payload);
	}

	// Completes @p slot (removed from pending_ by the caller) and wakes
	// its caller if it sleeps.
	void finish(Pending &slot, Status st, ReplyBytes data = {})
	{
		std::lock_guard lock(mu_);
		slot.status = std::move(st);
		slot.payload = std::move(data);
		slot.done = true;
		slot.cv.notify_one();
	}

	// Odd ids, increasing, as ttrpc clients use; after 2^31 calls they
	// wrap, skipping any still in flight. Called with mu_ held.
	uint32_t take_stream_id()
	{
		for (;;) {
			uint32_t id = next_id_;
			next_id_ += 2;
			if (!pending_.contains(id))
				return id;
		}
	}

	// Marks the connection dead (first reason wins), fails every waiting
	// call and wakes a writer blocked on the socket.
	void fail(Status why)
	{
		{
			std::lock_guard lock(mu_);
			if (dead_)
				return;
			dead_ = true;
			dead_flag_.store(true, std::memory_order_relaxed);
			death_ = why;
			for (auto &[id, slot] : pending_) {
				slot->status = why;
				slot->done = true;
				slot->cv.notify_one();
			}
			pending_.clear();
		}
		stream_.shutdown();
		// A reader blocked in poll() on a device that shutdown()
		// cannot wake (a serial port).
		const uint64_t one = 1;
		if (wake_fd_ >= 0) {
			[[maybe_unused]] ssize_t n =
			    ::write(wake_fd_, &one, sizeof(one));
		}
	}

	// Reads and routes frames, as the connection's only reader, until
	// @p mine is complete or @p dl passes. Returns a transport failure
	// (the caller fails the connection with it).
	Status lead(const Pending &mine, Deadline dl)
	{
		for (;;) {
			{
				std::lock_guard lock(mu_);
				if (mine.done || dead_)
					return Status::ok();
			}
			pollfd fds[2] = {{stream_.fd(), POLLIN, 0},
					 {wake_fd_, POLLIN, 0}};
			const auto start = Clock::now();
			auto plan = spin_.plan(wait_ns_);
			if (dl)
				plan = plan.within(*dl - start);
			// Bytes TLS already took off the socket: poll() would
			// not see them.
			const bool buffered = stream_.pending();
			int n = 0;
			if (buffered) {
				n = 1;
				fds[0].revents = POLLIN;
			} else if (plan.poll.count() > 0) {
				n = transport::plan_poll(fds, plan);
			}
			while (n == 0) {
				int timeout = -1;
				if (dl) {
					const auto left = *dl - Clock::now();
					if (left.count() <= 0)
						return Status::ok();
					timeout = static_cast<int>(
					    std::chrono::ceil<
						std::chrono::milliseconds>(left)
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
				    wait_ns_, std::chrono::duration_cast<
						  std::chrono::nanoseconds>(
						  Clock::now() - start)
						  .count());
			if (fds[1].revents != 0 || fds[0].revents == 0)
				continue; // failed meanwhile: see above
			// A frame has started: the rest must follow within
			// the call timeout, or the peer is stuck mid-frame.
			const Deadline frame_dl =
			    transport::deadline_in(read_timeout_);
			auto hdr = transport::read_header(stream_, max_frame_,
							  frame_dl);
			if (!hdr)
				return lost(hdr.status());
			if (hdr->type == transport::MsgType::Data) {
				Status st = read_chunk(*hdr, frame_dl);
				if (!st)
					return lost(st);
				continue;
			}
			transport::Frame f;
			f.header = *hdr;
			f.payload.resize(hdr->length);
			Status st =
			    stream_.read_exact(std::span(f.payload), frame_dl);
			if (!st)
				return lost(st);
			route(std::move(f));
		}
	}

	static Status lost(const Status &why)
	{
		return Status(VACCEL_EIO, "connection lost: " + why.message());
	}

	// One Data frame of a chunked reply: the first announces (in the
	// Response envelope it starts) how large the whole is; the rest are
	// read straight into place. A transport error is returned; a bad
	// reply fails its call only.
	Status read_chunk(const transport::FrameHeader &h, Deadline dl)
	{
		std::shared_ptr<Pending> slot;
		{
			std::lock_guard lock(mu_);
			auto it = pending_.find(h.stream_id);
			if (it != pending_.end())
				slot = it->second;
		}
		const size_t len = h.length;
		if (slot && slot->chunks &&
		    len <= slot->chunks_size - slot->chunks_got) {
			VACCEL_RETURN_IF_ERROR(stream_.read_exact(
			    std::span(slot->chunks.get() + slot->chunks_got,
				      len),
			    dl));
			slot->chunks_got += len;
			return Status::ok();
		}
		std::vector<uint8_t> first(len);
		VACCEL_RETURN_IF_ERROR(
		    stream_.read_exact(std::span(first), dl));
		if (!slot)
			return Status::ok(); // its caller gave up
		size_t total = 0;
		if (!slot->chunks && reply_size(first, &total) &&
		    total <= max_message_ && total >= len) {
			slot->chunks.reset(new (std::nothrow) uint8_t[total]);
			if (slot->chunks) {
				std::memcpy(slot->chunks.get(), first.data(),
					    len);
				slot->chunks_size = total;
				slot->chunks_got = len;
				return Status::ok();
			}
		}
		// Too large, malformed, or more than announced: this call
		// fails; the connection is fine.
		{
			std::lock_guard lock(mu_);
			pending_.erase(h.stream_id);
		}
		finish(
		    *slot,
		    Status::error(
			VACCEL_EREMOTEIO,
			"bad chunked reply (more than announced, or above %llu "
			"bytes: VACCEL_RPC_MAX_MESSAGE)",
			static_cast<unsigned long long>(max_message_)));
		return Status::ok();
	}

	// The size of a serialized ttrpc Response from its beginning: the
	// agent writes the status field, then the payload field's header.
	static bool reply_size(std::span<const uint8_t> head, size_t *total)
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

	void route(transport::Frame frame)
	{
		// Data frames went to read_chunk().
		if (frame.header.type != transport::MsgType::Response) {
			vaccel_debug("[rpc] ignoring a frame of type %u on "
				     "stream %u",
				     static_cast<unsigned>(frame.header.type),
				     frame.header.stream_id);
			return;
		}
		std::shared_ptr<Pending> slot;
		{
			std::lock_guard lock(mu_);
			auto it = pending_.find(frame.header.stream_id);
			if (it == pending_.end()) {
				// Its caller gave up (timeout).
				vaccel_debug("[rpc] dropping a late reply on "
					     "stream %u",
					     frame.header.stream_id);
				return;
			}
			slot = std::move(it->second);
			pending_.erase(it);
		}
		ReplyBytes out;
		if (slot->chunks) {
			if (!frame.payload.empty() ||
			    slot->chunks_got != slot->chunks_size) {
				finish(*slot, Status(VACCEL_EREMOTEIO,
						     "chunked reply shorter "
						     "than announced"));
				return;
			}
			out.big = std::move(slot->chunks);
			out.big_size = slot->chunks_size;
		} else {
			out.frame = std::move(frame.payload);
		}
		finish(*slot, Status::ok(), std::move(out));
	}

	transport::Stream stream_;
	const uint64_t generation_;
	const uint32_t max_frame_;
	const std::chrono::milliseconds read_timeout_;
	const std::chrono::milliseconds call_timeout_;
	const uint64_t max_message_;
	const pid_t pid_;
	Features features_; // set once, before the connection is shared

	std::mutex shm_mu_; // guards the three below
	std::vector<std::shared_ptr<ShmBuffer>> idle_;
	uint32_t next_region_ = 1;
	std::unordered_map<uint64_t, uint32_t> arena_regions_; // block -> id
	// Reply slots: the region (mapped once), which slots are free, and
	// whether mapping it failed (then no call uses slots).
	std::shared_ptr<ShmBuffer> slot_region_;
	uint32_t free_slots_ = 0;
	bool slots_failed_ = false;
	// Held while a block or the slot region is being mapped, so that it
	// is mapped once.
	std::mutex arena_map_mu_;
	// Smoothed wait for a reply in a slot, ns (any caller).
	std::atomic<int64_t> slot_wait_ns_{0};
	// dead_, readable without mu_ (by callers polling a slot).
	std::atomic<bool> dead_flag_{false};
	int wake_fd_ = -1; // written by fail(), never drained
	const transport::SpinPolicy spin_;
	// Smoothed wait for the next frame, ns (the current reader only).
	int64_t wait_ns_ = 0;

	std::mutex write_mu_; // one frame on the wire at a time
	std::mutex mu_;       // guards everything below
	std::unordered_map<uint32_t, std::shared_ptr<Pending>> pending_;
	uint32_t next_id_ = 1;
	bool dead_ = false;
	Status death_;
	bool reading_ = false; // a caller reads the socket (lead())
};

namespace
{

// The vAccel code for a non-OK ttrpc status (docs/protocol.md, "Errors").
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
		return Status(VACCEL_ENOTSUP, msg);
	default:
		return Status::error(VACCEL_EREMOTEIO, "status %d: %s",
				     st.code(), msg.c_str());
	}
}

Status logged(const CallTarget &t, Status st)
{
	vaccel_error("[rpc] %.*s: %s (%d)", static_cast<int>(t.method.size()),
		     t.method.data(), st.message().c_str(), st.code());
	return st;
}

// The head of a ttrpc Request envelope whose @p payload_size payload bytes
// follow it (codec.h).
void encode_head(std::string_view service, std::string_view method,
		 size_t payload_size, std::chrono::milliseconds timeout,
		 std::string *out, const SlotLease *slot = nullptr)
{
	const int64_t nanos =
	    timeout.count() > 0 ? std::chrono::nanoseconds(timeout).count() : 0;
	if (slot == nullptr) {
		transport::codec::put_request_head(out, service, method, nanos,
						   {}, payload_size);
		return;
	}
	const std::string where = transport::format_reply_slot(
	    slot->region, slot->offset, kReplySlotSize);
	const transport::codec::KeyValue kv{transport::kReplySlotKey, where};
	transport::codec::put_request_head(out, service, method, nanos,
					   std::span(&kv, 1), payload_size);
}

// A ttrpc Request envelope around @p payload bytes (by hand: codec.h); @p
// slot, when given, names the reply slot the caller will poll.
Status encode(std::string_view service, std::string_view method,
	      std::string_view payload, std::chrono::milliseconds timeout,
	      std::string *out, const SlotLease *slot = nullptr)
{
	try {
		encode_head(service, method, payload.size(), timeout, out,
			    slot);
		out->append(payload);
	} catch (const std::bad_alloc &) {
		return Status(VACCEL_ENOMEM, "out of memory encoding request");
	}
	return Status::ok();
}

// The payload of a serialized ttrpc Response, where it lies in @p bytes, or
// the vAccel error its status carries. Only a failure's status goes
// through the generated parser (for its message and details).
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

std::span<const uint8_t> bytes_of(const std::string &s)
{
	return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

// One plain call on @p conn (used before a connection is shared, and by the
// shared-memory pool).
Status simple_call(Connection &conn, std::string_view service,
		   std::string_view method,
		   const google::protobuf::MessageLite &req,
		   google::protobuf::MessageLite *reply,
		   std::chrono::milliseconds timeout,
		   std::span<const int> fds = {})
{
	std::string frame;
	VACCEL_RETURN_IF_ERROR(
	    encode(service, method, req.SerializeAsString(), timeout, &frame));
	auto bytes = conn.roundtrip(bytes_of(frame),
				    transport::deadline_in(timeout), fds);
	if (!bytes)
		return bytes.status();
	return decode(bytes.value().bytes(), reply, nullptr);
}

// Upstream's GenopStream messages for @p req: args that fit are batched
// into messages of less than one frame; a larger arg is split into parts
// (`parts`/`part_no`), one message each, as upstream's client does.
std::vector<std::string> genop_stream_messages(const rpc::genop::Request &req,
					       uint32_t max_frame)
{
	// Room for the envelope fields around each part.
	const size_t budget = max_frame - 256;
	std::vector<std::string> out;
	rpc::genop::Request batch;
	batch.set_session_id(req.session_id());
	auto flush = [&] {
		if (batch.read_args_size() + batch.write_args_size() == 0)
			return;
		out.push_back(batch.SerializeAsString());
		batch.clear_read_args();
		batch.clear_write_args();
	};
	auto add = [&](const rpc::genop::Arg &a, bool is_read) {
		if (batch.ByteSizeLong() + a.ByteSizeLong() + 16 < budget) {
			*(is_read ? batch.add_read_args()
				  : batch.add_write_args()) = a;
			return;
		}
		flush();
		const std::string &buf = a.buf();
		const size_t chunk = budget - 64;
		const size_t parts =
		    std::max<size_t>(1, (buf.size() + chunk - 1) / chunk);
		for (size_t no = 0; no < parts; ++no) {
			rpc::genop::Request one;
			one.set_session_id(req.session_id());
			auto *p = is_read ? one.add_read_args()
					  : one.add_write_args();
			p->set_size(a.size());
			p->set_arg_type(a.arg_type());
			p->set_custom_type_id(a.custom_type_id());
			p->set_parts(static_cast<uint32_t>(parts));
			p->set_part_no(static_cast<uint32_t>(no + 1));
			const size_t off = no * chunk;
			if (off < buf.size())
				p->set_buf(buf.substr(
				    off, std::min(chunk, buf.size() - off)));
			out.push_back(one.SerializeAsString());
		}
	};
	for (const auto &a : req.read_args())
		add(a, true);
	flush();
	for (const auto &a : req.write_args())
		add(a, false);
	flush();
	return out;
}

} // namespace

// ---- shared memory ---------------------------------------------------------

namespace
{
constexpr size_t kRegionAlign = size_t{1} << 20; // 1 MiB
constexpr size_t kIdleRegions = 4;
} // namespace

Result<std::shared_ptr<ShmBuffer>>
Connection::take_region(size_t size, Deadline dl, uint64_t slot_size)
{
	if (slot_size == 0) {
		std::lock_guard lock(shm_mu_);
		auto best = idle_.end();
		for (auto it = idle_.begin(); it != idle_.end(); ++it)
			if ((*it)->size >= size &&
			    (best == idle_.end() ||
			     (*it)->size < (*best)->size))
				best = it;
		if (best != idle_.end()) {
			auto buf = std::move(*best);
			idle_.erase(best);
			return buf;
		}
	}
	auto buf = std::make_shared<ShmBuffer>();
	buf->size = (size + kRegionAlign - 1) / kRegionAlign * kRegionAlign;
	buf->fd = transport::UniqueFd(
	    ::memfd_create("vaccel-rpc-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!buf->fd.valid())
		return Status::error(VACCEL_EIO, "memfd_create: %s",
				     std::strerror(errno));
	// Sealed so the agent can trust the size: it maps the file and a
	// shrink would make its accesses fault.
	if (::ftruncate(buf->fd.get(), static_cast<off_t>(buf->size)) != 0 ||
	    ::fcntl(buf->fd.get(), F_ADD_SEALS,
		    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		return Status::error(VACCEL_EIO, "sizing shared memory: %s",
				     std::strerror(errno));
	void *base = ::mmap(nullptr, buf->size, PROT_READ | PROT_WRITE,
			    MAP_SHARED, buf->fd.get(), 0);
	if (base == MAP_FAILED)
		return Status::error(VACCEL_EIO, "mmap: %s",
				     std::strerror(errno));
	buf->base = static_cast<uint8_t *>(base);
	{
		std::lock_guard lock(shm_mu_);
		buf->id = next_region_++;
	}
	rpc::ext::MapRegion req;
	req.set_region(buf->id);
	req.set_size(buf->size);
	req.set_slot_size(slot_size);
	const int fd = buf->fd.get();
	const auto left = dl ? std::chrono::ceil<std::chrono::milliseconds>(
				   *dl - Clock::now())
			     : std::chrono::milliseconds(0);
	VACCEL_RETURN_IF_ERROR(simple_call(*this, transport::kServiceData,
					   "MapRegion", req, nullptr, left,
					   std::span(&fd, 1)));
	// The agent has its own mapping now; ours stays for our side.
	buf->fd.reset();
	return buf;
}

std::optional<SlotLease> Connection::take_reply_slot(Deadline dl)
{
	if (!features_.reply_slots || spin_.max().count() <= 0)
		return std::nullopt;
	const auto lease = [&]() -> std::optional<SlotLease> {
		if (!slot_region_ || free_slots_ == 0)
			return std::nullopt;
		const auto i =
		    static_cast<uint32_t>(std::countr_zero(free_slots_));
		free_slots_ &= ~(1U << i);
		SlotLease l;
		l.index = i;
		l.region = slot_region_->id;
		l.offset = uint64_t{i} * kReplySlotSize;
		l.slot = transport::ReplySlot(slot_region_->base + l.offset,
					      kReplySlotSize);
		if (features_.request_slots)
			l.requests = slot_region_->base;
		return l;
	};
	{
		std::lock_guard lock(shm_mu_);
		if (slot_region_ || slots_failed_)
			return lease();
	}
	std::lock_guard mapping(arena_map_mu_);
	{
		std::lock_guard lock(shm_mu_);
		if (slot_region_ || slots_failed_)
			return lease();
	}
	static_assert(kReplySlots <= 32 &&
		      kReplySlots * kReplySlotSize <= kRegionAlign);
	auto buf = take_region(kReplySlots * kReplySlotSize, dl,
			       features_.request_slots ? kReplySlotSize : 0);
	std::lock_guard lock(shm_mu_);
	if (!buf) {
		vaccel_debug("[rpc] no reply slots: %s",
			     buf.status().message().c_str());
		slots_failed_ = true;
		return std::nullopt;
	}
	slot_region_ = std::move(buf).value();
	free_slots_ = kReplySlots == 32 ? ~0U : (1U << kReplySlots) - 1;
	return lease();
}

Result<uint32_t> Connection::arena_region(uint64_t block, int fd, size_t size,
					  Deadline dl)
{
	const auto known = [&]() -> std::optional<uint32_t> {
		std::lock_guard lock(shm_mu_);
		auto it = arena_regions_.find(block);
		if (it == arena_regions_.end())
			return std::nullopt;
		return it->second;
	};
	if (auto id = known())
		return *id;
	std::lock_guard mapping(arena_map_mu_);
	if (auto id = known())
		return *id;
	uint32_t id = 0;
	{
		std::lock_guard lock(shm_mu_);
		id = next_region_++;
	}
	rpc::ext::MapRegion req;
	req.set_region(id);
	req.set_size(size);
	const auto left = dl ? std::chrono::ceil<std::chrono::milliseconds>(
				   *dl - Clock::now())
			     : std::chrono::milliseconds(0);
	VACCEL_RETURN_IF_ERROR(simple_call(*this, transport::kServiceData,
					   "MapRegion", req, nullptr, left,
					   std::span(&fd, 1)));
	std::lock_guard lock(shm_mu_);
	arena_regions_.emplace(block, id);
	return id;
}

void Connection::give_back(std::shared_ptr<ShmBuffer> buf)
{
	{
		std::lock_guard lock(shm_mu_);
		if (idle_.size() < kIdleRegions) {
			idle_.push_back(std::move(buf));
			return;
		}
	}
	// Pool full: tell the agent to let go, then unmap ours.
	rpc::ext::UnmapRegion req;
	req.set_region(buf->id);
	if (alive())
		(void)simple_call(*this, transport::kServiceData, "UnmapRegion",
				  req, nullptr, call_timeout_);
}

ShmLease::ShmLease(std::shared_ptr<Connection> conn,
		   std::shared_ptr<ShmBuffer> buf)
    : conn_(std::move(conn)), buf_(std::move(buf))
{
}

ShmLease::~ShmLease()
{
	if (conn_ && buf_)
		conn_->give_back(std::move(buf_));
}

uint32_t ShmLease::region() const noexcept
{
	return buf_ ? buf_->id : 0;
}
uint8_t *ShmLease::data() const noexcept
{
	return buf_ ? buf_->base : nullptr;
}
size_t ShmLease::size() const noexcept
{
	return buf_ ? buf_->size : 0;
}

// ---- Client ----------------------------------------------------------------

namespace
{

// Adds one Client call's time to the thread's CallTimes, when tracing.
} // namespace

// An op's call through the Client, as the request trace records it.
class CallTimer
{
public:
	CallTimer(const CallTrace &trace, std::string_view method) noexcept
	    : on_(trace.enabled()), method_(method)
	{
		if (on_)
			start_ = std::chrono::steady_clock::now();
	}
	CallTimer(const CallTimer &) = delete;
	CallTimer &operator=(const CallTimer &) = delete;
	~CallTimer()
	{
		if (!on_)
			return;
		CallTimes &t = CallTrace::current();
		++t.calls;
		t.call += std::chrono::steady_clock::now() - start_;
		t.method = method_;
	}
	[[nodiscard]] bool on() const noexcept { return on_; }

private:
	bool on_;
	std::string_view method_;
	std::chrono::steady_clock::time_point start_;
};

namespace
{

// The round trip within a timed call.
class WireTimed
{
public:
	explicit WireTimed(const CallTimer &call) noexcept : on_(call.on())
	{
		if (!on_)
			return;
		CallTimes &t = CallTrace::current();
		t.slot = false;
		t.cpu_start = sched_getcpu();
		t.wire_start = std::chrono::steady_clock::now();
	}
	WireTimed(const WireTimed &) = delete;
	WireTimed &operator=(const WireTimed &) = delete;
	~WireTimed()
	{
		if (!on_)
			return;
		CallTimes &t = CallTrace::current();
		t.wire_end = std::chrono::steady_clock::now();
		t.cpu_end = sched_getcpu();
		t.wire += t.wire_end - t.wire_start;
	}

private:
	bool on_;
};

} // namespace

Client::Client(Config cfg) : cfg_(std::move(cfg))
{
	if (!cfg_.trace_path.empty())
		trace_.open(cfg_.trace_path);
}

void CallTrace::open(const std::string &path) noexcept
{
	try {
		if (auto st =
			file_.open(path, "# op\tmethod\trc\tcalls\ttotal_us\t"
					 "call_us\twire_us\town_us\t"
					 "wire_start_ns\twire_end_ns\tcpu\t"
					 "cpu_end\tslot\n");
		    !st)
			vaccel_error("[rpc] VACCEL_RPC_TRACE: %s; not tracing",
				     st.message().c_str());
	} catch (const std::bad_alloc &) {
		vaccel_error("[rpc] VACCEL_RPC_TRACE: out of memory");
	}
}

void CallTrace::record(const char *op, int rc, std::chrono::nanoseconds total,
		       const CallTimes &t) noexcept
{
	using us = std::chrono::duration<double, std::micro>;
	const std::string_view m = t.method.empty() ? "-" : t.method;
	const auto ns = [](std::chrono::steady_clock::time_point p) {
		return static_cast<long long>(
		    std::chrono::duration_cast<std::chrono::nanoseconds>(
			p.time_since_epoch())
			.count());
	};
	file_.line("%s\t%.*s\t%d\t%u\t%.1f\t%.1f\t%.1f\t%.1f\t%lld\t%lld\t%"
		   "d\t%d\t%d\n",
		   op, static_cast<int>(m.size()), m.data(), rc, t.calls,
		   us(total).count(), us(t.call).count(), us(t.wire).count(),
		   us(total - t.call).count(), ns(t.wire_start), ns(t.wire_end),
		   t.cpu_start, t.cpu_end, t.slot ? 1 : 0);
}

CallTimes &CallTrace::current() noexcept
{
	static thread_local CallTimes times;
	return times;
}

Client::~Client()
{
	std::lock_guard lock(mu_);
	if (conn_ && conn_->pid() != ::getpid()) {
		conn_->abandon_after_fork();
		new std::shared_ptr<Connection>(std::move(conn_)); // leaked
	}
	conn_.reset();
}

Result<std::shared_ptr<Connection>> Client::connection(uint64_t generation)
{
	std::lock_guard lock(mu_);
	if (conn_ && conn_->pid() != ::getpid()) {
		// A forked child: the parent's connection is not ours. Leak the
		// object rather than join a thread that does not exist in this
		// process.
		conn_->abandon_after_fork();
		new std::shared_ptr<Connection>(std::move(conn_));
		conn_.reset();
	}
	if (generation != 0) {
		if (conn_ && conn_->generation() == generation &&
		    conn_->alive())
			return conn_;
		return Status(VACCEL_EIO,
			      "the agent connection this object was created "
			      "on is gone (agent restarted or connection "
			      "lost); create a new session");
	}
	if (conn_ && conn_->alive())
		return conn_;

	// Drop the dead connection before opening the next one.
	conn_.reset();
	auto stream = transport::connect(cfg_.address, cfg_.connect_timeout);
	if (!stream)
		return Status(VACCEL_EIO, "cannot connect to " +
					      cfg_.address_text + ": " +
					      stream.status().message());
	if (cfg_.tls) {
		Status st = transport::tls_connect(
		    stream.value(), *cfg_.tls, cfg_.tls_server_name,
		    transport::deadline_in(cfg_.connect_timeout));
		if (!st)
			return Status(VACCEL_EIO, "cannot connect to " +
						      cfg_.address_text + ": " +
						      st.message());
	}
	auto conn = std::make_shared<Connection>(std::move(stream).value(),
						 ++last_generation_, cfg_);
	if (Status st = conn->start(); !st)
		return st;

	// Ask what the agent supports beyond upstream's protocol; an
	// upstream agent answers UNIMPLEMENTED and gets plain calls only.
	rpc::ext::Hello hello;
	hello.set_version(1);
	hello.add_features("chunked");
	hello.add_features("shm");
	hello.add_features("reply-slots");
	rpc::ext::Hello answer;
	Status st = simple_call(*conn, transport::kServiceAdmin, "Hello", hello,
				&answer, cfg_.connect_timeout);
	Features f;
	if (st) {
		using K = transport::Address::Kind;
		const bool local = cfg_.address.kind == K::Unix ||
				   cfg_.address.kind == K::UnixAbstract;
		for (const auto &name : answer.features()) {
			f.chunked |= name == "chunked";
			f.shm |= name == "shm" && local && cfg_.shm;
			f.reply_slots |= name == "reply-slots";
			f.request_slots |= name == "request-slots";
		}
		f.reply_slots = f.reply_slots && f.shm && cfg_.reply_slots;
		f.request_slots =
		    f.request_slots && f.reply_slots && cfg_.request_slots;
	} else if (st.code() != VACCEL_ENOTSUP) {
		return Status(VACCEL_EIO, "cannot talk to " +
					      cfg_.address_text + ": " +
					      st.message());
	}
	conn->set_features(f);
	vaccel_debug("[rpc] connected to %s (generation %llu, chunked %d, "
		     "shm %d, reply slots %d, request slots %d)",
		     cfg_.address_text.c_str(),
		     static_cast<unsigned long long>(conn->generation()),
		     f.chunked, f.shm, f.reply_slots, f.request_slots);
	conn_ = conn;
	return conn;
}

Result<std::shared_ptr<Connection>> Client::shm_connection(uint64_t generation)
{
	if (!cfg_.shm)
		return Status(VACCEL_ENOTSUP, "shared memory is disabled");
	auto conn = connection(generation);
	if (!conn)
		return conn.status();
	if (!conn.value()->features().shm)
		return Status(VACCEL_ENOTSUP,
			      "the agent offers no shared memory here");
	return conn;
}

Result<uint32_t> Client::arena_region(uint64_t generation, uint64_t block,
				      int fd, size_t size)
{
	auto conn = shm_connection(generation);
	if (!conn)
		return conn.status();
	return conn.value()->arena_region(
	    block, fd, size, transport::deadline_in(cfg_.call_timeout));
}

Result<ShmLease> Client::lease_shm(uint64_t generation, size_t size)
{
	auto conn = shm_connection(generation);
	if (!conn)
		return conn.status();
	auto buf = conn.value()->take_region(
	    size, transport::deadline_in(cfg_.call_timeout));
	if (!buf)
		return buf.status();
	return ShmLease(std::move(conn).value(), std::move(buf).value());
}

Status Client::call(const CallTarget &target,
		    const google::protobuf::MessageLite &req,
		    google::protobuf::MessageLite *reply,
		    uint64_t *used_generation,
		    std::optional<rpc::Status> *detail)
{
	const CallTimer timed(trace_, target.method);
	std::string payload;
	try {
		if (!req.SerializeToString(&payload))
			return logged(target, Status(VACCEL_EINVAL,
						     "cannot encode request"));
	} catch (const std::bad_alloc &) {
		return logged(target, Status(VACCEL_ENOMEM,
					     "out of memory encoding request"));
	}
	auto parse = [reply](std::span<const uint8_t> p) {
		if (reply != nullptr &&
		    !reply->ParseFromArray(p.data(),
					   static_cast<int>(p.size())))
			return Status(VACCEL_EREMOTEIO,
				      "malformed response payload");
		return Status::ok();
	};
	return send(timed, target, bytes_of(payload), parse, used_generation,
		    detail);
}

Status Client::call_bytes(const CallTarget &target,
			  std::span<const uint8_t> payload, ReplyFn on_reply,
			  uint64_t *used_generation,
			  std::optional<rpc::Status> *detail)
{
	const CallTimer timed(trace_, target.method);
	return send(timed, target, payload, on_reply, used_generation, detail);
}

Status Client::send(const CallTimer &timed, const CallTarget &target,
		    std::span<const uint8_t> payload, ReplyFn on_reply,
		    uint64_t *used_generation,
		    std::optional<rpc::Status> *detail)
{
	auto conn = connection(target.generation);
	if (!conn)
		return logged(target, conn.status());
	Connection &c = *conn.value();
	const Deadline dl = transport::deadline_in(cfg_.call_timeout);
	// Envelope fields around the payload stay well under this.
	constexpr size_t kEnvelope = 512;

	Result<ReplyBytes> bytes = Status::ok();
	if (payload.size() + kEnvelope <= cfg_.max_frame) {
		// The envelope, then the payload from where it is.
		std::optional<SlotLease> slot = c.take_reply_slot(dl);
		std::string head;
		try {
			encode_head(target.service, target.method,
				    payload.size(), cfg_.call_timeout, &head,
				    slot ? &*slot : nullptr);
		} catch (const std::bad_alloc &) {
			if (slot)
				c.return_reply_slot(*slot);
			return logged(target,
				      Status(VACCEL_ENOMEM,
					     "out of memory encoding request"));
		}
		const WireTimed wire(timed);
		bytes =
		    c.roundtrip(bytes_of(head), payload, dl, std::move(slot));
	} else if (payload.size() > cfg_.max_message) {
		return logged(target,
			      Status::error(VACCEL_EINVAL,
					    "request of %zu bytes exceeds "
					    "VACCEL_RPC_MAX_MESSAGE (%llu)",
					    payload.size(),
					    static_cast<unsigned long long>(
						cfg_.max_message)));
	} else if (c.features().chunked) {
		// Our agent: the request's bytes in frame-sized chunks.
		rpc::ext::CallHeader h;
		h.set_service(std::string(target.service));
		h.set_method(std::string(target.method));
		h.set_size(payload.size());
		std::string open;
		if (Status st =
			encode(transport::kServiceData, "Call",
			       h.SerializeAsString(), cfg_.call_timeout, &open);
		    !st)
			return logged(target, st);
		std::vector<FrameParts> chunks;
		for (size_t off = 0; off < payload.size();
		     off += cfg_.max_frame)
			chunks.push_back({payload.subspan(
			    off, std::min<size_t>(cfg_.max_frame,
						  payload.size() - off))});
		const WireTimed wire(timed);
		bytes = c.roundtrip_stream(bytes_of(open), chunks, dl);
	} else if (target.method == "Genop") {
		// An upstream agent: its client-streaming GenopStream.
		rpc::genop::Request g;
		if (!g.ParseFromArray(payload.data(),
				      static_cast<int>(payload.size())))
			return logged(target, Status(VACCEL_EINVAL,
						     "cannot split the genop"));
		auto msgs = genop_stream_messages(g, cfg_.max_frame);
		g.Clear();
		std::vector<FrameParts> data;
		data.reserve(msgs.size());
		for (const auto &m : msgs)
			data.push_back({bytes_of(m)});
		std::string open;
		if (Status st = encode(target.service, "GenopStream", {},
				       cfg_.call_timeout, &open);
		    !st)
			return logged(target, st);
		const WireTimed wire(timed);
		bytes = c.roundtrip_stream(bytes_of(open), data, dl);
	} else {
		// The agent drops a connection that sends an oversized
		// frame, taking every session with it: refuse here instead.
		return logged(target,
			      Status::error(VACCEL_EINVAL,
					    "request of %zu bytes exceeds the "
					    "frame limit of %u bytes "
					    "(VACCEL_RPC_MAX_FRAME) and the "
					    "agent cannot take chunked calls",
					    payload.size(), cfg_.max_frame));
	}
	if (!bytes)
		return logged(target, bytes.status());
	std::span<const uint8_t> reply_bytes;
	if (Status st =
		reply_payload(bytes.value().bytes(), &reply_bytes, detail);
	    !st)
		return logged(target, st);
	if (Status st = on_reply(reply_bytes); !st)
		return logged(target, st);
	if (used_generation != nullptr)
		*used_generation = c.generation();
	return Status::ok();
}

Status Client::call_gather(
    const CallTarget &target, std::span<const std::span<const uint8_t>> pieces,
    const std::function<Status(std::span<const uint8_t>)> &on_reply,
    bool *unsupported)
{
	const CallTimer timed(trace_, target.method);
	*unsupported = false;
	auto conn = connection(target.generation);
	if (!conn)
		return logged(target, conn.status());
	Connection &c = *conn.value();
	if (!c.features().chunked) {
		*unsupported = true;
		return Status::ok();
	}
	size_t total = 0;
	for (auto p : pieces)
		total += p.size();
	if (total > cfg_.max_message)
		return logged(target,
			      Status::error(VACCEL_EINVAL,
					    "request of %zu bytes exceeds "
					    "VACCEL_RPC_MAX_MESSAGE (%llu)",
					    total,
					    static_cast<unsigned long long>(
						cfg_.max_message)));
	rpc::ext::CallHeader h;
	h.set_service(std::string(target.service));
	h.set_method(std::string(target.method));
	h.set_size(total);
	std::string open;
	if (Status st = encode(transport::kServiceData, "Call",
			       h.SerializeAsString(), cfg_.call_timeout, &open);
	    !st)
		return logged(target, st);
	// Cut the pieces into frames of at most max_frame bytes (and at
	// most 8 parts, the gather limit of one frame).
	std::vector<FrameParts> frames;
	FrameParts cur;
	size_t room = cfg_.max_frame;
	for (auto p : pieces) {
		while (!p.empty()) {
			if (room == 0 || cur.size() == 8) {
				frames.push_back(std::move(cur));
				cur.clear();
				room = cfg_.max_frame;
			}
			const size_t n = std::min(room, p.size());
			cur.push_back(p.first(n));
			p = p.subspan(n);
			room -= n;
		}
	}
	if (!cur.empty())
		frames.push_back(std::move(cur));
	Result<ReplyBytes> bytes = Status::ok();
	{
		const WireTimed wire(timed);
		bytes = c.roundtrip_stream(
		    bytes_of(open), frames,
		    transport::deadline_in(cfg_.call_timeout));
	}
	if (!bytes)
		return logged(target, bytes.status());
	std::span<const uint8_t> payload;
	if (Status st = reply_payload(bytes.value().bytes(), &payload, nullptr);
	    !st)
		return logged(target, st);
	if (Status st = on_reply(payload); !st)
		return logged(target, st);
	return Status::ok();
}

} // namespace vaccel::rpc_plugin
