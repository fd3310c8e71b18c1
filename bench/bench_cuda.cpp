// SPDX-License-Identifier: Apache-2.0
// Cost of going through vAccel to the cuda plugin, next to the same GPU work
// done directly in the same run:
//
//  - sgemm of n x n matrices (n = 256, 1024, 2048): cuBLAS called directly
//    (one stream and handle, device buffers allocated once, FP32 math, the
//    same uploads, gemm and download the plugin makes) vs vaccel_sgemm()
//    with the cuda plugin in this process vs vaccel_sgemm() through a
//    vaccel-agent child on a unix socket (rpc plugin here, cuda plugin in
//    the agent), there twice: with the matrices in the program's own
//    memory (copied into shared memory and back each call) and in vAccel
//    buffers (vaccel_buffer_alloc(): named by reference, read and written
//    in place by the agent, page-locked there after the first call).
//  - fpga vector add of n floats (n = 2^10, 2^20, 2^24): the plugin's own
//    kernel launched directly vs the same three paths. Small n shows the
//    fixed cost of a call, large n the cost of moving the data.
//
//   bench_cuda [--benchmark_filter=...]
//
// Plugins are loaded by name (libvaccel-cuda.so, libvaccel-rpc.so: the
// build tree's lib/, or LD_LIBRARY_PATH); VACCEL_BENCH_CUDA_PLUGIN and
// VACCEL_BENCH_RPC_PLUGIN give paths instead, VACCEL_BENCH_AGENT the agent.
// Without a GPU every benchmark reports "no CUDA device" and is skipped.
// The fpga ops are deprecated upstream; vector add is still a plain kernel
// worth timing.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include "../plugins/cuda/kernels.h"
#include "bench_net.h"

#include <benchmark/benchmark.h>
#include <vaccel.hpp>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace
{

std::string env_or(const char *name, const char *fallback)
{
	const char *v = std::getenv(name);
	return v != nullptr && *v != '\0' ? v : fallback;
}

std::vector<float> filled(size_t n, int mod)
{
	std::vector<float> v(n);
	for (size_t i = 0; i < n; i++)
		v[i] = float(i % size_t(mod)) / float(mod) - 0.5F;
	return v;
}

bool close_to(const std::vector<float> &got, const std::vector<float> &want)
{
	float scale = 0.0F;
	for (float w : want)
		scale = std::max(scale, std::fabs(w));
	for (size_t i = 0; i < got.size(); i++)
		if (!(std::fabs(got[i] - want[i]) <= 1e-5F * scale + 1e-6F))
			return false;
	return true;
}

// --- the direct baselines ----------------------------------------------------

// One stream, one cuBLAS handle bound to it, device buffers grown on demand
// and kept: what the plugin's worker holds for a call.
struct DirectCuda {
	cudaStream_t stream = nullptr;
	cublasHandle_t blas = nullptr;
	void *dev = nullptr;
	size_t dev_size = 0;
	bool ok = false;

	DirectCuda()
	{
		int count = 0;
		if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
			return;
		if (cudaSetDevice(0) != cudaSuccess ||
		    cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) !=
			cudaSuccess)
			return;
		if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS ||
		    cublasSetStream(blas, stream) != CUBLAS_STATUS_SUCCESS ||
		    cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH) !=
			CUBLAS_STATUS_SUCCESS)
			return;
		ok = true;
	}
	~DirectCuda()
	{
		if (blas != nullptr)
			cublasDestroy(blas);
		if (dev != nullptr)
			cudaFree(dev);
		if (stream != nullptr)
			cudaStreamDestroy(stream);
	}
	DirectCuda(const DirectCuda &) = delete;
	DirectCuda &operator=(const DirectCuda &) = delete;

	float *buffer(size_t floats)
	{
		const size_t bytes = floats * sizeof(float);
		if (bytes > dev_size) {
			if (dev != nullptr)
				cudaFree(dev);
			dev = nullptr;
			dev_size = 0;
			if (cudaMalloc(&dev, bytes) != cudaSuccess)
				return nullptr;
			dev_size = bytes;
		}
		return static_cast<float *>(dev);
	}

	// Row-major C = A B as the plugin computes it (operands swapped for
	// column-major cuBLAS).
	bool sgemm(int n, const float *a, const float *b, float *c)
	{
		const size_t e = size_t(n) * size_t(n);
		float *da = buffer(3 * e);
		if (da == nullptr)
			return false;
		float *db = da + e;
		float *dc = db + e;
		const float alpha = 1.0F;
		const float beta = 0.0F;
		bool good =
		    cudaMemcpyAsync(da, a, e * 4, cudaMemcpyHostToDevice,
				    stream) == cudaSuccess &&
		    cudaMemcpyAsync(db, b, e * 4, cudaMemcpyHostToDevice,
				    stream) == cudaSuccess &&
		    cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha,
				db, n, da, n, &beta, dc,
				n) == CUBLAS_STATUS_SUCCESS &&
		    cudaMemcpyAsync(c, dc, e * 4, cudaMemcpyDeviceToHost,
				    stream) == cudaSuccess;
		return cudaStreamSynchronize(stream) == cudaSuccess && good;
	}

	bool vadd(size_t n, const float *a, const float *b, float *c)
	{
		float *da = buffer(3 * n);
		if (da == nullptr)
			return false;
		float *db = da + n;
		float *dc = db + n;
		bool good =
		    cudaMemcpyAsync(da, a, n * 4, cudaMemcpyHostToDevice,
				    stream) == cudaSuccess &&
		    cudaMemcpyAsync(db, b, n * 4, cudaMemcpyHostToDevice,
				    stream) == cudaSuccess &&
		    vaccel_cuda::launch_vadd(da, db, dc, n, stream) ==
			cudaSuccess &&
		    cudaMemcpyAsync(c, dc, n * 4, cudaMemcpyDeviceToHost,
				    stream) == cudaSuccess;
		return cudaStreamSynchronize(stream) == cudaSuccess && good;
	}
};

DirectCuda &direct()
{
	static DirectCuda d;
	return d;
}

// --- vAccel sessions ---------------------------------------------------------

// A session on the cuda plugin in this process.
struct LocalCuda {
	vaccel_session sess{};
	bool ok = false;
	LocalCuda()
	{
		const std::string plugin =
		    env_or("VACCEL_BENCH_CUDA_PLUGIN", "libvaccel-cuda.so");
		if (vaccel_plugin_load(plugin.c_str()) != VACCEL_OK)
			return;
		ok = vaccel_session_init(&sess, VACCEL_PLUGIN_GPU) == VACCEL_OK;
	}
	~LocalCuda()
	{
		if (ok)
			vaccel_session_release(&sess);
	}
	LocalCuda(const LocalCuda &) = delete;
	LocalCuda &operator=(const LocalCuda &) = delete;
};

// A session on the cuda plugin inside a vaccel-agent child process.
struct RemoteCuda {
	std::unique_ptr<bench_net::AgentProcess> agent;
	vaccel_session sess{};
	bool ok = false;
	RemoteCuda()
	{
		agent = std::make_unique<bench_net::AgentProcess>(
		    env_or("VACCEL_BENCH_CUDA_PLUGIN", "libvaccel-cuda.so"));
		if (!agent->ok())
			return;
		setenv("VACCEL_RPC_ADDRESS", agent->address().c_str(), 1);
		const std::string rpc =
		    env_or("VACCEL_BENCH_RPC_PLUGIN", "libvaccel-rpc.so");
		if (vaccel_plugin_load(rpc.c_str()) != VACCEL_OK)
			return;
		ok = vaccel_session_init(&sess, VACCEL_PLUGIN_REMOTE) ==
		     VACCEL_OK;
	}
	~RemoteCuda()
	{
		if (ok)
			vaccel_session_release(&sess);
	}
	RemoteCuda(const RemoteCuda &) = delete;
	RemoteCuda &operator=(const RemoteCuda &) = delete;
};

// Released by main() before the runtime's exit-time cleanup.
std::unique_ptr<LocalCuda> g_local;
std::unique_ptr<RemoteCuda> g_remote;

vaccel_session *session(bool remote)
{
	if (remote) {
		if (!g_remote)
			g_remote = std::make_unique<RemoteCuda>();
		return g_remote->ok ? &g_remote->sess : nullptr;
	}
	if (!g_local)
		g_local = std::make_unique<LocalCuda>();
	return g_local->ok ? &g_local->sess : nullptr;
}

// --- benchmarks --------------------------------------------------------------

enum Path { kDirect, kLocal, kAgent, kAgentBuffers };

void set_flops(benchmark::State &state, int n)
{
	state.counters["GFLOP/s"] = benchmark::Counter(
	    2.0 * n * n * n * double(state.iterations()),
	    benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

// The first call of a path (cuBLAS handle, device buffers, for the agent
// the session's first forward) stays out of the timing, and must agree
// with the direct result.
// Where a path's matrices live: the program's vectors, or (kAgentBuffers)
// vAccel buffers holding the same values, allocated once the rpc plugin is
// loaded so that they are in shared memory.
struct Operands {
	std::vector<float> a, b, c;
	std::unique_ptr<vaccel::Buffer> ba, bb, bc;

	Operands(int n, bool buffers)
	    : a(filled(size_t(n) * n, 17)), b(filled(size_t(n) * n, 13)),
	      c(a.size())
	{
		if (!buffers)
			return;
		const size_t bytes = a.size() * sizeof(float);
		ba = std::make_unique<vaccel::Buffer>(bytes);
		bb = std::make_unique<vaccel::Buffer>(bytes);
		bc = std::make_unique<vaccel::Buffer>(bytes);
		std::copy(a.begin(), a.end(), ba->as<float>().begin());
		std::copy(b.begin(), b.end(), bb->as<float>().begin());
	}
	float *pa() { return ba ? ba->as<float>().data() : a.data(); }
	float *pb() { return bb ? bb->as<float>().data() : b.data(); }
	float *pc() { return bc ? bc->as<float>().data() : c.data(); }
	// The result, wherever it was written.
	std::vector<float> result()
	{
		if (!bc)
			return c;
		auto v = bc->as<float>();
		return {v.begin(), v.end()};
	}
	[[nodiscard]] bool shared() const
	{
		vaccel_shared_memory_place p{};
		p.struct_size = sizeof(p);
		return ba && vaccel_shared_memory_find(ba->data(), ba->size(),
						       &p) == VACCEL_OK;
	}
};

template <Path P> void BM_sgemm(benchmark::State &state)
{
	if (!direct().ok) {
		state.SkipWithError("no CUDA device");
		return;
	}
	const int n = int(state.range(0));
	vaccel_session *s = nullptr;
	if (P != kDirect) {
		s = session(P != kLocal);
		if (s == nullptr) {
			state.SkipWithError("the cuda plugin (or the agent) "
					    "did not start");
			return;
		}
	}
	Operands m(n, P == kAgentBuffers);
	if (P == kAgentBuffers && !m.shared()) {
		state.SkipWithError("vAccel buffers are not in shared memory "
				    "(VACCEL_RPC_SHM=0?)");
		return;
	}
	std::vector<float> want(m.a.size());
	if (!direct().sgemm(n, m.a.data(), m.b.data(), want.data())) {
		state.SkipWithError("direct cuBLAS sgemm failed");
		return;
	}
	auto call = [&]() {
		if (P == kDirect)
			return direct().sgemm(n, m.pa(), m.pb(), m.pc());
		return vaccel_sgemm(s, n, n, n, 1.0F, m.pa(), n, m.pb(), n,
				    0.0F, m.pc(), n) == VACCEL_OK;
	};
	// cuBLAS may pick another kernel for another handle: compare within
	// float rounding, not bit for bit.
	if (!call() || !close_to(m.result(), want)) {
		state.SkipWithError("first call failed or differs from cuBLAS");
		return;
	}
	for (auto _ : state)
		if (!call()) {
			state.SkipWithError("sgemm failed");
			break;
		}
	set_flops(state, n);
}
BENCHMARK(BM_sgemm<kDirect>)
    ->Name("BM_cuda_sgemm_direct")
    ->Arg(256)
    ->Arg(1024)
    ->Arg(2048)
    ->UseRealTime();
BENCHMARK(BM_sgemm<kLocal>)
    ->Name("BM_cuda_sgemm_vaccel")
    ->Arg(256)
    ->Arg(1024)
    ->Arg(2048)
    ->UseRealTime();
BENCHMARK(BM_sgemm<kAgent>)
    ->Name("BM_cuda_sgemm_agent")
    ->Arg(256)
    ->Arg(1024)
    ->Arg(2048)
    ->UseRealTime();
BENCHMARK(BM_sgemm<kAgentBuffers>)
    ->Name("BM_cuda_sgemm_agent_buffers")
    ->Arg(256)
    ->Arg(1024)
    ->Arg(2048)
    ->UseRealTime();

template <Path P> void BM_vadd(benchmark::State &state)
{
	if (!direct().ok) {
		state.SkipWithError("no CUDA device");
		return;
	}
	const auto n = size_t(state.range(0));
	auto a = filled(n, 17);
	auto b = filled(n, 13);
	std::vector<float> want(n);
	std::vector<float> c(n);
	if (!direct().vadd(n, a.data(), b.data(), want.data())) {
		state.SkipWithError("direct vadd kernel failed");
		return;
	}
	vaccel_session *s = nullptr;
	auto call = [&]() {
		if (P == kDirect)
			return direct().vadd(n, a.data(), b.data(), c.data());
		return vaccel_fpga_vadd(s, a.data(), b.data(), c.data(), n,
					n) == VACCEL_OK;
	};
	if (P != kDirect) {
		s = session(P == kAgent);
		if (s == nullptr) {
			state.SkipWithError("the cuda plugin (or the agent) "
					    "did not start");
			return;
		}
	}
	if (!call() || c != want) {
		state.SkipWithError("first call failed or differs from the "
				    "direct kernel");
		return;
	}
	for (auto _ : state)
		if (!call()) {
			state.SkipWithError("vadd failed");
			break;
		}
	state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n) * 12);
}
BENCHMARK(BM_vadd<kDirect>)
    ->Name("BM_cuda_vadd_direct")
    ->Arg(1 << 10)
    ->Arg(1 << 20)
    ->Arg(1 << 24)
    ->UseRealTime();
BENCHMARK(BM_vadd<kLocal>)
    ->Name("BM_cuda_vadd_vaccel")
    ->Arg(1 << 10)
    ->Arg(1 << 20)
    ->Arg(1 << 24)
    ->UseRealTime();
BENCHMARK(BM_vadd<kAgent>)
    ->Name("BM_cuda_vadd_agent")
    ->Arg(1 << 10)
    ->Arg(1 << 20)
    ->Arg(1 << 24)
    ->UseRealTime();

// Prints each vAccel path next to the direct baseline of the same size.
class OverheadReporter : public benchmark::ConsoleReporter
{
public:
	void ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		for (const auto &r : runs)
			if (r.run_type == Run::RT_Iteration &&
			    !bench_net::run_skipped(r))
				ns_[r.run_name.function_name + "/" +
				    r.run_name.args] = r.GetAdjustedRealTime();
	}
	void Finalize() override
	{
		ConsoleReporter::Finalize();
		std::printf("\nSame-run comparisons (vAccel vs direct):\n");
		for (const char *n : {"256", "1024", "2048"}) {
			overhead("sgemm local", n, "BM_cuda_sgemm_vaccel",
				 "BM_cuda_sgemm_direct");
			overhead("sgemm agent", n, "BM_cuda_sgemm_agent",
				 "BM_cuda_sgemm_direct");
			overhead("sgemm agent buffers", n,
				 "BM_cuda_sgemm_agent_buffers",
				 "BM_cuda_sgemm_direct");
			overhead("buffers vs own", n,
				 "BM_cuda_sgemm_agent_buffers",
				 "BM_cuda_sgemm_agent");
		}
		for (const char *n : {"1024", "1048576", "16777216"}) {
			overhead("vadd local", n, "BM_cuda_vadd_vaccel",
				 "BM_cuda_vadd_direct");
			overhead("vadd agent", n, "BM_cuda_vadd_agent",
				 "BM_cuda_vadd_direct");
		}
	}

private:
	void overhead(const char *what, const std::string &n,
		      const std::string &a, const std::string &b)
	{
		const std::string ka = a + "/" + n;
		const std::string kb = b + "/" + n;
		if (!ns_.count(ka) || !ns_.count(kb) || ns_[kb] <= 0)
			return;
		const double va = ns_[ka];
		const double vb = ns_[kb];
		std::printf("  %-20s %9s  %10.1f us vs %10.1f us  overhead "
			    "%+7.2f%% (%+.1f us, %.3fx)\n",
			    what, n.c_str(), va / 1e3, vb / 1e3,
			    100.0 * (va - vb) / vb, (va - vb) / 1e3, va / vb);
	}
	std::map<std::string, double> ns_;
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
	g_remote.reset();
	g_local.reset();
	return 0;
}
