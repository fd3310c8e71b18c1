// SPDX-License-Identifier: Apache-2.0
#include "metrics_report.h"

#include "accelerator_memory.h"
#include "prom_text.h"
#include "tenant_workers.h"

#include <array>
#include <vector>

namespace vaccel::agent
{

namespace
{

using metrics::kBuckets;
using metrics::kCodes;
using metrics::kDirections;
using metrics::kMethods;
using metrics::kPaths;
using metrics::MethodId;

constexpr size_t kLimits = static_cast<size_t>(Limit::Count);

// One tenant's numbers, read under the locks, written out after.
struct TenantRow {
	std::string name;
	metrics::TenantSnapshot calls;
	std::array<uint64_t, kLimits> used{};
	std::array<uint64_t, kLimits> cap{};
};

// Gauges of the whole agent that the tenants do not carry.
struct AgentRow {
	uint64_t queued = 0;
	uint64_t buffered = 0;
	uint64_t regions = 0;
	// This process's cache: without --isolate-tenants, every tenant's.
	ModelCacheStats cache;
	bool isolated = false;
	uint64_t workers = 0;
	std::map<std::string, TenantWorkers::Tally, std::less<>> tallies;
};

double seconds(uint64_t ns)
{
	return static_cast<double>(ns) / 1e9;
}

const std::array<double, kBuckets - 1> &bounds_seconds()
{
	static const auto b = [] {
		std::array<double, kBuckets - 1> s{};
		for (size_t i = 0; i < s.size(); ++i)
			s[i] = seconds(metrics::kLatencyBoundsNs[i]);
		return s;
	}();
	return b;
}

uint64_t count(const metrics::MethodSnapshot &m)
{
	uint64_t n = 0;
	for (uint64_t b : m.buckets)
		n += b;
	return n;
}

TenantRow read_tenant(const Tenant &t, const WorkerReport *report)
{
	TenantRow r;
	r.name = t.name();
	metrics::add_snapshot(t.counters(), &r.calls);
	for (size_t l = 0; l < kLimits; ++l) {
		r.used[l] = t.used(static_cast<Limit>(l));
		r.cap[l] = t.cap(static_cast<Limit>(l));
	}
	if (report == nullptr)
		return r;
	metrics::add_snapshot(report->counters, &r.calls);
	for (size_t l = 0; l < kLimits; ++l)
		r.used[l] += report->used[l].load(std::memory_order_relaxed);
	return r;
}

// The call families of one dimension: by RPC method (every call), or by
// the op a genop ran.
struct CallFamilies {
	std::string_view calls, duration, busy; // family names
	std::string_view label;                 // "method" or "op"
	bool ops;                               // TenantSnapshot::ops
};
constexpr CallFamilies kByMethod = {
    "vaccel_agent_calls_total", "vaccel_agent_call_duration_seconds",
    "vaccel_agent_busy_seconds_total", "method", false};
constexpr CallFamilies kByOp = {
    "vaccel_agent_genop_calls_total", "vaccel_agent_genop_duration_seconds",
    "vaccel_agent_genop_busy_seconds_total", "op", true};

// Calls @p fn(tenant, label value, its numbers) for every method (or op)
// a tenant called: the families below leave out series that never moved.
template <class Fn>
void for_each_called(const std::vector<TenantRow> &rows, const CallFamilies &f,
		     Fn fn)
{
	for (const TenantRow &t : rows) {
		const size_t n = f.ops ? metrics::kGenopOps : kMethods;
		for (size_t i = 0; i < n; ++i) {
			const auto &s =
			    f.ops ? t.calls.ops[i] : t.calls.methods[i];
			if (count(s) == 0)
				continue;
			fn(t,
			   f.ops
			       ? metrics::op_name(i)
			       : metrics::method_name(static_cast<MethodId>(i)),
			   s);
		}
	}
}

void write_calls(PromText &out, const std::vector<TenantRow> &rows,
		 const CallFamilies &f, std::string_view help)
{
	out.family(f.calls, "counter", help);
	for_each_called(
	    rows, f,
	    [&](const TenantRow &t, std::string_view what,
		const metrics::MethodSnapshot &s) {
		    for (size_t c = 0; c < kCodes; ++c)
			    if (s.calls[c] != 0)
				    out.sample(
					f.calls,
					{{"tenant", t.name},
					 {f.label, what},
					 {"code", metrics::code_name(c)}},
					s.calls[c]);
	    });
}

void write_latency(PromText &out, const std::vector<TenantRow> &rows,
		   const CallFamilies &f, std::string_view help)
{
	out.family(f.duration, "histogram", help);
	for_each_called(
	    rows, f,
	    [&](const TenantRow &t, std::string_view what,
		const metrics::MethodSnapshot &s) {
		    out.histogram(
			f.duration, {{"tenant", t.name}, {f.label, what}},
			s.buckets, bounds_seconds(), seconds(s.latency_ns));
	    });
}

void write_busy(PromText &out, const std::vector<TenantRow> &rows,
		const CallFamilies &f, std::string_view help)
{
	out.family(f.busy, "counter", help);
	for_each_called(
	    rows, f,
	    [&](const TenantRow &t, std::string_view what,
		const metrics::MethodSnapshot &s) {
		    out.sample(f.busy, {{"tenant", t.name}, {f.label, what}},
			       seconds(s.busy_ns));
	    });
}

void write_call_families(PromText &out, const std::vector<TenantRow> &rows)
{
	write_calls(out, rows, kByMethod,
		    "Calls answered, by tenant, method and gRPC status code.");
	write_latency(out, rows, kByMethod,
		      "Time from a request read whole to its reply ready to "
		      "send, queueing included.");
	write_busy(out, rows, kByMethod,
		   "Worker time spent running calls (the handler, its vAccel "
		   "op and encoding the reply), by tenant and method.");
	write_calls(out, rows, kByOp,
		    "Genop calls (Genop, GenopShm, GenopStream) by tenant, the "
		    "op they ran and gRPC status code.");
	write_latency(out, rows, kByOp,
		      "Time of genop calls from the request read whole to the "
		      "reply ready to send, by the op they ran.");
	write_busy(out, rows, kByOp,
		   "Worker time spent running genop calls, by tenant and the "
		   "op they ran.");
}

void write_bytes(PromText &out, const std::vector<TenantRow> &rows)
{
	out.family("vaccel_agent_bytes_total", "counter",
		   "Request (in) and reply (out) bytes by data path: the "
		   "socket, shared memory the client copied them into "
		   "(request and reply slots, arguments and tensors in "
		   "leased regions), or shared memory where the client's "
		   "program keeps them (shm_in_place: no copy).");
	for (const TenantRow &t : rows)
		for (size_t p = 0; p < kPaths; ++p)
			for (size_t d = 0; d < kDirections; ++d)
				out.sample(
				    "vaccel_agent_bytes_total",
				    {{"tenant", t.name},
				     {"path",
				      metrics::path_name(
					  static_cast<metrics::Path>(p))},
				     {"direction",
				      metrics::direction_name(
					  static_cast<metrics::Direction>(d))}},
				    t.calls.bytes[p][d]);
}

void write_usage(PromText &out, const std::vector<TenantRow> &rows)
{
	out.family("vaccel_agent_tenant_usage", "gauge",
		   "What each tenant holds now of each quota (the policy's "
		   "names).");
	for (const TenantRow &t : rows)
		for (size_t l = 0; l < kLimits; ++l)
			out.sample(
			    "vaccel_agent_tenant_usage",
			    {{"tenant", t.name},
			     {"quota", limit_name(static_cast<Limit>(l))}},
			    t.used[l]);
	out.family("vaccel_agent_tenant_quota", "gauge",
		   "Each tenant's quotas, from its policy.");
	for (const TenantRow &t : rows)
		for (size_t l = 0; l < kLimits; ++l)
			out.sample(
			    "vaccel_agent_tenant_quota",
			    {{"tenant", t.name},
			     {"quota", limit_name(static_cast<Limit>(l))}},
			    t.cap[l]);
}

void write_gauge(PromText &out, std::string_view name, std::string_view help,
		 uint64_t value)
{
	out.family(name, "gauge", help);
	out.sample(name, {}, value);
}

uint64_t total(const std::vector<TenantRow> &rows, Limit l)
{
	uint64_t n = 0;
	for (const TenantRow &t : rows)
		n += t.used[static_cast<size_t>(l)];
	return n;
}

void write_counter(PromText &out, std::string_view name, std::string_view help,
		   uint64_t value)
{
	out.family(name, "counter", help);
	out.sample(name, {}, value);
}

// The host model cache (model_cache.h); per tenant, its bytes are the
// model_cache_bytes row of vaccel_agent_tenant_usage.
void write_cache(PromText &out, const ModelCacheStats &c)
{
	write_gauge(out, "vaccel_agent_model_cache_models",
		    "Models the host model cache holds.", c.entries);
	write_gauge(out, "vaccel_agent_model_cache_bytes",
		    "Bytes of the models the host model cache holds.", c.bytes);
	write_counter(out, "vaccel_agent_model_cache_hits_total",
		      "Models asked for by digest and found.", c.hits);
	write_counter(out, "vaccel_agent_model_cache_misses_total",
		      "Models asked for by digest and not found.", c.misses);
	write_counter(out, "vaccel_agent_model_uploads_total",
		      "Models created from uploaded files.", c.uploads);
	write_counter(out, "vaccel_agent_model_cache_dedups_total",
		      "Uploads answered with a model already cached.",
		      c.dedups);
	write_counter(out, "vaccel_agent_model_cache_evictions_total",
		      "Models dropped from the cache for room.", c.evictions);
}

void write_workers(PromText &out, const AgentRow &a)
{
	write_gauge(out, "vaccel_agent_worker_processes",
		    "Tenant worker processes running (--isolate-tenants).",
		    a.workers);
	out.family("vaccel_agent_worker_starts_total", "counter",
		   "Worker processes started, by tenant.");
	for (const auto &[tenant, t] : a.tallies)
		out.sample("vaccel_agent_worker_starts_total",
			   {{"tenant", tenant}}, t.starts);
	out.family("vaccel_agent_worker_failures_total", "counter",
		   "Worker processes that exited or were killed (not "
		   "retired), by tenant.");
	for (const auto &[tenant, t] : a.tallies)
		out.sample("vaccel_agent_worker_failures_total",
			   {{"tenant", tenant}}, t.failures);
}

// Only where the host has NVIDIA GPUs (accelerator_memory.h): no family
// at all otherwise, rather than a gauge that reads 0.
void write_accelerators(PromText &out)
{
	const auto devices = accelerator_memory();
	if (devices.empty())
		return;
	constexpr std::string_view name =
	    "vaccel_agent_accelerator_memory_bytes";
	out.family(name, "gauge",
		   "Each accelerator's memory as its driver reports it, "
		   "whoever holds it: used and total.");
	for (const AcceleratorMemory &d : devices) {
		out.sample(name, {{"device", d.device}, {"state", "used"}},
			   d.used);
		out.sample(name, {{"device", d.device}, {"state", "total"}},
			   d.total);
	}
}

void write_agent(PromText &out, const std::vector<TenantRow> &rows,
		 const AgentRow &a)
{
	write_gauge(out, "vaccel_agent_connections",
		    "Connections open, all tenants.",
		    total(rows, Limit::Connections));
	write_gauge(out, "vaccel_agent_sessions", "Sessions open, all tenants.",
		    total(rows, Limit::Sessions));
	write_gauge(out, "vaccel_agent_resources",
		    "Resources registered, all tenants.",
		    total(rows, Limit::Resources));
	write_gauge(out, "vaccel_agent_calls_in_flight",
		    "Calls queued or running, all tenants.",
		    total(rows, Limit::Calls));
	write_gauge(out, "vaccel_agent_queued_requests",
		    "Requests waiting for a worker thread.", a.queued);
	write_gauge(out, "vaccel_agent_buffered_bytes",
		    "Bytes held by large calls being reassembled or run.",
		    a.buffered);
	write_gauge(out, "vaccel_agent_shm_regions",
		    "Shared-memory regions mapped by clients.", a.regions);
	write_accelerators(out);
	if (!a.isolated)
		write_cache(out, a.cache);
	else
		write_workers(out, a);
}

} // namespace

MetricsReport::MetricsReport(Sources s)
    : src_(std::move(s)),
      start_time_(std::chrono::duration<double>(
		      std::chrono::system_clock::now().time_since_epoch())
		      .count())
{
}

std::string MetricsReport::render()
{
	std::vector<TenantRow> rows;
	AgentRow agent;
	agent.queued = src_.queues.depth();
	agent.buffered = src_.service.buffered();
	agent.regions = src_.service.regions_mapped().load();
	agent.cache = src_.service.model_cache().stats();
	auto read_all = [&](const TenantWorkers::Reports *live) {
		src_.service.tenants().for_each([&](const Tenant &t) {
			const WorkerReport *r = nullptr;
			if (live != nullptr)
				if (auto it = live->find(t.name());
				    it != live->end())
					r = &it->second->report();
			rows.push_back(read_tenant(t, r));
		});
	};
	if (src_.workers == nullptr) {
		read_all(nullptr);
	} else {
		agent.isolated = true;
		src_.workers->with_reports([&](const TenantWorkers::View &v) {
			read_all(&v.live);
			agent.workers = v.live.size();
			agent.tallies = v.tallies;
			for (const auto &[tenant, map] : v.live) {
				const WorkerReport &r = map->report();
				constexpr auto relaxed =
				    std::memory_order_relaxed;
				agent.queued += r.queued.load(relaxed);
				agent.buffered += r.buffered.load(relaxed);
				agent.regions += r.regions.load(relaxed);
			}
		});
	}

	PromText out;
	const bool ready = !src_.ready || src_.ready();
	write_gauge(out, "vaccel_agent_ready",
		    "1 while the agent takes new sessions (/readyz).",
		    uint64_t{ready});
	const bool draining = src_.draining && src_.draining();
	write_gauge(out, "vaccel_agent_draining",
		    "1 while the agent drains: no new sessions, clients "
		    "moving away, exit within the grace period.",
		    uint64_t{draining});
	out.family("vaccel_agent_start_time_seconds", "gauge",
		   "When the agent started, in seconds since the epoch.");
	out.sample("vaccel_agent_start_time_seconds", {}, start_time_);
	write_call_families(out, rows);
	write_bytes(out, rows);
	write_usage(out, rows);
	write_agent(out, rows, agent);
	return out.take();
}

} // namespace vaccel::agent
