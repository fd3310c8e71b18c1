// SPDX-License-Identifier: Apache-2.0
#include "metrics.h"

#include "worker_pool.h"

#include <vaccel.h>

#include <algorithm>
#include <cctype>
#include <string>

namespace vaccel::agent::metrics
{

static_assert(kGenopOps == VACCEL_OP_MAX, "one genop counter per op type");

namespace
{

constexpr std::array<std::string_view, kMethods> kMethodNames = {
    "CreateSession",
    "UpdateSession",
    "DestroySession",
    "RegisterResource",
    "UnregisterResource",
    "SyncResource",
    "ImageClassification",
    "TensorflowModelLoad",
    "TensorflowModelUnload",
    "TensorflowModelRun",
    "TensorflowLiteModelLoad",
    "TensorflowLiteModelUnload",
    "TensorflowLiteModelRun",
    "TorchModelLoad",
    "TorchModelRun",
    "Genop",
    "GetProfiler",
    "GenopStream",
    "Stats",
    "Plugins",
    "Hello",
    "MapRegion",
    "UnmapRegion",
    "GenopShm",
    "TorchModelRunShm",
    "RegisterCachedResource",
    "MapSandboxMemory",
    "other",
};

constexpr std::array<std::string_view, kCodes> kCodeNames = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

constexpr size_t kUnknownCode = 2;

constexpr auto relaxed = std::memory_order_relaxed;

void add(Counter &c, uint64_t n) noexcept
{
	if (n != 0)
		c.fetch_add(n, relaxed);
}

} // namespace

std::string_view method_name(MethodId m) noexcept
{
	const auto i = static_cast<size_t>(m);
	return i < kMethods ? kMethodNames[i] : kMethodNames.back();
}

MethodId method_id(std::string_view name) noexcept
{
	// Linear over a few dozen short names (each request's kind is
	// looked up here: call_times.h), which costs less than hashing.
	for (size_t i = 0; i + 1 < kMethods; ++i)
		if (kMethodNames[i] == name)
			return static_cast<MethodId>(i);
	return MethodId::Other;
}

std::string_view code_name(size_t code) noexcept
{
	return kCodeNames[code < kCodes ? code : kUnknownCode];
}

size_t bucket_of(uint64_t ns) noexcept
{
	return static_cast<size_t>(std::lower_bound(kLatencyBoundsNs.begin(),
						    kLatencyBoundsNs.end(),
						    ns) -
				   kLatencyBoundsNs.begin());
}

std::string_view path_name(Path p) noexcept
{
	if (p == Path::Shm)
		return "shm";
	return p == Path::ShmInPlace ? "shm_in_place" : "socket";
}

std::string_view direction_name(Direction d) noexcept
{
	return d == Direction::Out ? "out" : "in";
}

std::string_view op_name(size_t op) noexcept
{
	// "VACCEL_OP_IMAGE_CLASSIFY" -> "image_classify", made once.
	static const auto names = [] {
		std::array<std::string, kGenopOps> n;
		for (size_t i = 0; i < kGenopOps; ++i) {
			std::string_view full = vaccel_op_type_to_str(
			    static_cast<vaccel_op_type_t>(i));
			full.remove_prefix(
			    std::min(full.size(),
				     std::string_view("VACCEL_OP_").size()));
			for (const char ch : full)
				n[i] += static_cast<char>(std::tolower(
				    static_cast<unsigned char>(ch)));
		}
		return n;
	}();
	return op < kGenopOps ? std::string_view(names[op]) : "other";
}

namespace
{

void record_call(MethodCounters &m, const CallSample &s) noexcept
{
	const auto code = static_cast<size_t>(s.code);
	m.calls[code < kCodes ? code : kUnknownCode].fetch_add(1, relaxed);
	m.buckets[bucket_of(s.latency_ns)].fetch_add(1, relaxed);
	add(m.latency_ns, s.latency_ns);
	add(m.busy_ns, s.busy_ns);
}

void snapshot_of(const MethodCounters &m, MethodSnapshot &o) noexcept
{
	for (size_t k = 0; k < kCodes; ++k)
		o.calls[k] += m.calls[k].load(relaxed);
	for (size_t b = 0; b < kBuckets; ++b)
		o.buckets[b] += m.buckets[b].load(relaxed);
	o.latency_ns += m.latency_ns.load(relaxed);
	o.busy_ns += m.busy_ns.load(relaxed);
}

void fold_into(MethodCounters &m, const MethodSnapshot &o) noexcept
{
	for (size_t k = 0; k < kCodes; ++k)
		add(m.calls[k], o.calls[k]);
	for (size_t b = 0; b < kBuckets; ++b)
		add(m.buckets[b], o.buckets[b]);
	add(m.latency_ns, o.latency_ns);
	add(m.busy_ns, o.busy_ns);
}

} // namespace

void record(TenantCounters &c, const CallSample &s) noexcept
{
	record_call(
	    c.methods[std::min(static_cast<size_t>(s.method), kMethods - 1)],
	    s);
	if (s.op < kGenopOps)
		record_call(c.ops[s.op], s);
	for (size_t p = 0; p < kPaths; ++p)
		for (size_t d = 0; d < kDirections; ++d)
			add(c.bytes[p][d], s.bytes[p][d]);
}

void add_snapshot(const TenantCounters &c, TenantSnapshot *out) noexcept
{
	for (size_t i = 0; i < kMethods; ++i)
		snapshot_of(c.methods[i], out->methods[i]);
	for (size_t i = 0; i < kGenopOps; ++i)
		snapshot_of(c.ops[i], out->ops[i]);
	for (size_t p = 0; p < kPaths; ++p)
		for (size_t d = 0; d < kDirections; ++d)
			out->bytes[p][d] += c.bytes[p][d].load(relaxed);
}

void fold(TenantCounters &c, const TenantSnapshot &s) noexcept
{
	for (size_t i = 0; i < kMethods; ++i)
		fold_into(c.methods[i], s.methods[i]);
	for (size_t i = 0; i < kGenopOps; ++i)
		fold_into(c.ops[i], s.ops[i]);
	for (size_t p = 0; p < kPaths; ++p)
		for (size_t d = 0; d < kDirections; ++d)
			add(c.bytes[p][d], s.bytes[p][d]);
}

void Queues::add(const WorkerPool *pool)
{
	std::lock_guard lock(mu_);
	pools_.push_back(pool);
}

void Queues::remove(const WorkerPool *pool)
{
	std::lock_guard lock(mu_);
	std::erase(pools_, pool);
}

uint64_t Queues::depth()
{
	std::lock_guard lock(mu_);
	uint64_t n = 0;
	for (const WorkerPool *p : pools_)
		n += p->queued();
	return n;
}

} // namespace vaccel::agent::metrics
