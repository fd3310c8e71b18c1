// SPDX-License-Identifier: Apache-2.0
// Socket helpers shared by the remote benchmarks: the raw baselines they
// measure against (echo peers over unix or tcp sockets) and locating the
// agent and plugins next to the benchmark binary.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace bench_net
{

// Pins the calling process to the CPUs of @p list ("2-7", "0,2,4-5"), as
// taskset does; false for a malformed or empty list, or a refusal.
inline bool pin_to_cpus(const std::string &list)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	std::stringstream in(list);
	bool any = false;
	for (std::string item; std::getline(in, item, ',');) {
		char *end = nullptr;
		const long lo = std::strtol(item.c_str(), &end, 10);
		long hi = lo;
		if (end == item.c_str())
			return false;
		if (*end == '-') {
			const char *rest = end + 1;
			hi = std::strtol(rest, &end, 10);
			if (end == rest)
				return false;
		}
		if (*end != '\0' || lo < 0 || hi < lo || hi >= CPU_SETSIZE)
			return false;
		for (long c = lo; c <= hi; ++c)
			CPU_SET(static_cast<int>(c), &set);
		any = true;
	}
	return any && sched_setaffinity(0, sizeof(set), &set) == 0;
}

inline std::string self_dir()
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return ".";
	buf[n] = '\0';
	std::string p(buf);
	return p.substr(0, p.rfind('/'));
}

inline int listen_on(bool tcp, const std::string &path, int port)
{
	int fd;
	if (tcp) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_port = htons(static_cast<uint16_t>(port));
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0)
			return -1;
	} else {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_un a{};
		a.sun_family = AF_UNIX;
		std::snprintf(a.sun_path, sizeof(a.sun_path), "%s",
			      path.c_str());
		unlink(path.c_str());
		if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0)
			return -1;
	}
	listen(fd, 128);
	return fd;
}

inline int connect_to(bool tcp, const std::string &path, int port)
{
	for (int i = 0; i < 100; ++i) {
		int fd;
		int rc;
		if (tcp) {
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			sockaddr_in a{};
			a.sin_family = AF_INET;
			a.sin_port = htons(static_cast<uint16_t>(port));
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			rc = connect(fd, reinterpret_cast<sockaddr *>(&a),
				     sizeof(a));
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		} else {
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			sockaddr_un a{};
			a.sun_family = AF_UNIX;
			std::snprintf(a.sun_path, sizeof(a.sun_path), "%s",
				      path.c_str());
			rc = connect(fd, reinterpret_cast<sockaddr *>(&a),
				     sizeof(a));
		}
		if (rc == 0)
			return fd;
		close(fd);
		usleep(20000);
	}
	return -1;
}

inline bool io_all(int fd, char *buf, size_t n, bool rd)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = rd ? read(fd, buf + done, n - done)
			       : write(fd, buf + done, n - done);
		if (r <= 0)
			return false;
		done += static_cast<size_t>(r);
	}
	return true;
}

// Whether a Google Benchmark run failed or was skipped. Works with both
// reporter APIs: Run::error_occurred (up to 1.7) and Run::skipped (1.8+),
// so that the benchmarks also build against a newer library elsewhere.
template <class Run> bool run_skipped(const Run &r)
{
	if constexpr (requires { r.skipped; })
		return r.skipped != decltype(r.skipped){};
	else
		return r.error_occurred;
}

// Replaces this (forked) process with the agent: @p words are its argv
// (the binary first), followed by VACCEL_BENCH_AGENT_ARGS, more agent
// options separated by spaces (e.g. "--workers 1", "--inline-us 0").
[[noreturn]] inline void exec_agent(std::vector<std::string> words)
{
	// Never outlives the benchmark, even one that crashes.
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (const char *extra = std::getenv("VACCEL_BENCH_AGENT_ARGS")) {
		std::istringstream in(extra);
		for (std::string w; in >> w;)
			words.push_back(w);
	}
	std::vector<char *> argv;
	for (auto &w : words)
		argv.push_back(w.data());
	argv.push_back(nullptr);
	execv(argv[0], argv.data());
	_exit(127);
}

// A vaccel-agent child process serving @p plugins (a VACCEL_PLUGINS value)
// on a unix socket in a fresh temporary folder. The agent binary is
// $VACCEL_BENCH_AGENT, or vaccel-agent next to the benchmark. The child
// inherits the environment, so backend settings (VACCEL_TORCH_DEVICE...)
// apply to it as they do to the benchmark's own plugins.
class AgentProcess
{
public:
	// @p policy_extra: more keys of the policy's [default] table (e.g.
	// the exec allowlist).
	explicit AgentProcess(const std::string &plugins,
			      const std::string &policy_extra = {})
	{
		char tmpl[] = "/tmp/vaccel-bench-XXXXXX";
		if (mkdtemp(tmpl) == nullptr)
			return;
		dir_ = tmpl;
		const std::string sock = dir_ + "/agent.sock";
		address_ = "unix://" + sock;
		// The benchmarks run model ops, which the agent's default
		// policy leaves to the operator to allow (docs/security.md):
		// their own policy allows every op class. A later --policy in
		// VACCEL_BENCH_AGENT_ARGS replaces it.
		const std::string policy = dir_ + "/policy.toml";
		if (FILE *f = std::fopen(policy.c_str(), "w")) {
			std::fputs("[default]\nops = [\"all\"]\n", f);
			std::fputs(policy_extra.c_str(), f);
			std::fclose(f);
		}
		const char *env_bin = std::getenv("VACCEL_BENCH_AGENT");
		const std::string bin = env_bin != nullptr && *env_bin != '\0'
					    ? env_bin
					    : self_dir() + "/vaccel-agent";
		pid_ = fork();
		if (pid_ == 0) {
			setenv("VACCEL_PLUGINS", plugins.c_str(), 1);
			// VACCEL_BENCH_AGENT_CPUS: the agent's CPUs (a
			// taskset list), apart from this process's.
			if (const char *cpus =
				std::getenv("VACCEL_BENCH_AGENT_CPUS");
			    cpus != nullptr && *cpus != '\0' &&
			    !pin_to_cpus(cpus)) {
				std::fprintf(stderr,
					     "VACCEL_BENCH_AGENT_CPUS '%s' "
					     "cannot be applied\n",
					     cpus);
				_exit(127);
			}
			exec_agent({bin, "-a", address_, "--policy", policy});
		}
		// Up to 2 s for the agent to listen (connect_to retries).
		const int probe = connect_to(false, sock, 0);
		if (probe >= 0) {
			close(probe);
			ok_ = true;
		}
	}
	~AgentProcess()
	{
		if (pid_ > 0) {
			kill(pid_, SIGTERM);
			waitpid(pid_, nullptr, 0);
		}
		if (!dir_.empty()) {
			unlink((dir_ + "/agent.sock").c_str());
			unlink((dir_ + "/policy.toml").c_str());
			rmdir(dir_.c_str());
		}
	}
	AgentProcess(const AgentProcess &) = delete;
	AgentProcess &operator=(const AgentProcess &) = delete;

	bool ok() const { return ok_; }
	pid_t pid() const { return pid_; }
	// SIGKILL, and reaped: an agent that dies.
	void kill_now()
	{
		if (pid_ > 0) {
			kill(pid_, SIGKILL);
			waitpid(pid_, nullptr, 0);
			pid_ = -1;
		}
	}
	// "unix:///tmp/vaccel-bench-.../agent.sock", for VACCEL_RPC_ADDRESS.
	const std::string &address() const { return address_; }

private:
	std::string dir_;
	std::string address_;
	pid_t pid_ = -1;
	bool ok_ = false;
};

} // namespace bench_net
