// SPDX-License-Identifier: Apache-2.0
// Round-trip cost of a remote vAccel call: vaccel_noop() through the rpc
// plugin to a vaccel-agent child process (noop plugin), against a raw
// ping-pong of similar sizes between this process and a child echo process
// over the same kind of socket, in the same run.
//
//   build/release/bin/bench_rpc                      # unix socket
//   VACCEL_BENCH_TRANSPORT=tcp build/release/bin/bench_rpc
//   VACCEL_BENCH_AGENT_SPIN_US=0 build/release/bin/bench_rpc  # no polling
//   VACCEL_BENCH_AGENT_ARGS="--inline-us 0" build/release/bin/bench_rpc
//                              # more agent options: every op to a worker
//
// Two raw peers: one blocks in read(), one waits for each request as the
// agent's connection reader does (the agent's polling policy and budget).
// Each line reports the CPU time per call of this process and of the peer
// process (all its threads), since polling buys time with CPU.
#include "bench_net.h"

#include "transport/spin.h"

#include <benchmark/benchmark.h>
#include <vaccel.h>

#include <dirent.h>
#include <poll.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace
{

using namespace bench_net;
namespace tp = vaccel::transport;

// Sizes of a noop genop request and its reply on the wire, roughly.
constexpr size_t kReq = 64;
constexpr size_t kResp = 32;

bool use_tcp()
{
	const char *t = std::getenv("VACCEL_BENCH_TRANSPORT");
	return t != nullptr && std::strcmp(t, "tcp") == 0;
}

// The agent's --spin-us in this run: VACCEL_BENCH_AGENT_SPIN_US, or the
// agent's own default.
uint32_t agent_spin_us()
{
	const char *v = std::getenv("VACCEL_BENCH_AGENT_SPIN_US");
	return v != nullptr ? static_cast<uint32_t>(std::atoi(v)) : 2000;
}

// Reads exactly @p n bytes, waiting for them as the agent's connection
// reader waits for a request (transport::SpinPolicy over the smoothed wait
// @p avg, the agent's --spin-us as its most, its 50 us floor), so that the
// round trip can also be compared with a raw peer that pays a thread
// wake-up exactly when the agent would.
bool read_like_agent(int fd, char *buf, size_t n, int64_t *avg)
{
	static const tp::SpinPolicy policy(
	    std::chrono::microseconds(agent_spin_us()),
	    std::chrono::microseconds(50));
	const auto start = std::chrono::steady_clock::now();
	pollfd p{fd, POLLIN, 0};
	(void)tp::plan_poll(std::span(&p, 1), policy.plan(*avg));
	const bool ok = io_all(fd, buf, n, true);
	*avg = policy.update(
	    *avg, std::chrono::duration_cast<std::chrono::nanoseconds>(
		      std::chrono::steady_clock::now() - start)
		      .count());
	return ok;
}

// CPU time all threads of process @p pid have used so far, in ns (the
// scheduler's own accounting: /proc/PID/task/*/schedstat).
int64_t process_cpu_ns(pid_t pid)
{
	int64_t total = 0;
	const std::string dir = "/proc/" + std::to_string(pid) + "/task";
	DIR *d = opendir(dir.c_str());
	if (d == nullptr)
		return 0;
	while (const dirent *e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		std::FILE *f = std::fopen(
		    (dir + "/" + e->d_name + "/schedstat").c_str(), "r");
		long long ns = 0;
		if (f != nullptr) {
			if (std::fscanf(f, "%lld", &ns) == 1)
				total += ns;
			std::fclose(f);
		}
	}
	closedir(d);
	return total;
}

// A raw echo peer child: reads kReq bytes, answers kResp bytes.
pid_t start_echo(int lfd, bool spin)
{
	pid_t pid = fork();
	if (pid == 0) {
		int c = accept(lfd, nullptr, nullptr);
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		char buf[kReq];
		int64_t avg = 0;
		while ((spin ? read_like_agent(c, buf, kReq, &avg)
			     : io_all(c, buf, kReq, true)) &&
		       io_all(c, buf, kResp, false)) {
		}
		_exit(0);
	}
	return pid;
}

struct Setup {
	bool tcp = use_tcp();
	std::string dir;
	pid_t agent = -1;
	pid_t echo = -1, echo_spin = -1;
	int echo_fd = -1, echo_spin_fd = -1;
	vaccel_session sess{};
	bool ok = false;

	Setup()
	{
		char tmpl[] = "/tmp/vaccel-bench-XXXXXX";
		dir = mkdtemp(tmpl);
		const int base = 20000 + getpid() % 20000;
		const std::string agent_addr =
		    tcp ? "tcp://127.0.0.1:" + std::to_string(base)
			: "unix://" + dir + "/agent.sock";
		agent = fork();
		if (agent == 0) {
			setenv("VACCEL_PLUGINS", "libvaccel-noop.so", 1);
			std::string bin = self_dir() + "/vaccel-agent";
			// VACCEL_BENCH_AGENT_SPIN_US: the agent's --spin-us
			// (default: the agent's; 0 measures it without
			// polling).
			const std::string spin_us =
			    std::to_string(agent_spin_us());
			exec_agent(
			    {bin, "-a", agent_addr, "--spin-us", spin_us});
		}
		int lfd = listen_on(tcp, dir + "/echo.sock", base + 1);
		echo = start_echo(lfd, false);
		close(lfd);
		echo_fd = connect_to(tcp, dir + "/echo.sock", base + 1);
		lfd = listen_on(tcp, dir + "/echo-spin.sock", base + 2);
		echo_spin = start_echo(lfd, true);
		close(lfd);
		echo_spin_fd =
		    connect_to(tcp, dir + "/echo-spin.sock", base + 2);
		// Wait for the agent to listen.
		int probe = connect_to(tcp, dir + "/agent.sock", base);
		if (probe < 0 || echo_fd < 0)
			return;
		close(probe);
		setenv("VACCEL_RPC_ADDRESS", agent_addr.c_str(), 1);
		if (vaccel_plugin_load("libvaccel-rpc.so") != VACCEL_OK)
			return;
		ok = vaccel_session_init(&sess, 0) == VACCEL_OK;
	}
	~Setup()
	{
		if (ok)
			vaccel_session_release(&sess);
		if (echo_fd >= 0)
			close(echo_fd);
		if (echo_spin_fd >= 0)
			close(echo_spin_fd);
		if (echo_spin > 0) {
			kill(echo_spin, SIGTERM);
			waitpid(echo_spin, nullptr, 0);
		}
		if (agent > 0)
			kill(agent, SIGTERM);
		if (echo > 0)
			kill(echo, SIGTERM);
		if (agent > 0)
			waitpid(agent, nullptr, 0);
		if (echo > 0)
			waitpid(echo, nullptr, 0);
		std::string cmd = "rm -rf " + dir;
		(void)std::system(cmd.c_str());
	}
};

Setup &setup()
{
	static Setup s;
	return s;
}

// Reports the CPU time the peer process (@p pid: the agent or an echo
// child) used per iteration of @p state's run, as the counter peer_cpu_ns.
class PeerCpu
{
public:
	PeerCpu(benchmark::State &state, pid_t pid)
	    : state_(state), pid_(pid), start_(process_cpu_ns(pid))
	{
	}
	PeerCpu(const PeerCpu &) = delete;
	PeerCpu &operator=(const PeerCpu &) = delete;
	~PeerCpu()
	{
		const auto n = static_cast<double>(state_.iterations());
		if (n > 0)
			state_.counters["peer_cpu_ns"] = benchmark::Counter(
			    static_cast<double>(process_cpu_ns(pid_) - start_) /
			    n);
	}

private:
	benchmark::State &state_;
	pid_t pid_;
	int64_t start_;
};

void BM_raw_pingpong(benchmark::State &state)
{
	if (setup().echo_fd < 0) {
		state.SkipWithError("echo peer not reachable");
		return;
	}
	char buf[kReq] = {};
	const PeerCpu cpu(state, setup().echo);
	for (auto _ : state) {
		io_all(setup().echo_fd, buf, kReq, false);
		io_all(setup().echo_fd, buf, kResp, true);
	}
}
BENCHMARK(BM_raw_pingpong)->UseRealTime();

void BM_raw_pingpong_polling(benchmark::State &state)
{
	if (setup().echo_spin_fd < 0) {
		state.SkipWithError("echo peer not reachable");
		return;
	}
	char buf[kReq] = {};
	const PeerCpu cpu(state, setup().echo_spin);
	for (auto _ : state) {
		io_all(setup().echo_spin_fd, buf, kReq, false);
		io_all(setup().echo_spin_fd, buf, kResp, true);
	}
}
BENCHMARK(BM_raw_pingpong_polling)->UseRealTime();

void BM_rpc_noop(benchmark::State &state)
{
	if (!setup().ok) {
		state.SkipWithError("agent or rpc plugin not available");
		return;
	}
	const PeerCpu cpu(state, setup().agent);
	for (auto _ : state)
		if (vaccel_noop(&setup().sess) != VACCEL_OK) {
			state.SkipWithError("vaccel_noop failed");
			break;
		}
}
BENCHMARK(BM_rpc_noop)->UseRealTime();

// Prints each line's time and CPU per call (this process's and the peer's)
// and the ratios of issue 17's goals, all from this run.
class RatioReporter : public benchmark::ConsoleReporter
{
public:
	void ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		for (const auto &r : runs) {
			if (r.run_type != Run::RT_Iteration || run_skipped(r))
				continue;
			const std::string n = r.benchmark_name();
			Line &l = n.find("rpc") != std::string::npos ? rpc_
				  : n.find("polling") != std::string::npos
				      ? raw_poll_
				      : raw_;
			l.real_us = r.GetAdjustedRealTime() / 1000;
			l.cpu_us = r.GetAdjustedCPUTime() / 1000;
			auto it = r.counters.find("peer_cpu_ns");
			if (it != r.counters.end())
				l.peer_cpu_us = it->second.value / 1000;
		}
	}
	void Finalize() override
	{
		ConsoleReporter::Finalize();
		if (raw_.real_us <= 0 || rpc_.real_us <= 0 ||
		    raw_poll_.real_us <= 0)
			return;
		const char *net = use_tcp() ? "tcp" : "unix";
		std::printf("\nround trips over %s (agent --spin-us %u), per "
			    "call: time; CPU of this process + CPU of the "
			    "peer\n",
			    net, agent_spin_us());
		print("raw ping-pong, blocking peer", raw_);
		print("raw ping-pong, peer waits as the agent does", raw_poll_);
		print("vaccel_noop through the agent", rpc_);
		std::printf("noop over %s: %.2fx the blocking ping-pong "
			    "(goal <= %.2fx), %.2fx the same-wait one%s\n",
			    net, rpc_.real_us / raw_.real_us,
			    use_tcp() ? 1.2 : 1.15,
			    rpc_.real_us / raw_poll_.real_us,
			    use_tcp() ? "" : " (goal <= 1.5x)");
	}

private:
	struct Line {
		double real_us = 0, cpu_us = 0, peer_cpu_us = 0;
	};
	static void print(const char *what, const Line &l)
	{
		std::printf("  %-44s %7.1f us; CPU %5.1f + %5.1f us\n", what,
			    l.real_us, l.cpu_us, l.peer_cpu_us);
	}
	Line raw_, raw_poll_, rpc_;
};

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	RatioReporter reporter;
	benchmark::RunSpecifiedBenchmarks(&reporter);
	benchmark::Shutdown();
	return 0;
}
