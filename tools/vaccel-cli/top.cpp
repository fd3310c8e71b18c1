// SPDX-License-Identifier: Apache-2.0
// `vaccel top [--once] [--interval S] [--count N] [--json] ADDRESS...`: a
// live view of one agent or a pool, read from each agent's /metrics page
// (vaccel-agent --metrics; docs/observability.md): per agent whether it is
// ready or draining, its sessions, connections, queue depth and calls in
// flight, and per op (RPC method, all tenants together, and for genops also
// the op they ran, "genop:sgemm") the calls, calls/s, errors and the
// p50/p99 latency of a window: the time since the previous refresh, or for
// the first one (and --once) since the agent started.
#include "cli.h"
#include "metrics_scrape.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>

namespace vaccel_cli
{

namespace
{

using json = nlohmann::json;
using Clock = std::chrono::system_clock;

constexpr std::chrono::milliseconds kScrapeTimeout{5000};

// One op's counts: calls, errors (a status other than OK) and the latency
// histogram (cumulative count by bucket bound, all tenants together).
struct OpCounts {
	double calls = 0;
	double errors = 0;
	std::map<double, double> buckets;
};

// What one scrape of an agent says.
struct AgentState {
	bool up = false;
	std::string why; // when not up
	double at = 0;   // when scraped, seconds since the epoch
	double start = 0;
	bool ready = false, draining = false;
	double sessions = 0, connections = 0, queued = 0, in_flight = 0;
	std::map<std::string, OpCounts> ops;
};

// The genops' rows, by the op they ran, besides their methods' rows.
constexpr std::string_view kGenopPrefix = "genop:";

// The row a call sample goes to: its method ("Genop"), or for the genop
// families its op ("genop:sgemm").
std::string row_name(const MetricSample &s)
{
	const std::string_view op = s.label("op");
	if (!op.empty())
		return std::string(kGenopPrefix) + std::string(op);
	return std::string(s.label("method"));
}

void add_sample(AgentState &a, const MetricSample &s)
{
	static const std::map<std::string, double AgentState::*, std::less<>>
	    gauges = {{"vaccel_agent_start_time_seconds", &AgentState::start},
		      {"vaccel_agent_sessions", &AgentState::sessions},
		      {"vaccel_agent_connections", &AgentState::connections},
		      {"vaccel_agent_queued_requests", &AgentState::queued},
		      {"vaccel_agent_calls_in_flight", &AgentState::in_flight}};
	if (auto it = gauges.find(s.name); it != gauges.end()) {
		a.*(it->second) = s.value;
	} else if (s.name == "vaccel_agent_ready") {
		a.ready = s.value != 0;
	} else if (s.name == "vaccel_agent_draining") {
		a.draining = s.value != 0;
	} else if (s.name == "vaccel_agent_calls_total" ||
		   s.name == "vaccel_agent_genop_calls_total") {
		OpCounts &op = a.ops[row_name(s)];
		op.calls += s.value;
		if (s.label("code") != "OK")
			op.errors += s.value;
	} else if (s.name == "vaccel_agent_call_duration_seconds_bucket" ||
		   s.name == "vaccel_agent_genop_duration_seconds_bucket") {
		const std::string le(s.label("le"));
		const double bound =
		    le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
		a.ops[row_name(s)].buckets[bound] += s.value;
	}
}

AgentState scrape(const std::string &address)
{
	AgentState a;
	a.at = std::chrono::duration<double>(Clock::now().time_since_epoch())
		   .count();
	const auto url = metrics_url(address);
	auto body = http_get(*url, kScrapeTimeout, &a.why);
	if (!body)
		return a;
	auto samples = parse_exposition(*body, &a.why);
	if (!samples)
		return a;
	for (const MetricSample &s : *samples)
		add_sample(a, s);
	a.up = true;
	return a;
}

// The @p q quantile (0..1) of a cumulative histogram, interpolated within
// its bucket as Prometheus' histogram_quantile() does; NaN without calls.
double quantile(const std::map<double, double> &buckets, double q)
{
	const double count = buckets.empty() ? 0 : buckets.rbegin()->second;
	if (count <= 0)
		return NAN;
	const double rank = q * count;
	double lower = 0, below = 0;
	for (const auto &[bound, cum] : buckets) {
		if (cum >= rank) {
			if (std::isinf(bound))
				return lower;
			return lower + (bound - lower) * (rank - below) /
					   std::max(cum - below, 1e-12);
		}
		lower = bound;
		below = cum;
	}
	return lower;
}

// One op over a window.
struct OpWindow {
	std::string op;
	double calls = 0, errors = 0, per_s = 0, p50 = NAN, p99 = NAN;
};

// One agent over a window: @p now against @p before (null: since start).
struct AgentWindow {
	std::string address;
	AgentState now;
	double seconds = 0;
	std::vector<OpWindow> ops;
};

AgentWindow window(const std::string &address, AgentState now,
		   const AgentState *before)
{
	AgentWindow w{address, std::move(now), 0, {}};
	if (!w.now.up)
		return w;
	const bool delta =
	    before != nullptr && before->up && before->start == w.now.start;
	w.seconds = w.now.at - (delta ? before->at : w.now.start);
	for (const auto &[name, c] : w.now.ops) {
		OpWindow o{name};
		std::map<double, double> buckets = c.buckets;
		o.calls = c.calls;
		o.errors = c.errors;
		if (delta)
			if (auto it = before->ops.find(name);
			    it != before->ops.end()) {
				o.calls -= it->second.calls;
				o.errors -= it->second.errors;
				for (auto &[bound, n] : buckets)
					if (auto b =
						it->second.buckets.find(bound);
					    b != it->second.buckets.end())
						n -= b->second;
			}
		o.per_s = w.seconds > 0 ? o.calls / w.seconds : 0;
		o.p50 = quantile(buckets, 0.5);
		o.p99 = quantile(buckets, 0.99);
		w.ops.push_back(o);
	}
	std::sort(w.ops.begin(), w.ops.end(),
		  [](const OpWindow &a, const OpWindow &b) {
			  return a.calls != b.calls ? a.calls > b.calls
						    : a.op < b.op;
		  });
	return w;
}

json number_or_null(double v)
{
	return std::isfinite(v) ? json(v) : json(nullptr);
}

json to_json(const std::vector<AgentWindow> &agents)
{
	json out = json::object();
	json list = json::array();
	json pool = {{"agents", agents.size()},
		     {"up", 0},
		     {"ready", 0},
		     {"draining", 0},
		     {"calls_per_s", 0.0},
		     {"sessions", 0.0},
		     {"connections", 0.0},
		     {"queued", 0.0}};
	for (const AgentWindow &w : agents) {
		json a = {{"address", w.address}, {"up", w.now.up}};
		if (!w.now.up) {
			a["error"] = w.now.why;
			list.push_back(a);
			continue;
		}
		a.update({{"ready", w.now.ready},
			  {"draining", w.now.draining},
			  {"sessions", w.now.sessions},
			  {"connections", w.now.connections},
			  {"queued", w.now.queued},
			  {"in_flight", w.now.in_flight},
			  {"window_s", w.seconds}});
		json ops = json::array();
		double per_s = 0;
		for (const OpWindow &o : w.ops) {
			ops.push_back(
			    {{"op", o.op},
			     {"calls", o.calls},
			     {"calls_per_s", o.per_s},
			     {"errors", o.errors},
			     {"p50_ms", number_or_null(o.p50 * 1e3)},
			     {"p99_ms", number_or_null(o.p99 * 1e3)}});
			// Genop rows by op count calls of the Genop rows.
			if (!o.op.starts_with(kGenopPrefix))
				per_s += o.per_s;
		}
		a["ops"] = ops;
		list.push_back(a);
		pool["up"] = pool["up"].get<int>() + 1;
		pool["ready"] =
		    pool["ready"].get<int>() + (w.now.ready ? 1 : 0);
		pool["draining"] =
		    pool["draining"].get<int>() + (w.now.draining ? 1 : 0);
		pool["calls_per_s"] = pool["calls_per_s"].get<double>() + per_s;
		for (const char *k : {"sessions", "connections", "queued"})
			pool[k] = pool[k].get<double>() + a[k].get<double>();
	}
	out["agents"] = list;
	out["pool"] = pool;
	return out;
}

std::string ms(double seconds)
{
	if (!std::isfinite(seconds))
		return "-";
	char buf[32];
	std::snprintf(buf, sizeof(buf), "%.3g ms", seconds * 1e3);
	return buf;
}

void print_text(const std::vector<AgentWindow> &agents)
{
	const json j = to_json(agents);
	for (const AgentWindow &w : agents) {
		if (!w.now.up) {
			std::printf("agent %s: unreachable (%s)\n",
				    w.address.c_str(), w.now.why.c_str());
			continue;
		}
		std::printf("agent %s  %s  sessions %.0f  connections %.0f  "
			    "queued %.0f  in flight %.0f  (last %.1f s)\n",
			    w.address.c_str(),
			    w.now.draining ? "draining"
			    : w.now.ready  ? "ready"
					   : "not ready",
			    w.now.sessions, w.now.connections, w.now.queued,
			    w.now.in_flight, w.seconds);
		if (w.ops.empty())
			continue;
		std::printf("  %-26s %10s %10s %8s %11s %11s\n", "op",
			    "calls/s", "calls", "errors", "p50", "p99");
		for (const OpWindow &o : w.ops)
			std::printf("  %-26s %10.1f %10.0f %8.0f %11s %11s\n",
				    o.op.c_str(), o.per_s, o.calls, o.errors,
				    ms(o.p50).c_str(), ms(o.p99).c_str());
	}
	if (agents.size() < 2)
		return;
	const json &p = j["pool"];
	std::printf("pool  %d/%zu up  %d ready  %d draining  %.1f calls/s  "
		    "sessions %.0f  connections %.0f  queued %.0f\n",
		    p["up"].get<int>(), agents.size(), p["ready"].get<int>(),
		    p["draining"].get<int>(), p["calls_per_s"].get<double>(),
		    p["sessions"].get<double>(), p["connections"].get<double>(),
		    p["queued"].get<double>());
}

} // namespace

int cmd_top(const TopOptions &t)
{
	for (const std::string &a : t.addresses)
		if (!metrics_url(a))
			die(kExitUsage, "top: '" + a +
					    "' is not a metrics address "
					    "(HOST:PORT or http://HOST:PORT"
					    "[/PATH])");
	const bool clear = !t.json && ::isatty(STDOUT_FILENO) == 1;
	std::vector<AgentState> before;
	bool all_up = true;
	for (uint64_t frame = 0; t.count == 0 || frame < t.count; ++frame) {
		if (frame > 0)
			std::this_thread::sleep_for(
			    std::chrono::duration<double>(t.interval));
		std::vector<AgentWindow> agents;
		std::vector<AgentState> now;
		all_up = true;
		for (size_t i = 0; i < t.addresses.size(); ++i) {
			now.push_back(scrape(t.addresses[i]));
			all_up = all_up && now.back().up;
			agents.push_back(
			    window(t.addresses[i], now.back(),
				   before.empty() ? nullptr : &before[i]));
		}
		before = std::move(now);
		if (clear)
			std::fputs("\x1b[H\x1b[2J", stdout);
		if (t.json)
			std::printf("%s\n", to_json(agents).dump().c_str());
		else
			print_text(agents);
		std::fflush(stdout);
	}
	return all_up ? kExitOk : kExitSetup;
}

} // namespace vaccel_cli
