// SPDX-License-Identifier: Apache-2.0
#include "worker_process.h"

#include "audit.h"
#include "policy.h"
#include "sandbox_memory.h"
#include "seccomp_filter.h"
#include "worker_channel.h"

#include <vaccel.h>

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace vaccel::agent
{

namespace
{

core::Status define_tenant(Service &service, const WorkerOptions &w)
{
	if (w.policy.empty())
		return core::Status::ok();
	TenantRegistry &tenants = service.tenants();
	auto tp = parse_tenant_policy(w.policy, tenants.policy().defaults,
				      "attach of tenant " + w.tenant);
	if (!tp)
		return tp.status();
	return tenants.define(w.tenant, std::move(tp.value()),
			      "attach." + w.tenant);
}

// How often a worker copies its gauges into its report.
constexpr timespec kPublishEvery{1, 0};

void publish(Service &service, const WorkerOptions &w)
{
	if (w.report == nullptr)
		return;
	publish_gauges(*w.report, service.tenants().get(w.tenant),
		       w.queues->depth(), service.buffered(),
		       service.regions_mapped().load());
}

// The memory of a connection's sandbox, which the agent sent with it; null
// (logged) when it cannot be mapped: the connection is served without it.
std::shared_ptr<SandboxMemory> sandbox_memory(const worker_channel::Message &m,
					      transport::UniqueFd memory,
					      HostMemoryPinner *pinner)
{
	if ((m.flags & worker_channel::kSandboxMemory) == 0 || !memory.valid())
		return nullptr;
	auto s = SandboxMemory::adopt(std::move(memory), m.token, pinner);
	if (!s) {
		vaccel_warn("agent worker: connection %llu: sandbox memory: %s",
			    static_cast<unsigned long long>(m.tag),
			    s.status().message().c_str());
		return nullptr;
	}
	return std::move(s).value();
}

// While the agent drains: how often the worker looks whether it is quiet.
constexpr timespec kDrainLook{0, 50'000'000};

// The agent drains (kDrain, @p m): so does this worker, within the grace
// the agent has left.
void begin_drain(const WorkerOptions &w, const worker_channel::Message &m)
{
	if (w.drain != nullptr)
		w.drain->begin_until(Drain::Clock::now() +
				     std::chrono::milliseconds(m.tag));
}

// Tells the agent once that this worker is quiet (drain.h); true once
// told.
bool report_drained(Server &server, const WorkerOptions &w)
{
	if (w.drain == nullptr || !w.drain->active() || !server.quiet())
		return false;
	worker_channel::send_drained(w.ctrl);
	return true;
}

// Adopts connections from the channel until it ends or @p stop_fd fires.
void serve(Service &service, Server &server, const WorkerOptions &w,
	   HostMemoryPinner *pinner)
{
	pollfd fds[2] = {{w.ctrl, POLLIN, 0}, {w.stop_fd, POLLIN, 0}};
	// The stop signals are blocked everywhere but inside this wait
	// (main.cpp).
	sigset_t unblocked;
	sigemptyset(&unblocked);
	bool drained = false;
	for (;;) {
		publish(service, w);
		if (!drained)
			drained = report_drained(server, w);
		const bool draining = w.drain != nullptr && w.drain->active();
		const timespec *wait = draining && !drained  ? &kDrainLook
				       : w.report != nullptr ? &kPublishEvery
							     : nullptr;
		const int n = ::ppoll(fds, 2, wait, &unblocked);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (n == 0)
			continue;
		if (fds[1].revents != 0)
			return;
		worker_channel::Message m;
		transport::UniqueFd fd, memory;
		const int r = worker_channel::receive(w.ctrl, &m, &fd, &memory);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return; // the agent is gone or misbehaves
		}
		if ((m.flags & worker_channel::kDrain) != 0) {
			begin_drain(w, m);
			continue;
		}
		if (fd.valid())
			server.adopt(
			    transport::Stream(fd.release()), m.tag,
			    (m.flags & worker_channel::kRelayed) != 0,
			    sandbox_memory(m, std::move(memory), pinner));
	}
}

} // namespace

int run_worker(Service &service, ServerOptions so, const WorkerOptions &w)
{
	// A tenant can crash its worker at will: no core files (each the
	// size of a backend's memory) for it to fill the disk with.
	const rlimit no_core{0, 0};
	::setrlimit(RLIMIT_CORE, &no_core);
	if (auto st = define_tenant(service, w); !st) {
		vaccel_error("agent worker: tenant %s: %s", w.tenant.c_str(),
			     st.message().c_str());
		return 1;
	}
	if (w.report != nullptr) {
		// Before the server starts: no call is counted elsewhere.
		service.tenants().get(w.tenant).use_counters(
		    &w.report->counters);
		so.metrics = w.queues;
	}
	so.adopt_only = true;
	// TLS ends in the agent process, which relays the bytes here.
	so.tls = nullptr;
	so.tenant = w.tenant;
	so.isolate = nullptr;
	so.trace = nullptr;
	so.drain = w.drain;
	const int ctrl = w.ctrl;
	so.on_closed = [ctrl](uint64_t tag) {
		worker_channel::send_closed(ctrl, tag);
	};
	HostMemoryPinner *pinner = so.pinner;
	Server server(service, so);
	if (auto st = server.start(); !st) {
		vaccel_error("agent worker: %s", st.message().c_str());
		return 1;
	}
	// Fail closed: a worker without its filter serves nobody.
	if (auto st = install_worker_filter(); !st) {
		audit::event("worker-failed",
			     "tenant " + w.tenant + ": " + st.message());
		server.stop();
		return 1;
	}
	serve(service, server, w, pinner);
	server.stop();
	service.clear();
	return 0;
}

} // namespace vaccel::agent
