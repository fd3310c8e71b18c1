// SPDX-License-Identifier: Apache-2.0
// What a tenant's worker process (--isolate-tenants, tenant_workers.h)
// reports to the agent for /metrics: its tenant's call counters, which the
// worker's server adds to directly (metrics.h: the same atomics, placed in
// shared memory), and a few gauges the worker copies there every second.
//
// The memory is a sealed memfd the agent creates for each worker and maps
// read-only; the worker maps it writable before its system call filter is
// installed. Sealed against shrinking, so that a worker cannot make the
// agent's reads fault. A worker runs its tenant's code: whatever it
// reports is that tenant's word (docs/observability.md), and the agent
// uses these values as numbers only, never as an index, a size or a label.
#pragma once

#include "metrics.h"
#include "tenant.h"

#include "core/status.h"
#include "transport/transport.h"

#include <array>
#include <cstddef>

namespace vaccel::agent
{

struct WorkerReport {
	metrics::TenantCounters counters;
	// The worker's use of its tenant's quotas, by Limit; connections
	// are left out (the agent counts those itself).
	std::array<metrics::Counter, static_cast<size_t>(Limit::Count)> used{};
	metrics::Counter queued{0};   // requests waiting for a worker
	metrics::Counter buffered{0}; // bytes held by chunked calls
	metrics::Counter regions{0};  // shared-memory regions mapped
};

// One mapping of a WorkerReport. Move-only.
class WorkerReportMap
{
public:
	// The agent's side: a new zeroed report, mapped read-only; fd() is
	// what the worker is given.
	static core::Result<WorkerReportMap> create();
	// The worker's side: maps the report at @p fd writable.
	static core::Result<WorkerReportMap> attach(int fd);

	WorkerReportMap() = default;
	WorkerReportMap(WorkerReportMap &&o) noexcept;
	WorkerReportMap &operator=(WorkerReportMap &&o) noexcept;
	WorkerReportMap(const WorkerReportMap &) = delete;
	WorkerReportMap &operator=(const WorkerReportMap &) = delete;
	~WorkerReportMap();

	[[nodiscard]] const WorkerReport &report() const noexcept
	{
		return *report_;
	}
	// The worker's side only (the agent's mapping is read-only).
	[[nodiscard]] WorkerReport &writable() noexcept { return *report_; }
	[[nodiscard]] int fd() const noexcept { return fd_.get(); }

private:
	WorkerReport *report_ = nullptr;
	transport::UniqueFd fd_;
};

// The worker's side, every second: copies what its tenant uses and its
// server's gauges into @p r.
void publish_gauges(WorkerReport &r, const Tenant &tenant, uint64_t queued,
		    uint64_t buffered, uint64_t regions) noexcept;

} // namespace vaccel::agent
