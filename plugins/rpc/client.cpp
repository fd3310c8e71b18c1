// SPDX-License-Identifier: Apache-2.0
// Client: each call's way to its agent. The agents and the choice among
// them live in pool.h; a connection and its calls in link.h and
// connection.h; large requests in chunks.h; the shared-memory plane in
// shm_pool.h.
#include "client.h"

#include "call_timer.h"
#include "chunks.h"
#include "envelope.h"
#include "pool.h"
#include "sandbox_device.h"

#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "transport/sandbox_memory.h"
#include "transport/spare_cores.h"

#include <vaccel/log.h>

#include <array>
#include <cassert>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace vaccel::rpc_plugin
{

using transport::Deadline;

namespace
{

// Requests up to this size are serialized on the caller's stack.
constexpr size_t kStackRequest = 512;

// A failure on this side: connecting, encoding, sending or receiving.
Status logged(const CallTarget &t, Status st)
{
	vaccel_error("[rpc] %.*s: %s", static_cast<int>(t.method.size()),
		     t.method.data(), st.message().c_str());
	return st;
}

// A failure the agent answered with. Its message (the op, plugin, file and
// reason there) is logged whole: the runtime gives the last error line an
// op logs to vaccel_last_error(), so the caller reads the agent's reason.
Status refused(const std::string &agent, Status st)
{
	vaccel_error("[rpc] agent %s: %s", agent.c_str(), st.message().c_str());
	return st;
}

// Counts a call in flight to its agent, for placement (pool.h).
class InFlight
{
public:
	explicit InFlight(Endpoint *e) : e_(e)
	{
		if (e_ != nullptr)
			e_->call_started();
	}
	InFlight(const InFlight &) = delete;
	InFlight &operator=(const InFlight &) = delete;
	~InFlight()
	{
		if (e_ != nullptr)
			e_->call_ended();
	}

private:
	Endpoint *e_;
};

Status too_large(size_t size, uint64_t max_message)
{
	return Status::error(VACCEL_EINVAL,
			     "request of %zu bytes exceeds "
			     "VACCEL_RPC_MAX_MESSAGE (%llu)",
			     size,
			     static_cast<unsigned long long>(max_message));
}

// A request that fits one frame: the envelope, then the payload from where
// it is; the reply in a reply slot when one is free.
Result<ReplyBytes> send_framed(const CallTimer &timed, Connection &c,
			       const Config &cfg, const CallTarget &target,
			       std::span<const uint8_t> payload, Deadline dl)
{
	std::optional<SlotLease> slot = c.take_reply_slot(dl);
	std::string head;
	try {
		encode_head(target.service, target.method, payload.size(),
			    cfg.call_timeout, &head,
			    slot ? slot->where() : std::string());
	} catch (const std::bad_alloc &) {
		if (slot)
			c.return_reply_slot(*slot);
		return Status(VACCEL_ENOMEM, "out of memory encoding request");
	}
	const WireTimed wire(timed);
	return c.roundtrip(bytes_of(head), payload, dl, std::move(slot));
}

// Our agent's chunked call (AgentData/Call): the request's bytes, the
// concatenation of @p pieces, in frame-sized chunks.
Result<ReplyBytes>
send_chunked(const CallTimer &timed, Connection &c, const Config &cfg,
	     const CallTarget &target,
	     std::span<const std::span<const uint8_t>> pieces, Deadline dl)
{
	size_t total = 0;
	for (auto p : pieces)
		total += p.size();
	rpc::ext::CallHeader h;
	h.set_service(std::string(target.service));
	h.set_method(std::string(target.method));
	h.set_size(total);
	std::string open;
	VACCEL_RETURN_IF_ERROR(encode(transport::kServiceData, "Call",
				      h.SerializeAsString(), cfg.call_timeout,
				      &open));
	const std::vector<FrameParts> frames =
	    cut_frames(pieces, cfg.max_frame);
	const WireTimed wire(timed);
	return c.roundtrip_stream(bytes_of(open), frames, dl);
}

// An upstream agent: a large Genop as its client-streaming GenopStream.
Result<ReplyBytes> send_genop_stream(const CallTimer &timed, Connection &c,
				     const Config &cfg,
				     const CallTarget &target,
				     std::span<const uint8_t> payload,
				     Deadline dl)
{
	rpc::genop::Request g;
	if (!g.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
		return Status(VACCEL_EINVAL, "cannot split the genop");
	auto msgs = genop_stream_messages(g, cfg.max_frame);
	g.Clear();
	std::vector<FrameParts> data;
	data.reserve(msgs.size());
	for (const auto &m : msgs)
		data.push_back({bytes_of(m)});
	std::string open;
	VACCEL_RETURN_IF_ERROR(
	    encode(target.service, "GenopStream", {}, cfg.call_timeout, &open));
	const WireTimed wire(timed);
	return c.roundtrip_stream(bytes_of(open), data, dl);
}

// The request's way to the agent, by its size and what the agent takes.
Result<ReplyBytes> exchange(const CallTimer &timed, Connection &c,
			    const Config &cfg, const CallTarget &target,
			    std::span<const uint8_t> payload)
{
	const Deadline dl = transport::deadline_in(cfg.call_timeout);
	// Envelope fields around the payload stay well under this.
	constexpr size_t kEnvelope = 512;
	if (payload.size() + kEnvelope <= cfg.max_frame)
		return send_framed(timed, c, cfg, target, payload, dl);
	if (payload.size() > cfg.max_message)
		return too_large(payload.size(), cfg.max_message);
	if (c.features().chunked)
		return send_chunked(timed, c, cfg, target,
				    std::span(&payload, 1), dl);
	if (target.method == "Genop")
		return send_genop_stream(timed, c, cfg, target, payload, dl);
	// The agent drops a connection that sends an oversized frame, taking
	// every session with it: refuse here instead.
	return Status::error(VACCEL_EINVAL,
			     "request of %zu bytes exceeds the frame limit of "
			     "%u bytes (VACCEL_RPC_MAX_FRAME) and the agent "
			     "cannot take chunked calls",
			     payload.size(), cfg.max_frame);
}

} // namespace

LostCall &LostCall::current() noexcept
{
	thread_local LostCall lost;
	return lost;
}

Client::Client(Config cfg, std::shared_ptr<const SandboxDevice> device)
    : cfg_(std::move(cfg)), device_(std::move(device))
{
	if (!cfg_.trace_path.empty())
		trace_.open(cfg_.trace_path);
	// The load check is set up now, not in a first call (nor in a child
	// forked while another thread sets it up), and before the pool: its
	// early connection asks it whether calls will poll.
	transport::poll_on_busy_host(cfg_.poll_busy_host);
	(void)transport::cores_to_spare();
	pool_ = std::make_unique<Pool>(cfg_, device_.get());
}

Client::~Client() = default;

Result<std::shared_ptr<Connection>> Client::connection(uint64_t generation)
{
	if (generation == 0)
		return pool_->place();
	auto conn = pool_->get(generation);
	if (!conn)
		LostCall::current() = {LostCall::Kind::NotSent, generation,
				       false};
	return conn;
}

bool Client::note_failure(const Connection &c, const Status &st)
{
	LostCall &lost = LostCall::current();
	if (st.cause() == base::Cause::NotSent)
		lost = {LostCall::Kind::NotSent, c.generation(), false};
	else if (st.cause() != base::Cause::TimedOut && c.failed())
		lost = {LostCall::Kind::InFlight, c.generation(), false};
	else
		return false;
	return true;
}

Status Client::lost(const CallTarget &target, Status st, bool agent_lost)
{
	if (!agent_lost || pool_->size() < 2)
		return logged(target, std::move(st));
	// In a pool the session moves and the call may run again
	// (failover.h), which logs what becomes of it.
	vaccel_debug("[rpc] %.*s: %s", static_cast<int>(target.method.size()),
		     target.method.data(), st.message().c_str());
	return st;
}

Status Client::refused_by(const Connection &c, Status st)
{
	const bool draining = st.cause() == base::Cause::Draining;
	if (draining)
		LostCall::current() = {LostCall::Kind::NotSent, c.generation(),
				       true};
	if (draining && pool_->size() >= 2) {
		// Not run: the session moves and the call runs elsewhere
		// (failover.h).
		vaccel_debug("[rpc] agent %s: %s",
			     pool_->name_of(c.generation()).c_str(),
			     st.message().c_str());
		return st;
	}
	return refused(pool_->name_of(c.generation()), std::move(st));
}

Result<std::shared_ptr<Connection>> Client::shm_connection(uint64_t generation)
{
	if (!cfg_.shm)
		return Status(VACCEL_ENOTSUP, "shared memory is disabled");
	auto conn = connection(generation);
	if (!conn)
		return conn.status();
	const Features &f = conn.value()->features();
	if (!f.shm && !f.sandbox_shm)
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
	const Features &f = conn.value()->features();
	// The sandbox memory has one name on every connection that mapped
	// it.
	if (fd < 0) {
		if (!f.sandbox_shm)
			return Status(VACCEL_ENOTSUP,
				      "the agent did not map the sandbox "
				      "memory on this connection");
		return transport::kSandboxRegion;
	}
	if (!f.shm)
		return Status(VACCEL_ENOTSUP,
			      "memfds reach an agent on a unix socket only");
	return conn.value()->shm().arena_region(
	    block, fd, size, transport::deadline_in(cfg_.call_timeout));
}

Result<Features> Client::features(uint64_t generation)
{
	auto conn = connection(generation);
	if (!conn)
		return conn.status();
	return conn.value()->features();
}

Result<ShmLease> Client::lease_shm(uint64_t generation, size_t size)
{
	auto conn = shm_connection(generation);
	if (!conn)
		return conn.status();
	// What cannot fit the sandbox memory is not tried: the allocation
	// would come from the heap, only to be given back.
	if (conn.value()->features().sandbox_shm && device_ &&
	    size > device_->size() - transport::kSandboxHeaderSize)
		return Status::error(VACCEL_EBUSY,
				     "%zu bytes do not fit the sandbox memory",
				     size);
	auto buf = conn.value()->shm().take_region(
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
	auto parse = [reply](std::span<const uint8_t> p) {
		if (reply != nullptr &&
		    !reply->ParseFromArray(p.data(),
					   static_cast<int>(p.size())))
			return Status(VACCEL_EREMOTEIO,
				      "malformed response payload");
		return Status::ok();
	};
	// Most requests are a few dozen bytes: serialized on the stack, not
	// in a string allocated for each call.
	const size_t size = req.ByteSizeLong();
	if (size > static_cast<size_t>(std::numeric_limits<int>::max()))
		return logged(target,
			      Status(VACCEL_EINVAL, "cannot encode request"));
	std::array<uint8_t, kStackRequest> stack;
	std::string heap;
	uint8_t *buf = stack.data();
	if (size > stack.size()) {
		try {
			heap.resize(size);
		} catch (const std::bad_alloc &) {
			return logged(target,
				      Status(VACCEL_ENOMEM,
					     "out of memory encoding request"));
		}
		buf = reinterpret_cast<uint8_t *>(heap.data());
	}
	[[maybe_unused]] const uint8_t *end =
	    req.SerializeWithCachedSizesToArray(buf);
	assert(end == buf + size);
	return send(timed, target, std::span<const uint8_t>(buf, size), parse,
		    used_generation, detail);
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
		return lost(target, conn.status(), target.generation != 0);
	Connection &c = *conn.value();
	Endpoint *agent = pool_->endpoint(c.generation());
	Result<ReplyBytes> bytes = [&] {
		const InFlight counted(agent);
		return exchange(timed, c, cfg_, target, payload);
	}();
	if (!bytes)
		return lost(target, bytes.status(),
			    note_failure(c, bytes.status()));
	std::span<const uint8_t> reply;
	if (Status st = reply_payload(bytes.value().bytes(), &reply, detail);
	    !st) {
		return refused_by(c, std::move(st));
	}
	if (Status st = on_reply(reply); !st)
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
		return lost(target, conn.status(), target.generation != 0);
	Connection &c = *conn.value();
	if (!c.features().chunked) {
		*unsupported = true;
		return Status::ok();
	}
	size_t total = 0;
	for (auto p : pieces)
		total += p.size();
	if (total > cfg_.max_message)
		return logged(target, too_large(total, cfg_.max_message));
	Endpoint *agent = pool_->endpoint(c.generation());
	Result<ReplyBytes> bytes = [&] {
		const InFlight counted(agent);
		return send_chunked(timed, c, cfg_, target, pieces,
				    transport::deadline_in(cfg_.call_timeout));
	}();
	if (!bytes)
		return lost(target, bytes.status(),
			    note_failure(c, bytes.status()));
	std::span<const uint8_t> reply;
	if (Status st = reply_payload(bytes.value().bytes(), &reply, nullptr);
	    !st) {
		return refused_by(c, std::move(st));
	}
	if (Status st = on_reply(reply); !st)
		return logged(target, st);
	return Status::ok();
}

} // namespace vaccel::rpc_plugin
