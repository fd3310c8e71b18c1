// SPDX-License-Identifier: Apache-2.0
// What the agent's trust boundary costs a call (docs/security.md), against
// the unix noop round trip it sits in, measured in the same run:
//   - BM_PerCallChecks: what every request pays: the tenant's op-class
//     check and its concurrent-call charge (taken and given back);
//   - BM_CountCall: what --metrics adds to every call: two clock reads
//     and the call recorded into its tenant's counters;
//   - BM_Identify: what every connection pays once: SO_PEERCRED and the
//     allow-list (identity.h);
//   - BM_ServiceNoop / BM_ServiceNoopPermissive: a whole noop genop
//     through Service::handle in process under the default policy and
//     under one that allows everything: the checks cannot be switched off,
//     so this shows that a stricter policy costs nothing more, and how the
//     checks compare with the whole handler;
//   - BM_UnixPingPong: a raw 64-byte unix socket round trip between two
//     threads, the floor under any remote call.
// The ratios are printed at the end.
//
//   build/release/bin/bench_policy
#include "agent_test.h"
#include "identity.h"
#include "metrics.h"
#include "service.h"
#include "tenant.h"

#include <benchmark/benchmark.h>
#include <vaccel.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

namespace
{

using namespace vaccel::agent;
namespace rpc = vaccel::rpc;

// Each benchmark's real time per iteration (ns), kept by the reporter.
std::map<std::string, double> g_ns;

void BM_PerCallChecks(benchmark::State &state)
{
	TenantPolicy tp;
	Tenant t("bench", tp, "default");
	for (auto _ : state) {
		// An allowed class: a refusal (torch is off by default) would
		// time the audit line it writes, not the check.
		RpcStatus st =
		    t.allow(OpClass::Image, "ImageClassification", 1);
		benchmark::DoNotOptimize(st);
		Charge c;
		RpcStatus taken = Charge::take(t, Limit::Calls, 1, "x", 1, &c);
		benchmark::DoNotOptimize(taken);
	}
}
BENCHMARK(BM_PerCallChecks);

// What --metrics adds to every call (server.h, Server::count): two clock
// reads and the call recorded into its tenant's counters (metrics.h).
void BM_CountCall(benchmark::State &state)
{
	TenantPolicy tp;
	Tenant t("bench", tp, "default");
	metrics::CallSample s;
	s.method = metrics::MethodId::Genop;
	for (auto _ : state) {
		const auto started = std::chrono::steady_clock::now();
		const auto ready = std::chrono::steady_clock::now();
		s.busy_ns = static_cast<uint64_t>((ready - started).count());
		s.latency_ns = s.busy_ns + 20'000;
		s.bytes = {};
		s.add_bytes(metrics::Path::Socket, metrics::Direction::In, 64);
		s.add_bytes(metrics::Path::Socket, metrics::Direction::Out, 32);
		metrics::record(t.counters(), s);
	}
}
BENCHMARK(BM_CountCall);

void BM_Identify(benchmark::State &state)
{
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		state.SkipWithError("socketpair");
		return;
	}
	vaccel::transport::Address listener;
	listener.kind = vaccel::transport::Address::Kind::Unix;
	const IdentityPolicy id;
	for (auto _ : state) {
		auto t = identify(sv[0], listener, id, "");
		benchmark::DoNotOptimize(t);
	}
	::close(sv[0]);
	::close(sv[1]);
}
BENCHMARK(BM_Identify);

class ServiceBench
{
public:
	explicit ServiceBench(Policy p) : svc_(Limits{}, std::move(p))
	{
		svc_.open_connection(1);
		rpc::session::CreateResponse r;
		agent_test::call(svc_, 1, "CreateSession",
				 rpc::session::CreateRequest(), &r);
		rpc::genop::Request g;
		g.set_session_id(r.session_id());
		agent_test::add_op(&g, VACCEL_OP_NOOP);
		req_ = agent_test::envelope("Genop", g.SerializeAsString());
	}
	~ServiceBench() { svc_.clear(); }
	rpc::ttrpc::Response once() { return svc_.handle(1, req_); }

private:
	Service svc_;
	rpc::ttrpc::Request req_;
};

void BM_ServiceNoop(benchmark::State &state)
{
	ServiceBench b{Policy{}};
	for (auto _ : state) {
		auto r = b.once();
		benchmark::DoNotOptimize(r);
	}
}
BENCHMARK(BM_ServiceNoop);

void BM_ServiceNoopPermissive(benchmark::State &state)
{
	ServiceBench b{agent_test::permissive_policy()};
	for (auto _ : state) {
		auto r = b.once();
		benchmark::DoNotOptimize(r);
	}
}
BENCHMARK(BM_ServiceNoopPermissive);

void BM_UnixPingPong(benchmark::State &state)
{
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		state.SkipWithError("socketpair");
		return;
	}
	std::thread echo([fd = sv[1]] {
		char buf[64];
		while (::read(fd, buf, sizeof(buf)) == sizeof(buf))
			if (::write(fd, buf, sizeof(buf)) != sizeof(buf))
				break;
	});
	char buf[64] = {};
	for (auto _ : state) {
		if (::write(sv[0], buf, sizeof(buf)) != sizeof(buf) ||
		    ::read(sv[0], buf, sizeof(buf)) != sizeof(buf)) {
			state.SkipWithError("ping-pong");
			break;
		}
	}
	::shutdown(sv[0], SHUT_RDWR);
	echo.join();
	::close(sv[0]);
	::close(sv[1]);
}
BENCHMARK(BM_UnixPingPong)->UseRealTime();

// Keeps each benchmark's time per iteration for the ratios.
class Ratios : public benchmark::ConsoleReporter
{
public:
	void ReportRuns(const std::vector<Run> &runs) override
	{
		for (const auto &r : runs)
			g_ns[r.benchmark_name()] =
			    r.GetAdjustedRealTime(); // ns (default unit)
		ConsoleReporter::ReportRuns(runs);
	}
};

} // namespace

int main(int argc, char **argv)
{
	struct vaccel_config cfg {
	};
	vaccel_cleanup();
	if (vaccel_config_init(&cfg, BENCH_NOOP_PLUGIN, VACCEL_LOG_ERROR,
			       nullptr, false, false) != VACCEL_OK ||
	    vaccel_bootstrap_with_config(&cfg) != VACCEL_OK) {
		std::fprintf(stderr,
			     "cannot start vAccel with the noop plugin\n");
		return 1;
	}
	vaccel_config_release(&cfg);
	benchmark::Initialize(&argc, argv);
	Ratios reporter;
	benchmark::RunSpecifiedBenchmarks(&reporter);
	benchmark::Shutdown();
	const double rtt = g_ns["BM_UnixPingPong/real_time"];
	const double checks = g_ns["BM_PerCallChecks"];
	const double on = g_ns["BM_ServiceNoop"];
	const double off = g_ns["BM_ServiceNoopPermissive"];
	if (rtt > 0) {
		std::printf("\nper-call checks: %.1f ns = %.2f%% of a raw unix "
			    "round trip (%.0f ns)\n",
			    checks, 100.0 * checks / rtt, rtt);
		std::printf("--metrics, counting a call: %.1f ns = %.2f%% of "
			    "a raw unix round trip\n",
			    g_ns["BM_CountCall"],
			    100.0 * g_ns["BM_CountCall"] / rtt);
		std::printf("per-connection identity: %.1f ns (once per "
			    "connection)\n",
			    g_ns["BM_Identify"]);
		std::printf("Service noop handler, default vs permissive "
			    "policy: %.0f vs %.0f ns; the checks are %.1f%% of "
			    "the handler\n",
			    on, off, 100.0 * checks / on);
	}
	vaccel_cleanup();
	return 0;
}
