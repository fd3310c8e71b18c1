// SPDX-License-Identifier: Apache-2.0
// Round-trip cost of a remote vAccel call: vaccel_noop() through the rpc
// plugin to a vaccel-agent child process (noop plugin), against a raw
// ping-pong of similar sizes between this process and a child echo process
// over the same kind of socket, in the same run.
//
//   build/release/bin/bench_rpc                      # unix socket
//   VACCEL_BENCH_TRANSPORT=tcp build/release/bin/bench_rpc
//   VACCEL_BENCH_AGENT_SPIN_US=0 build/release/bin/bench_rpc  # no polling
#include "bench_net.h"

#include <benchmark/benchmark.h>
#include <vaccel.h>

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

// Sizes of a noop genop request and its reply on the wire, roughly.
constexpr size_t kReq = 64;
constexpr size_t kResp = 32;

bool use_tcp()
{
	const char *t = std::getenv("VACCEL_BENCH_TRANSPORT");
	return t != nullptr && std::strcmp(t, "tcp") == 0;
}

// Reads exactly @p n bytes, polling the socket for up to 50 us before each
// blocking read: the same policy as the agent's idle worker (--spin-us),
// so that the rpc round trip can also be compared with a raw peer that
// does not pay a thread wake-up either.
bool read_spinning(int fd, char *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		const auto until = std::chrono::steady_clock::now() +
				   std::chrono::microseconds(50);
		ssize_t r = -1;
		while (std::chrono::steady_clock::now() < until) {
			r = recv(fd, buf + done, n - done, MSG_DONTWAIT);
			if (r >= 0 || errno != EAGAIN)
				break;
		}
		if (r < 0 && errno == EAGAIN)
			r = recv(fd, buf + done, n - done, 0);
		if (r <= 0)
			return false;
		done += static_cast<size_t>(r);
	}
	return true;
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
		while ((spin ? read_spinning(c, buf, kReq)
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
			// (default 50; 0 measures it without polling).
			const char *spin =
			    std::getenv("VACCEL_BENCH_AGENT_SPIN_US");
			const std::string spin_us =
			    spin != nullptr ? spin : "50";
			execl(bin.c_str(), bin.c_str(), "-a",
			      agent_addr.c_str(), "--spin-us", spin_us.c_str(),
			      static_cast<char *>(nullptr));
			_exit(127);
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

void BM_raw_pingpong(benchmark::State &state)
{
	if (setup().echo_fd < 0) {
		state.SkipWithError("echo peer not reachable");
		return;
	}
	char buf[kReq] = {};
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
	for (auto _ : state)
		if (vaccel_noop(&setup().sess) != VACCEL_OK) {
			state.SkipWithError("vaccel_noop failed");
			break;
		}
}
BENCHMARK(BM_rpc_noop)->UseRealTime();

class RatioReporter : public benchmark::ConsoleReporter
{
public:
	void ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		for (const auto &r : runs)
			if (r.run_type == Run::RT_Iteration &&
			    !r.error_occurred) {
				const std::string n = r.benchmark_name();
				(n.find("rpc") != std::string::npos ? rpc_
				 : n.find("polling") != std::string::npos
				     ? raw_poll_
				     : raw_) = r.GetAdjustedRealTime();
			}
	}
	void Finalize() override
	{
		ConsoleReporter::Finalize();
		if (raw_ > 0 && rpc_ > 0 && raw_poll_ > 0)
			std::printf(
			    "\nnoop round trip over %s: %.1f us vs raw "
			    "ping-pong %.1f us = %.2fx raw; vs a raw peer that "
			    "polls like the agent %.1f us = %.2fx\n",
			    use_tcp() ? "tcp" : "unix", rpc_ / 1000,
			    raw_ / 1000, rpc_ / raw_, raw_poll_ / 1000,
			    rpc_ / raw_poll_);
	}

private:
	double raw_ = 0;
	double raw_poll_ = 0;
	double rpc_ = 0;
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
