// SPDX-License-Identifier: Apache-2.0
// The agent's /metrics page (docs/observability.md): every tenant's call
// counters (metrics.h) and quota usage (tenant.h), and the agent's gauges
// (queue depth, open connections, sessions and resources, buffered bytes,
// shared-memory regions, readiness); under --isolate-tenants, what the
// tenants' worker processes report (worker_report.h) added to what the
// agent kept of their predecessors.
//
// Read on a scrape only: it takes the tenant registry's lock and builds the
// page in memory, never touching a call's path.
#pragma once

#include "metrics.h"
#include "service.h"

#include <chrono>
#include <functional>
#include <string>

namespace vaccel::agent
{

class TenantWorkers;

class MetricsReport
{
public:
	struct Sources {
		Service &service;
		metrics::Queues &queues;
		// Readiness for the ready gauge; null: always ready.
		std::function<bool()> ready;
		// Whether the agent drains (drain.h), for the draining
		// gauge; null: never.
		std::function<bool()> draining;
		// --isolate-tenants; null: every call runs in this process.
		TenantWorkers *workers = nullptr;
	};

	explicit MetricsReport(Sources s);

	// The page, in the Prometheus text format.
	std::string render();

private:
	Sources src_;
	const double start_time_; // seconds since the epoch
};

} // namespace vaccel::agent
