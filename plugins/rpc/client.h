// SPDX-License-Identifier: Apache-2.0
// The rpc plugin's client: one ttrpc connection per agent, shared by every
// session of the process placed on that agent and multiplexed. With several
// agents (a pool, pool.h) each session sticks to the agent it was placed on;
// failover.h moves it when that agent goes away.
//
// Why one shared connection: the agent ties sessions and resources to the
// connection that created them (and releases them when it closes), so a
// resource registered with two sessions must travel on one connection, and
// per-session connections would cost a socket and a thread each.
//
// How calls share it: each call takes the next odd stream id, sends its
// request frame under a write lock and waits for the response with its
// stream id. One waiting call at a time reads the socket and routes every
// response to the call it belongs to (leader/follower: the lone caller of a
// single-threaded program reads its own reply, with no thread hand-off), so
// any number of calls are in flight and complete in any order.
//
// Failures: the connection is made lazily, by the first call that needs
// one. Any transport error (peer closed, bad frame, failed write) drops it:
// every waiting call fails with VACCEL_EIO, and the next call that may open
// a new connection does (an agent restart). Objects the agent held for the
// old connection are gone with it, so each session and resource remembers
// the generation of the connection it was created on, and calls for a lost
// generation fail with VACCEL_EIO instead of reaching an unrelated object
// that happens to reuse the id on the new connection (in a pool, such a
// failure is noted as a LostCall and the session moves: failover.h). A call
// that times out fails alone: its late reply, if any, is dropped; the
// connection stays, because dropping it would destroy every session of the
// process on the agent.
#pragma once

#include "config.h"
#include "fn_ref.h"

#include "rpc/common.pb.h"
#include "transport/trace_file.h"
#include "transport/transport.h"

#include <google/protobuf/message_lite.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

namespace vaccel::rpc_plugin
{

using base::Result;
using base::Status;

class Connection;
class Pool;
class SandboxDevice;
struct ShmBuffer;

// A shared-memory region of the current connection, leased for one call
// (shm_pool.h: a small pool per connection). Returned on destruction.
class ShmLease
{
public:
	ShmLease() = default;
	ShmLease(std::shared_ptr<Connection> conn,
		 std::shared_ptr<ShmBuffer> buf);
	ShmLease(ShmLease &&) noexcept = default;
	ShmLease &operator=(ShmLease &&) noexcept = default;
	ShmLease(const ShmLease &) = delete;
	ShmLease &operator=(const ShmLease &) = delete;
	~ShmLease();

	[[nodiscard]] uint32_t region() const noexcept;
	// Where data() lies in the region.
	[[nodiscard]] uint64_t offset() const noexcept;
	[[nodiscard]] uint8_t *data() const noexcept;
	[[nodiscard]] size_t size() const noexcept;

private:
	std::shared_ptr<Connection> conn_;
	std::shared_ptr<ShmBuffer> buf_;
};

// What the agent of the current connection supports beyond upstream's
// protocol (AgentAdmin/Hello; none for an upstream agent).
struct Features {
	bool chunked = false;
	bool shm = false;
	bool reply_slots = false;   // with shm only
	bool request_slots = false; // with reply_slots only
	bool model_cache = false;
	// The VM's sandbox memory is mapped on this connection as region
	// transport::kSandboxRegion (AgentData/MapSandboxMemory).
	bool sandbox_shm = false;
};

// What a call needs besides its messages.
struct CallTarget {
	std::string_view method;
	// 0: the connection of the agent placement picks for a new session.
	// Otherwise the generation the caller's objects live on: the call
	// fails with VACCEL_EIO unless that connection is still up.
	uint64_t generation = 0;
	std::string_view service = transport::kServiceSync;
};

// The client's half of a request trace (VACCEL_RPC_TRACE=FILE; the agent's
// half is vaccel-agent --trace): one line per op with its whole time in the
// plugin, the time inside Client calls (encoding, the round trip, decoding)
// and within that the round trips alone (request written to reply read).
// The rest of an op's time is the plugin's own work around the calls, such
// as copying inputs into shared memory and building output tensors.
struct CallTimes {
	uint32_t calls = 0;
	std::chrono::nanoseconds call{0}, wire{0};
	std::string_view method; // of the op's last call
	// The last round trip's start and end on the monotonic clock, which
	// the agent's trace uses too, and the CPUs the caller ran on then:
	// lined up with the agent's trace, they split the round trip into
	// the request's way there and the reply's way back.
	std::chrono::steady_clock::time_point wire_start, wire_end;
	int cpu_start = -1, cpu_end = -1;
	// The last reply came through a reply slot, not the socket.
	bool slot = false;
};

class CallTrace
{
public:
	// Opens @p path ("-": stderr) and writes the header; logs and stays
	// off if it cannot.
	void open(const std::string &path) noexcept;
	void close() noexcept { file_.close(); }
	[[nodiscard]] bool enabled() const noexcept { return file_.enabled(); }
	void record(const char *op, int rc, std::chrono::nanoseconds total,
		    const CallTimes &t) noexcept;

	// The calling thread's timings of the op it is running.
	static CallTimes &current() noexcept;

private:
	transport::TraceFile file_;
};

class CallTimer; // call_timer.h

// How the calling thread's last call lost its agent, for the op runner
// (failover.h), which clears it before each try. Set by Client when a call
// fails because its agent's connection is gone, failed under it, or the
// agent drains; left alone by failures of the op itself.
struct LostCall {
	enum class Kind : uint8_t {
		None,
		// The agent never got the request, or refused it unrun
		// (draining): safe to send anywhere.
		NotSent,
		// The connection failed while the call was in flight: the
		// agent may have run it.
		InFlight,
	};
	Kind kind = Kind::None;
	uint64_t generation = 0;
	bool draining = false;

	static LostCall &current() noexcept;
};

class Client
{
public:
	// Receives a reply's payload where it lies in the reply buffer.
	using ReplyFn = FnRef<Status(std::span<const uint8_t>)>;

	// @p device: the VM's sandbox memory, offered to the agent on every
	// connection (null: none).
	explicit Client(Config cfg,
			std::shared_ptr<const SandboxDevice> device = nullptr);
	Client(const Client &) = delete;
	Client &operator=(const Client &) = delete;
	// Closes the connection; calls must have returned.
	~Client();

	// Sends @p req to @p target and parses the reply's payload into
	// @p reply (may be NULL). On success *@p used_generation (may be NULL)
	// is the generation of the connection used. On failure the Status
	// carries the vAccel code (docs/protocol.md, "Errors") and the
	// failure has been logged once; for a vAccel error whose detail holds
	// a framework status, *@p detail (may be NULL) receives it.
	Status call(const CallTarget &target,
		    const google::protobuf::MessageLite &req,
		    google::protobuf::MessageLite *reply,
		    uint64_t *used_generation = nullptr,
		    std::optional<rpc::Status> *detail = nullptr);

	// As call(), for a request message already serialized (@p payload,
	// sent from where it lies) and a reply payload handed to @p on_reply
	// where it lies: for callers that encode and decode by hand
	// (transport/codec.h). A failure @p on_reply returns is logged.
	Status call_bytes(const CallTarget &target,
			  std::span<const uint8_t> payload, ReplyFn on_reply,
			  uint64_t *used_generation = nullptr,
			  std::optional<rpc::Status> *detail = nullptr);

	[[nodiscard]] const Config &config() const noexcept { return cfg_; }
	[[nodiscard]] CallTrace &trace() noexcept { return trace_; }
	[[nodiscard]] Pool &pool() noexcept { return *pool_; }

	// A chunked call whose request message is the concatenation of
	// @p pieces, sent from where they lie (no copy), and whose reply
	// payload is handed to @p on_reply where it lies in the reply buffer.
	// When the agent takes no chunked calls nothing is sent and
	// *@p unsupported is set: the caller then uses call().
	Status call_gather(
	    const CallTarget &target,
	    std::span<const std::span<const uint8_t>> pieces,
	    const std::function<Status(std::span<const uint8_t>)> &on_reply,
	    bool *unsupported);

	// A region of at least @p size bytes on the connection of
	// @p generation (a memfd region, or a piece of the sandbox memory),
	// or an error when the plane is off, unsupported by the agent or the
	// transport, or the region cannot be made (the caller then uses the
	// socket).
	Result<ShmLease> lease_shm(uint64_t generation, size_t size);
	// What the agent of the connection of @p generation supports.
	Result<Features> features(uint64_t generation);
	// The region id, on the connection of @p generation, of block
	// @p block (memfd @p fd, @p size bytes) of vAccel's shared tensor
	// memory (vaccel_shared_memory_find()), mapped on the agent at first
	// use; an error when the plane is off or unsupported there. @p fd -1:
	// the sandbox memory (adopted device memory), named on connections
	// that mapped it.
	Result<uint32_t> arena_region(uint64_t generation, uint64_t block,
				      int fd, size_t size);

private:
	Status send(const CallTimer &timed, const CallTarget &target,
		    std::span<const uint8_t> payload, ReplyFn on_reply,
		    uint64_t *used_generation,
		    std::optional<rpc::Status> *detail);
	// The connection of @p generation, or of a newly placed session for 0
	// (pool.h); a connection that is gone is noted as a lost call.
	Result<std::shared_ptr<Connection>> connection(uint64_t generation);
	// The connection of @p generation, when the shared-memory plane may
	// be used on it (VACCEL_ENOTSUP otherwise).
	Result<std::shared_ptr<Connection>> shm_connection(uint64_t generation);
	// A failed exchange on @p c: notes a lost call when the connection
	// failed under it (not for a timeout: the agent is alive), and says
	// whether it did.
	bool note_failure(const Connection &c, const Status &st);
	// A failed call: logged, or in a pool, when it lost its agent
	// (@p agent_lost), left to failover, which logs what becomes of it.
	Status lost(const CallTarget &target, Status st, bool agent_lost);
	// A failure the agent of @p c answered with: logged with its name;
	// a draining agent's refusal is noted as a lost call.
	Status refused_by(const Connection &c, Status st);

	const Config cfg_;
	const std::shared_ptr<const SandboxDevice> device_;
	CallTrace trace_;
	std::unique_ptr<Pool> pool_;
};

} // namespace vaccel::rpc_plugin
