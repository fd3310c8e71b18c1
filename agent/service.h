// SPDX-License-Identifier: Apache-2.0
// The agent's request service: it turns one decoded ttrpc Request into one
// ttrpc Response by running the named method against the vAccel C API. It
// knows nothing of sockets or threads (the server, server.h, feeds it), so
// tests drive it in-process, one call per request.
#pragma once

#include "metrics.h"
#include "model_cache.h"
#include "objects.h"
#include "rpc_status.h"
#include "session_dirs.h"
#include "shm.h"
#include "tenant.h"

#include "rpc/genop.pb.h"
#include "rpc/ttrpc.pb.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vaccel::agent
{

// Our extension service (docs/protocol.md); never used by upstream peers.
inline constexpr std::string_view kServiceAdmin = transport::kServiceAdmin;

// Bounds on what one request may ask for. A request or reply travels in
// one frame (max_frame) unless the peer uses chunked calls, which raise the
// bound to max_message.
struct Limits {
	uint32_t max_frame = transport::kDefaultMaxFrame;
	uint64_t max_message = uint64_t{1} << 30;
	// Bytes all chunked calls together may hold (reassembly and run).
	uint64_t max_buffered = uint64_t{2} << 30;
	// Our protocol extensions (Hello, AgentData); off makes the agent
	// answer like upstream's, for interoperability tests.
	bool extensions = true;
	size_t max_args = 1024;    // genop read or write args
	size_t max_blobs = 1024;   // blobs or paths of one resource
	size_t max_tensors = 1024; // tensors / nodes in or out
	size_t max_dims = 64;      // dimensions of one tensor
	size_t max_name = 255;     // a blob's file name (NAME_MAX)
	size_t max_metadata = 64;  // ttrpc metadata entries of a request
};

class Service;
class SandboxMemory;

// A request's vAccel op calls, as the request trace sees them: their
// summed time, and when the first began and the last ended (for lining the
// agent's timeline up with the client's).
struct OpTiming {
	using Clock = std::chrono::steady_clock;
	std::chrono::nanoseconds total{0};
	Clock::time_point first, last;
};

// What the transport knows about one request.
struct CallInfo {
	// The connection's shared-memory regions; null unless the peer is on
	// a unix socket or its sandbox has memory of its own.
	RegionTable *regions = nullptr;
	// The peer is on a unix socket: descriptors come with its requests
	// and the memfd plane is offered.
	bool local = false;
	// The memory of the connection's sandbox (sandbox_memory.h); null
	// when it has none.
	const SandboxMemory *sandbox = nullptr;
	// Descriptors that arrived with the request frame (MapRegion).
	std::vector<transport::UniqueFd> *fds = nullptr;
	// The largest reply payload the transport can carry back: max_frame
	// for plain calls, max_message for chunked ones (0: max_frame).
	uint64_t reply_limit = 0;
	// Where the handler adds the time of its vAccel op call (the request
	// trace); null when nobody asks.
	OpTiming *op_time = nullptr;
	// Who the connection acts for (tenant.h); null: the service's "local"
	// tenant, for in-process callers.
	Tenant *tenant = nullptr;
	// Where the service notes the method it ran and the handlers the
	// shared-memory bytes they used (metrics.h); null when calls are not
	// counted.
	metrics::CallSample *sample = nullptr;
};

// What a handler sees of the request besides its message.
struct Context {
	Service &service;
	ObjectTable &objects;
	const Limits &limits;
	ConnId conn;
	const CallInfo &call;
	Tenant &tenant;

	[[nodiscard]] uint64_t reply_limit() const noexcept
	{
		return call.reply_limit != 0 ? call.reply_limit
					     : limits.max_frame;
	}
};

class Service
{
public:
	explicit Service(Limits limits = {}, Policy policy = {})
	    : limits_(limits), tenants_(std::move(policy)),
	      cache_(tenants_.policy().model_cache_bytes,
		     tenants_.policy().public_models)
	{
	}
	Service(const Service &) = delete;
	Service &operator=(const Service &) = delete;

	// A connection's objects can be created only between these two calls;
	// closing releases everything the connection still owns.
	void open_connection(ConnId conn) { objects_.open_connection(conn); }
	// A connection id no other connection of this service has: several
	// listeners (one per tenant or sandbox) may share one service.
	ConnId next_connection_id() noexcept
	{
		return next_conn_.fetch_add(1, std::memory_order_relaxed) + 1;
	}
	void close_connection(ConnId conn) { objects_.close_connection(conn); }
	// Releases every object of every connection (shutdown).
	void clear()
	{
		objects_.clear();
		cache_.clear();
	}

	// Runs one request for connection @p conn. Never throws: malformed
	// payloads, unknown methods and failing calls all become a status.
	rpc::ttrpc::Response handle(ConnId conn, const rpc::ttrpc::Request &req,
				    const CallInfo &call = {}) noexcept;
	// The same for a request whose message bytes lie elsewhere (a
	// reassembled chunked call).
	rpc::ttrpc::Response handle(ConnId conn, std::string_view service,
				    std::string_view method,
				    std::span<const uint8_t> payload,
				    const CallInfo &call = {}) noexcept;
	// Runs an already assembled genop (upstream's client-streaming
	// GenopStream, put together by the server from its parts).
	rpc::ttrpc::Response handle_genop(ConnId conn, rpc::genop::Request &req,
					  const CallInfo &call = {}) noexcept;

	// What a call of @p method on @p service is counted under (calls
	// answered before the service runs them).
	[[nodiscard]] metrics::MethodId
	method_id(std::string_view service, std::string_view method) const;

	[[nodiscard]] const Limits &limits() const noexcept { return limits_; }
	[[nodiscard]] uint64_t requests_served() const noexcept
	{
		return requests_.load(std::memory_order_relaxed);
	}
	TableStats stats() { return objects_.stats(); }
	TenantRegistry &tenants() noexcept { return tenants_; }
	// The connections' objects (admin tools and tests).
	ObjectTable &objects() noexcept { return objects_; }
	ModelCache &model_cache() noexcept { return cache_; }
	// The next session's run directory, made ahead (session_dirs.h).
	SessionDirPreparer &session_dirs() noexcept { return session_dirs_; }

	// Memory accounting of chunked calls against Limits::max_buffered.
	bool reserve(uint64_t bytes) noexcept;
	void unreserve(uint64_t bytes) noexcept
	{
		buffered_.fetch_sub(bytes, std::memory_order_relaxed);
	}
	[[nodiscard]] uint64_t buffered() const noexcept
	{
		return buffered_.load(std::memory_order_relaxed);
	}
	// Shared-memory regions mapped (RegionTable keeps it current).
	std::atomic<uint64_t> &regions_mapped() noexcept { return regions_; }
	// Replies delivered through reply slots (the server counts them).
	std::atomic<uint64_t> &slot_replies() noexcept { return slot_replies_; }
	// Requests taken from request slots (the server counts them).
	std::atomic<uint64_t> &slot_requests() noexcept
	{
		return slot_requests_;
	}

private:
	Tenant &tenant_of(const CallInfo &call)
	{
		return call.tenant != nullptr ? *call.tenant : tenants_.local();
	}
	template <class Fn>
	rpc::ttrpc::Response run(ConnId conn, std::string_view method,
				 Fn &&fn) noexcept;

	Limits limits_;
	// Before objects_: objects hold charges against their tenant.
	TenantRegistry tenants_;
	// Between the two: cached models hold charges, and sessions hold
	// cached models.
	ModelCache cache_;
	ObjectTable objects_;
	std::atomic<uint64_t> requests_{0};
	std::atomic<ConnId> next_conn_{0};
	std::atomic<uint64_t> buffered_{0};
	std::atomic<uint64_t> regions_{0};
	std::atomic<uint64_t> slot_replies_{0};
	std::atomic<uint64_t> slot_requests_{0};
	SessionDirPreparer session_dirs_;
};

// Fills @p resp.status from @p st (code, message and, for vAccel failures,
// upstream's error detail).
void set_status(rpc::ttrpc::Response &resp, const RpcStatus &st);

} // namespace vaccel::agent
