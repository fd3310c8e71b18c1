// SPDX-License-Identifier: Apache-2.0
// Tenant isolation (--isolate-tenants): each tenant's ops run in a worker
// process of its own, so that a backend crash or hang one tenant's input
// causes (a hostile TorchScript model, a kernel that never returns) ends
// or stalls that tenant's worker only.
//
// The agent process keeps the listeners, the admin socket, identity and
// the connection caps; once it knows a connection's tenant it hands the
// socket itself to that tenant's worker (worker_channel.h), which serves
// it from then on with the usual Server and Service: no proxy hop, and
// shared memory, reply slots and descriptor passing work as before. TLS
// connections are the exception: their session stays in the agent, which
// relays the bytes (tls_relay.h). A
// worker is `vaccel-agent` itself (/proc/self/exe) started with the
// agent's options plus --worker-fd and --worker-tenant; it installs a
// seccomp filter (seccomp_filter.h) once its plugins are loaded.
//
// A worker that exits is reaped and audited ("worker-exited"); its
// tenant's connections are closed by its death, and the tenant's next
// connection starts a new one, at most kMaxStarts times per kStartWindow
// (then that tenant's connections are refused until the window passes,
// audited), so a model that crashes on load cannot turn the agent into a
// fork loop.
#pragma once

#include "tenant.h"
#include "worker_channel.h"
#include "worker_report.h"

#include "transport/transport.h"

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace vaccel::agent
{

// A handed-over connection's places under the agent's caps (its tenant's
// connection quota and the agent's max_connections), kept by the agent
// until the worker reports the connection closed or dies.
class Admission
{
public:
	Admission() = default;
	Admission(Charge quota, TenantRegistry *registry)
	    : quota_(std::move(quota)), registry_(registry)
	{
	}
	Admission(Admission &&o) noexcept
	    : quota_(std::move(o.quota_)),
	      registry_(std::exchange(o.registry_, nullptr))
	{
	}
	Admission &operator=(Admission &&) = delete;
	Admission(const Admission &) = delete;
	~Admission()
	{
		quota_.reset();
		if (registry_ != nullptr)
			registry_->give_back_connection();
	}

private:
	Charge quota_;
	TenantRegistry *registry_ = nullptr;
};

class TenantWorkers
{
public:
	static constexpr size_t kMaxStarts = 5;
	static constexpr std::chrono::seconds kStartWindow{60};
	// A worker without connections for this long is ended ("worker-
	// retired"): it holds nothing its tenant still uses but memory and
	// perhaps a GPU context, and tenants come and go.
	static constexpr std::chrono::seconds kIdleRetire{300};

	// @p args: the agent's command line (program first), given to
	// every worker with the worker options added. @p reports: each
	// worker counts its calls into a report the agent reads
	// (worker_report.h; --metrics).
	explicit TenantWorkers(std::vector<std::string> args,
			       bool reports = false);
	TenantWorkers(const TenantWorkers &) = delete;
	TenantWorkers &operator=(const TenantWorkers &) = delete;
	~TenantWorkers() { stop(); }

	// Starts the thread that reaps workers and collects their reports.
	core::Status start();
	// Ends every worker (SIGTERM, SIGKILL after a grace period) and
	// waits for them. Idempotent.
	void stop();

	// Hands @p stream, admitted as @p tenant's connection @p m.tag, to
	// that tenant's worker, starting one if none runs (with the tenant's
	// accelerator cap in its environment). false when it cannot (no
	// worker may start: audited); the stream is closed either way here.
	// @p memory_fd: the memory file of the connection's sandbox, sent
	// along (m.flags has kSandboxMemory); -1: none.
	bool hand_over(const Tenant &tenant, const worker_channel::Message &m,
		       transport::Stream stream, Admission admission,
		       int memory_fd = -1);
	// A launcher gave @p tenant its own policy (policy.h,
	// parse_tenant_policy text): its workers are started with it.
	void define(const std::string &tenant, std::string policy_text);
	// Ends @p tenant's worker and its connections (a detached sandbox;
	// audited as worker-retired).
	void retire(const std::string &tenant);
	// The pid of @p tenant's worker; -1 when none runs (tests, logs).
	pid_t worker_pid(const std::string &tenant);
	// The agent drains (drain.h): tells every worker, which drains too,
	// with @p grace_ms left. (No connection is handed over from then
	// on: the agent's server answers new ones itself.)
	void drain(uint32_t grace_ms);
	// Every worker said it is quiet since drain() (Server::quiet()).
	[[nodiscard]] bool quiet();

	// What the workers report, for a scrape (metrics_report.h).
	struct Tally {
		uint64_t starts = 0;
		uint64_t failures = 0; // exited or killed, not retired
	};
	using Reports = std::map<std::string, std::shared_ptr<WorkerReportMap>,
				 std::less<>>;
	struct View {
		const Reports &live; // by tenant
		const std::map<std::string, Tally, std::less<>> &tallies;
	};
	// Calls @p fn with the live workers' reports. A worker's counters
	// are added to its tenant's own (Tenant::counters) when it ends,
	// under the same lock, so that a scrape counts every call once.
	void with_reports(const std::function<void(const View &)> &fn);

private:
	struct Worker {
		pid_t pid = -1;
		transport::UniqueFd ctrl;
		// Its report (reports on), and where its counters go when it
		// ends: its tenant's own.
		std::shared_ptr<WorkerReportMap> report;
		metrics::TenantCounters *fold_into = nullptr;
		std::unordered_map<uint64_t, Admission> conns;
		// When conns last became empty (or the worker started).
		std::chrono::steady_clock::time_point idle_since =
		    std::chrono::steady_clock::now();
		// It said it is quiet since the agent began draining.
		bool drained = false;
	};

	Worker *running(const Tenant &tenant, uint64_t tag);
	bool may_start(const std::string &tenant, uint64_t tag);
	core::Status spawn(const Tenant &tenant, Worker *w);
	void supervise();
	// Reads @p w's reports; false once its channel ended.
	bool collect(Worker &w);
	// Ends @p w (no longer in workers_) and waits for it; called without
	// the lock, since the wait can take a while (a GPU context's end).
	void bury(const std::string &tenant, Worker w,
		  const char *retired = nullptr);
	// Moves the workers idle for kIdleRetire out of workers_ into @p out.
	void take_idle(std::vector<std::pair<std::string, Worker>> *out);
	void wake() noexcept;

	// Adds the ended worker @p w's counters to its tenant's (reports).
	void fold(const std::string &tenant, const Worker &w, bool failed);

	const std::vector<std::string> args_;
	const bool reports_;
	std::mutex reports_mu_; // after mu_ when both are taken
	Reports live_reports_;
	std::map<std::string, Tally, std::less<>> tallies_;
	std::mutex mu_;
	std::map<std::string, Worker> workers_;
	std::map<std::string, std::string> policies_;
	// Since drain(): when the agent's grace period ends (a worker started
	// meanwhile is told at once).
	std::optional<std::chrono::steady_clock::time_point> drain_until_;
	std::map<std::string, std::deque<std::chrono::steady_clock::time_point>>
	    starts_;
	int wake_fd_ = -1;
	std::atomic<bool> stopping_{false};
	std::thread supervisor_;
};

} // namespace vaccel::agent
