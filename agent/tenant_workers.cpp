// SPDX-License-Identifier: Apache-2.0
#include "tenant_workers.h"

#include "audit.h"
#include "worker_channel.h"

#include <vaccel.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

extern char **environ;

namespace vaccel::agent
{

namespace
{

// The descriptor numbers a worker finds its control socket and its report
// at.
constexpr int kWorkerFd = 3;
constexpr int kReportFd = 4;
// How long stop() lets workers finish their running ops.
constexpr std::chrono::seconds kStopGrace{3};

std::string describe_exit(int status)
{
	if (WIFSIGNALED(status)) {
		const int sig = WTERMSIG(status);
		return "killed by signal " + std::to_string(sig) + " (" +
		       strsignal(sig) + ")";
	}
	return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// Waits for @p pid until @p deadline, then kills it; its exit status.
int wait_or_kill(pid_t pid, std::chrono::steady_clock::time_point deadline)
{
	int status = 0;
	while (std::chrono::steady_clock::now() < deadline) {
		const pid_t r = ::waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return status;
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	::kill(pid, SIGKILL);
	while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	return status;
}

// The agent's environment, with the tenant's accelerator cap where its
// policy sets one (the operator's own VACCEL_ACCELERATOR_BYTES, if any,
// applies to the others).
std::vector<std::string> worker_environment(const Quotas &q)
{
	constexpr std::string_view kCap = "VACCEL_ACCELERATOR_BYTES=";
	std::vector<std::string> env;
	for (char **e = environ; *e != nullptr; ++e)
		if (q.accelerator_bytes == 0 ||
		    std::string_view(*e).substr(0, kCap.size()) != kCap)
			env.emplace_back(*e);
	if (q.accelerator_bytes != 0)
		env.push_back(std::string(kCap) +
			      std::to_string(q.accelerator_bytes));
	return env;
}

// Sends @p m, waiting a little for room when the worker's end is full (a
// burst of connections): false with errno EAGAIN when it stays full.
bool send_with_room(int ctrl, const worker_channel::Message &m, int fd,
		    int memory_fd)
{
	constexpr int kRoomWaitMs = 50;
	if (worker_channel::send_connection(ctrl, m, fd, memory_fd))
		return true;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return false;
	pollfd p{ctrl, POLLOUT, 0};
	if (::poll(&p, 1, kRoomWaitMs) <= 0 || (p.revents & POLLOUT) == 0) {
		errno = EAGAIN;
		return false;
	}
	return worker_channel::send_connection(ctrl, m, fd, memory_fd);
}

// @p fd, or a copy of it numbered above the descriptors a worker is
// given, so that placing one never overwrites another not yet placed
// (dup2 onto itself would also keep close-on-exec).
transport::UniqueFd above_worker_fds(transport::UniqueFd fd)
{
	if (fd.get() > kReportFd)
		return fd;
	return transport::UniqueFd(
	    ::fcntl(fd.get(), F_DUPFD_CLOEXEC, kReportFd + 1));
}

// Tells the worker on @p ctrl that the agent drains until @p until.
void tell_drain(const std::string &tenant, int ctrl,
		std::chrono::steady_clock::time_point until)
{
	const auto left = std::chrono::ceil<std::chrono::milliseconds>(
	    until - std::chrono::steady_clock::now());
	if (!worker_channel::send_drain(
		ctrl,
		static_cast<uint64_t>(std::max<int64_t>(0, left.count()))))
		vaccel_warn("agent: tenant %s: cannot tell its worker to "
			    "drain: %s",
			    tenant.c_str(), std::strerror(errno));
}

} // namespace

TenantWorkers::TenantWorkers(std::vector<std::string> args, bool reports)
    : args_(std::move(args)), reports_(reports)
{
}

core::Status TenantWorkers::start()
{
	wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd_ < 0)
		return core::Status::error(VACCEL_EIO, "eventfd: %s",
					   std::strerror(errno));
	try {
		supervisor_ = std::thread([this] { supervise(); });
	} catch (const std::system_error &e) {
		return core::Status::error(
		    VACCEL_ENOMEM, "cannot start the supervisor: %s", e.what());
	}
	return core::Status::ok();
}

void TenantWorkers::wake() noexcept
{
	const uint64_t one = 1;
	if (wake_fd_ >= 0) {
		[[maybe_unused]] ssize_t n =
		    ::write(wake_fd_, &one, sizeof(one));
	}
}

void TenantWorkers::stop()
{
	if (stopping_.exchange(true))
		return;
	wake();
	if (supervisor_.joinable())
		supervisor_.join();
	std::lock_guard lock(mu_);
	// SIGTERM: a worker closes its connections and lets running ops
	// finish, within the grace period (a hung op does not hold us).
	for (auto &[name, w] : workers_)
		::kill(w.pid, SIGTERM);
	const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
	for (auto &[name, w] : workers_)
		wait_or_kill(w.pid, deadline);
	workers_.clear();
	if (wake_fd_ >= 0)
		::close(std::exchange(wake_fd_, -1));
}

bool TenantWorkers::may_start(const std::string &tenant, uint64_t tag)
{
	const auto now = std::chrono::steady_clock::now();
	auto &starts = starts_[tenant];
	while (!starts.empty() && now - starts.front() > kStartWindow)
		starts.pop_front();
	if (starts.size() < kMaxStarts) {
		starts.push_back(now);
		return true;
	}
	audit::refused(tenant, tag, "connect", "agent.worker_restarts",
		       "tenant " + tenant +
			   ": its worker process was started " +
			   std::to_string(kMaxStarts) + " times within " +
			   std::to_string(kStartWindow.count()) +
			   " s; connections refused until that passes");
	return false;
}

// The tenant's live worker, started if needed; null when none may start.
TenantWorkers::Worker *TenantWorkers::running(const Tenant &t, uint64_t tag)
{
	const std::string &tenant = t.name();
	if (auto it = workers_.find(tenant); it != workers_.end())
		return &it->second;
	if (stopping_ || !may_start(tenant, tag))
		return nullptr;
	Worker w;
	if (auto st = spawn(t, &w); !st) {
		audit::event("worker-failed",
			     "tenant " + tenant + ": " + st.message());
		return nullptr;
	}
	vaccel_info("agent: tenant %s: worker process %d started",
		    tenant.c_str(), static_cast<int>(w.pid));
	{
		std::lock_guard lock(reports_mu_);
		++tallies_[tenant].starts;
		if (w.report)
			live_reports_[tenant] = w.report;
	}
	Worker &placed = workers_.emplace(tenant, std::move(w)).first->second;
	if (drain_until_) // a connection accepted as the drain began
		tell_drain(tenant, placed.ctrl.get(), *drain_until_);
	wake(); // the supervisor watches the new channel from now on
	return &placed;
}

core::Status TenantWorkers::spawn(const Tenant &t, Worker *w)
{
	const std::string &tenant = t.name();
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return core::Status::error(VACCEL_EIO, "socketpair: %s",
					   std::strerror(errno));
	transport::UniqueFd mine(sv[0]);
	transport::UniqueFd theirs =
	    above_worker_fds(transport::UniqueFd(sv[1]));
	// The supervisor must never block on one worker's channel.
	::fcntl(mine.get(), F_SETFL, O_NONBLOCK);
	std::shared_ptr<WorkerReportMap> report;
	transport::UniqueFd report_fd;
	if (reports_) {
		auto r = WorkerReportMap::create();
		if (!r)
			return r.status();
		report = std::make_shared<WorkerReportMap>(std::move(*r));
		report_fd = above_worker_fds(transport::UniqueFd(
		    ::fcntl(report->fd(), F_DUPFD_CLOEXEC, 0)));
	}

	std::vector<std::string> args = args_;
	args.insert(args.end(), {"--worker-fd", std::to_string(kWorkerFd),
				 "--worker-tenant", tenant});
	if (report)
		args.insert(args.end(),
			    {"--worker-report-fd", std::to_string(kReportFd)});
	if (auto it = policies_.find(tenant); it != policies_.end())
		args.insert(args.end(), {"--worker-tenant-policy", it->second});
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	std::vector<std::string> env = worker_environment(t.policy().quotas);
	std::vector<char *> envp;
	for (auto &e : env)
		envp.push_back(e.data());
	envp.push_back(nullptr);

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, theirs.get(), kWorkerFd);
	if (report)
		posix_spawn_file_actions_adddup2(&fa, report_fd.get(),
						 kReportFd);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	// Its own process group: a terminal's ^C reaches the agent, which
	// stops its workers itself.
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETPGROUP);
	// /proc/self/exe: this very binary, even if the file was replaced.
	const int rc = ::posix_spawn(&w->pid, "/proc/self/exe", &fa, &attr,
				     argv.data(), envp.data());
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return core::Status::error(
		    VACCEL_EIO, "cannot start a worker: %s", std::strerror(rc));
	w->ctrl = std::move(mine);
	w->report = std::move(report);
	w->fold_into = &t.counters();
	return core::Status::ok();
}

bool TenantWorkers::hand_over(const Tenant &t, const worker_channel::Message &m,
			      transport::Stream stream, Admission admission,
			      int memory_fd)
{
	const std::string &tenant = t.name();
	const uint64_t tag = m.tag;
	// Twice: a worker that died a moment ago (before the supervisor
	// reaped it) refuses the message; the retry starts its successor.
	for (int attempt = 0; attempt < 2; ++attempt) {
		std::unique_lock lock(mu_);
		Worker *w = running(t, tag);
		if (w == nullptr)
			return false;
		if (send_with_room(w->ctrl.get(), m, stream.fd(), memory_fd)) {
			w->conns.emplace(tag, std::move(admission));
			return true; // our copy closes with @p stream
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			// Alive, but behind on taking connections (still
			// loading its plugins, or a burst): refuse this one
			// rather than end the worker and its tenant's others.
			audit::refused(tenant, tag, "connect",
				       "agent.worker_backlog",
				       "tenant " + tenant +
					   ": its worker has not taken the "
					   "connections it was given yet");
			return false;
		}
		vaccel_warn("agent: tenant %s: cannot hand connection %llu "
			    "to its worker: %s",
			    tenant.c_str(),
			    static_cast<unsigned long long>(tag),
			    std::strerror(errno));
		auto it = workers_.find(tenant);
		Worker dead = std::move(it->second);
		workers_.erase(it);
		lock.unlock();
		bury(tenant, std::move(dead)); // not under the lock: it waits
	}
	return false;
}

void TenantWorkers::define(const std::string &tenant, std::string policy_text)
{
	std::lock_guard lock(mu_);
	policies_[tenant] = std::move(policy_text);
}

void TenantWorkers::retire(const std::string &tenant)
{
	Worker w;
	{
		std::lock_guard lock(mu_);
		auto it = workers_.find(tenant);
		if (it == workers_.end())
			return;
		w = std::move(it->second);
		workers_.erase(it);
	}
	bury(tenant, std::move(w), "its sandbox detached");
}

pid_t TenantWorkers::worker_pid(const std::string &tenant)
{
	std::lock_guard lock(mu_);
	auto it = workers_.find(tenant);
	return it == workers_.end() ? -1 : it->second.pid;
}

void TenantWorkers::drain(uint32_t grace_ms)
{
	std::lock_guard lock(mu_);
	drain_until_ = std::chrono::steady_clock::now() +
		       std::chrono::milliseconds(grace_ms);
	for (auto &[name, w] : workers_) {
		w.drained = false;
		tell_drain(name, w.ctrl.get(), *drain_until_);
	}
}

bool TenantWorkers::quiet()
{
	std::lock_guard lock(mu_);
	for (const auto &[name, w] : workers_)
		if (!w.drained)
			return false;
	return true;
}

bool TenantWorkers::collect(Worker &w)
{
	for (;;) {
		worker_channel::Message m;
		transport::UniqueFd fd;
		const int r = worker_channel::receive(w.ctrl.get(), &m, &fd);
		if (r == 1 && (m.flags & worker_channel::kDrained) != 0) {
			w.drained = true;
			continue;
		}
		if (r == 1) {
			w.conns.erase(m.tag); // its places are given back
			if (w.conns.empty())
				w.idle_since = std::chrono::steady_clock::now();
			continue;
		}
		return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
}

void TenantWorkers::bury(const std::string &tenant, Worker w,
			 const char *retired)
{
	// Its channel ended (it exited, or misbehaved), or the agent ends it
	// on purpose (@p retired says why).
	::kill(w.pid, SIGKILL);
	int status = 0;
	while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
	}
	fold(tenant, w, retired == nullptr);
	if (retired != nullptr) {
		audit::event("worker-retired",
			     "tenant " + tenant + ": worker process " +
				 std::to_string(w.pid) + " ended: " + retired);
		return;
	}
	audit::event("worker-exited", "tenant " + tenant + ": worker process " +
					  std::to_string(w.pid) + " " +
					  describe_exit(status) + "; its " +
					  std::to_string(w.conns.size()) +
					  " connection(s) closed");
}

void TenantWorkers::fold(const std::string &tenant, const Worker &w,
			 bool failed)
{
	std::lock_guard lock(reports_mu_);
	if (failed)
		++tallies_[tenant].failures;
	if (!w.report)
		return;
	// Dead, so its numbers no longer move: added once, and gone from
	// the live reports in the same step.
	metrics::TenantSnapshot last;
	metrics::add_snapshot(w.report->report().counters, &last);
	metrics::fold(*w.fold_into, last);
	if (auto it = live_reports_.find(tenant);
	    it != live_reports_.end() && it->second == w.report)
		live_reports_.erase(it);
}

void TenantWorkers::with_reports(const std::function<void(const View &)> &fn)
{
	std::lock_guard lock(reports_mu_);
	fn(View{live_reports_, tallies_});
}

void TenantWorkers::take_idle(std::vector<std::pair<std::string, Worker>> *out)
{
	const auto now = std::chrono::steady_clock::now();
	for (auto it = workers_.begin(); it != workers_.end();) {
		if (it->second.conns.empty() &&
		    now - it->second.idle_since >= kIdleRetire) {
			out->emplace_back(it->first, std::move(it->second));
			it = workers_.erase(it);
		} else {
			++it;
		}
	}
}

void TenantWorkers::supervise()
{
	std::vector<pollfd> fds;
	std::vector<std::string> names;
	while (!stopping_) {
		fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
		names.assign(1, {});
		{
			std::lock_guard lock(mu_);
			for (auto &[name, w] : workers_) {
				fds.push_back({w.ctrl.get(), POLLIN, 0});
				names.push_back(name);
			}
		}
		// Wakes once a second at most to retire idle workers.
		if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR)
			break;
		uint64_t n = 0;
		[[maybe_unused]] ssize_t r = ::read(wake_fd_, &n, sizeof(n));
		std::vector<std::pair<std::string, Worker>> dead, idle;
		{
			std::lock_guard lock(mu_);
			take_idle(&idle);
			for (size_t i = 1; i < fds.size(); ++i) {
				auto it = workers_.find(names[i]);
				// Gone, or replaced since the poll set was
				// made.
				if (fds[i].revents == 0 ||
				    it == workers_.end() ||
				    it->second.ctrl.get() != fds[i].fd)
					continue;
				if (collect(it->second))
					continue;
				dead.emplace_back(it->first,
						  std::move(it->second));
				workers_.erase(it);
			}
		}
		for (auto &[name, w] : dead)
			bury(name, std::move(w));
		for (auto &[name, w] : idle)
			bury(name, std::move(w),
			     "no connections for 5 minutes");
	}
}

} // namespace vaccel::agent
