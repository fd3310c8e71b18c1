// SPDX-License-Identifier: Apache-2.0
#include "connection.h"

#include "envelope.h"
#include "transport/spare_cores.h"

#include <vaccel/log.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

namespace vaccel::rpc_plugin
{

using transport::Clock;
using transport::Deadline;

Connection::Connection(transport::Stream s, uint64_t generation,
		       const Config &cfg)
    : stream_(std::move(s)), generation_(generation),
      call_timeout_(cfg.call_timeout),
      fork_epoch_(vaccel::rpc_plugin::fork_epoch()),
      spin_(cfg.poll, std::chrono::microseconds{20}), calls_(call_timeout_),
      reader_(stream_, calls_, cfg, spin_), shm_(*this)
{
	// The agent sends no descriptors: a reply's header and payload can
	// come in one read.
	stream_.set_read_ahead(kReadAhead);
}

Connection::~Connection()
{
	fail(Status(VACCEL_EIO, "connection closed"));
	if (wake_fd_ >= 0)
		::close(wake_fd_);
}

Status Connection::start()
{
	wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd_ < 0)
		return Status::error(VACCEL_EIO, "eventfd: %s",
				     std::strerror(errno));
	return Status::ok();
}

bool Connection::alive()
{
	switch (calls_.activity()) {
	case CallTable::Activity::Failed:
		return false;
	case CallTable::Activity::Busy:
		return true;
	case CallTable::Activity::Idle:
		break;
	}
	// Asked before every call of a pool's session, however recent the
	// last reply: a call sent to an agent that died since could pass
	// through a TCP send and be lost in flight, where this check lets it
	// move to another agent before it is sent (RpcFailover tests). With
	// one agent there is nowhere to move, and calls skip it (Pool::get).
	return !hung_up();
}

bool Connection::hung_up()
{
	pollfd p{stream_.fd(), POLLIN | POLLRDHUP, 0};
	if (::poll(&p, 1, 0) > 0 &&
	    (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0) {
		fail(Status(VACCEL_EIO, "the agent closed the connection"));
		return true;
	}
	return false;
}

void Connection::abandon_after_fork() noexcept
{
	stream_.close();
	if (wake_fd_ >= 0)
		::close(std::exchange(wake_fd_, -1));
}

void Connection::fail(const Status &why)
{
	if (!calls_.fail(why))
		return;
	stream_.shutdown();
	// A reader blocked in poll() on a device that shutdown() cannot wake
	// (a serial port).
	const uint64_t one = 1;
	if (wake_fd_ >= 0) {
		[[maybe_unused]] ssize_t n =
		    ::write(wake_fd_, &one, sizeof(one));
	}
}

Status Connection::call(std::string_view service, std::string_view method,
			const google::protobuf::MessageLite &req,
			google::protobuf::MessageLite *reply,
			std::chrono::milliseconds timeout,
			std::span<const int> fds)
{
	std::string frame;
	VACCEL_RETURN_IF_ERROR(
	    encode(service, method, req.SerializeAsString(), timeout, &frame));
	auto bytes =
	    roundtrip(bytes_of(frame), transport::deadline_in(timeout), fds);
	if (!bytes)
		return bytes.status();
	return decode(bytes.value().bytes(), reply, nullptr);
}

Result<ReplyBytes> Connection::roundtrip(std::span<const uint8_t> payload,
					 Deadline dl, std::span<const int> fds)
{
	return exchange({.payload = payload, .fds = fds}, dl);
}

Result<ReplyBytes> Connection::roundtrip(std::span<const uint8_t> head,
					 std::span<const uint8_t> tail,
					 Deadline dl,
					 std::optional<SlotLease> slot)
{
	return exchange({.payload = head, .tail = tail}, dl,
			slot ? &*slot : nullptr);
}

Result<ReplyBytes>
Connection::roundtrip_stream(std::span<const uint8_t> open,
			     std::span<const FrameParts> data, Deadline dl)
{
	return exchange({.payload = open, .data = data, .streaming = true}, dl);
}

std::optional<SlotLease> Connection::take_reply_slot(Deadline dl)
{
	// A slot is for a caller that polls; with no core to spare it
	// sleeps on the socket instead.
	if (!features_.reply_slots || spin_.max().count() <= 0 ||
	    !transport::cores_to_spare())
		return std::nullopt;
	return shm_.take_reply_slot(dl, features_.request_slots);
}

Result<ReplyBytes> Connection::exchange(const Request &req, Deadline dl,
					SlotLease *reply_slot)
{
	auto posted = send(req, dl, reply_slot);
	if (!posted)
		return posted.status();
	if (reply_slot != nullptr)
		return await_slot(posted->call, posted->id, dl, *reply_slot);
	return await(posted->call, posted->id, dl);
}

Result<Connection::Posted> Connection::post(std::span<const uint8_t> payload,
					    Deadline dl,
					    std::span<const int> fds)
{
	return send({.payload = payload, .fds = fds}, dl, nullptr);
}

Result<ReplyBytes> Connection::collect(const Posted &p, Deadline dl)
{
	return calls_.await(
	    p.call, p.id, dl, [this](const Pending &mine, Deadline until) {
		    Status st = reader_.lead(mine, until, wake_fd_);
		    if (!st)
			    fail(st);
	    });
}

Result<Connection::Posted> Connection::send(const Request &req, Deadline dl,
					    SlotLease *reply_slot)
{
	// A ttrpc server refuses a request whose stream id is not above every
	// one it has seen, so an id is taken and its request written under
	// the one write lock: ids reach the wire in increasing order.
	std::unique_lock order(write_mu_);
	auto opened = calls_.open();
	if (!opened) {
		order.unlock();
		if (reply_slot != nullptr)
			shm_.give_back_slot(reply_slot->index);
		return opened.status().with(base::Cause::NotSent);
	}
	auto [id, call] = std::move(opened).value();
	if (reply_slot != nullptr) {
		reply_slot->plan = spin_.plan(slot_wait_ns_.load());
		reply_slot->slot.arm(id, reply_slot->plan.sleep.count() == 0);
	}
	Status sent = send_request(id, req, dl, reply_slot);
	order.unlock();
	if (sent && req.streaming)
		sent = send_data(id, *call, req.data, dl);
	if (!sent) {
		// A partial frame leaves the stream out of step.
		Status why(VACCEL_EIO, "send failed: " + sent.message());
		fail(why);
		if (reply_slot != nullptr)
			shm_.retire_slot(reply_slot->index);
		// The agent runs a request only once it has all of it.
		return std::move(why).with(base::Cause::NotSent);
	}
	return Posted{id, std::move(call)};
}

// In the slot, when the agent's reader watches it: no system call on either
// side (transport/reply_slot.h). Else the socket. Called with write_mu_
// held.
Status Connection::send_request(uint32_t id, const Request &req, Deadline dl,
				SlotLease *reply_slot)
{
	std::span<const uint8_t> parts[2] = {req.payload, req.tail};
	if (reply_slot != nullptr && reply_slot->requests != nullptr &&
	    !req.streaming && req.fds.empty() && slot_watched(*reply_slot) &&
	    reply_slot->slot.post(
		id, parts, transport::reader_polling(reply_slot->requests)))
		return Status::ok();
	transport::FrameHeader h;
	h.stream_id = id;
	h.type = transport::MsgType::Request;
	h.flags = req.streaming ? transport::kFlagRemoteOpen : 0;
	if (req.tail.empty())
		return transport::write_frame(stream_, h, req.payload, dl,
					      req.fds);
	return transport::write_frame_parts(stream_, h, parts, dl);
}

// A request slot bypasses the socket, and the reader of an agent that died
// leaves its flag up: a request posted there would never be taken, and
// nobody reads the socket while the caller polls the slot. So the socket is
// asked for a hang-up first, but only when the flag says the slot would be
// used.
bool Connection::slot_watched(const SlotLease &lease)
{
	return transport::reader_polling(lease.requests)
		       .load(std::memory_order_relaxed) != 0 &&
	       !hung_up();
}

// Data frames one at a time, so that other calls' small requests are not
// stuck behind a large one. A reply that arrives early (the agent refused
// the call) and is read by another waiting caller ends the sending (with no
// other caller the rest is sent and ignored by the agent); the half-close
// still goes out, so that the agent forgets the stream.
Status Connection::send_data(uint32_t id, const Pending &call,
			     std::span<const FrameParts> data, Deadline dl)
{
	transport::FrameHeader h;
	h.stream_id = id;
	h.type = transport::MsgType::Data;
	if (data.empty()) {
		h.flags = transport::kFlagRemoteClosed | transport::kFlagNoData;
		std::lock_guard lock(write_mu_);
		return transport::write_frame(stream_, h, {}, dl);
	}
	for (size_t i = 0; i < data.size(); ++i) {
		const bool last = i + 1 == data.size();
		const bool refused = calls_.done(call);
		h.flags = last || refused ? transport::kFlagRemoteClosed : 0;
		std::span<const std::span<const uint8_t>> parts = data[i];
		if (refused) {
			h.flags |= transport::kFlagNoData;
			parts = {};
		}
		std::lock_guard lock(write_mu_);
		VACCEL_RETURN_IF_ERROR(
		    transport::write_frame_parts(stream_, h, parts, dl));
		if (refused)
			break;
	}
	return Status::ok();
}

Result<ReplyBytes> Connection::await(const std::shared_ptr<Pending> &call,
				     uint32_t id, Deadline dl)
{
	return calls_.await(
	    call, id, dl, [this](const Pending &mine, Deadline until) {
		    Status st = reader_.lead(mine, until, wake_fd_);
		    if (!st) {
			    vaccel_error("[rpc] %s", st.message().c_str());
			    fail(st);
		    }
	    });
}

// Polls @p lease's slot for the reply to @p id around when such replies
// come (the same plan as for polling the socket: from the start, or after
// sleeping most of the usual wait); then, or when the agent says the reply
// went to the socket, waits there.
Result<ReplyBytes> Connection::await_slot(const std::shared_ptr<Pending> &call,
					  uint32_t id, Deadline dl,
					  const SlotLease &lease)
{
	const transport::ReplySlot &rs = lease.slot;
	const auto start = Clock::now();
	if (poll_slot(id, lease,
		      dl ? lease.plan.within(*dl - start) : lease.plan)) {
		note_slot_wait(start);
		// A copy the agent also sent (it saw us stop polling) is
		// dropped as a late reply.
		calls_.forget(id);
		const uint32_t len =
		    rs.length().load(std::memory_order_relaxed);
		ReplyBytes out;
		if (len <= rs.capacity())
			out.frame.assign(rs.reply(), rs.reply() + len);
		shm_.give_back_slot(lease.index);
		if (len > rs.capacity())
			return Status(VACCEL_EREMOTEIO, "reply slot overflows");
		CallTrace::current().slot = true;
		return out;
	}
	// Woken early, or done polling: the reply comes (or came) on the
	// socket, since `waiting` was clear when the agent looked.
	auto r = await(call, id, dl);
	// Once the socket's reply is in, the agent is done with the slot;
	// after a timeout it may still write there, unless the request never
	// left the slot (taken back here: the agent will never see it).
	if (r) {
		note_slot_wait(start);
		shm_.give_back_slot(lease.index);
	} else if (uint32_t posted = id;
		   lease.requests != nullptr &&
		   rs.request().compare_exchange_strong(posted, 0)) {
		shm_.give_back_slot(lease.index);
	} else {
		shm_.retire_slot(lease.index);
	}
	return r;
}

// Whether the reply to @p id came in the slot. Asleep first when @p plan
// says so: the slot cannot be watched then (`waiting` is clear), so a reply
// that comes meanwhile is sent on the socket, which ends the sleep (as may
// another call's frame); armed only afterwards.
bool Connection::poll_slot(uint32_t id, const SlotLease &lease,
			   const transport::SpinPolicy::Plan &plan)
{
	const transport::ReplySlot &rs = lease.slot;
	if (plan.sleep.count() > 0) {
		pollfd fds[2] = {{stream_.fd(), POLLIN, 0},
				 {wake_fd_, POLLIN, 0}};
		if (transport::plan_poll(fds, {plan.sleep, {}}) != 0)
			return false;
		rs.waiting().store(id);
	}
	const auto until = Clock::now() + plan.poll;
	auto now = Clock::now();
	auto next_yield = now + transport::kSpinYieldEvery;
	for (;;) {
		if (rs.ready().load(std::memory_order_acquire) == id)
			return true;
		if (rs.socket().load(std::memory_order_acquire) == id ||
		    now >= until)
			break;
		if (now >= next_yield) {
			// Now and then: a dead connection ends the polling.
			if (calls_.failed())
				break;
			std::this_thread::yield();
			next_yield = now + transport::kSpinYieldEvery;
		} else {
			transport::cpu_relax();
		}
		now = Clock::now();
	}
	return rs.disarm(id);
}

void Connection::note_slot_wait(Clock::time_point start)
{
	slot_wait_ns_.store(
	    spin_.update(slot_wait_ns_.load(),
			 std::chrono::duration_cast<std::chrono::nanoseconds>(
			     Clock::now() - start)
			     .count()));
}

} // namespace vaccel::rpc_plugin
