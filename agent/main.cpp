// SPDX-License-Identifier: Apache-2.0
// vaccel-agent: serves vAccel RPC requests from guests (the rpc plugin, or
// upstream's client) by running them against this host's vAccel runtime.
//
// Exit codes: 0 after a clean shutdown (SIGINT, SIGTERM, drained or not) or
// --help; 2 for a bad command line; 1 when the runtime or the listener
// cannot start.
#include "admin_socket.h"
#include "audit.h"
#include "capabilities.h"
#include "cli.h"
#include "drain.h"
#include "health.h"
#include "host_pin.h"
#include "launcher.h"
#include "metrics_http.h"
#include "metrics_report.h"
#include "plugin_gate.h"
#include "policy.h"
#include "preload.h"
#include "sandbox_memory.h"
#include "server.h"
#include "service.h"
#include "tenant_workers.h"
#include "trace.h"
#include "worker_process.h"

#include "transport/spare_cores.h"

#include <vaccel.h>

#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

// Asks libvaccel's load-time bootstrap to leave the plugin list for later
// (vaccel/ext.h): the agent listens first and loads its plugins on a
// thread of its own (load_plugins_behind), so that a fresh agent is ready
// for connections without waiting for libtorch. Exported by the link
// (agent/CMakeLists.txt) so that libvaccel sees it.
extern "C" {
__attribute__((
    visibility("default"))) extern const int vaccel_defer_plugin_loading;
const int vaccel_defer_plugin_loading = 1;
}

// Pins libvaccel's native session routing (vaccel/ext.h): the client
// library's compatibility key (VACCEL_COMPAT) is never read in the agent,
// so that no environment or config file can change how the host routes a
// guest's ops. Exported like the one above.
extern "C" {
__attribute__((
    visibility("default"))) extern const int vaccel_compat_native_only;
const int vaccel_compat_native_only = 1;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VACCEL_ASAN 1
#endif
#endif

namespace
{

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;
// What the loader thread writes into the stop pipe when a plugin failed
// (no signal has this number).
constexpr unsigned char kPluginsFailed = 0xff;
// What wait_for_stop() returns when an admin began draining (not a byte
// of the pipe).
constexpr int kDrainRequested = 0x100;

int fail(const char *what, const std::string &msg)
{
	std::fprintf(stderr, "vaccel-agent: %s: %s\n", what, msg.c_str());
	return kExitFailure;
}

// Why the plugins of the configured list that did not load failed; empty
// when all loaded. A plugin missing from an agent leaves its ops to another
// plugin or to none, which nobody would notice before a guest's call (after
// its VM booted): the agent refuses to start instead.
std::string plugin_failures()
{
	std::string out;
	for (size_t i = 0; i < vaccel_plugin_failure_count(); ++i) {
		vaccel_plugin_failure f{};
		f.struct_size = sizeof(f);
		if (vaccel_plugin_failure_describe(i, &f) == VACCEL_OK)
			out +=
			    (out.empty() ? "" : "; ") + std::string(f.message);
	}
	return out;
}

// Loads the plugins that libvaccel's bootstrap left for later, making its
// run directory first (vaccel/ext.h); empty, or why the agent cannot serve.
std::string load_deferred_plugins()
{
	const int rc = vaccel_plugin_load_deferred();
	std::string why = plugin_failures();
	if (why.empty() && rc != VACCEL_OK)
		why = "loading them failed (code " + std::to_string(rc) +
		      ", e.g. no run directory could be made; the log says "
		      "why)";
	return why;
}

// The write end of the pipe that carries SIGINT/SIGTERM to main(). A signal
// handler can reach nothing else, hence a file-scope variable (the only one
// in the agent). Why not block the signals and read a signalfd: plugins
// that VACCEL_PLUGINS loads with libvaccel, before main() runs, may already
// have started threads (libtorch, OpenMP runtimes), and a signal the
// process receives goes to any thread that does not block it, where the
// default action ends the process, unflushed request trace and all.
int g_signal_pipe = -1;

extern "C" void on_stop_signal(int sig)
{
	const int saved = errno;
	const auto b = static_cast<unsigned char>(sig);
	// Non-blocking: a second signal while the first is unread is dropped.
	[[maybe_unused]] ssize_t n = ::write(g_signal_pipe, &b, 1);
	errno = saved;
}

// Installs on_stop_signal for SIGINT and SIGTERM; returns the pipe's read
// end, or -1 (errno set).
int catch_stop_signals()
{
	int fds[2];
	if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	g_signal_pipe = fds[1];
	struct sigaction sa {
	};
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	// Not reset on delivery: a SIGTERM while draining comes through the
	// pipe too, and stops the agent at once (end_on_next_signal()).
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGINT, &sa, nullptr) != 0 ||
	    sigaction(SIGTERM, &sa, nullptr) != 0)
		return -1;
	return fds[0];
}

// The exit status a stop signal during the shutdown ends the process with
// (0: the signal's default action).
volatile sig_atomic_t g_exit_on_signal = 0;

void exit_at_once(int sig)
{
	if (g_exit_on_signal != 0)
		_exit(g_exit_on_signal);
	signal(sig, SIG_DFL);
	raise(sig);
}

// Once the agent shuts down, a further SIGINT or SIGTERM ends the process
// at once (a stop that hangs can still be interrupted). When the agent
// already knows it failed (@p failed: a plugin did not load), it ends with
// that failure's status: whoever stops it (vaccel-vm, once its VM is done)
// must still learn that it could not have served, not see a death by its
// own signal. Otherwise, the signal's default action.
void end_on_next_signal(bool failed)
{
	g_exit_on_signal = failed ? kExitFailure : 0;
	signal(SIGINT, exit_at_once);
	signal(SIGTERM, exit_at_once);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &stop, nullptr);
}

// Waits for a stop signal, or for an admin to begin draining (@p drain_fd
// readable); returns the signal's number, kPluginsFailed, kDrainRequested,
// or -1 on an error. The signals are unblocked only inside the wait (the
// agent's own threads keep them blocked, so that their system calls are
// never interrupted).
int wait_for_stop(int fd, int drain_fd)
{
	sigset_t unblocked;
	sigemptyset(&unblocked);
	for (;;) {
		pollfd p[2] = {{fd, POLLIN, 0}, {drain_fd, POLLIN, 0}};
		const int n = ::ppoll(p, 2, nullptr, &unblocked);
		if (n < 0 && errno != EINTR)
			return -1;
		unsigned char b = 0;
		if (n > 0 && (p[0].revents & POLLIN) != 0 &&
		    ::read(fd, &b, 1) == 1)
			return b;
		if (n > 0 && (p[1].revents & POLLIN) != 0)
			return kDrainRequested;
	}
}

// What a drain waits for: every server of the agent, and the tenants'
// workers, quiet (drain.h).
struct DrainParts {
	vaccel::agent::Drain &drain;
	vaccel::agent::Health &health;
	vaccel::agent::Server &server;
	vaccel::agent::Launcher &launcher;
	vaccel::agent::TenantWorkers *workers; // null: not isolating
};

// Drains when @p why asks for it (SIGTERM, or an admin's Launcher/Drain,
// with a grace period configured): the agent refuses new work and waits
// for its clients to move and its calls to end, within the grace period.
// Returns what stops the agent: @p why, or what came meanwhile (a second
// signal, the plugins failing).
int drain_if_asked(int why, const DrainParts &p, int stop_fd)
{
	using namespace vaccel::agent;
	if (why != SIGTERM && why != kDrainRequested)
		return why;
	if (p.drain.grace().count() == 0)
		return why;
	if (p.drain.begin())
		audit::event("drain", "SIGTERM; " +
					  std::to_string(p.drain.left_ms()) +
					  " ms of grace");
	p.health.set_draining(true);
	if (p.workers != nullptr)
		p.workers->drain(p.drain.left_ms());
	vaccel_info("agent: draining: no new sessions; exit within %u ms",
		    p.drain.left_ms());
	auto quiet = [&p] {
		return p.server.quiet() && p.launcher.quiet() &&
		       (p.workers == nullptr || p.workers->quiet());
	};
	int byte = 0;
	switch (wait_drained(p.drain, quiet, stop_fd, &byte)) {
	case DrainEnd::Quiet:
		vaccel_info("agent: drained: clients moved, calls done");
		return why;
	case DrainEnd::Expired:
		vaccel_info("agent: drain grace period over; closing the "
			    "connections left");
		return why;
	case DrainEnd::Stopped:
		break;
	}
	return byte;
}

// Loads the deferred plugins on a thread of its own, then opens @p gate;
// when one fails, leaves the reason in @p why, fails the gate and wakes
// main() through the stop pipe, so that the agent exits with the reason
// instead of serving without the plugin.
// Once they are in, @p server's workers start (no request runs before:
// every connection waits at the gate), so that the agent's start to
// listening does not include making them.
std::thread load_plugins_behind(vaccel::agent::PluginGate &gate,
				vaccel::agent::Server &server,
				vaccel::agent::Service &service,
				std::string *why)
{
	return std::thread([&gate, &server, &service, why] {
		*why = load_deferred_plugins();
		if (why->empty()) {
			vaccel_info("agent: plugins loaded");
			server.start_workers();
			gate.open();
			// The first sandbox's session finds its directory.
			service.session_dirs().request();
			return;
		}
		gate.fail();
		const unsigned char b = kPluginsFailed;
		[[maybe_unused]] ssize_t n = ::write(g_signal_pipe, &b, 1);
	});
}

// Loads the plugins now: for an agent that must run ops before it listens
// (--preload). Empty, or why not.
std::string load_plugins_now()
{
	return load_deferred_plugins();
}

// The group --socket-group names (a name or a number).
vaccel::core::Result<gid_t> resolve_group(const std::string &name)
{
	if (uint32_t gid = 0; vaccel::agent::parse_id(name, &gid))
		return static_cast<gid_t>(gid);
	if (const group *g = ::getgrnam(name.c_str()); g != nullptr)
		return g->gr_gid;
	return vaccel::core::Status::error(VACCEL_EINVAL, "no group '%s'",
					   name.c_str());
}

// The policy file (or the defaults), plus what the command line adds: with
// no [identity] allow-list of its own, the socket's group may connect
// besides the agent's user and root; an explicit list stays authoritative.
vaccel::core::Result<vaccel::agent::Policy>
effective_policy(const vaccel::agent::Options &o, int64_t *socket_gid)
{
	using namespace vaccel::agent;
	Policy p;
	if (!o.policy.empty()) {
		auto loaded = load_policy(o.policy);
		if (!loaded)
			return loaded.status();
		p = std::move(loaded.value());
	}
	if (!o.socket_group.empty()) {
		auto gid = resolve_group(o.socket_group);
		if (!gid)
			return gid.status();
		*socket_gid = *gid;
		auto &id = p.identity;
		if (id.allow_uids.empty() && id.allow_gids.empty()) {
			id.allow_uids = {static_cast<uint32_t>(::geteuid()), 0};
			id.allow_gids = {static_cast<uint32_t>(*gid)};
		}
	}
	// The cap is a per-process limit: one process serving every tenant
	// cannot hold each to its own.
	if (const std::string t = p.accelerator_capped();
	    !t.empty() && !o.isolate_tenants)
		return vaccel::core::Status::error(
		    VACCEL_EINVAL,
		    "%s: [%s.quotas] accelerator_bytes is enforced per worker "
		    "process: start the agent with --isolate-tenants",
		    p.origin.c_str(), t.c_str());
	return p;
}

// Says loudly what in the policy gives tenants power over the host.
void warn_dangerous(const vaccel::agent::Policy &p)
{
	using namespace vaccel::agent;
	auto check = [](const std::string &where, const TenantPolicy &t) {
		if (t.allows(OpClass::Exec) && t.exec_names("*"))
			audit::event("policy-warning",
				     where + ": exec of any library, guest "
					     "uploads included: tenants run "
					     "code as the agent's user");
		if (t.url.enabled && t.url.allow_private)
			audit::event("policy-warning",
				     where + ": URL downloads may reach "
					     "internal addresses");
	};
	check("default", p.defaults);
	for (const auto &[name, t] : p.tenants)
		check("tenant." + name, t);
}

// Idle connections each hold a descriptor: use all the host allows.
void raise_fd_limit()
{
	rlimit rl{};
	if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (::setrlimit(RLIMIT_NOFILE, &rl) != 0)
			vaccel_warn("agent: cannot raise RLIMIT_NOFILE: %s",
				    std::strerror(errno));
	}
}

// The options of the agent's listener (and, through the launcher, of every
// sandbox's), from the command line.
vaccel::agent::ServerOptions
server_options(const vaccel::agent::Options &o, int64_t socket_gid,
	       std::shared_ptr<const vaccel::transport::TlsContext> tls)
{
	vaccel::agent::ServerOptions so;
	so.tenant = o.tenant;
	so.socket_mode = o.socket_mode;
	so.socket_gid = socket_gid;
	so.allow_abstract = o.allow_abstract;
	so.insecure_tcp = o.insecure_tcp;
	so.tls = std::move(tls);
	so.tls_handshake_timeout =
	    std::chrono::milliseconds(o.tls_handshake_ms);
	so.workers = o.workers;
	so.max_frame = o.max_frame;
	so.max_message = o.max_message;
	so.shm = o.shm;
	so.spin = std::chrono::microseconds(o.spin_us);
	so.inline_limit = std::chrono::microseconds(o.inline_us);
	so.read_timeout = std::chrono::milliseconds(o.read_timeout_ms);
	so.idle_timeout = std::chrono::milliseconds(o.idle_timeout_ms);
	so.write_timeout = std::chrono::milliseconds(o.write_timeout_ms);
	so.max_queued_reply = o.max_queued_reply;
	return so;
}

// --sandbox-memory-fd: the VM's memory, mapped (null without the option).
vaccel::core::Result<std::shared_ptr<vaccel::agent::SandboxMemory>>
sandbox_memory(const vaccel::agent::Options &o,
	       vaccel::agent::HostMemoryPinner *pinner)
{
	if (o.sandbox_memory_fd < 0)
		return std::shared_ptr<vaccel::agent::SandboxMemory>();
	// Ours from now on; never inherited by what the agent starts.
	if (::fcntl(o.sandbox_memory_fd, F_SETFD, FD_CLOEXEC) != 0)
		return vaccel::core::Status::error(
		    VACCEL_EINVAL, "descriptor %d: %s", o.sandbox_memory_fd,
		    std::strerror(errno));
	auto m = vaccel::agent::SandboxMemory::create(
	    vaccel::transport::UniqueFd(o.sandbox_memory_fd), pinner);
	if (m)
		vaccel_info("agent: sandbox memory of %llu bytes",
			    static_cast<unsigned long long>(m.value()->size()));
	return m;
}

// A tenant's worker process (tenant_workers.h): no listener, no trace.
int worker_main(const vaccel::agent::Options &o,
		vaccel::agent::Service &service,
		vaccel::agent::ServerOptions so, int stop_fd,
		vaccel::agent::HostMemoryPinner *pinner)
{
	using namespace vaccel::agent;
	so.pinner = o.pin_shm ? pinner : nullptr;
	WorkerOptions w{o.worker_fd, o.worker_tenant, o.worker_tenant_policy,
			stop_fd};
	// Begun when the agent says so, with the grace it has left.
	Drain drain(std::chrono::seconds(o.drain_grace_s));
	w.drain = &drain;
	std::optional<WorkerReportMap> report;
	metrics::Queues queues;
	if (o.worker_report_fd >= 0) {
		auto r = WorkerReportMap::attach(o.worker_report_fd);
		if (!r)
			return fail("worker", r.status().message());
		report.emplace(std::move(r.value()));
		w.report = &report->writable();
		w.queues = &queues;
	}
	const int code = run_worker(service, std::move(so), w);
#if defined(__SANITIZE_ADDRESS__) || defined(VACCEL_ASAN)
	// LeakSanitizer checks at exit through ptrace and clone, which the
	// worker's filter refuses: end here, checked or not.
	vaccel_cleanup();
	::_exit(code);
#endif
	return code;
}

// Listens, and with an admin socket serves launchers, until a stop signal;
// the exit status. With --isolate-tenants the connections go to worker
// processes, which get the agent's own command line @p args. The plugins
// load once it listens; requests wait for them.
int serve(const vaccel::agent::Options &o, vaccel::agent::Service &service,
	  vaccel::agent::ServerOptions so, std::vector<std::string> args,
	  int stop_fd)
{
	using namespace vaccel::agent;
	const bool metered = !o.metrics.empty();
	// Declared before the servers that hand connections to it, after
	// the Service whose quotas its connections hold.
	TenantWorkers workers(std::move(args), metered);
	if (o.isolate_tenants) {
		if (auto st = workers.start(); !st)
			return fail("isolate-tenants", st.message());
		so.isolate = &workers;
	}
	metrics::Queues queues; // outlives the servers that register
	so.metrics = metered ? &queues : nullptr;
	PluginGate gate; // outlives every server that waits on it
	so.plugins = &gate;
	Drain drain(std::chrono::seconds(o.drain_grace_s));
	so.drain = &drain; // asked for every request; admits all until begun
	ServerOptions own = so;
	own.lazy_threads = true; // started with the plugins
	Server server(service, own);
	// Attached sandboxes bring their own memory, if any.
	ServerOptions sandbox_base = so;
	sandbox_base.sandbox_memory = nullptr;
	Launcher launcher(service, sandbox_base);
	Health health(server, &gate, &drain);
	std::optional<AdminSocket> admin;
	if (!o.admin_socket.empty())
		admin.emplace(
		    launcher,
		    vaccel::transport::parse_address(o.admin_socket).value(),
		    o.drain_grace_s > 0 ? &drain : nullptr);
	std::optional<MetricsReport> report;
	std::optional<MetricsHttp> http;
	if (metered) {
		auto ready = [&health] { return health.ready(); };
		auto draining = [&drain] { return drain.active(); };
		report.emplace(MetricsReport::Sources{
		    service, queues, ready, draining,
		    o.isolate_tenants ? &workers : nullptr});
		http.emplace(MetricsHttpOptions{
		    parse_metrics_address(o.metrics).value(),
		    o.metrics_allow_remote,
		    [&report] { return report->render(); },
		    [&health] { return health.live(); }, ready});
		// Before the data listener: a refused address binds nothing.
		if (auto st = http->start(); !st)
			return fail("metrics", st.message());
		std::printf("vaccel-agent metrics on http://%s/metrics\n",
			    vaccel::transport::to_string(http->address())
				.substr(std::string_view("tcp://").size())
				.c_str());
	}
	if (auto st = server.start(); !st)
		return fail("listen", st.message());
	if (auto st = admin ? admin->start() : vaccel::core::Status::ok();
	    !st) {
		server.stop();
		return fail("admin-socket", st.message());
	}
	// Said first: connections are taken from now on (they wait at the
	// gate while the plugins load).
	std::printf("vaccel-agent listening on %s\n",
		    vaccel::transport::to_string(server.address()).c_str());
	std::fflush(stdout);
	std::string plugins_failed;
	std::thread loader =
	    load_plugins_behind(gate, server, service, &plugins_failed);
	vaccel_info("agent: %zu workers, max frame %u bytes%s", so.workers,
		    so.max_frame,
		    o.isolate_tenants ? ", a process per tenant" : "");

	int code = 0;
	const int sig = drain_if_asked(wait_for_stop(stop_fd, drain.fd()),
				       {drain, health, server, launcher,
					o.isolate_tenants ? &workers : nullptr},
				       stop_fd);
	// Said before a second signal can end the process at once
	// (end_on_next_signal()): a launcher that stops the agent as soon as
	// it sees it fail still finds the reason in its log.
	if (sig == kPluginsFailed) {
		loader.join();
		code = fail("plugins", plugins_failed);
	}
	end_on_next_signal(sig == kPluginsFailed);
	health.set_draining(true);
	// Connections still waiting for the plugins are turned away.
	gate.fail();
	// dlopen() cannot be interrupted: a stop during the load waits for it.
	if (loader.joinable())
		loader.join();
	// A plugin that failed fails the agent even when a stop signal came
	// first: whoever started it learns that it could not have served.
	if (!plugins_failed.empty()) {
		if (sig != kPluginsFailed) // else said above
			code = fail("plugins", plugins_failed);
	} else if (sig < 0)
		code = fail("signals", std::strerror(errno));
	else if (sig == kDrainRequested)
		vaccel_info("agent: drained on request, shutting down");
	else
		vaccel_info("agent: signal %d, shutting down", sig);
	// First: its probes read the listener the server closes below.
	if (http)
		http->stop();
	if (admin)
		admin->stop();
	launcher.detach_all();
	server.stop();
	workers.stop();
	service.clear();
	return code;
}

} // namespace

int main(int argc, char **argv)
{
	// Large calls allocate and free buffers of tens to hundreds of MiB.
	// glibc serves each with a fresh mmap(), so every call paid a page
	// fault per 4 KiB (the bulk of a large call's time when profiled).
	// Serve them from the heap instead and keep up to 512 MiB of freed
	// memory for the next call: idle memory traded for throughput.
	// One arena: glibc's per-thread arenas mmap anything above 64 MiB
	// whatever M_MMAP_MAX says. Small allocations stay thread-local
	// (tcache), so workers rarely meet on the arena lock.
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_MAX, 0);
	mallopt(M_TRIM_THRESHOLD, 512 << 20);
	using namespace vaccel::agent;
	make_undumpable();
#if defined(__SANITIZE_ADDRESS__) || defined(VACCEL_ASAN)
	// LeakSanitizer stops the world at exit through ptrace, which a
	// process that is not dumpable refuses.
	std::atexit([] { ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); });
#endif

	std::vector<std::string_view> args(argv, argv + argc);
	auto opts = parse_cli(args);
	if (!opts) {
		std::fprintf(stderr,
			     "vaccel-agent: %s\nTry 'vaccel-agent --help'.\n",
			     opts.status().message().c_str());
		return kExitUsage;
	}
	if (opts->help) {
		std::fputs(usage("vaccel-agent").c_str(), stdout);
		return 0;
	}
	int64_t socket_gid = -1;
	auto policy = effective_policy(*opts, &socket_gid);
	if (!policy) {
		std::fprintf(stderr, "vaccel-agent: policy: %s\n",
			     policy.status().message().c_str());
		return kExitUsage;
	}
	if (opts->check_config) {
		std::fputs(describe(*policy).c_str(), stdout);
		return 0;
	}
	if (!opts->digest.empty()) {
		auto d = digest_of(opts->digest);
		if (!d)
			return fail("digest", d.status().message());
		std::printf("%s\n", d->c_str());
		return 0;
	}
	std::FILE *audit_file = nullptr;
	if (!opts->audit_log.empty()) {
		audit_file = std::fopen(opts->audit_log.c_str(), "ae");
		if (audit_file == nullptr)
			return fail("audit-log", std::strerror(errno));
		audit::set_sink(audit_file);
	}
	const bool worker = opts->worker_fd >= 0;
	if (worker) {
		// Before any thread of ours: threads inherit the empty sets.
		if (auto st = drop_capabilities(); !st)
			return fail("worker", st.message());
		// Trace lines of several processes in one file would mix.
		opts->trace.clear();
		::unsetenv("VACCEL_AGENT_TRACE");
	} else {
		audit::event("policy-loaded", policy->origin);
		warn_dangerous(*policy);
	}
	raise_fd_limit();

	// SIGINT/SIGTERM reach main() through a pipe (catch_stop_signals,
	// wait_for_stop).
	// Handlers, not dispositions: a shell starts background jobs with
	// SIGINT ignored, which installing the handler undoes. SIGPIPE is
	// ignored: a client hanging up is an error return, not the agent's
	// death.
	signal(SIGPIPE, SIG_IGN);
	const int sfd = catch_stop_signals();
	if (sfd < 0)
		return fail("signals", std::strerror(errno));
	// Blocked here, before the agent starts any thread, so that all of
	// them inherit it; a plugin's thread that predates main() does not
	// block them, and the handler runs there instead.
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &stop, nullptr) != 0)
		return fail("signals", "cannot block SIGINT/SIGTERM");

	if (opts->vaccel_config) {
		if (auto st = apply_vaccel_config(*opts->vaccel_config); !st)
			return fail("vaccel-config", st.message());
	} else if (!vaccel_is_initialized()) {
		// The load-time bootstrap failed or was disabled.
		if (int rc = vaccel_bootstrap(); rc != VACCEL_OK)
			return fail("bootstrap",
				    "vAccel runtime failed to start (code " +
					std::to_string(rc) + ")");
	}
	// A worker serves connections the agent accepted after its plugins
	// loaded: it loads its own before it takes any.
	if (const std::string why =
		worker ? load_deferred_plugins() : plugin_failures();
	    !why.empty())
		return fail("plugins", why);

	auto addr = vaccel::transport::parse_address(opts->address);
	if (!addr)
		return fail("server-address", addr.status().message());

	// Never in a worker: TLS ends in the agent (tls_relay.h), and the
	// key must not sit in the memory of processes that run tenants' code.
	std::shared_ptr<const vaccel::transport::TlsContext> tls;
	if (!opts->tls_cert.empty() && !worker) {
		auto ctx = vaccel::transport::TlsContext::server(
		    {opts->tls_cert, opts->tls_key, opts->tls_client_ca});
		if (!ctx)
			return fail("tls", ctx.status().message());
		tls = std::move(ctx).value();
	}

	Limits limits;
	limits.max_frame = opts->max_frame;
	limits.max_message = opts->max_message;
	limits.max_buffered = opts->max_buffered;
	limits.extensions = opts->extensions;
	int code = 0;
	RequestTrace trace;      // outlives the server, which writes to it
	HostMemoryPinner pinner; // outlives the regions it pinned
	// VACCEL_AGENT_TRACE: the same as --trace, for deployments that
	// configure through the environment; the option wins.
	if (const char *env = std::getenv("VACCEL_AGENT_TRACE");
	    opts->trace.empty() && env != nullptr && *env != '\0')
		opts->trace = env;
	if (!opts->trace.empty()) {
		if (auto st = trace.open(opts->trace); !st)
			return fail("trace", st.message());
	}
	// Readers and workers poll only with a core to spare
	// (transport/spare_cores.h); the check is set up before any thread
	// or tenant worker process starts.
	if (const char *env = std::getenv("VACCEL_POLL_BUSY_HOST"))
		vaccel::transport::poll_on_busy_host(std::string_view(env) ==
						     "1");
	(void)vaccel::transport::cores_to_spare();
	{
		Service service(limits, std::move(policy.value()));
		ServerOptions so = server_options(*opts, socket_gid, tls);
		so.address = addr.value();
		so.trace = trace.enabled() ? &trace : nullptr;
		so.pinner = opts->pin_shm ? &pinner : nullptr;
		auto memory = sandbox_memory(*opts, so.pinner);
		if (memory)
			so.sandbox_memory = memory.value();
		// Where ops run: here, or in each tenant's worker. Preloaded
		// models need the plugins: an agent that preloads is started
		// ahead of its sandboxes, and listens once they are loaded (a
		// worker has loaded its plugins already).
		const bool runs_ops = worker || !opts->isolate_tenants;
		const bool preloads = runs_ops && !opts->preload.empty();
		std::string why = preloads ? load_plugins_now() : "";
		if (!memory) {
			code =
			    fail("sandbox-memory", memory.status().message());
		} else if (!why.empty()) {
			code = fail("plugins", why);
		} else if (auto st =
			       preloads ? preload_models(service, opts->preload)
					: vaccel::core::Status::ok();
			   !st) {
			code = fail("preload", st.message());
		} else if (worker) {
			code = worker_main(*opts, service, so, sfd, &pinner);
		} else {
			code = serve(*opts, service, so,
				     worker_command_line(args), sfd);
		}
	}
	close(sfd);
	vaccel_cleanup();
	audit::set_sink(nullptr);
	if (audit_file != nullptr)
		std::fclose(audit_file);
	return code;
}
