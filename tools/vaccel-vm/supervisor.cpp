// SPDX-License-Identifier: Apache-2.0
#include "supervisor.h"

#include "attach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

extern char **environ;

namespace vaccel::vm
{
namespace
{

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---- small I/O helpers --------------------------------------------------

bool write_all(int fd, const char *data, size_t n)
{
	while (n > 0) {
		ssize_t w = ::write(fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		data += w;
		n -= static_cast<size_t>(w);
	}
	return true;
}

void say(const std::string &msg)
{
	const std::string line = "vaccel-vm: " + msg + "\n";
	(void)write_all(STDERR_FILENO, line.data(), line.size());
}

std::string read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::ostringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

// The last @p lines lines of a file, for error reports.
std::string tail(const std::string &path, size_t lines)
{
	const std::string s = read_file(path);
	size_t pos = s.size();
	if (pos > 0 && s[pos - 1] == '\n')
		--pos; // the final newline ends the last line
	for (size_t n = 0; n < lines; ++n) {
		size_t nl = s.rfind('\n', pos == 0 ? 0 : pos - 1);
		if (nl == std::string::npos || pos == 0)
			return s;
		pos = nl;
	}
	return s.substr(pos + 1);
}

// ---- signals ----------------------------------------------------------

// SIGINT/SIGTERM/SIGHUP end the VM and the agent in order; the handler
// only records which one came and wakes the main loop (self-pipe).
int g_signal_pipe[2] = {-1, -1};
volatile sig_atomic_t g_signal = 0;

void on_signal(int sig)
{
	g_signal = sig;
	const char c = 0;
	const int saved = errno;
	(void)!::write(g_signal_pipe[1], &c, 1);
	errno = saved;
}

void install_signal_handlers()
{
	if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		throw std::runtime_error(std::string("pipe: ") +
					 std::strerror(errno));
	struct sigaction sa {
	};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int s : {SIGINT, SIGTERM, SIGHUP})
		::sigaction(s, &sa, nullptr);
	// A reader of our stdout that goes away must not kill us before the
	// agent is stopped.
	::signal(SIGPIPE, SIG_IGN);
}

// ---- children ---------------------------------------------------------

struct Child {
	pid_t pid = -1;
	std::optional<int> status; // waitpid status once reaped
};

// In the child: die with the parent, even if it is SIGKILLed.
void die_with_parent(pid_t parent)
{
	::prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (::getppid() != parent) // the parent died before prctl
		::_exit(127);
}

std::vector<char *> c_argv(std::vector<std::string> &args)
{
	std::vector<char *> v;
	v.reserve(args.size() + 1);
	for (auto &a : args)
		v.push_back(a.data());
	v.push_back(nullptr);
	return v;
}

// In the child: @p fd (-1: none) stays open across exec, at its number.
void inherit(int fd)
{
	if (fd >= 0)
		::fcntl(fd, F_SETFD, 0);
}

// Starts @p args with stdout and stderr to @p log_path and the extra
// environment @p env, handing it @p keep_fd. Returns the child.
Child spawn_logged(std::vector<std::string> args,
		   const std::vector<std::string> &env,
		   const std::string &log_path, int keep_fd)
{
	int log = ::open(log_path.c_str(),
			 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log < 0)
		throw std::runtime_error("cannot create " + log_path + ": " +
					 std::strerror(errno));
	std::vector<std::string> envs;
	for (char **e = environ; *e != nullptr; ++e)
		envs.emplace_back(*e);
	envs.insert(envs.end(), env.begin(), env.end());
	auto argv = c_argv(args);
	auto envp = c_argv(envs);
	const pid_t parent = ::getpid();
	Child c;
	c.pid = ::fork();
	if (c.pid < 0) {
		::close(log);
		throw std::runtime_error(std::string("fork: ") +
					 std::strerror(errno));
	}
	if (c.pid == 0) {
		die_with_parent(parent);
		::signal(SIGPIPE, SIG_DFL);
		int devnull = ::open("/dev/null", O_RDONLY);
		::dup2(devnull, STDIN_FILENO);
		::dup2(log, STDOUT_FILENO);
		::dup2(log, STDERR_FILENO);
		inherit(keep_fd);
		::execvpe(argv[0], argv.data(), envp.data());
		std::fprintf(stderr, "cannot run %s: %s\n", argv[0],
			     std::strerror(errno));
		::_exit(127);
	}
	::close(log);
	return c;
}

// Starts @p args with stdout into a pipe (returned in *out_fd); stdin and
// stderr are ours; @p keep_fd is handed over.
Child spawn_piped(std::vector<std::string> args, int *out_fd, int keep_fd)
{
	int p[2];
	if (::pipe2(p, O_CLOEXEC) != 0)
		throw std::runtime_error(std::string("pipe: ") +
					 std::strerror(errno));
	auto argv = c_argv(args);
	const pid_t parent = ::getpid();
	Child c;
	c.pid = ::fork();
	if (c.pid < 0) {
		::close(p[0]);
		::close(p[1]);
		throw std::runtime_error(std::string("fork: ") +
					 std::strerror(errno));
	}
	if (c.pid == 0) {
		die_with_parent(parent);
		::signal(SIGPIPE, SIG_DFL);
		::dup2(p[1], STDOUT_FILENO);
		inherit(keep_fd);
		::execvp(argv[0], argv.data());
		std::fprintf(stderr, "vaccel-vm: cannot run %s: %s\n", argv[0],
			     std::strerror(errno));
		::_exit(127);
	}
	::close(p[1]);
	*out_fd = p[0];
	return c;
}

bool reap(Child &c, bool block)
{
	if (c.status)
		return true;
	int st = 0;
	pid_t r;
	do {
		r = ::waitpid(c.pid, &st, block ? 0 : WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == c.pid) {
		c.status = st;
		return true;
	}
	return false;
}

// SIGTERM, then SIGKILL after @p grace.
void stop(Child &c, std::chrono::milliseconds grace)
{
	if (c.pid <= 0 || reap(c, false))
		return;
	::kill(c.pid, SIGTERM);
	const auto until = Clock::now() + grace;
	while (Clock::now() < until) {
		if (reap(c, false))
			return;
		std::this_thread::sleep_for(10ms);
	}
	::kill(c.pid, SIGKILL);
	reap(c, true);
}

// A descriptor that becomes readable when @p c exits; -1 when there is no
// child or the kernel has no pidfd_open.
int watch_exit(const Child &c)
{
	if (c.pid <= 0)
		return -1;
	return static_cast<int>(::syscall(SYS_pidfd_open, c.pid, 0));
}

// An exit of its own with a non-zero status (not a signal).
bool failed_exit(int st)
{
	return WIFEXITED(st) && WEXITSTATUS(st) != 0;
}

std::string describe_status(int st)
{
	if (WIFEXITED(st))
		return "exit status " + std::to_string(WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return std::string("killed by signal ") +
		       std::to_string(WTERMSIG(st)) + " (" +
		       strsignal(WTERMSIG(st)) + ")";
	return "status " + std::to_string(st);
}

std::string shell_line(const std::vector<std::string> &argv)
{
	std::string s;
	for (const auto &a : argv)
		s += (s.empty() ? "" : " ") + shell_quote(a);
	return s;
}

// Waits (at most @p limit) for the agent's "listening on" line in its log,
// failing early if it exits.
bool wait_for_agent(Child &agent, const std::string &log,
		    std::chrono::milliseconds limit)
{
	const auto until = Clock::now() + limit;
	while (Clock::now() < until) {
		if (read_file(log).find("listening on ") != std::string::npos)
			return true;
		if (reap(agent, false))
			return false;
		std::this_thread::sleep_for(10ms);
	}
	return false;
}

// The sandbox memory: a memfd of @p size bytes, sealed against resizing
// (the agent maps only a file that cannot shrink under it), that QEMU maps
// as the guest's ivshmem device and the agent maps too.
transport::UniqueFd make_sandbox_memory(uint64_t size)
{
	transport::UniqueFd fd(::memfd_create("vaccel-sandbox-memory",
					      MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!fd.valid() ||
	    ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0 ||
	    ::fcntl(fd.get(), F_ADD_SEALS,
		    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		throw std::runtime_error(
		    std::string("cannot make the sandbox memory: ") +
		    std::strerror(errno));
	return fd;
}

std::string make_workdir()
{
	const char *tmp = std::getenv("TMPDIR");
	std::string tmpl =
	    std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
	    "/vaccel-vm-XXXXXX";
	if (::mkdtemp(tmpl.data()) == nullptr)
		throw std::runtime_error("cannot create a directory like " +
					 tmpl + ": " + std::strerror(errno));
	return tmpl;
}

} // namespace

std::string self_path()
{
	std::error_code ec;
	auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
	return ec ? std::string("vaccel-vm") : p.string();
}

std::vector<std::string> agent_argv(const std::string &agent,
				    const VmSpec &spec,
				    const std::vector<std::string> &extra,
				    int memory_fd)
{
	std::vector<std::string> argv = {agent, "-a",
					 agent_listen_address(spec)};
	if (memory_fd >= 0) {
		argv.emplace_back("--sandbox-memory-fd");
		argv.push_back(std::to_string(memory_fd));
	}
	argv.insert(argv.end(), extra.begin(), extra.end());
	return argv;
}

std::string default_agent_path()
{
	std::error_code ec;
	auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
	if (!ec) {
		auto candidate = self.parent_path() / "vaccel-agent";
		if (::access(candidate.c_str(), X_OK) == 0)
			return candidate.string();
	}
	return "vaccel-agent";
}

namespace
{

// The sandbox's own agent, logging to @p log, given the sandbox memory
// @p memory_fd (-1: none).
Child start_agent(const RunOptions &opts, const std::string &log, int memory_fd)
{
	std::vector<std::string> argv =
	    agent_argv(opts.agent, opts.spec, opts.agent_args, memory_fd);
	if (opts.verbose)
		say("agent: VACCEL_PLUGINS=" + shell_quote(opts.plugins) + " " +
		    shell_line(argv));
	return spawn_logged(argv, {"VACCEL_PLUGINS=" + opts.plugins}, log,
			    memory_fd);
}

} // namespace

int run_sandbox(RunOptions opts)
{
	VmSpec &spec = opts.spec;
	const bool own_workdir = spec.workdir.empty();
	if (own_workdir) {
		spec.workdir = make_workdir();
	} else {
		std::error_code ec;
		spec.workdir =
		    std::filesystem::absolute(spec.workdir, ec).string();
		std::filesystem::create_directories(spec.workdir, ec);
		::chmod(spec.workdir.c_str(), 0700);
	}
	if (spec.transport == Transport::Tcp)
		spec.bridge_command = {self_path(), "--bridge",
				       agent_socket_path(spec)};

	int rc = kExitSetup;
	transport::UniqueFd memory; // the sandbox memory, if any
	Child agent;
	std::unique_ptr<Attachment> attached; // --attach: no agent of ours
	Child vmm;
	const std::string agent_log = spec.workdir + "/agent.log";
	bool agent_failed = false;
	try {
		if (spec.shm_size != 0) {
			memory = make_sandbox_memory(spec.shm_size);
			spec.shm_path =
			    "/proc/self/fd/" + std::to_string(memory.get());
		}
		validate(spec);
		install_signal_handlers();

		if (!opts.attach.empty()) {
			attached = std::make_unique<Attachment>(
			    opts.attach, agent_listen_address(spec),
			    opts.tenant, opts.policy, memory.get());
			if (opts.verbose)
				say("attached to " + opts.attach +
				    " as sandbox " +
				    std::to_string(attached->sandbox()) +
				    ", tenant " + opts.tenant);
		} else {
			agent = start_agent(opts, agent_log, memory.get());
		}
		if (attached == nullptr &&
		    !wait_for_agent(agent, agent_log, 15s)) {
			agent_failed = true;
			throw std::runtime_error(
			    "the agent did not start (" +
			    (agent.status ? describe_status(*agent.status)
					  : std::string("no 'listening' line "
							"in 15 s")) +
			    ")");
		}

		std::vector<std::string> vmm_argv;
		if (spec.vmm == Vmm::Qemu) {
			vmm_argv = qemu_argv(spec);
		} else {
			const std::string cfg =
			    spec.workdir + "/firecracker.json";
			std::ofstream(cfg) << firecracker_config(spec);
			vmm_argv =
			    firecracker_argv(spec, opts.firecracker, cfg);
		}
		if (opts.verbose)
			say("vmm: " + shell_line(vmm_argv));
		int console_fd = -1;
		vmm = spawn_piped(vmm_argv, &console_fd, memory.get());
		// The agent listens before its plugins load, and exits when one
		// fails: the VM must not go on without it. -1 (attached, or no
		// pidfd_open): not watched.
		const int agent_fd = watch_exit(agent);
		bool agent_died = false;

		ConsoleFilter console;
		const auto deadline =
		    opts.timeout_s == 0
			? std::optional<Clock::time_point>()
			: Clock::now() + std::chrono::seconds(opts.timeout_s);
		bool timed_out = false;
		char buf[4096];
		while (true) {
			int wait_ms = -1;
			if (deadline) {
				auto left = std::chrono::duration_cast<
				    std::chrono::milliseconds>(*deadline -
							       Clock::now());
				wait_ms = static_cast<int>(
				    std::max<int64_t>(left.count(), 0));
			}
			pollfd fds[3] = {{console_fd, POLLIN, 0},
					 {g_signal_pipe[0], POLLIN, 0},
					 {agent_fd, POLLIN, 0}};
			int n = ::poll(fds, 3, wait_ms);
			if (n < 0 && errno == EINTR)
				continue;
			if (g_signal != 0)
				break;
			if (n == 0) {
				timed_out = true;
				break;
			}
			if (fds[2].revents != 0) {
				agent_died = true;
				break;
			}
			if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) !=
			    0) {
				ssize_t r = ::read(console_fd, buf, sizeof buf);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					break; // the VMM closed its stdout
				const std::string text =
				    console.feed(std::string_view(
					buf, static_cast<size_t>(r)));
				(void)write_all(STDOUT_FILENO, text.data(),
						text.size());
			}
		}
		const std::string rest = console.finish();
		(void)write_all(STDOUT_FILENO, rest.data(), rest.size());
		::close(console_fd);
		if (agent_fd >= 0)
			::close(agent_fd);

		if (agent_died) {
			reap(agent, true);
			agent_failed = true;
			say("the agent exited while the VM ran (" +
			    describe_status(*agent.status) +
			    "): stopping the VM");
			stop(vmm, 2s);
			rc = kExitSetup;
		} else if (g_signal != 0) {
			const int sig = g_signal;
			say(std::string("got ") + strsignal(sig) +
			    ": stopping the VM and the agent");
			stop(vmm, 2s);
			rc = 128 + sig;
		} else if (timed_out) {
			::kill(vmm.pid, SIGKILL);
			reap(vmm, true);
			say("timed out after " +
			    std::to_string(opts.timeout_s) + " s: VM killed");
			rc = kExitTimeout;
		} else {
			reap(vmm, true);
			const int vst = *vmm.status;
			if (console.status() >= 0) {
				rc = console.status();
			} else if (WIFEXITED(vst) && WEXITSTATUS(vst) != 0) {
				say("the VMM failed (" + describe_status(vst) +
				    ")");
				rc = kExitSetup;
			} else {
				say("the VM stopped without reporting an exit "
				    "status (guest crash or kernel panic, or "
				    "the VMM was stopped; VMM " +
				    describe_status(vst) + ")");
				rc = kExitCrashed;
			}
		}
	} catch (const std::exception &e) {
		say(e.what());
		rc = kExitSetup;
		if (vmm.pid > 0)
			stop(vmm, 2s);
	}

	// The agent (or our sandbox on a shared one) goes whatever happened
	// to the VM.
	attached.reset();
	if (agent.pid > 0) {
		const bool died_early = reap(agent, false);
		stop(agent, 3s);
		if (died_early && !agent_failed)
			say("the agent exited while the VM ran (" +
			    describe_status(*agent.status) + ")");
		// An agent exits non-zero on its own only when it could not
		// serve (a plugin that failed to load after it listened): the
		// run failed, whatever the guest reported.
		if (!agent_failed && failed_exit(*agent.status)) {
			agent_failed = true;
			say("the agent failed (" +
			    describe_status(*agent.status) + ")");
			rc = kExitSetup;
		}
		if (agent_failed || died_early || rc == kExitCrashed ||
		    rc == kExitSetup) {
			const std::string t = tail(agent_log, 15);
			if (!t.empty())
				say("agent log (" + agent_log + "):\n" + t);
		}
	}
	if (!opts.keep_workdir) {
		std::error_code ec;
		if (own_workdir)
			std::filesystem::remove_all(spec.workdir, ec);
		else
			for (const char *f :
			     {"agent.log", "agent.sock", "firecracker.json"})
				std::filesystem::remove(spec.workdir + "/" + f,
							ec);
	} else {
		say("kept " + spec.workdir);
	}
	return rc;
}

int run_bridge(const std::string &unix_path)
{
	::signal(SIGPIPE, SIG_IGN);
	int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (s < 0 || unix_path.size() >= sizeof(addr.sun_path)) {
		say("bridge: bad socket path " + unix_path);
		return 1;
	}
	std::memcpy(addr.sun_path, unix_path.c_str(), unix_path.size() + 1);
	if (::connect(s, reinterpret_cast<sockaddr *>(&addr), sizeof addr) !=
	    0) {
		say("bridge: cannot connect to " + unix_path + ": " +
		    std::strerror(errno));
		::close(s);
		return 1;
	}
	// Two directions, each ending with a half-close, so that a reply in
	// flight still arrives after the guest stopped sending.
	bool in_open = true;  // stdin -> socket
	bool out_open = true; // socket -> stdout
	char buf[65536];
	while (in_open || out_open) {
		pollfd fds[2] = {{in_open ? STDIN_FILENO : -1, POLLIN, 0},
				 {out_open ? s : -1, POLLIN, 0}};
		if (::poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (in_open && fds[0].revents != 0) {
			ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0 ||
			    !write_all(s, buf, static_cast<size_t>(r))) {
				::shutdown(s, SHUT_WR);
				in_open = false;
			}
		}
		if (out_open && fds[1].revents != 0) {
			ssize_t r = ::read(s, buf, sizeof buf);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0 || !write_all(STDOUT_FILENO, buf,
						 static_cast<size_t>(r))) {
				// stdout is the guest's socket under QEMU;
				// a plain file or pipe cannot half-close.
				if (::shutdown(STDOUT_FILENO, SHUT_WR) != 0)
					::close(STDOUT_FILENO);
				out_open = false;
				// The agent is gone: nothing more to send.
				in_open = false;
			}
		}
	}
	::close(s);
	return 0;
}

} // namespace vaccel::vm
