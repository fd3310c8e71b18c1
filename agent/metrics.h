// SPDX-License-Identifier: Apache-2.0
// The agent's call counters (vaccel-agent --metrics; docs/observability.md):
// per tenant, per method, what every served call adds: its count by status
// code, its latency in fixed histogram buckets, the worker time it took,
// and the bytes it moved per data path and direction.
//
// Recording is on every call's path, so it is a handful of relaxed atomic
// additions into memory the tenant already owns: no lock, no allocation,
// no lookup by name (the method is an index the dispatch table gives).
// Counters are per tenant, not per thread: every call already takes and
// gives back its tenant's concurrent-call charge (tenant.h), one shared
// cache line per tenant, so sharding these would not spare the tenant's
// threads a shared line.
//
// The layout is fixed and every field an always-lock-free atomic, so that
// a tenant's worker process (--isolate-tenants) can keep its counters in
// memory the agent maps too (worker_report.h), and a dead worker's last
// values can be added into the agent's (fold()).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

namespace vaccel::agent
{
class WorkerPool;
}

namespace vaccel::agent::metrics
{

// What a call is counted under: the methods the agent serves, and Other for
// any name it does not know. A label value is always one of these names,
// never a string a client sent.
enum class MethodId : uint8_t {
	CreateSession,
	UpdateSession,
	DestroySession,
	RegisterResource,
	UnregisterResource,
	SyncResource,
	ImageClassification,
	TensorflowModelLoad,
	TensorflowModelUnload,
	TensorflowModelRun,
	TensorflowLiteModelLoad,
	TensorflowLiteModelUnload,
	TensorflowLiteModelRun,
	TorchModelLoad,
	TorchModelRun,
	Genop,
	GetProfiler,
	GenopStream,
	Stats,
	Plugins, // AgentAdmin/Plugins
	Hello,
	MapRegion,
	UnmapRegion,
	GenopShm,
	TorchModelRunShm,
	RegisterCachedResource,
	MapSandboxMemory,
	Other,
	Count,
};
inline constexpr size_t kMethods = static_cast<size_t>(MethodId::Count);

// The label value of @p m ("Genop", ..., "other").
std::string_view method_name(MethodId m) noexcept;
// The id of the method called @p name; Other for a name not served.
MethodId method_id(std::string_view name) noexcept;

// The op a genop runs (vaccel_op_type_t: noop, sgemm, exec, ...): a Genop,
// GenopShm or GenopStream call is counted under its method and, once the
// agent has read its op, under that op too. Label values are the runtime's
// fixed op names, never a string a client sent.
inline constexpr size_t kGenopOps = 24; // VACCEL_OP_MAX (metrics.cpp)
inline constexpr uint8_t kNoOp = 0xff;  // CallSample::op of other calls
// The label value of op @p op ("noop", "image_classify", ...).
std::string_view op_name(size_t op) noexcept;

// gRPC status codes 0..16 (the agent sends a subset); anything else is
// counted as UNKNOWN (2).
inline constexpr size_t kCodes = 17;
std::string_view code_name(size_t code) noexcept;

// Upper bounds of the latency buckets, in nanoseconds: from a local noop
// round trip to a large model, and +Inf after the last.
inline constexpr std::array<uint64_t, 18> kLatencyBoundsNs = {
    25'000,        50'000,        100'000,       250'000,     500'000,
    1'000'000,     2'500'000,     5'000'000,     10'000'000,  25'000'000,
    50'000'000,    100'000'000,   250'000'000,   500'000'000, 1'000'000'000,
    2'500'000'000, 5'000'000'000, 10'000'000'000};
inline constexpr size_t kBuckets = kLatencyBoundsNs.size() + 1;
// The bucket @p ns falls in (the first whose bound is >= @p ns).
size_t bucket_of(uint64_t ns) noexcept;

// Where a call's bytes travelled, and which way: the socket, shared memory
// the client copied them into (slots, leased regions), or shared memory its
// program keeps them in (MapRegion.client_memory: no copy on either side).
enum class Path : uint8_t { Socket, Shm, ShmInPlace, Count };
enum class Direction : uint8_t { In, Out, Count };
inline constexpr size_t kPaths = static_cast<size_t>(Path::Count);
inline constexpr size_t kDirections = static_cast<size_t>(Direction::Count);
std::string_view path_name(Path p) noexcept;
std::string_view direction_name(Direction d) noexcept;

using Counter = std::atomic<uint64_t>;
static_assert(Counter::is_always_lock_free,
	      "the counters are shared with worker processes");

struct MethodCounters {
	std::array<Counter, kCodes> calls{};
	// Not cumulative: each call adds to its own bucket only (the text
	// exposition sums them).
	std::array<Counter, kBuckets> buckets{};
	Counter latency_ns{0}; // queued -> reply written, all calls
	Counter busy_ns{0};    // a worker in the handler, all calls
};

struct TenantCounters {
	std::array<MethodCounters, kMethods> methods{};
	std::array<MethodCounters, kGenopOps> ops{}; // genops, by op
	std::array<std::array<Counter, kDirections>, kPaths> bytes{};
};

// One call, as the server saw it.
struct CallSample {
	MethodId method = MethodId::Other;
	uint8_t op = kNoOp; // a genop's op, once read (kGenopOps)
	int32_t code = 0;   // gRPC
	uint64_t latency_ns = 0;
	uint64_t busy_ns = 0;
	// [Path][Direction]: request bytes in, reply bytes out.
	std::array<std::array<uint64_t, kDirections>, kPaths> bytes{};

	void add_bytes(Path p, Direction d, uint64_t n) noexcept
	{
		bytes[static_cast<size_t>(p)][static_cast<size_t>(d)] += n;
	}
};

// Adds @p s to @p c.
void record(TenantCounters &c, const CallSample &s) noexcept;

// The same numbers in plain integers, for reading and adding up.
struct MethodSnapshot {
	std::array<uint64_t, kCodes> calls{};
	std::array<uint64_t, kBuckets> buckets{};
	uint64_t latency_ns = 0;
	uint64_t busy_ns = 0;
};
struct TenantSnapshot {
	std::array<MethodSnapshot, kMethods> methods{};
	std::array<MethodSnapshot, kGenopOps> ops{};
	std::array<std::array<uint64_t, kDirections>, kPaths> bytes{};
};

// Adds what @p c holds now into @p out. Each counter is read once, so the
// buckets read are consistent with each other (their sum is the count),
// though not with calls recorded meanwhile.
void add_snapshot(const TenantCounters &c, TenantSnapshot *out) noexcept;
// Adds @p s into @p c: a dead worker's last values kept by the agent, so
// that a tenant's counters never go back when its worker is replaced.
void fold(TenantCounters &c, const TenantSnapshot &s) noexcept;

// The request queues of the servers that count their calls, for the
// queue-depth gauge: a server adds its worker pool while it runs.
class Queues
{
public:
	void add(const WorkerPool *pool);
	void remove(const WorkerPool *pool);
	// Requests waiting for a worker, all queues together.
	uint64_t depth();

private:
	std::mutex mu_;
	std::vector<const WorkerPool *> pools_;
};

} // namespace vaccel::agent::metrics
