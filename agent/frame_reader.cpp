// SPDX-License-Identifier: Apache-2.0
// A connection's reader thread: the TLS handshake, then frames off the
// socket (or requests out of the caller's request slots) with read and idle
// deadlines, each handed to the streams or queued as a job.
#include "server_parts.h"

#include "identity.h"
#include "plugin_gate.h"
#include "wire_bounds.h"

#include "transport/spare_cores.h"
#include "transport/tls.h"

#include <poll.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace vaccel::agent
{

namespace
{

// Reads @p len payload bytes into @p out, growing it as they arrive (by
// doubling from 64 KiB): a header that announces megabytes and sends
// nothing costs a little, not what it announced.
core::Status read_growing(transport::Stream &s, size_t len,
			  transport::Deadline dl,
			  std::vector<transport::UniqueFd> *fds,
			  std::vector<uint8_t> *out)
{
	constexpr size_t kFirst = size_t{64} << 10;
	size_t got = 0;
	while (got < len) {
		const size_t step = std::min(len - got, std::max(kFirst, got));
		out->resize(got + step);
		VACCEL_RETURN_IF_ERROR(
		    s.read_exact(std::span(out->data() + got, step), dl, fds));
		got += step;
	}
	return core::Status::ok();
}

} // namespace

void Server::read_loop(const std::shared_ptr<Conn> &conn)
{
	// Without a tenant yet, the connection is TLS: known after its
	// handshake. No request is read before the plugins are loaded.
	const bool may_serve =
	    opts_.plugins == nullptr || opts_.plugins->wait(conn->closing);
	if (!may_serve) {
		// The plugins failed or the agent stops: closed below.
	} else if (conn->tenant != nullptr)
		read_frames(conn);
	else if (secure(*conn)) {
		if (isolating())
			relay_to_worker(*conn);
		else
			read_frames(conn);
	}
	conn->inbound.clear();
	conn->slots = {};
	conn->regions.clear();
	conn->close_down();
	conn->out.join();
	service_.close_connection(conn->id);
	--open_conns_;
	conn->quota.reset();
	if (conn->holds_connection)
		service_.tenants().give_back_connection();
	if (opts_.on_closed)
		opts_.on_closed(conn->tag);
	conn->done = true;
	wake(); // let the acceptor join us
}

bool Server::secure(Conn &conn)
{
	const auto id = static_cast<unsigned long long>(conn.id);
	const auto refuse = [&](const std::string &why) {
		if (conn.closing) // the agent is stopping
			return false;
		audit::event("connection-refused",
			     "connection " + std::to_string(id) + ": " + why);
		return false;
	};
	auto st = transport::tls_accept(
	    conn.stream, *opts_.tls,
	    transport::deadline_in(opts_.tls_handshake_timeout));
	--handshakes_;
	if (!st)
		return refuse(st.message());
	TenantRegistry &tenants = service_.tenants();
	if (!tenants.take_connection())
		return refuse("the agent's connection cap is reached (rule "
			      "agent.max_connections)");
	conn.holds_connection = true;
	auto name = identify_tls(transport::tls_peer_common_name(conn.stream),
				 tenants.policy().identity);
	if (!name)
		return refuse(name.status().message());
	Tenant &t = tenants.get(*name);
	if (!Charge::take(t, Limit::Connections, 1, "connect", conn.id,
			  &conn.quota)
		 .is_ok())
		return false; // refused and audited by the charge
	conn.tenant = &t;
	vaccel_info("agent: connection %llu opened (tenant %s)", id,
		    t.name().c_str());
	return true;
}

void Server::read_frames(const std::shared_ptr<Conn> &conn)
{
	const auto id = static_cast<unsigned long long>(conn->id);
	// A small request's header and payload in one receive, which is
	// also the wait for it (await_frame). TLS buffers on its own.
	if (conn->stream.tls() == nullptr)
		conn->stream.set_read_ahead(kReadAhead, conn->local);
	for (;;) {
		{
			std::unique_lock lock(conn->mu);
			conn->cv.wait(lock, [&] {
				return conn->closing ||
				       conn->in_flight < opts_.max_in_flight;
			});
		}
		if (conn->closing)
			break;
		const auto wait_start = std::chrono::steady_clock::now();
		// How long this wait took, for the next one's polling plan.
		const auto note_wait = [&] {
			conn->read_wait_ns = reader_spin_.update(
			    conn->read_wait_ns,
			    std::chrono::duration_cast<
				std::chrono::nanoseconds>(
				std::chrono::steady_clock::now() - wait_start)
				.count());
		};
		if (auto job = wait_for_frame(*conn)) {
			// A request the client posted in a slot: no frame
			// to read.
			note_wait();
			conn->active = std::chrono::steady_clock::now();
			if (!submit(conn, std::move(job)))
				break;
			continue;
		}
		if (!await_frame(*conn))
			break;
		const auto arrived = opts_.trace != nullptr
					 ? std::chrono::steady_clock::now()
					 : wait_start;
		bool direct = false;
		core::Result<transport::Frame> frame =
		    read_frame(*conn, &direct);
		if (!frame) {
			const core::Status st = frame.status();
			const std::string &msg = st.message();
			if (conn->closing)
				break;
			if (st.cause() == transport::Cause::TimedOut)
				vaccel_warn(
				    "agent: connection %llu: a frame "
				    "stalled for more than %lld ms (%s); "
				    "closing it",
				    id,
				    static_cast<long long>(
					opts_.read_timeout.count()),
				    msg.c_str());
			else if (st.cause() == transport::Cause::PeerClosed)
				vaccel_info("agent: connection %llu closed by "
					    "peer",
					    id);
			else
				vaccel_warn("agent: connection %llu: %s; "
					    "closing it",
					    id, msg.c_str());
			break;
		}
		note_wait();
		conn->active = std::chrono::steady_clock::now();
		transport::Frame &f = frame.value();
		if (!stream_id_ok(*conn, f.header))
			continue;
		bool keep = true;
		if (f.header.type == MsgType::Data) {
			keep = feed_stream(conn, f, direct);
		} else if (f.header.type != MsgType::Request) {
			vaccel_warn("agent: connection %llu: unexpected frame "
				    "type %u on stream %u; ignored",
				    id, static_cast<unsigned>(f.header.type),
				    f.header.stream_id);
		} else if ((f.header.flags & transport::kFlagRemoteOpen) != 0) {
			keep = open_stream(conn, f);
		} else {
			auto job = std::make_shared<Job>();
			job->stream_id = f.header.stream_id;
			job->frame = std::move(f);
			job->arrived = arrived;
			keep = submit(conn, std::move(job));
		}
		conn->streaming.store(!conn->inbound.empty(),
				      std::memory_order_relaxed);
		if (!keep)
			break;
	}
}

// ttrpc's rules for the ids of a client's streams (containerd's server
// enforces them, and so do we, with its status code): odd ids only (even
// ones are the server's), every Request above the last one's (an id is
// never reused), Data only on a stream still open. A frame that breaks one
// is answered INVALID_ARGUMENT on the id it came with, so that the client
// learns which stream was bad, and the connection goes on. Requests taken
// from request slots are not frames and are not counted here: the client
// may post one in a slot before it writes a later id to the socket.
//
// One exception: a virtio-serial port (a unix socket QEMU holds open) is
// one byte stream for every guest process that opens the port in turn, and
// each starts its ids again at 1. A request on id 1 while nothing of the
// connection is in flight (queued, running, or a reply not yet written) is
// such a new client; with anything in flight it could be a reused id, and
// is refused.
bool Server::stream_id_ok(Conn &conn, const FrameHeader &h)
{
	const uint32_t id = h.stream_id;
	const char *why = nullptr;
	if (id % 2 == 0)
		why = "an even stream id (clients open odd ones)";
	else if (h.type == MsgType::Request && id <= conn.last_request &&
		 !(id == 1 && nothing_in_flight(conn)))
		why = "a request stream id not above the last one (ids are "
		      "never reused)";
	else if (h.type == MsgType::Data && !conn.inbound.contains(id))
		why = "data for a stream that is not open";
	if (why == nullptr) {
		if (h.type == MsgType::Request)
			conn.last_request = id;
		return true;
	}
	const RpcStatus st = RpcStatus::invalid("stream %u: %s", id, why);
	vaccel_warn("agent: connection %llu: %s; refused",
		    static_cast<unsigned long long>(conn.id),
		    st.message().c_str());
	refuse(conn, id, st, metrics::MethodId::Other);
	return false;
}

bool Server::nothing_in_flight(Conn &conn)
{
	// A reply still queued for the socket would reach the new client
	// under the id it reuses.
	if (!conn.inbound.empty() || conn.out.queued() != 0)
		return false;
	std::lock_guard lock(conn.mu);
	return conn.in_flight == 0;
}

core::Result<transport::Frame> Server::read_frame(Conn &conn, bool *direct)
{
	// Once a frame has begun, all of it is due within the read timeout.
	const transport::Deadline dl =
	    transport::deadline_in(opts_.read_timeout);
	std::vector<transport::UniqueFd> fds;
	auto *fd_sink = conn.local ? &fds : nullptr;
	// The header first: a Data frame of a chunked call is read straight
	// into that call's buffer, without a copy.
	auto hdr =
	    transport::read_header(conn.stream, opts_.max_frame, dl, fd_sink);
	if (!hdr)
		return hdr.status();
	transport::Frame fr;
	fr.header = *hdr;
	const uint32_t len = fr.header.length;
	Inbound *in = nullptr;
	if (fr.header.type == MsgType::Data) {
		auto it = conn.inbound.find(fr.header.stream_id);
		if (it != conn.inbound.end() &&
		    it->second.kind == Inbound::Kind::Call &&
		    !it->second.failed &&
		    len <= it->second.expected - it->second.got)
			in = &it->second;
	}
	core::Status rd;
	if (in != nullptr) {
		rd = conn.stream.read_exact(
		    std::span(in->bytes.get() + in->got, len), dl, fd_sink);
		in->got += len;
		*direct = true;
	} else {
		rd = read_growing(conn.stream, len, dl, fd_sink, &fr.payload);
	}
	if (!rd)
		return rd;
	fr.fds = std::move(fds);
	return fr;
}

bool Server::await_frame(Conn &conn)
{
	using Clock = std::chrono::steady_clock;
	const bool idle_on = opts_.idle_timeout.count() > 0;
	if (conn.inbound.empty() && conn.stream.can_block())
		return receive_frame(conn);
	for (;;) {
		// Bytes TLS has already taken off the socket (several frames
		// in one record): poll() would not report them.
		if (conn.stream.pending())
			return true;
		auto now = Clock::now();
		expire_stalled(conn, now);
		conn.streaming.store(!conn.inbound.empty(),
				     std::memory_order_relaxed);
		auto wake = Clock::time_point::max();
		if (idle_on)
			wake = conn.active + opts_.idle_timeout;
		if (opts_.read_timeout.count() > 0)
			for (const auto &kv : conn.inbound)
				wake = std::min(wake, kv.second.progress +
							  opts_.read_timeout);
		int ms = -1;
		if (wake != Clock::time_point::max())
			ms = static_cast<int>(std::clamp<int64_t>(
			    std::chrono::ceil<std::chrono::milliseconds>(wake -
									 now)
				.count(),
			    0, 60000));
		pollfd p{conn.stream.fd(), POLLIN, 0};
		// Ready, an error or a signal: the read that follows tells.
		if (::poll(&p, 1, ms) != 0 || conn.closing)
			return true;
		if (idled_out(conn))
			return false;
	}
}

bool Server::receive_frame(Conn &conn)
{
	// No streamed call is open, so the idle deadline is the only one.
	const bool idle_on = opts_.idle_timeout.count() > 0;
	for (;;) {
		transport::Deadline dl;
		if (idle_on)
			dl = conn.active + opts_.idle_timeout;
		if (conn.stream.receive(dl) || conn.closing)
			return true;
		if (idled_out(conn)) // else a signal, or the clock moved on
			return false;
	}
}

bool Server::idled_out(Conn &conn)
{
	if (opts_.idle_timeout.count() <= 0)
		return false;
	const auto now = std::chrono::steady_clock::now();
	if (now < conn.active + opts_.idle_timeout)
		return false;
	if (!idle(conn)) {
		conn.active = now; // it holds something: a new idle spell
		return false;
	}
	vaccel_info("agent: connection %llu: idle for %lld ms with no "
		    "session; closing it",
		    static_cast<unsigned long long>(conn.id),
		    static_cast<long long>(opts_.idle_timeout.count()));
	return true;
}

bool Server::idle(Conn &conn)
{
	if (!conn.inbound.empty() || conn.out.queued() != 0)
		return false;
	{
		std::lock_guard lock(conn.mu);
		if (conn.in_flight != 0)
			return false;
	}
	return !service_.objects().owns_sessions(conn.id);
}

void Server::expire_stalled(Conn &conn,
			    std::chrono::steady_clock::time_point now)
{
	if (opts_.read_timeout.count() <= 0)
		return;
	for (auto it = conn.inbound.begin(); it != conn.inbound.end();) {
		Inbound &in = it->second;
		if (now - in.progress < opts_.read_timeout) {
			++it;
			continue;
		}
		if (!in.failed) {
			const RpcStatus st = RpcStatus::exhausted(
			    "streaming call: no data for %lld ms; dropped, "
			    "its %llu bytes of buffer budget released",
			    static_cast<long long>(opts_.read_timeout.count()),
			    static_cast<unsigned long long>(in.held.bytes()));
			vaccel_warn("agent: connection %llu: stream %u: %s",
				    static_cast<unsigned long long>(conn.id),
				    it->first, st.message().c_str());
			refuse(conn, it->first, st, method_of(in));
		}
		it = conn.inbound.erase(it);
	}
}

std::shared_ptr<Server::Job> Server::take_slot_request(Conn &conn)
{
	const auto &s = conn.slots;
	if (!s.region)
		return nullptr;
	// From where the last look stopped, so that no slot goes first
	// every time.
	for (size_t n = 0; n < s.count; ++n) {
		const size_t i = (conn.next_slot + n) % s.count;
		const transport::ReplySlot slot(
		    s.region->data() + i * s.slot_size, s.slot_size);
		try {
			uint32_t id = 0;
			std::vector<uint8_t> bytes;
			if (!slot.take_request(&id, &bytes))
				continue;
			conn.next_slot = i + 1;
			auto job = std::make_shared<Job>();
			job->stream_id = id;
			job->frame.header.stream_id = id;
			job->frame.header.type = MsgType::Request;
			job->frame.header.length =
			    static_cast<uint32_t>(bytes.size());
			job->frame.payload = std::move(bytes);
			job->via_slot = true;
			if (opts_.trace != nullptr)
				job->arrived = std::chrono::steady_clock::now();
			service_.slot_requests().fetch_add(
			    1, std::memory_order_relaxed);
			return job;
		} catch (const std::bad_alloc &) {
			// The slot's request is gone: so is the connection,
			// as when a frame cannot be read.
			vaccel_warn(
			    "agent: connection %llu: out of memory "
			    "taking a request from slot %zu; closing it",
			    static_cast<unsigned long long>(conn.id), i);
			conn.close_down();
			return nullptr;
		}
	}
	return nullptr;
}

std::shared_ptr<Server::Job> Server::wait_for_frame(Conn &conn)
{
	// The slot region may have come or gone since the last wait.
	if (const uint64_t v = conn.regions.slots_version();
	    v != conn.slots_version) {
		conn.slots = conn.regions.slots();
		conn.slots_version = v;
	}
	// One posted while we were last watching (with several callers).
	if (auto job = take_slot_request(conn))
		return job;
	// Bytes TLS already took off the socket: poll() would not see them.
	if (conn.stream.pending())
		return nullptr;
	const auto plan = reader_spin_.plan(conn.read_wait_ns);
	if (plan.poll.count() <= 0 ||
	    open_conns_.load() > max_polling_readers_ ||
	    !transport::cores_to_spare())
		return nullptr;
	// An error or hang-up shows as an event too: the read that follows
	// reports it.
	pollfd p{conn.stream.fd(), POLLIN, 0};
	if (plan.sleep.count() > 0 &&
	    transport::plan_poll(std::span(&p, 1), {plan.sleep, {}}) != 0)
		return nullptr;
	// Only the polling takes one of the places.
	std::shared_ptr<Job> job;
	if (polling_readers_.fetch_add(1) < max_polling_readers_) {
		if (conn.slots.region)
			job = watch(conn, p, plan.poll);
		else
			(void)transport::spin_poll(std::span(&p, 1), plan.poll);
	}
	polling_readers_.fetch_sub(1);
	return job;
}

std::shared_ptr<Server::Job> Server::watch(Conn &conn, pollfd &p,
					   std::chrono::nanoseconds budget)
{
	// While the flag is up, callers post requests in their slots
	// instead of writing them to the socket (transport/reply_slot.h).
	const auto flag = transport::reader_polling(conn.slots.region->data());
	flag.store(1, std::memory_order_seq_cst);
	std::shared_ptr<Job> job;
	(void)transport::spin_poll_or(std::span(&p, 1), budget, [&] {
		return (job = take_slot_request(conn)) != nullptr;
	});
	// Down, then one more look: a caller that saw the flag up has posted
	// its request by now, and will not send it on the socket.
	flag.store(0, std::memory_order_seq_cst);
	if (!job)
		job = take_slot_request(conn);
	return job;
}

} // namespace vaccel::agent
