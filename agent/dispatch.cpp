// SPDX-License-Identifier: Apache-2.0
// Requests from queue to reply: which pool runs a job, the tenant's
// concurrent-call charge, running it through the Service, and the reply:
// into the caller's reply slot or the connection's reply queue.
#include "server_parts.h"

#include "drain.h"

#include "transport/wire.h"

#include <sched.h>
#include <vaccel.h>

#include <chrono>
#include <cstring>

namespace vaccel::agent
{

namespace
{

// Frames a reply of @p head then @p payload into @p m: one Response frame
// when it fits, else Data frames of @p max_frame bytes and an empty
// Response frame.
void frame_reply(OutMessage &m, uint32_t stream_id, std::string_view head,
		 std::string_view payload, uint32_t max_frame)
{
	FrameHeader h;
	h.stream_id = stream_id;
	uint8_t buf[transport::kFrameHeaderSize];
	const size_t total = head.size() + payload.size();
	if (total <= max_frame) {
		h.type = MsgType::Response;
		h.length = static_cast<uint32_t>(total);
		transport::encode_header(h, buf);
		m.add_frame(buf, {head, payload});
		return;
	}
	h.type = MsgType::Data;
	for (size_t at = 0; at < total;) {
		const size_t n = std::min<size_t>(max_frame, total - at);
		const size_t in_head = at < head.size() ? head.size() - at : 0;
		const std::string_view hp = head.substr(
		    std::min(at, head.size()), std::min(n, in_head));
		const size_t pat = at + hp.size() - head.size();
		const std::string_view pp = payload.substr(pat, n - hp.size());
		h.length = static_cast<uint32_t>(n);
		transport::encode_header(h, buf);
		m.add_frame(buf, {hp, pp});
		at += n;
	}
	h.type = MsgType::Response;
	h.length = 0;
	transport::encode_header(h, buf);
	m.add_frame(buf, {});
}

} // namespace

// A RegisterResource naming URLs (RegisterRequest.paths, field 1) that the
// host will download. Looked up wherever the field sits, so that no
// reordering of fields moves a download onto the workers.
bool Server::is_download(const Job &job)
{
	if (job.kind != Job::Kind::Frame || !job.parsed ||
	    job.request.method != "RegisterResource")
		return false;
	transport::wire::Reader r(job.request.payload);
	for (transport::wire::Field f; r.next(&f);)
		if (f.is(1, transport::wire::WireType::Len))
			return true;
	return false;
}

// The calls a new sandbox makes before its first op, each short and
// bounded (no plugin op, no download, no file written; mapping a region
// is an mmap, and its page-locking comes later on a thread of its own):
// run on the connection's reader when nothing else of it is in flight,
// rather than handed to a worker. A hand-off costs a thread wake-up each,
// and a new sandbox makes several of these calls in a row before its first
// result; one connection's reader serves only that connection, so no other
// client waits behind them.
bool Server::runs_inline(const Job &job)
{
	if (job.kind != Job::Kind::Frame || !job.parsed)
		return false;
	const std::string_view m = job.request.method;
	return m == "Hello" || m == "CreateSession" || m == "MapRegion" ||
	       m == "RegisterCachedResource" || m == "MapSandboxMemory";
}

size_t Server::timed_kind(const Job &job)
{
	if (job.kind != Job::Kind::Frame || !job.parsed || is_download(job))
		return CallTimes::kNone;
	return CallTimes::kind_of(job.request);
}

void Server::run_timed(const std::shared_ptr<Conn> &conn, Job &job, size_t kind)
{
	if (kind == CallTimes::kNone) {
		process(conn, job);
		return;
	}
	const auto start = std::chrono::steady_clock::now();
	const bool ok = process(conn, job);
	if (conn->tenant != nullptr)
		conn->tenant->call_times().note(
		    kind, std::chrono::steady_clock::now() - start, ok);
}

// A client that gave up waiting (its timeout, sent in the envelope) gets
// nothing from running its call: the work is skipped, its worker freed.
bool Server::expired(const Job &job, int64_t timeout_nano)
{
	return timeout_nano > 0 &&
	       std::chrono::steady_clock::now() - job.queued >
		   std::chrono::nanoseconds(timeout_nano);
}

bool Server::submit(const std::shared_ptr<Conn> &conn, std::shared_ptr<Job> job)
{
	if (opts_.trace != nullptr) {
		job->read = std::chrono::steady_clock::now();
		// A call reassembled from chunks: its last frame's wait is
		// not known here.
		if (job->arrived == decltype(job->arrived){})
			job->arrived = job->read;
	}
	if (job->kind == Job::Kind::Frame)
		job->parsed = transport::codec::parse_request(
		    job->frame.payload, &job->request);
	if (!let_through(*conn, *job))
		return true;
	if (conn->tenant != nullptr) {
		const RpcStatus st =
		    Charge::take(*conn->tenant, Limit::Calls, 1, "queue",
				 conn->id, &job->call);
		if (!st.is_ok()) { // refused at once, nothing queued
			refuse(*conn, job->stream_id, st, method_of(*job));
			return true;
		}
	}
	job->queued = std::chrono::steady_clock::now();
	bool alone = false;
	{
		std::lock_guard lock(conn->mu);
		alone = ++conn->in_flight == 1;
	}
	if (alone && runs_inline(*job)) {
		process(conn, *job);
		return true;
	}
	// A short kind of call runs here too, where the hand-off to a worker
	// would cost more than the call (call_times.h). With that off, no
	// kind is worked out or learnt.
	const size_t kind = opts_.inline_limit.count() > 0 ? timed_kind(*job)
							   : CallTimes::kNone;
	if (alone && conn->tenant != nullptr &&
	    conn->tenant->call_times().is_short(kind, opts_.inline_limit)) {
		run_timed(conn, *job, kind);
		return true;
	}
	WorkerPool &pool = is_download(*job) ? *download_pool_ : *pool_;
	// Tenants take turns for the workers (WorkerPool): one tenant's
	// queued burst never stands in front of another's next request.
	const auto tenant = reinterpret_cast<uintptr_t>(conn->tenant);
	return pool.submit(
	    [this, conn, job, kind] { run_timed(conn, *job, kind); }, tenant);
}

bool Server::let_through(Conn &conn, Job &job)
{
	std::string_view service = transport::kServiceSync;
	std::string_view method = "GenopStream";
	switch (job.kind) {
	case Job::Kind::Frame:
		if (!job.parsed) // answered as malformed when it runs
			return true;
		service = job.request.service;
		method = job.request.method;
		break;
	case Job::Kind::Call:
		service = job.service;
		method = job.method;
		break;
	case Job::Kind::Genop:
		break;
	}
	if (method == "Hello" && service == transport::kServiceAdmin &&
	    service_.limits().extensions)
		conn.extended.store(true, std::memory_order_relaxed);
	if (opts_.drain == nullptr)
		return true;
	const RpcStatus st = opts_.drain->admit(
	    service, method, conn.extended.load(std::memory_order_relaxed));
	if (st.is_ok())
		return true;
	refuse(conn, job.stream_id, st, method_of(job));
	return false;
}

bool Server::process(const std::shared_ptr<Conn> &conn, Job &job)
{
	struct Done {
		Conn &c;
		~Done()
		{
			std::lock_guard lock(c.mu);
			--c.in_flight;
			c.cv.notify_all();
		}
	} done{*conn};
	if (conn->closing)
		return false;

	using Clock = std::chrono::steady_clock;
	TraceRecord tr;
	std::string method; // copied only when traced
	const bool traced = opts_.trace != nullptr;
	const bool metered = counted(*conn);
	metrics::CallSample sample;
	if (traced || metered)
		tr.started = Clock::now();
	if (traced)
		tr.cpu_started = sched_getcpu();

	// Where the caller polls for the reply, if it named a slot; the
	// region stays mapped until the reply is in.
	std::shared_ptr<ShmRegion> slot_region;
	transport::ReplySlot slot;
	CallInfo info;
	info.regions = conn->local || conn->sandbox ? &conn->regions : nullptr;
	info.local = conn->local;
	info.sandbox = conn->sandbox.get();
	info.op_time = traced ? &tr.op : nullptr;
	info.tenant = conn->tenant;
	info.sample = metered ? &sample : nullptr;
	rpc::ttrpc::Response resp;
	bool chunked = false;
	// A failure's message is read back from this thread (vaccel_call):
	// an earlier call's, maybe another tenant's, must not stand in for
	// one the op left unset.
	vaccel_clear_last_error();
	switch (job.kind) {
	case Job::Kind::Frame: {
		// The envelope by hand (transport/codec.h): views into the
		// frame, which stays until the reply is built.
		const transport::codec::RequestView &req = job.request;
		Frame &frame = job.frame;
		tr.request_bytes = frame.payload.size();
		if (!job.parsed) {
			set_status(resp,
				   RpcStatus::invalid(
				       "malformed ttrpc request (%zu bytes)",
				       frame.payload.size()));
			break;
		}
		info.fds = &frame.fds;
		if (traced)
			method = req.method;
		if (conn->local && opts_.shm)
			find_reply_slot(*conn, req, &slot_region, &slot);
		if (expired(job, req.timeout_nano)) {
			sample.method = method_of(job);
			set_status(resp,
				   RpcStatus(RpcCode::DeadlineExceeded,
					     "the call's timeout passed "
					     "before it started; not run"));
			break;
		}
		resp = service_.handle(conn->id, req.service, req.method,
				       req.payload, info);
		std::vector<uint8_t>().swap(frame.payload);
		break;
	}
	case Job::Kind::Call:
		tr.request_bytes = job.size;
		if (traced)
			method = job.method;
		info.reply_limit = opts_.max_message;
		resp =
		    service_.handle(conn->id, job.service, job.method,
				    std::span(job.bytes.get(), job.size), info);
		job.bytes.reset();
		chunked = true;
		break;
	case Job::Kind::Genop:
		if (traced || metered)
			tr.request_bytes = job.genop.ByteSizeLong();
		if (traced)
			method = "GenopStream";
		resp = service_.handle_genop(conn->id, job.genop, info);
		job.genop.Clear();
		break;
	}
	const bool ok = !resp.has_status() || resp.status().code() == 0;
	job.held.release();
	// The call is done: its place under the tenant's concurrent-call
	// quota is free before the caller can see its reply (and make its
	// next call), not when the job's last holder lets it go.
	job.call.reset();
	if (!traced && !metered) {
		reply(*conn, job.stream_id, std::move(resp), chunked, nullptr,
		      &slot);
		return ok;
	}
	tr.handled = Clock::now();
	tr.status = resp.has_status() ? resp.status().code() : 0;
	Encoded e = encode(std::move(resp), chunked, &tr.status);
	// Counted before the caller can see its reply.
	if (metered)
		count(*conn, job, tr, e, &slot, Clock::now(), sample);
	tr.reply_bytes = send(*conn, job.stream_id, std::move(e), &slot).bytes;
	tr.replied = Clock::now();
	if (!traced)
		return ok;
	tr.cpu_replied = sched_getcpu();
	tr.arrived = job.arrived;
	tr.read = job.read;
	tr.conn = conn->id;
	tr.stream = job.stream_id;
	tr.method = method;
	opts_.trace->record(tr);
	return ok;
}

bool Server::counted(const Conn &conn) const noexcept
{
	return opts_.metrics != nullptr && conn.tenant != nullptr;
}

void Server::count(Conn &conn, const Job &job, const TraceRecord &tr,
		   const Encoded &e, const transport::ReplySlot *slot,
		   std::chrono::steady_clock::time_point ready,
		   metrics::CallSample &sample)
{
	using metrics::Direction;
	using metrics::Path;
	const auto ns = [](auto d) {
		return static_cast<uint64_t>(
		    std::chrono::duration_cast<std::chrono::nanoseconds>(d)
			.count());
	};
	sample.code = tr.status;
	sample.latency_ns = ns(ready - job.queued);
	sample.busy_ns = ns(ready - tr.started);
	sample.add_bytes(job.via_slot ? Path::Shm : Path::Socket, Direction::In,
			 tr.request_bytes);
	// Where it goes first: a reply that fits its caller's slot is put
	// there (and sent on the socket too only if the caller stopped
	// looking).
	const bool to_slot =
	    slot != nullptr && slot->valid() && e.size() <= slot->capacity();
	sample.add_bytes(to_slot ? Path::Shm : Path::Socket, Direction::Out,
			 e.size());
	metrics::record(conn.tenant->counters(), sample);
}

void Server::refuse(Conn &conn, uint32_t stream_id, const RpcStatus &st,
		    metrics::MethodId method)
{
	Encoded e = encode(error_response(st), false, nullptr);
	if (counted(conn)) {
		metrics::CallSample sample;
		sample.method = method;
		sample.code = static_cast<int32_t>(st.code());
		sample.add_bytes(metrics::Path::Socket, metrics::Direction::Out,
				 e.size());
		metrics::record(conn.tenant->counters(), sample);
	}
	send(conn, stream_id, std::move(e), nullptr);
}

metrics::MethodId Server::method_of(Job &job)
{
	switch (job.kind) {
	case Job::Kind::Frame:
		// Queued jobs have their envelope read already; one refused
		// before it was queued has not.
		if (!job.parsed)
			job.parsed = transport::codec::parse_request(
			    job.frame.payload, &job.request);
		return job.parsed ? service_.method_id(job.request.service,
						       job.request.method)
				  : metrics::MethodId::Other;
	case Job::Kind::Call:
		return service_.method_id(job.service, job.method);
	case Job::Kind::Genop:
		break;
	}
	return metrics::MethodId::GenopStream;
}

metrics::MethodId Server::method_of(const Inbound &in) const
{
	if (in.kind == Inbound::Kind::Genop)
		return metrics::MethodId::GenopStream;
	return service_.method_id(in.service, in.method);
}

void Server::find_reply_slot(Conn &conn,
			     const transport::codec::RequestView &req,
			     std::shared_ptr<ShmRegion> *region,
			     transport::ReplySlot *slot)
{
	std::string_view value("", 0); // never null, for %.*s
	if (req.metadata(transport::kReplySlotKey, &value)) {
		uint32_t id = 0;
		uint64_t offset = 0, size = 0;
		// A slot the agent cannot use costs the caller its polling
		// time only: the reply goes to the socket as without one.
		if (!transport::parse_reply_slot(value, &id, &offset, &size) ||
		    offset % transport::kReplySlotHeader != 0 ||
		    size <= transport::kReplySlotHeader ||
		    size > std::numeric_limits<uint32_t>::max() ||
		    !conn.regions.find(id, region).is_ok() ||
		    !(*region)->contains(offset, size)) {
			vaccel_debug("agent: connection %llu: ignoring reply "
				     "slot '%.*s'",
				     static_cast<unsigned long long>(conn.id),
				     static_cast<int>(value.size()),
				     value.data());
			region->reset();
			return;
		}
		*slot = transport::ReplySlot((*region)->data() + offset,
					     static_cast<size_t>(size));
	}
}

Server::Sent Server::reply(Conn &conn, uint32_t stream_id,
			   rpc::ttrpc::Response resp, bool chunked, int *status,
			   const transport::ReplySlot *slot)
{
	return send(conn, stream_id, encode(std::move(resp), chunked, status),
		    slot);
}

Server::Encoded Server::encode(rpc::ttrpc::Response resp, bool chunked,
			       int *status)
{
	std::string payload = std::move(*resp.mutable_payload());
	resp.clear_payload();
	std::string head;
	const uint64_t limit = chunked ? opts_.max_message : opts_.max_frame;
	bool encoded = true;
	if (resp.has_status() && resp.status().code() == 0 &&
	    resp.status().message().empty() &&
	    resp.status().details_size() == 0) {
		// Every successful call: two bytes, by hand (codec.h).
		transport::codec::put_ok_response_head(&head, payload.size());
	} else {
		encoded = resp.SerializeToString(&head);
		if (encoded && !payload.empty())
			head += transport::field_header(2, payload.size());
	}
	const size_t total = head.size() + payload.size();
	if (!encoded || total > limit) {
		rpc::ttrpc::Response too_big;
		set_status(too_big,
			   RpcStatus::exhausted(
			       "response of %zu bytes exceeds the %llu-byte "
			       "limit",
			       total, static_cast<unsigned long long>(limit)));
		head = too_big.SerializeAsString();
		if (status != nullptr)
			*status = too_big.status().code();
		payload.clear();
	}
	resp.Clear();
	return {std::move(head), std::move(payload)};
}

Server::Sent Server::send(Conn &conn, uint32_t stream_id, Encoded e,
			  const transport::ReplySlot *slot)
{
	std::string &head = e.head;
	std::string &payload = e.payload;
	auto as_bytes = [](const std::string &s) {
		return std::span(reinterpret_cast<const uint8_t *>(s.data()),
				 s.size());
	};
	std::span<const uint8_t> pieces[2] = {as_bytes(head),
					      as_bytes(payload)};
	const size_t total_sent = head.size() + payload.size();
	if (slot != nullptr && slot->valid() && !conn.closing &&
	    slot->deliver(stream_id, pieces) ==
		transport::ReplySlot::Delivery::Delivered) {
		service_.slot_replies().fetch_add(1, std::memory_order_relaxed);
		return {total_sent, true};
	}
	if (conn.closing)
		return {};
	auto msg = std::make_unique<OutMessage>();
	const std::string_view head_view = msg->own(std::move(head));
	const std::string_view payload_view = msg->own(std::move(payload));
	frame_reply(*msg, stream_id, head_view, payload_view, opts_.max_frame);
	// Never waits for the peer: a reply the socket cannot take now
	// waits in the connection's queue (reply_queue.h).
	if (!conn.out.push(std::move(msg)))
		return {};
	return {total_sent, false};
}

} // namespace vaccel::agent
