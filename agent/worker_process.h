// SPDX-License-Identifier: Apache-2.0
// The worker side of tenant isolation (tenant_workers.h): `vaccel-agent
// --worker-fd N --worker-tenant NAME ...`, started by the agent, serves the
// connections of one tenant that the agent hands it over the control
// socket N, inside a seccomp filter (seccomp_filter.h).
#pragma once

#include "drain.h"
#include "server.h"
#include "service.h"
#include "worker_report.h"

#include <string>

namespace vaccel::agent
{

struct WorkerOptions {
	int ctrl = -1;      // the control socket (worker_channel.h)
	std::string tenant; // every connection's tenant
	std::string policy; // a launcher's policy for it (may be empty)
	int stop_fd = -1;   // readable once SIGINT/SIGTERM arrived
	// Where the tenant's calls are counted and the gauges published
	// (worker_report.h), with the server's queue registered in
	// `queues` (ServerOptions::metrics); null: not counted.
	WorkerReport *report = nullptr;
	metrics::Queues *queues = nullptr;
	// Begun when the agent says it drains (worker_channel.h, kDrain);
	// the worker's server asks it for every request.
	Drain *drain = nullptr;
};

// Serves until the agent closes the channel or a stop signal comes; the
// process's exit status (1: the tenant's policy or the filter failed).
int run_worker(Service &service, ServerOptions so, const WorkerOptions &w);

} // namespace vaccel::agent
