// SPDX-License-Identifier: Apache-2.0
// Cost of going through vAccel to a real backend: sgemm of n x n matrices
// (n = 256, 512, 1024, 2048) through vaccel_sgemm() with the blas plugin,
// next to cblas_sgemm() called directly in the same run; and, when the
// opencl plugin is built, through vaccel_sgemm() with the opencl plugin
// next to the same kernel run directly with OpenCL (same buffers, copies
// and launch as the plugin makes, with a context, queue and kernel made
// once). Both also run through a vaccel-agent child process on a unix
// socket (the rpc plugin here, the blas and opencl plugins in the agent),
// next to the same direct baselines; blas sgemm through the agent twice:
// with the matrices in the program's own memory (copied through shared
// memory each call) and in vAccel buffers (vaccel_buffer_alloc(): the
// agent works on them in place). The overheads are printed at the end.
//
//   build/release/bin/bench_backends [--benchmark_filter=...]
//       [--benchmark_repetitions=N --benchmark_enable_random_interleaving]
//
// The plugins are loaded by name from the library directory (the build
// tree's lib/ or the install's); sessions with the CPU hint reach the blas
// plugin first, with the GPU hint the opencl plugin.
#include "bench_net.h"

#include <benchmark/benchmark.h>
#include <vaccel.hpp>

#include <cblas.h>

#ifdef BENCH_WITH_OPENCL
#include "../plugins/opencl/kernels.h"
#include <CL/cl.h>
#endif

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace
{

struct Matrices {
	int n;
	std::vector<float> a, b, c;
	explicit Matrices(int size)
	    : n(size), a(size_t(size) * size), b(a.size()), c(a.size())
	{
		for (size_t i = 0; i < a.size(); i++) {
			a[i] = float(i % 17) / 17.0F - 0.5F;
			b[i] = float(i % 13) / 13.0F - 0.5F;
		}
	}
};

// A session whose sgemm reaches @p plugin (loaded by name if need be).
struct Backend {
	vaccel_session sess{};
	bool ok = false;

	Backend(const char *plugin, const char *name, vaccel_plugin_type_t hint)
	{
		void *fn = nullptr;
		if (vaccel_plugin_get_op(name, VACCEL_OP_BLAS_SGEMM, &fn) !=
		    VACCEL_OK)
			vaccel_plugin_load(plugin);
		if (vaccel_plugin_get_op(name, VACCEL_OP_BLAS_SGEMM, &fn) !=
		    VACCEL_OK)
			return;
		ok = vaccel_session_init(&sess, hint) == VACCEL_OK;
	}
	~Backend()
	{
		if (ok)
			vaccel_session_release(&sess);
	}
	Backend(const Backend &) = delete;
	Backend &operator=(const Backend &) = delete;
};

// Made on first use, released by main() before exit (the runtime cleans
// up at exit, after which a session release would be refused).
std::unique_ptr<Backend> g_blas, g_opencl;

Backend &blas()
{
	if (!g_blas)
		g_blas = std::make_unique<Backend>("libvaccel-blas.so", "blas",
						   VACCEL_PLUGIN_CPU);
	return *g_blas;
}

// One vaccel-agent child process serving the blas plugin (first, so that
// sessions without a class hint reach it) and, when built, the opencl
// plugin; reached through the rpc plugin, loaded here once the agent
// listens (the rpc plugin reads VACCEL_RPC_ADDRESS when it loads).
struct Agent {
	std::unique_ptr<bench_net::AgentProcess> process;
	bool ok = false;

	Agent()
	{
		std::string plugins = "libvaccel-blas.so";
#ifdef BENCH_WITH_OPENCL
		plugins += ":libvaccel-opencl.so";
#endif
		process = std::make_unique<bench_net::AgentProcess>(plugins);
		if (!process->ok())
			return;
		setenv("VACCEL_RPC_ADDRESS", process->address().c_str(), 1);
		ok = vaccel_plugin_load("libvaccel-rpc.so") == VACCEL_OK;
	}
};

// A session in the agent. The hint travels with it: REMOTE alone reaches
// the agent's first plugin (blas), REMOTE|GPU its opencl plugin. Here the
// rpc plugin must come before a local GPU plugin in load order, so that it
// is the one REMOTE|GPU picks: remote() is made before opencl().
struct RemoteSession {
	vaccel_session sess{};
	bool ok = false;

	RemoteSession(Agent &agent, unsigned int hint)
	{
		if (agent.ok)
			ok = vaccel_session_init(&sess, hint) == VACCEL_OK;
	}
	~RemoteSession()
	{
		if (ok)
			vaccel_session_release(&sess);
	}
	RemoteSession(const RemoteSession &) = delete;
	RemoteSession &operator=(const RemoteSession &) = delete;
};

std::unique_ptr<Agent> g_agent;
std::unique_ptr<RemoteSession> g_remote_blas, g_remote_opencl;

Agent &agent()
{
	blas(); // the local plugin first, so that CPU sessions keep it
	if (!g_agent)
		g_agent = std::make_unique<Agent>();
	return *g_agent;
}

RemoteSession &remote_blas()
{
	if (!g_remote_blas)
		g_remote_blas = std::make_unique<RemoteSession>(
		    agent(), VACCEL_PLUGIN_REMOTE);
	return *g_remote_blas;
}

void set_flops(benchmark::State &state, int n)
{
	state.counters["GFLOP/s"] = benchmark::Counter(
	    2.0 * n * n * n * double(state.iterations()),
	    benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_sgemm_cblas_direct(benchmark::State &state)
{
	Matrices m(int(state.range(0)));
	for (auto _ : state) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m.n, m.n,
			    m.n, 1.0F, m.a.data(), m.n, m.b.data(), m.n, 0.0F,
			    m.c.data(), m.n);
		benchmark::ClobberMemory();
	}
	set_flops(state, m.n);
}
BENCHMARK(BM_sgemm_cblas_direct)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->UseRealTime();

void BM_sgemm_vaccel_blas(benchmark::State &state)
{
	if (!blas().ok) {
		state.SkipWithError("the blas plugin did not load");
		return;
	}
	Matrices m(int(state.range(0)));
	for (auto _ : state) {
		int rc =
		    vaccel_sgemm(&blas().sess, m.n, m.n, m.n, 1.0F, m.a.data(),
				 m.n, m.b.data(), m.n, 0.0F, m.c.data(), m.n);
		if (rc != VACCEL_OK) {
			state.SkipWithError("vaccel_sgemm failed");
			break;
		}
		benchmark::ClobberMemory();
	}
	set_flops(state, m.n);
}
BENCHMARK(BM_sgemm_vaccel_blas)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->UseRealTime();

// A, B and C are copied each call (C both ways: beta may read it): into
// shared memory on a unix socket (VACCEL_RPC_SHM=0: through the socket).
void BM_sgemm_agent_blas(benchmark::State &state)
{
	if (!remote_blas().ok) {
		state.SkipWithError("no agent (vaccel-agent or the rpc plugin "
				    "missing)");
		return;
	}
	Matrices m(int(state.range(0)));
	for (auto _ : state) {
		int rc = vaccel_sgemm(&remote_blas().sess, m.n, m.n, m.n, 1.0F,
				      m.a.data(), m.n, m.b.data(), m.n, 0.0F,
				      m.c.data(), m.n);
		if (rc != VACCEL_OK) {
			state.SkipWithError("vaccel_sgemm through the agent "
					    "failed");
			break;
		}
		benchmark::ClobberMemory();
	}
	set_flops(state, m.n);
}
BENCHMARK(BM_sgemm_agent_blas)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->UseRealTime();

// The same with A, B and C in vAccel buffers, allocated once the rpc plugin
// is loaded: named by reference, read and written in place by the agent.
void BM_sgemm_agent_blas_buffers(benchmark::State &state)
{
	if (!remote_blas().ok) {
		state.SkipWithError("no agent (vaccel-agent or the rpc plugin "
				    "missing)");
		return;
	}
	const Matrices own(int(state.range(0)));
	const size_t bytes = own.a.size() * sizeof(float);
	vaccel::Buffer a(bytes), b(bytes), c(bytes);
	std::copy(own.a.begin(), own.a.end(), a.as<float>().begin());
	std::copy(own.b.begin(), own.b.end(), b.as<float>().begin());
	vaccel_shared_memory_place where{};
	where.struct_size = sizeof(where);
	if (vaccel_shared_memory_find(a.data(), bytes, &where) != VACCEL_OK) {
		state.SkipWithError("vAccel buffers are not in shared memory "
				    "(VACCEL_RPC_SHM=0?)");
		return;
	}
	const int n = own.n;
	for (auto _ : state) {
		int rc = vaccel_sgemm(
		    &remote_blas().sess, n, n, n, 1.0F, a.as<float>().data(), n,
		    b.as<float>().data(), n, 0.0F, c.as<float>().data(), n);
		if (rc != VACCEL_OK) {
			state.SkipWithError("vaccel_sgemm through the agent "
					    "failed");
			break;
		}
		benchmark::ClobberMemory();
	}
	set_flops(state, n);
}
BENCHMARK(BM_sgemm_agent_blas_buffers)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->UseRealTime();

#ifdef BENCH_WITH_OPENCL

Backend &opencl()
{
	agent(); // the rpc plugin before the local GPU plugin (see above)
	if (!g_opencl)
		g_opencl = std::make_unique<Backend>(
		    "libvaccel-opencl.so", "opencl", VACCEL_PLUGIN_GPU);
	return *g_opencl;
}

// The opencl plugin's work done directly: the first device (the plugin's
// default choice), the plugin's kernel source, built once.
struct DirectCl {
	cl_context ctx = nullptr;
	cl_command_queue q = nullptr;
	cl_program prog = nullptr;
	cl_kernel kernel = nullptr;
	size_t tile = 16;
	bool ok = false;

	DirectCl()
	{
		cl_platform_id platforms[8];
		cl_uint np = 0;
		if (clGetPlatformIDs(8, platforms, &np) != CL_SUCCESS ||
		    np == 0)
			return;
		cl_device_id dev = nullptr;
		cl_platform_id plat = nullptr;
		for (cl_device_type t : {cl_device_type{CL_DEVICE_TYPE_GPU},
					 cl_device_type{CL_DEVICE_TYPE_ALL}}) {
			for (cl_uint i = 0; i < np && dev == nullptr; i++)
				if (clGetDeviceIDs(platforms[i], t, 1, &dev,
						   nullptr) == CL_SUCCESS)
					plat = platforms[i];
				else
					dev = nullptr;
			if (dev != nullptr)
				break;
		}
		if (dev == nullptr)
			return;
		size_t max_group = 1;
		clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE,
				sizeof(max_group), &max_group, nullptr);
		while (tile > 1 && tile * tile > max_group)
			tile /= 2;
		const cl_context_properties props[] = {
		    CL_CONTEXT_PLATFORM,
		    reinterpret_cast<cl_context_properties>(plat), 0};
		cl_int err = CL_SUCCESS;
		ctx = clCreateContext(props, 1, &dev, nullptr, nullptr, &err);
		if (err != CL_SUCCESS)
			return;
		q = clCreateCommandQueue(ctx, dev, 0, &err);
		if (err != CL_SUCCESS)
			return;
		const char *src = vaccel_opencl::kFloatProgram;
		prog = clCreateProgramWithSource(ctx, 1, &src, nullptr, &err);
		if (err != CL_SUCCESS)
			return;
		const std::string opts = "-DTS=" + std::to_string(tile);
		if (clBuildProgram(prog, 1, &dev, opts.c_str(), nullptr,
				   nullptr) != CL_SUCCESS)
			return;
		kernel = clCreateKernel(prog, "vaccel_sgemm", &err);
		ok = err == CL_SUCCESS;
	}
	~DirectCl()
	{
		if (kernel != nullptr)
			clReleaseKernel(kernel);
		if (prog != nullptr)
			clReleaseProgram(prog);
		if (q != nullptr)
			clReleaseCommandQueue(q);
		if (ctx != nullptr)
			clReleaseContext(ctx);
	}
	DirectCl(const DirectCl &) = delete;
	DirectCl &operator=(const DirectCl &) = delete;

	// C = A B, as the plugin runs it: buffers made for the call (inputs
	// copied at creation), one launch, a blocking read of C.
	bool sgemm(Matrices &m) const
	{
		const size_t bytes = m.a.size() * sizeof(float);
		cl_int err = CL_SUCCESS;
		cl_mem da =
		    clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
				   bytes, m.a.data(), &err);
		cl_mem db =
		    clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
				   bytes, m.b.data(), &err);
		cl_mem dc = clCreateBuffer(ctx, CL_MEM_READ_WRITE, bytes,
					   nullptr, &err);
		const cl_int n = m.n;
		const float alpha = 1.0F;
		const float beta = 0.0F;
		cl_uint i = 0;
		for (auto [size, value] :
		     std::initializer_list<std::pair<size_t, const void *>>{
			 {sizeof(n), &n},
			 {sizeof(n), &n},
			 {sizeof(n), &n},
			 {sizeof(alpha), &alpha},
			 {sizeof(da), &da},
			 {sizeof(n), &n},
			 {sizeof(db), &db},
			 {sizeof(n), &n},
			 {sizeof(beta), &beta},
			 {sizeof(dc), &dc},
			 {sizeof(n), &n}})
			err |= clSetKernelArg(kernel, i++, size, value);
		const size_t local[2] = {tile, tile};
		const size_t g = (size_t(n) + tile - 1) / tile * tile;
		const size_t global[2] = {g, g};
		err |= clEnqueueNDRangeKernel(q, kernel, 2, nullptr, global,
					      local, 0, nullptr, nullptr);
		err |= clEnqueueReadBuffer(q, dc, CL_TRUE, 0, bytes, m.c.data(),
					   0, nullptr, nullptr);
		clReleaseMemObject(da);
		clReleaseMemObject(db);
		clReleaseMemObject(dc);
		return err == CL_SUCCESS;
	}
};

DirectCl &direct_cl()
{
	static DirectCl d;
	return d;
}

void BM_sgemm_opencl_direct(benchmark::State &state)
{
	if (!direct_cl().ok) {
		state.SkipWithError("no OpenCL device");
		return;
	}
	Matrices m(int(state.range(0)));
	for (auto _ : state) {
		if (!direct_cl().sgemm(m)) {
			state.SkipWithError("OpenCL sgemm failed");
			break;
		}
	}
	set_flops(state, m.n);
}
BENCHMARK(BM_sgemm_opencl_direct)->Arg(256)->Arg(512)->Arg(1024)->UseRealTime();

void BM_sgemm_vaccel_opencl(benchmark::State &state)
{
	if (!opencl().ok) {
		state.SkipWithError("the opencl plugin did not load");
		return;
	}
	Matrices m(int(state.range(0)));
	// The first call builds the kernels: keep it out of the timing.
	if (vaccel_sgemm(&opencl().sess, m.n, m.n, m.n, 1.0F, m.a.data(), m.n,
			 m.b.data(), m.n, 0.0F, m.c.data(), m.n) != VACCEL_OK) {
		state.SkipWithError("vaccel_sgemm failed (no OpenCL device?)");
		return;
	}
	for (auto _ : state) {
		int rc = vaccel_sgemm(&opencl().sess, m.n, m.n, m.n, 1.0F,
				      m.a.data(), m.n, m.b.data(), m.n, 0.0F,
				      m.c.data(), m.n);
		if (rc != VACCEL_OK) {
			state.SkipWithError("vaccel_sgemm failed");
			break;
		}
	}
	set_flops(state, m.n);
}
BENCHMARK(BM_sgemm_vaccel_opencl)->Arg(256)->Arg(512)->Arg(1024)->UseRealTime();

// The opencl plugin inside the agent: A, B and C cross the socket each call.
void BM_sgemm_agent_opencl(benchmark::State &state)
{
	opencl();
	if (!g_remote_opencl)
		g_remote_opencl = std::make_unique<RemoteSession>(
		    agent(), VACCEL_PLUGIN_REMOTE | VACCEL_PLUGIN_GPU);
	if (!g_remote_opencl->ok) {
		state.SkipWithError("no agent (vaccel-agent or the rpc plugin "
				    "missing)");
		return;
	}
	vaccel_session *s = &g_remote_opencl->sess;
	Matrices m(int(state.range(0)));
	// The agent builds its kernels on the first call: untimed.
	if (vaccel_sgemm(s, m.n, m.n, m.n, 1.0F, m.a.data(), m.n, m.b.data(),
			 m.n, 0.0F, m.c.data(), m.n) != VACCEL_OK) {
		state.SkipWithError("vaccel_sgemm through the agent failed "
				    "(no OpenCL device there?)");
		return;
	}
	for (auto _ : state) {
		int rc = vaccel_sgemm(s, m.n, m.n, m.n, 1.0F, m.a.data(), m.n,
				      m.b.data(), m.n, 0.0F, m.c.data(), m.n);
		if (rc != VACCEL_OK) {
			state.SkipWithError("vaccel_sgemm through the agent "
					    "failed");
			break;
		}
	}
	set_flops(state, m.n);
}
BENCHMARK(BM_sgemm_agent_opencl)->Arg(256)->Arg(512)->Arg(1024)->UseRealTime();

#endif // BENCH_WITH_OPENCL

// Prints each vAccel run next to its baseline: wall time (the median of
// the repetitions with --benchmark_repetitions, else the run) and this
// process's CPU time per call, which is where the client's copies show.
class OverheadReporter : public benchmark::ConsoleReporter
{
public:
	void ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		for (const auto &r : runs) {
			if (bench_net::run_skipped(r))
				continue;
			const std::string key =
			    r.run_name.function_name + "/" + r.run_name.args;
			const Time t{r.GetAdjustedRealTime(),
				     r.GetAdjustedCPUTime()};
			if (r.run_type == Run::RT_Aggregate &&
			    r.aggregate_name == "median")
				median_[key] = t;
			else if (r.run_type == Run::RT_Iteration)
				last_[key] = t;
		}
	}
	void Finalize() override
	{
		ConsoleReporter::Finalize();
		std::printf("\nSame-run comparisons (wall time, then this "
			    "process's CPU per call):\n");
		for (const char *n : {"256", "512", "1024", "2048"}) {
			overhead("blas sgemm", n, "BM_sgemm_vaccel_blas",
				 "BM_sgemm_cblas_direct");
			overhead("  via agent", n, "BM_sgemm_agent_blas",
				 "BM_sgemm_cblas_direct");
			overhead("  buffers", n, "BM_sgemm_agent_blas_buffers",
				 "BM_sgemm_cblas_direct");
			overhead("  buffers/own", n,
				 "BM_sgemm_agent_blas_buffers",
				 "BM_sgemm_agent_blas");
			overhead("opencl sgemm", n, "BM_sgemm_vaccel_opencl",
				 "BM_sgemm_opencl_direct");
			overhead("  via agent", n, "BM_sgemm_agent_opencl",
				 "BM_sgemm_opencl_direct");
		}
	}

private:
	struct Time {
		double real = 0; // ns
		double cpu = 0;  // ns
	};

	const Time *find(const std::string &key) const
	{
		if (auto it = median_.find(key); it != median_.end())
			return &it->second;
		if (auto it = last_.find(key); it != last_.end())
			return &it->second;
		return nullptr;
	}

	void overhead(const char *what, const std::string &n,
		      const std::string &a, const std::string &b) const
	{
		const Time *ta = find(a + "/" + n);
		const Time *tb = find(b + "/" + n);
		if (ta == nullptr || tb == nullptr || tb->real <= 0)
			return;
		std::printf("  %-14s %4s x %-4s  %10.1f us vs %10.1f us  "
			    "%.3fx (%+7.2f%%)  CPU %9.1f us vs %9.1f us\n",
			    what, n.c_str(), n.c_str(), ta->real / 1e3,
			    tb->real / 1e3, ta->real / tb->real,
			    100.0 * (ta->real - tb->real) / tb->real,
			    ta->cpu / 1e3, tb->cpu / 1e3);
	}
	std::map<std::string, Time> median_, last_;
};

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	OverheadReporter reporter;
	benchmark::RunSpecifiedBenchmarks(&reporter);
	benchmark::Shutdown();
	g_remote_opencl.reset();
	g_remote_blas.reset();
	g_agent.reset();
	g_opencl.reset();
	g_blas.reset();
	return 0;
}
