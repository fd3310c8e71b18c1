// SPDX-License-Identifier: Apache-2.0
// Cost of the runtime itself: each vAccel call is measured next to the same
// work done without vAccel, in the same run, and the ratios are printed at
// the end.
//
//   VACCEL_PLUGINS=libvaccel-noop.so build/release/bin/bench_core
//
// The noop plugin must be loaded (the bench loads it by name if
// VACCEL_PLUGINS does not).
#include <benchmark/benchmark.h>
#include <vaccel.h>

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace
{

using noop_fn = int (*)(vaccel_session *);
using exec_fn = int (*)(vaccel_session *, const char *, const char *,
			vaccel_arg *, size_t, vaccel_arg *, size_t);

struct Env {
	vaccel_session sess{};
	noop_fn noop = nullptr;
	exec_fn exec = nullptr;
	bool ok = false;

	Env()
	{
		if (vaccel_plugin_count() == 0)
			vaccel_plugin_load("libvaccel-noop.so");
		void *f = nullptr;
		if (vaccel_plugin_get_op("noop", VACCEL_OP_NOOP, &f) != 0)
			return;
		noop = reinterpret_cast<noop_fn>(f);
		if (vaccel_plugin_get_op("noop", VACCEL_OP_EXEC, &f) != 0)
			return;
		exec = reinterpret_cast<exec_fn>(f);
		ok = vaccel_session_init(&sess, 0) == VACCEL_OK;
	}
	~Env()
	{
		if (ok)
			vaccel_session_release(&sess);
	}
};

Env &env()
{
	static Env e;
	return e;
}

bool ready(benchmark::State &state)
{
	if (env().ok)
		return true;
	state.SkipWithError("noop plugin not loaded (set VACCEL_PLUGINS)");
	return false;
}

// ---- noop ----------------------------------------------------------------

void BM_noop_direct(benchmark::State &state)
{
	if (!ready(state))
		return;
	// volatile: the compiler must load and call through the pointer, as
	// the runtime does.
	noop_fn volatile fn = env().noop;
	for (auto _ : state)
		benchmark::DoNotOptimize(fn(&env().sess));
}
BENCHMARK(BM_noop_direct);

void BM_noop_vaccel(benchmark::State &state)
{
	if (!ready(state))
		return;
	for (auto _ : state)
		benchmark::DoNotOptimize(vaccel_noop(&env().sess));
}
BENCHMARK(BM_noop_vaccel);

// ---- genop with 4 read args (exec through genop) ---------------------------

struct ExecArgs {
	uint8_t op = VACCEL_OP_EXEC;
	char lib[16] = "libfake.so";
	char sym[16] = "fake";
	int32_t in = 21;
	int32_t out = 0;
	vaccel_arg read[4]{};
	vaccel_arg write[1]{};
	ExecArgs()
	{
		read[0] = {&op, sizeof(op), VACCEL_ARG_UINT8, 0, false};
		read[1] = {lib, std::strlen(lib) + 1, VACCEL_ARG_STRING, 0,
			   false};
		read[2] = {sym, std::strlen(sym) + 1, VACCEL_ARG_STRING, 0,
			   false};
		read[3] = {&in, sizeof(in), VACCEL_ARG_INT32, 0, false};
		write[0] = {&out, sizeof(out), VACCEL_ARG_INT32, 0, false};
	}
};

void BM_genop4_direct(benchmark::State &state)
{
	if (!ready(state))
		return;
	ExecArgs a;
	exec_fn volatile fn = env().exec;
	for (auto _ : state)
		benchmark::DoNotOptimize(
		    fn(&env().sess, a.lib, a.sym, &a.read[3], 1, a.write, 1));
}
BENCHMARK(BM_genop4_direct);

void BM_genop4_vaccel(benchmark::State &state)
{
	if (!ready(state))
		return;
	ExecArgs a;
	for (auto _ : state)
		benchmark::DoNotOptimize(
		    vaccel_genop(&env().sess, a.read, 4, a.write, 1));
}
BENCHMARK(BM_genop4_vaccel);

// ---- session lifecycle -----------------------------------------------------

void BM_session_baseline_mkdir(benchmark::State &state)
{
	// What a session costs at minimum: its private run directory.
	std::string dir = std::string(vaccel_rundir()) + "/bench.dir";
	for (auto _ : state) {
		mkdir(dir.c_str(), 0700);
		rmdir(dir.c_str());
	}
}
BENCHMARK(BM_session_baseline_mkdir);

void BM_session_init_release(benchmark::State &state)
{
	if (!ready(state))
		return;
	for (auto _ : state) {
		vaccel_session s;
		vaccel_session_init(&s, 0);
		vaccel_session_release(&s);
	}
}
BENCHMARK(BM_session_init_release);

// ---- resource from a 1 MiB buffer ----------------------------------------

const std::vector<char> &mib()
{
	static std::vector<char> buf(1 << 20, 'x');
	return buf;
}

void BM_resource_baseline_write_file(benchmark::State &state)
{
	// What an on-disk resource costs at minimum: its private directory and
	// one file written, then both removed.
	std::string dir = std::string(vaccel_rundir()) + "/bench.res";
	std::string path = dir + "/blob.bin";
	for (auto _ : state) {
		mkdir(dir.c_str(), 0700);
		int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0600);
		benchmark::DoNotOptimize(write(fd, mib().data(), mib().size()));
		close(fd);
		unlink(path.c_str());
		rmdir(dir.c_str());
	}
	state.SetBytesProcessed(state.iterations() * mib().size());
}
BENCHMARK(BM_resource_baseline_write_file);

void BM_resource_from_buf_1MiB(benchmark::State &state)
{
	if (!ready(state))
		return;
	for (auto _ : state) {
		vaccel_resource r;
		vaccel_resource_init_from_buf(&r, mib().data(), mib().size(),
					      VACCEL_RESOURCE_DATA, "blob.bin",
					      false);
		vaccel_resource_release(&r);
	}
	state.SetBytesProcessed(state.iterations() * mib().size());
}
BENCHMARK(BM_resource_from_buf_1MiB);

void BM_resource_baseline_memcpy(benchmark::State &state)
{
	std::vector<char> dst(mib().size());
	for (auto _ : state) {
		std::vector<char> copy(mib().begin(), mib().end());
		benchmark::DoNotOptimize(copy.data());
	}
	state.SetBytesProcessed(state.iterations() * mib().size());
}
BENCHMARK(BM_resource_baseline_memcpy);

void BM_resource_from_buf_1MiB_mem_only(benchmark::State &state)
{
	if (!ready(state))
		return;
	for (auto _ : state) {
		vaccel_resource r;
		vaccel_resource_init_from_buf(&r, mib().data(), mib().size(),
					      VACCEL_RESOURCE_DATA, "blob.bin",
					      true);
		vaccel_resource_release(&r);
	}
	state.SetBytesProcessed(state.iterations() * mib().size());
}
BENCHMARK(BM_resource_from_buf_1MiB_mem_only);

// Collects per-benchmark times so the ratios can be printed at the end.
class RatioReporter : public benchmark::ConsoleReporter
{
public:
	void ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		for (const auto &r : runs)
			if (r.run_type == Run::RT_Iteration &&
			    !r.error_occurred)
				ns_[r.benchmark_name()] =
				    r.GetAdjustedRealTime(); // in ns (default
							     // unit)
	}
	void Finalize() override
	{
		ConsoleReporter::Finalize();
		std::printf("\nSame-run comparisons (vAccel / baseline):\n");
		ratio("vaccel_noop() vs direct plugin call", "BM_noop_vaccel",
		      "BM_noop_direct");
		ratio("genop(4 args) vs direct plugin exec", "BM_genop4_vaccel",
		      "BM_genop4_direct");
		ratio("session init+release vs mkdir+rmdir",
		      "BM_session_init_release", "BM_session_baseline_mkdir");
		ratio("resource from 1 MiB buffer vs mkdir+write+unlink+rmdir",
		      "BM_resource_from_buf_1MiB",
		      "BM_resource_baseline_write_file");
		ratio("resource from 1 MiB buffer (mem_only) vs copy",
		      "BM_resource_from_buf_1MiB_mem_only",
		      "BM_resource_baseline_memcpy");
	}

private:
	void ratio(const char *what, const std::string &a, const std::string &b)
	{
		if (!ns_.count(a) || !ns_.count(b) || ns_[b] <= 0)
			return;
		std::printf("  %-52s %8.2fx  (+%.1f ns per call)\n", what,
			    ns_[a] / ns_[b], ns_[a] - ns_[b]);
	}
	std::map<std::string, double> ns_;
};

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	RatioReporter reporter;
	benchmark::RunSpecifiedBenchmarks(&reporter);
	benchmark::Shutdown();
	return 0;
}
