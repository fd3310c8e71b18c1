// SPDX-License-Identifier: Apache-2.0
// The server's private types, shared by the files that implement it:
//   server.cpp       lifecycle: listening, accepting, admitting, stopping
//   frame_reader.cpp a connection's reader: deadlines, frames, slots
//   call_streams.cpp chunked calls and GenopStream reassembly
//   dispatch.cpp     queueing requests, running them, sending replies
#pragma once

#include "server.h"

#include "audit.h"
#include "reply_queue.h"
#include "sandbox_memory.h"

#include "rpc/genop.pb.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace vaccel::agent
{

using transport::Frame;
using transport::FrameHeader;
using transport::MsgType;

// Memory a large call holds against the agent's Limits::max_buffered and
// its tenant's buffered_bytes quota (so that one tenant cannot take the
// whole budget); given back when the call is done, refused or stalled.
class Server::Reservation
{
public:
	Reservation() = default;
	Reservation(Server *s, Tenant *t, ConnId conn)
	    : server_(s), tenant_(t), conn_(conn)
	{
	}
	Reservation(Reservation &&o) noexcept
	    : server_(o.server_), tenant_(o.tenant_), conn_(o.conn_),
	      bytes_(std::exchange(o.bytes_, 0)), charge_(std::move(o.charge_))
	{
	}
	Reservation &operator=(Reservation &&o) noexcept
	{
		if (this != &o) {
			release();
			server_ = o.server_;
			tenant_ = o.tenant_;
			conn_ = o.conn_;
			bytes_ = std::exchange(o.bytes_, 0);
			charge_ = std::move(o.charge_);
		}
		return *this;
	}
	Reservation(const Reservation &) = delete;
	Reservation &operator=(const Reservation &) = delete;
	~Reservation() { release(); }

	RpcStatus grow(uint64_t n)
	{
		if (!server_->service_.reserve(n))
			return RpcStatus::exhausted(
			    "agent busy: %llu bytes of large calls already "
			    "buffered",
			    static_cast<unsigned long long>(
				server_->service_.buffered()));
		if (tenant_ != nullptr) {
			RpcStatus st = charge(n);
			if (!st.is_ok()) {
				server_->service_.unreserve(n);
				return st;
			}
		}
		bytes_ += n;
		return RpcStatus::ok();
	}
	void release() noexcept
	{
		charge_.reset();
		if (server_ != nullptr && bytes_ > 0)
			server_->service_.unreserve(std::exchange(bytes_, 0));
	}
	[[nodiscard]] uint64_t bytes() const noexcept { return bytes_; }

private:
	RpcStatus charge(uint64_t n)
	{
		if (charge_.amount() == 0)
			return Charge::take(*tenant_, Limit::BufferedBytes, n,
					    "chunked call", conn_, &charge_);
		if (charge_.grow(n))
			return RpcStatus::ok();
		return RpcStatus::exhausted(
		    "tenant %s: quota buffered_bytes (%llu) reached",
		    tenant_->name().c_str(),
		    static_cast<unsigned long long>(
			tenant_->cap(Limit::BufferedBytes)));
	}

	Server *server_ = nullptr;
	Tenant *tenant_ = nullptr;
	ConnId conn_ = 0;
	uint64_t bytes_ = 0;
	Charge charge_;
};

// A client-streaming call being reassembled (reader thread only).
struct Server::Inbound {
	enum class Kind { Genop, Call } kind = Kind::Call;
	Reservation held;
	bool failed = false; // refused: swallow its data until it closes
	// When its last frame came: a call that stops making progress is
	// dropped after ServerOptions::read_timeout, its budget released.
	std::chrono::steady_clock::time_point progress;
	// Call: the message's bytes, allocated once at its announced size
	// (not zeroed: pages become memory as the bytes arrive) and filled
	// by the reader straight from the socket.
	std::string service, method;
	uint64_t expected = 0;
	uint64_t got = 0;
	std::unique_ptr<uint8_t[]> bytes;
	// Genop (upstream's parts: an arg split over several messages)
	rpc::genop::Request genop;
	rpc::genop::Arg read_part, write_part;
	uint32_t read_next = 1, write_next = 1;
};

// One unit of work for the pool.
struct Server::Job {
	enum class Kind { Frame, Call, Genop } kind = Kind::Frame;
	uint32_t stream_id = 0;
	transport::Frame frame; // Frame
	// Frame: its envelope, read once when queued (views into `frame`);
	// `parsed` false when it did not parse.
	transport::codec::RequestView request;
	bool parsed = false;
	std::string service, method; // Call: the reassembled inner request
	std::unique_ptr<uint8_t[]> bytes;
	size_t size = 0;
	rpc::genop::Request genop; // Genop
	Reservation held;
	// The tenant's concurrent-call quota, held from the moment the job
	// is queued until it is done (a queued call occupies as much as a
	// running one: the queue is what one tenant can fill).
	Charge call;
	// When it was queued: a call whose client's timeout (the envelope's
	// timeout_nano) passed before a worker took it is not run.
	std::chrono::steady_clock::time_point queued;
	// When the reader stopped polling for it, and when it was read
	// whole (traced requests only).
	std::chrono::steady_clock::time_point arrived, read;
	// Taken from a request slot in shared memory, not read off the
	// socket.
	bool via_slot = false;
};

struct Server::Conn {
	Conn(ConnId i, transport::Stream s, bool shm,
	     std::atomic<uint64_t> *region_counter, HostMemoryPinner *pinner,
	     const ReplyQueue::Options &out_opts)
	    : id(i), stream(std::move(s)), local(shm),
	      regions(region_counter, {}, pinner),
	      out(stream, out_opts, [this](const std::string &why) {
		      vaccel_warn("agent: connection %llu: %s; closing it",
				  static_cast<unsigned long long>(id),
				  why.c_str());
		      close_down();
	      })
	{
	}

	const ConnId id;
	uint64_t tag = 0; // the agent process's id for it (Server::adopt)
	transport::Stream stream;
	// Who the connection acts for, and its share of that tenant's
	// connection quota (given back when the reader ends).
	Tenant *tenant = nullptr;
	Charge quota;
	// Holds a place under the agent-wide connection cap (a TLS
	// connection only once its handshake succeeded).
	bool holds_connection = false;
	// A unix-socket peer: descriptors are accepted and the
	// shared-memory plane is offered.
	const bool local;
	// The memory of its sandbox, which it may map (null: none).
	std::shared_ptr<SandboxMemory> sandbox;
	RegionTable regions;
	std::unordered_map<uint32_t, Inbound> inbound; // reader thread only
	// The highest stream id a Request frame on the socket has opened
	// (reader thread only): ttrpc ids never go back.
	uint32_t last_request = 0;
	// Replies waiting for the socket (workers never wait for it).
	ReplyQueue out;
	// When the last frame or slot request came (reader thread only).
	std::chrono::steady_clock::time_point active =
	    std::chrono::steady_clock::now();
	// In-flight accounting, for the reader's back-pressure.
	std::mutex mu;
	std::condition_variable cv;
	size_t in_flight = 0;
	std::atomic<bool> closing{false};
	// The peer sent AgentAdmin/Hello: our client, which moves its
	// sessions when the agent drains (drain.h).
	std::atomic<bool> extended{false};
	// `inbound` holds a call being streamed in (the reader's copy, for
	// Server::quiet()).
	std::atomic<bool> streaming{false};
	PooledThread reader;           // on ThreadCache::connections()
	std::atomic<bool> done{false}; // reader finished; may be joined
	// Smoothed wait for the next frame, ns (reader thread only).
	int64_t read_wait_ns = 0;
	// The reader's copy of the request slots it watches
	// (RegionTable::slots(); reader thread only).
	RegionTable::Slots slots;
	uint64_t slots_version = 0;
	size_t next_slot = 0; // where the next look at the slots starts

	// Wakes every thread blocked on this connection; the fd stays open
	// until the last job holding the connection lets go.
	void close_down() noexcept
	{
		closing = true;
		out.close(); // its queued replies are dropped
		stream.shutdown();
		std::lock_guard lock(mu);
		cv.notify_all();
	}
};

inline rpc::ttrpc::Response error_response(const RpcStatus &st)
{
	rpc::ttrpc::Response r;
	set_status(r, st);
	return r;
}

} // namespace vaccel::agent
