// SPDX-License-Identifier: Apache-2.0
// Agent pools through the rpc plugin (VACCEL_RPC_ADDRESS a list), against
// agents that model an accelerator: mbench's "sleep" exec holds the
// agent's one device for a fixed time, asleep, so that the client's CPUs
// do not limit the pool (docs/benchmarks.md).
//
//  1. Scaling: T threads, each with its own session, call as fast as they
//     can against 1, 2 and 3 agents; calls/s and the ratios to 1 agent.
//  2. One slow agent of three (VACCEL_MBENCH_SLOWDOWN=2: every hold twice
//     as long): T threads each make a session, run K calls on it and
//     release it, over and over (short-lived sessions, as serverless
//     functions make), placed round-robin and then least-loaded, in the
//     same run; calls/s and the ratio.
//  3. Failover pause: three agents, one session each, calling a pure op
//     (mbench sgemm holding the device); one agent, in the middle of a
//     call, is killed (SIGKILL), and the time from the kill to that call's
//     result, run again on another agent, is measured (it includes the
//     call's own hold there and the wait for that agent's device).
//
//   build/default/bin/bench_rpc_pool [--seconds S] [--op-ms M]
//                                    [--threads T] [--kills N]
#include "bench_net.h"

#include <vaccel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace bench_net;
using Clock = std::chrono::steady_clock;

namespace
{

struct Options {
	double seconds = 2.0;
	int op_ms = 10;
	int threads = 6;
	int kills = 3;
};

// The agents run exec of symbol "sleep" only (mbench's device hold).
constexpr const char *kPolicy =
    "exec = [{ library = \"*\", symbol = \"sleep\" }]\n";

double secs(Clock::duration d)
{
	return std::chrono::duration<double>(d).count();
}

bool bootstrap(const std::string &addresses, const char *placement)
{
	setenv("VACCEL_RPC_ADDRESS", addresses.c_str(), 1);
	setenv("VACCEL_RPC_PLACEMENT", placement, 1);
	vaccel_cleanup();
	struct vaccel_config cfg {
	};
	if (vaccel_config_init(&cfg, "libvaccel-rpc.so", VACCEL_LOG_ERROR,
			       nullptr, false, false) != VACCEL_OK)
		return false;
	const int rc = vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	return rc == VACCEL_OK;
}

// @p n agents serving mbench (noop for the rest); agent i gets the
// environment @p env(i) (set around its fork).
std::vector<std::unique_ptr<AgentProcess>>
start_agents(size_t n, const std::vector<std::string> &env = {})
{
	std::vector<std::unique_ptr<AgentProcess>> out;
	for (size_t i = 0; i < n; ++i) {
		const std::string kv = i < env.size() ? env[i] : "";
		const auto eq = kv.find('=');
		if (eq != std::string::npos)
			setenv(kv.substr(0, eq).c_str(),
			       kv.substr(eq + 1).c_str(), 1);
		out.push_back(std::make_unique<AgentProcess>(
		    "libvaccel-mbench.so:libvaccel-noop.so", kPolicy));
		if (eq != std::string::npos)
			unsetenv(kv.substr(0, eq).c_str());
		if (!out.back()->ok()) {
			std::fprintf(stderr, "agent %zu did not start\n", i);
			std::exit(1);
		}
	}
	return out;
}

std::string list_of(const std::vector<std::unique_ptr<AgentProcess>> &a,
		    size_t n)
{
	std::string out;
	for (size_t i = 0; i < n; ++i)
		out += (i == 0 ? "" : ",") + a[i]->address();
	return out;
}

int hold(vaccel_session *s, int ms)
{
	std::string t = std::to_string(ms);
	char payload[8] = "payload";
	vaccel_arg r[2] = {};
	r[0] = {t.data(), t.size(), VACCEL_ARG_RAW, 0, false};
	r[1] = {payload, sizeof(payload), VACCEL_ARG_RAW, 0, false};
	return vaccel_exec(s, "mbench", "sleep", r, 2, nullptr, 0);
}

// ---- 1. scaling
// ---------------------------------------------------------------

// Calls/s of @p threads long-lived sessions for @p seconds.
double steady_rate(const Options &o)
{
	std::vector<vaccel_session> sess(static_cast<size_t>(o.threads));
	for (auto &s : sess)
		if (vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE) != VACCEL_OK)
			return 0;
	std::atomic<long> calls{0}, failed{0};
	const auto until =
	    Clock::now() + std::chrono::duration<double>(o.seconds);
	const auto t0 = Clock::now();
	std::vector<std::thread> ts;
	for (auto &s : sess)
		ts.emplace_back([&, sp = &s] {
			while (Clock::now() < until)
				(hold(sp, o.op_ms) == VACCEL_OK ? calls
								: failed)++;
		});
	for (auto &t : ts)
		t.join();
	const double rate =
	    static_cast<double>(calls) / secs(Clock::now() - t0);
	for (auto &s : sess)
		vaccel_session_release(&s);
	if (failed > 0)
		std::printf("  (%ld calls failed)\n", failed.load());
	return rate;
}

void scaling(const Options &o)
{
	std::printf("1. %d threads, one session each, mbench sleep %d ms "
		    "(one device per agent)\n",
		    o.threads, o.op_ms);
	auto agents = start_agents(3);
	double base = 0;
	for (size_t n = 1; n <= 3; ++n) {
		if (!bootstrap(list_of(agents, n), "least-loaded"))
			std::exit(1);
		const double r = steady_rate(o);
		if (n == 1)
			base = r;
		std::printf("  %zu agent%s: %8.1f calls/s  %.2fx\n", n,
			    n == 1 ? " " : "s", r, base > 0 ? r / base : 0);
	}
}

// ---- 2. one slow agent
// ----------------------------------------------------------

// Calls/s of @p threads making short sessions of @p per calls each.
double churn_rate(const Options &o, int per)
{
	std::atomic<long> calls{0}, failed{0};
	const auto until =
	    Clock::now() + std::chrono::duration<double>(o.seconds);
	const auto t0 = Clock::now();
	std::vector<std::thread> ts;
	for (int i = 0; i < o.threads; ++i)
		ts.emplace_back([&] {
			while (Clock::now() < until) {
				vaccel_session s{};
				if (vaccel_session_init(&s,
							VACCEL_PLUGIN_REMOTE) !=
				    VACCEL_OK) {
					++failed;
					continue;
				}
				for (int k = 0; k < per; ++k)
					(hold(&s, o.op_ms) == VACCEL_OK
					     ? calls
					     : failed)++;
				vaccel_session_release(&s);
			}
		});
	for (auto &t : ts)
		t.join();
	if (failed > 0)
		std::printf("  (%ld calls failed)\n", failed.load());
	return static_cast<double>(calls) / secs(Clock::now() - t0);
}

void slow_agent(const Options &o)
{
	constexpr int kPer = 3;
	std::printf("2. 3 agents, the third twice as slow; %d threads, "
		    "sessions of %d calls (mbench sleep %d ms)\n",
		    o.threads, kPer, o.op_ms);
	auto agents = start_agents(3, {"", "", "VACCEL_MBENCH_SLOWDOWN=2"});
	const std::string all = list_of(agents, 3);
	if (!bootstrap(all, "round-robin"))
		std::exit(1);
	const double rr = churn_rate(o, kPer);
	if (!bootstrap(all, "least-loaded"))
		std::exit(1);
	const double ll = churn_rate(o, kPer);
	std::printf("  round-robin:  %8.1f calls/s\n", rr);
	std::printf("  least-loaded: %8.1f calls/s  %.2fx round-robin\n", ll,
		    rr > 0 ? ll / rr : 0);
}

// ---- 3. failover pause
// --------------------------------------------------------

// One kill: ms from the kill to the end of the call the killed agent was
// running, which failover ran again on another agent. The killed agent
// holds its device far longer than the others, so that the kill finds its
// session's call in flight.
double one_failover(const Options &o)
{
	const std::string hold_ms =
	    "VACCEL_MBENCH_SGEMM_MS=" + std::to_string(o.op_ms);
	auto agents =
	    start_agents(3, {"VACCEL_MBENCH_SGEMM_MS=60000", hold_ms, hold_ms});
	if (!bootstrap(list_of(agents, 3), "least-loaded"))
		std::exit(1);
	// Three sessions, one per agent (placement spreads a burst).
	std::vector<vaccel_session> sess(3);
	for (auto &s : sess)
		vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE);
	std::atomic<bool> stop{false};
	std::vector<
	    std::vector<std::pair<Clock::time_point, Clock::time_point>>>
	    calls(3);
	std::vector<std::thread> ts;
	for (size_t i = 0; i < 3; ++i)
		ts.emplace_back([&, i] {
			float a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1}, c[4];
			while (!stop) {
				const auto t0 = Clock::now();
				if (vaccel_sgemm(&sess[i], 2, 2, 2, 1.0F, a, 2,
						 b, 2, 0.0F, c, 2) == VACCEL_OK)
					calls[i].emplace_back(t0, Clock::now());
			}
		});
	std::this_thread::sleep_for(std::chrono::milliseconds(20 * o.op_ms));
	const auto killed = Clock::now();
	agents[0]->kill_now();
	std::this_thread::sleep_for(
	    std::chrono::milliseconds(std::max(500, 30 * o.op_ms)));
	stop = true;
	for (auto &t : ts)
		t.join();
	double pause = -1;
	for (const auto &c : calls)
		for (const auto &[start, end] : c)
			if (start <= killed && end >= killed)
				pause = std::max(
				    pause,
				    std::chrono::duration<double, std::milli>(
					end - killed)
					.count());
	for (auto &s : sess)
		vaccel_session_release(&s);
	vaccel_cleanup();
	return pause;
}

void failover(const Options &o)
{
	std::printf("3. failover: 3 agents, a session each calling sgemm "
		    "that holds the device %d ms; one agent killed\n",
		    o.op_ms);
	std::vector<double> pauses;
	for (int k = 0; k < o.kills; ++k)
		pauses.push_back(one_failover(o));
	std::string each;
	for (double p : pauses)
		each += (each.empty() ? "" : ", ") +
			std::to_string(p).substr(
			    0, std::to_string(p).find('.') + 2);
	std::sort(pauses.begin(), pauses.end());
	std::printf("  kill -> first call served elsewhere: median %.1f ms, "
		    "max %.1f ms over %d kills (%s); each includes the "
		    "call's own %d ms hold on the other agent and the wait "
		    "for its device\n",
		    pauses[pauses.size() / 2], pauses.back(), o.kills,
		    each.c_str(), o.op_ms);
}

Options parse(int argc, char **argv)
{
	Options o;
	for (int i = 1; i + 1 < argc; i += 2) {
		const std::string k = argv[i];
		const char *v = argv[i + 1];
		if (k == "--seconds")
			o.seconds = std::atof(v);
		else if (k == "--op-ms")
			o.op_ms = std::atoi(v);
		else if (k == "--threads")
			o.threads = std::atoi(v);
		else if (k == "--kills")
			o.kills = std::atoi(v);
	}
	o.seconds = std::max(0.2, o.seconds);
	o.op_ms = std::max(1, o.op_ms);
	o.threads = std::max(1, o.threads);
	o.kills = std::max(1, o.kills);
	return o;
}

} // namespace

int main(int argc, char **argv)
{
	const Options o = parse(argc, argv);
	// The agents are children: nothing of this process's runtime may
	// cross their fork.
	vaccel_cleanup();
	scaling(o);
	slow_agent(o);
	failover(o);
	vaccel_cleanup();
	return 0;
}
