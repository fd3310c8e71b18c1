// SPDX-License-Identifier: Apache-2.0
// `vaccel bench <op>`: latency distribution and throughput of an op.
//
// Each thread has its own session and inputs (made before timing starts),
// runs --warmup untimed calls, then times every call with the steady
// clock (so about 20-30 ns of clock overhead is included in each sample).
// Throughput is the number of timed calls over the wall time of the timed
// phase. SIGINT stops the run early; the summary of what ran is printed.
#include "cli.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

namespace vaccel_cli
{

namespace
{

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int)
{
	g_interrupted.store(true);
	g_stop.store(true);
}

struct Failure {
	int rc = VACCEL_OK;
	std::string message;
};

// Draws "[#####     ]  45%  4500/10000 calls" (or seconds) on stderr,
// starting only after half a second, so that short runs print nothing.
class Progress
{
public:
	Progress(bool enabled, uint64_t total_calls, double total_seconds,
		 const std::atomic<uint64_t> &done)
	    : total_calls_(total_calls), total_s_(total_seconds), done_(done)
	{
		if (enabled)
			thread_ = std::thread([this] { loop(); });
	}
	~Progress() { stop(); }
	Progress(const Progress &) = delete;
	Progress &operator=(const Progress &) = delete;

	void stop()
	{
		{
			std::lock_guard lock(mu_);
			finished_ = true;
		}
		cv_.notify_all();
		if (thread_.joinable())
			thread_.join();
		if (drawn_) {
			std::fputs("\r\033[K", stderr);
			std::fflush(stderr);
		}
	}

private:
	void loop()
	{
		const auto start = Clock::now();
		std::unique_lock lock(mu_);
		if (cv_.wait_for(lock, std::chrono::milliseconds(500),
				 [this] { return finished_; }))
			return;
		while (!finished_) {
			const double el =
			    std::chrono::duration<double>(Clock::now() - start)
				.count();
			const uint64_t d = done_.load();
			double frac =
			    total_calls_ > 0
				? static_cast<double>(d) /
				      static_cast<double>(total_calls_)
				: el / total_s_;
			frac = std::clamp(frac, 0.0, 1.0);
			const int width = 30;
			const int fill = static_cast<int>(frac * width);
			std::string bar(static_cast<size_t>(fill), '#');
			bar.append(static_cast<size_t>(width - fill), ' ');
			if (total_calls_ > 0)
				std::fprintf(stderr,
					     "\r[%s] %3.0f%%  %llu/%llu calls",
					     bar.c_str(), frac * 100,
					     static_cast<unsigned long long>(d),
					     static_cast<unsigned long long>(
						 total_calls_));
			else
				std::fprintf(
				    stderr,
				    "\r[%s] %3.0f%%  %.1f/%.1f s  %llu "
				    "calls",
				    bar.c_str(), frac * 100, el, total_s_,
				    static_cast<unsigned long long>(d));
			std::fflush(stderr);
			drawn_ = true;
			cv_.wait_for(lock, std::chrono::milliseconds(100),
				     [this] { return finished_; });
		}
	}

	uint64_t total_calls_;
	double total_s_;
	const std::atomic<uint64_t> &done_;
	std::mutex mu_;
	std::condition_variable cv_;
	bool finished_ = false;
	bool drawn_ = false;
	std::thread thread_;
};

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<uint64_t> &sorted, double q)
{
	if (sorted.empty())
		return 0;
	auto rank = static_cast<size_t>(
	    std::ceil(q * static_cast<double>(sorted.size())));
	rank = std::clamp<size_t>(rank, 1, sorted.size());
	return static_cast<double>(sorted[rank - 1]);
}

} // namespace

int cmd_bench(const OpOptions &o, uint32_t hint, const BenchOptions &b,
	      const GlobalOptions &g)
{
	require_plugins_loaded();
	const bool by_time = b.duration > 0;
	const uint64_t total =
	    by_time ? 0 : (b.iterations > 0 ? b.iterations : 1000);

	std::vector<std::unique_ptr<OpRunner>> runners;
	for (unsigned t = 0; t < b.threads; t++)
		runners.push_back(make_runner(o, hint));
	const std::string plugin = serving_plugin(*runners[0]);

	std::optional<StdoutToStderr> quiet;
	quiet.emplace(b.json);
	std::vector<Failure> failures(b.threads);
	// Warm-up, untimed; a failure here is the op failing.
	for (unsigned t = 0; t < b.threads; t++)
		for (uint64_t i = 0; i < b.warmup; i++) {
			int rc = runners[t]->call();
			if (rc != VACCEL_OK) {
				failures[t] = {rc, vaccel_last_error()};
				break;
			}
		}

	std::vector<std::vector<uint64_t>> samples(b.threads);
	std::atomic<uint64_t> done{0};
	g_stop.store(false);
	g_interrupted.store(false);
	auto old_handler = std::signal(SIGINT, on_sigint);
	const bool tty = isatty(STDERR_FILENO) != 0;
	Clock::time_point t0;
	Clock::time_point t1;
	{
		const bool warm_ok = std::all_of(
		    failures.begin(), failures.end(),
		    [](const Failure &f) { return f.rc == VACCEL_OK; });
		Progress progress(b.progress && tty && warm_ok, total,
				  b.duration, done);
		t0 = Clock::now();
		const auto deadline =
		    t0 + std::chrono::duration_cast<Clock::duration>(
			     std::chrono::duration<double>(b.duration));
		auto work = [&](unsigned t) {
			uint64_t quota = 0;
			if (!by_time)
				quota = total / b.threads +
					(t < total % b.threads ? 1 : 0);
			auto &s = samples[t];
			s.reserve(by_time ? 1U << 16 : quota);
			OpRunner &r = *runners[t];
			while (!g_stop.load(std::memory_order_relaxed)) {
				if (!by_time && s.size() >= quota)
					break;
				const auto a = Clock::now();
				const int rc = r.call();
				const auto z = Clock::now();
				if (rc != VACCEL_OK) {
					failures[t] = {rc, vaccel_last_error()};
					g_stop.store(true);
					break;
				}
				s.push_back(static_cast<uint64_t>(
				    std::chrono::duration_cast<
					std::chrono::nanoseconds>(z - a)
					.count()));
				done.fetch_add(1, std::memory_order_relaxed);
				if (by_time && z >= deadline)
					break;
			}
		};
		if (warm_ok) {
			std::vector<std::thread> threads;
			for (unsigned t = 1; t < b.threads; t++)
				threads.emplace_back(work, t);
			work(0);
			for (auto &th : threads)
				th.join();
		}
		t1 = Clock::now();
	}
	std::signal(SIGINT, old_handler);

	for (const auto &f : failures)
		if (f.rc != VACCEL_OK) {
			std::fprintf(stderr,
				     "vaccel: bench %s failed: %s (%d): %s\n",
				     o.op.c_str(), error_name(f.rc).c_str(),
				     f.rc, f.message.c_str());
			return kExitOpFailed;
		}

	std::vector<uint64_t> all;
	for (auto &s : samples)
		all.insert(all.end(), s.begin(), s.end());
	std::sort(all.begin(), all.end());
	const double elapsed = std::chrono::duration<double>(t1 - t0).count();
	const double n = static_cast<double>(all.size());
	const double mean_ns = all.empty()
				   ? 0
				   : static_cast<double>(std::accumulate(
					 all.begin(), all.end(), uint64_t{0})) /
					 n;
	const double ops = elapsed > 0 ? n / elapsed : 0;

	nlohmann::json j;
	j["op"] = o.op;
	j["plugin"] = plugin;
	j["remote"] = g.remote ? nlohmann::json(*g.remote) : nullptr;
	j["threads"] = b.threads;
	j["warmup"] = b.warmup;
	j["iterations"] = all.size();
	j["duration_s"] = by_time ? nlohmann::json(b.duration) : nullptr;
	j["elapsed_s"] = elapsed;
	j["ops_per_sec"] = ops;
	j["interrupted"] = g_interrupted.load();
	j["latency_us"] = {
	    {"min", all.empty() ? 0 : static_cast<double>(all.front()) / 1e3},
	    {"mean", mean_ns / 1e3},
	    {"p50", percentile(all, 0.50) / 1e3},
	    {"p90", percentile(all, 0.90) / 1e3},
	    {"p99", percentile(all, 0.99) / 1e3},
	    {"max", all.empty() ? 0 : static_cast<double>(all.back()) / 1e3},
	};
	const double flops = sgemm_flops(*runners[0]);
	if (flops > 0)
		j["gflops"] = flops * ops / 1e9;
	runners.clear(); // sessions released before reporting

	quiet.reset();
	if (b.json) {
		std::printf("%s\n", j.dump(2).c_str());
	} else {
		const auto &l = j["latency_us"];
		std::printf("vaccel bench %s: %zu calls, %u thread%s, %.3f s, "
			    "plugin %s%s%s\n",
			    o.op.c_str(), all.size(), b.threads,
			    b.threads == 1 ? "" : "s", elapsed, plugin.c_str(),
			    g.remote ? " via " : "",
			    g.remote ? g.remote->c_str() : "");
		std::printf("%-12s %10s %10s %10s %10s %10s %10s %12s\n", "",
			    "min", "mean", "p50", "p90", "p99", "max", "ops/s");
		std::printf("%-12s %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f "
			    "%12.1f\n",
			    "latency (us)", l["min"].get<double>(),
			    l["mean"].get<double>(), l["p50"].get<double>(),
			    l["p90"].get<double>(), l["p99"].get<double>(),
			    l["max"].get<double>(), ops);
		if (flops > 0)
			std::printf("%.3f GFLOP/s\n",
				    j["gflops"].get<double>());
		if (g_interrupted.load())
			std::printf("(interrupted)\n");
	}
	return g_interrupted.load() ? kExitInterrupted : kExitOk;
}

} // namespace vaccel_cli
