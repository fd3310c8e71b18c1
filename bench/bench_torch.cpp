// SPDX-License-Identifier: Apache-2.0
// The torch plugin against libtorch called directly, in the same run: a
// TorchScript model's forward pass through vaccel_torch_model_run() and
// through torch::jit::Module::forward(), and a model load through a vAccel
// resource and through torch::jit::load(). The forward pass also runs
// through a vaccel-agent child process on a unix socket (the rpc plugin in
// this process, the torch plugin in the agent). The overhead of each vAccel
// path is printed at the end. The interleaved benchmark gives every call a
// new input and checks every vAccel output against native libtorch's for
// the same input (a difference fails it).
//
//   build/release/bin/bench_torch
//
// Environment:
//   VACCEL_BENCH_TORCH_MODEL   TorchScript model (default: the
//                              Fashion-MNIST model of models/)
//   VACCEL_BENCH_TORCH_INPUT   its float32 input shape, e.g. 1x3x224x224
//                              (default 1x1x28x28 for the default model,
//                              1x3x224x224 for any other)
//   VACCEL_BENCH_TORCH_BATCHES batch sizes to run, replacing the shape's
//                              first dimension (default "1,32")
//   VACCEL_BENCH_TORCH_REPS    repetitions of each benchmark; the medians
//                              are compared (default 3)
//   VACCEL_BENCH_TORCH_WARMUP  untimed runs of each path first (default 100)
//   VACCEL_BENCH_TORCH_ALLOCATE 1: the vAccel input tensors' data is
//                              allocated by vAccel (shared memory with
//                              the rpc plugin: no copy per call); 0
//                              (default): the program's buffer
//   VACCEL_BENCH_TORCH_BLOCK   calls of each path in turn in the
//                              interleaved run (default 10)
//   VACCEL_TORCH_DEVICE        cpu, cuda, cuda:N or auto, for both paths
//   VACCEL_TORCH_JIT_OPTIMIZE  1: JIT graph optimizations, for both paths
//   VACCEL_BENCH_TORCH_PLUGIN  the torch plugin (default: the build tree's)
//   VACCEL_BENCH_TORCH_AGENT   0: skip the agent path
//   VACCEL_BENCH_AGENT         the vaccel-agent binary (default: next to
//                              this one)
//   VACCEL_BENCH_AGENT_ARGS    more agent options, e.g. "--trace t.tsv"
//   VACCEL_BENCH_AGENT_CPUS    the agent's CPUs (taskset list, e.g. 4-7);
//                              run this process under taskset to keep
//                              the two apart
//   VACCEL_BENCH_RPC_PLUGIN    the rpc plugin (default libvaccel-rpc.so,
//                              found next to libvaccel)
// The plugin is loaded from the build tree unless VACCEL_PLUGINS names it.
#include "bench_net.h"

#include <benchmark/benchmark.h>
#include <vaccel.h>

#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace
{

std::string env_or(const char *name, const std::string &fallback)
{
	const char *v = std::getenv(name);
	return v != nullptr && *v != '\0' ? v : fallback;
}

std::vector<int64_t> parse_list(const std::string &text, char sep)
{
	std::vector<int64_t> out;
	std::stringstream ss(text);
	for (std::string item; std::getline(ss, item, sep);)
		if (!item.empty())
			out.push_back(std::stoll(item));
	return out;
}

bool jit_optimize()
{
	const std::string v = env_or("VACCEL_TORCH_JIT_OPTIMIZE", "0");
	return v == "1" || v == "true" || v == "yes" || v == "on";
}

// The device the plugin picks for VACCEL_TORCH_DEVICE (same rules).
c10::Device bench_device()
{
	const std::string v = env_or("VACCEL_TORCH_DEVICE", "auto");
	if (v == "cpu")
		return c10::Device(c10::kCPU);
	if (v == "auto")
		return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0)
						   : c10::Device(c10::kCPU);
	return c10::Device(v == "gpu" ? std::string("cuda") : v);
}

vaccel_torch_tensor *make_input(std::vector<float> &x,
				const std::vector<int64_t> &dims);

struct Env {
	std::string model_path;
	std::vector<int64_t> shape; // batch dimension first
	c10::Device device{c10::kCPU};
	torch::jit::Module module;
	vaccel_session sess{};
	vaccel_resource res{};
	bool ok = false;
	// The agent path: its own session and resource, routed to the rpc
	// plugin by the REMOTE hint.
	std::unique_ptr<bench_net::AgentProcess> agent;
	vaccel_session remote_sess{};
	vaccel_resource remote_res{};
	bool remote_ok = false;

	Env()
	{
		const bool custom = std::getenv("VACCEL_BENCH_TORCH_MODEL");
		model_path =
		    env_or("VACCEL_BENCH_TORCH_MODEL", BENCH_TORCH_MODEL);
		shape = parse_list(env_or("VACCEL_BENCH_TORCH_INPUT",
					  custom ? "1x3x224x224" : "1x1x28x28"),
				   'x');
		device = bench_device();
		module = torch::jit::load(model_path, device);
		module.eval();

		const std::string plugin =
		    env_or("VACCEL_BENCH_TORCH_PLUGIN", BENCH_TORCH_PLUGIN);
		if (vaccel_plugin_count() == 0 &&
		    vaccel_plugin_load(plugin.c_str()) != VACCEL_OK)
			return;
		if (!open_model(sess, res, 0))
			return;
		if (env_or("VACCEL_BENCH_TORCH_AGENT", "1") != "0")
			start_agent(plugin);
		warm_up(sess, res);
		if (remote_ok)
			warm_up(remote_sess, remote_res);
		std::printf(
		    "model %s, input %s, device %s, jit optimize %d\n",
		    model_path.c_str(),
		    env_or("VACCEL_BENCH_TORCH_INPUT", "(default)").c_str(),
		    device.str().c_str(), jit_optimize() ? 1 : 0);
		ok = true;
	}
	~Env()
	{
		close_model(remote_sess, remote_res);
		close_model(sess, res);
	}

	// A session with @p hint, the model as its resource, loaded.
	bool open_model(vaccel_session &s, vaccel_resource &r, uint32_t hint)
	{
		return vaccel_session_init(&s, hint) == VACCEL_OK &&
		       vaccel_resource_init(&r, model_path.c_str(),
					    VACCEL_RESOURCE_MODEL) ==
			   VACCEL_OK &&
		       vaccel_resource_register(&r, &s) == VACCEL_OK &&
		       vaccel_torch_model_load(&s, &r) == VACCEL_OK;
	}
	static void close_model(vaccel_session &s, vaccel_resource &r)
	{
		if (r.id > 0) {
			vaccel_resource_unregister(&r, &s);
			vaccel_resource_release(&r);
		}
		if (s.id > 0)
			vaccel_session_release(&s);
	}

	// The agent serves the same torch plugin; this process reaches it
	// through the rpc plugin, whose address is read when it loads.
	void start_agent(const std::string &plugin)
	{
		agent = std::make_unique<bench_net::AgentProcess>(plugin);
		if (!agent->ok()) {
			std::fprintf(stderr, "bench_torch: the agent did not "
					     "start; no agent path\n");
			return;
		}
		setenv("VACCEL_RPC_ADDRESS", agent->address().c_str(), 1);
		const std::string rpc =
		    env_or("VACCEL_BENCH_RPC_PLUGIN", "libvaccel-rpc.so");
		if (vaccel_plugin_load(rpc.c_str()) != VACCEL_OK) {
			std::fprintf(stderr,
				     "bench_torch: %s did not load; no "
				     "agent path\n",
				     rpc.c_str());
			return;
		}
		remote_ok =
		    open_model(remote_sess, remote_res, VACCEL_PLUGIN_REMOTE);
	}

	// Runs of both paths before any is timed: the first runs load
	// kernels, pick algorithms and fill allocator caches. Some of those
	// caches are per thread (cuDNN's execution plans in libtorch), and
	// the agent spreads calls over its worker threads, so the default
	// (VACCEL_BENCH_TORCH_WARMUP) is many runs, not a few.
	void warm_up(vaccel_session &s, vaccel_resource &r)
	{
		std::vector<float> x(numel(shape), 0.5F);
		vaccel_torch_tensor *in = make_input(x, shape);
		torch::jit::GraphOptimizerEnabledGuard opt(jit_optimize());
		c10::InferenceMode guard;
		const auto n =
		    parse_list(env_or("VACCEL_BENCH_TORCH_WARMUP", "100"), ',');
		const int64_t runs = n.empty() ? 100 : n[0];
		for (int64_t i = 0; i < runs; i++) {
			vaccel_torch_tensor *out = nullptr;
			if (vaccel_torch_model_run(&s, &r, nullptr, &in, 1,
						   &out, 1) == VACCEL_OK)
				vaccel_torch_tensor_delete(out);
			module.forward(
			    {torch::from_blob(x.data(), shape).to(device)});
		}
		vaccel_torch_tensor_delete(in);
	}

	static size_t numel(const std::vector<int64_t> &dims)
	{
		int64_t n = 1;
		for (int64_t d : dims)
			n *= d;
		return static_cast<size_t>(n);
	}

	std::vector<int64_t> dims(int64_t batch) const
	{
		std::vector<int64_t> d = shape;
		d[0] = batch;
		return d;
	}
};

// Made on first use, destroyed by main() before exit: libtorch's CUDA state
// must still be alive when the module and the plugin's models go.
std::unique_ptr<Env> g_env;

Env &env()
{
	if (!g_env)
		g_env = std::make_unique<Env>();
	return *g_env;
}

std::vector<float> input_data(const std::vector<int64_t> &dims)
{
	int64_t n = 1;
	for (int64_t d : dims)
		n *= d;
	std::vector<float> x(static_cast<size_t>(n));
	for (size_t i = 0; i < x.size(); i++)
		x[i] = static_cast<float>((i * 7) % 256) / 255.0F;
	return x;
}

// The vAccel input tensor holding @p x. VACCEL_BENCH_TORCH_ALLOCATE=1: its
// data allocated by vAccel (vaccel_torch_tensor_allocate(), then filled),
// which with the rpc plugin on a unix socket puts it in shared memory that
// reaches the agent without a copy; otherwise the program's own buffer
// (set_data), which the rpc plugin copies into a shared region per call.
vaccel_torch_tensor *make_input(std::vector<float> &x,
				const std::vector<int64_t> &dims)
{
	vaccel_torch_tensor *in = nullptr;
	const size_t bytes = x.size() * sizeof(float);
	if (env_or("VACCEL_BENCH_TORCH_ALLOCATE", "0") == "1") {
		if (vaccel_torch_tensor_allocate(
			&in, static_cast<int64_t>(dims.size()), dims.data(),
			VACCEL_TORCH_FLOAT, bytes) == VACCEL_OK)
			std::memcpy(in->data, x.data(), bytes);
		return in;
	}
	vaccel_torch_tensor_new(&in, static_cast<int64_t>(dims.size()),
				dims.data(), VACCEL_TORCH_FLOAT);
	vaccel_torch_tensor_set_data(in, x.data(), bytes);
	return in;
}

// Call @p call's input: a different one every call, so that no cache or
// stale buffer on any path could pass for a result.
void vary_input(std::vector<float> &x, uint64_t call)
{
	for (size_t i = 0; i < x.size(); i++)
		x[i] = static_cast<float>((i * 7 + call * 31) % 256) / 255.0F;
}

// libtorch directly: the input from host memory to the device, forward,
// the first output back on the host (returned).
at::Tensor forward_direct(Env &e, std::vector<float> &x,
			  const std::vector<int64_t> &dims)
{
	torch::jit::GraphOptimizerEnabledGuard opt(jit_optimize());
	c10::InferenceMode guard;
	at::Tensor in = torch::from_blob(x.data(), dims).to(e.device);
	c10::IValue r = e.module.forward({in});
	at::Tensor out =
	    (r.isTensor() ? r.toTensor()
			  : r.toTupleRef().elements()[0].toTensor())
		.to(at::kCPU)
		.contiguous();
	benchmark::DoNotOptimize(out.data_ptr());
	return out;
}

void BM_run_direct(benchmark::State &state)
{
	Env &e = env();
	if (!e.ok) {
		state.SkipWithError("setup failed");
		return;
	}
	const auto dims = e.dims(state.range(0));
	std::vector<float> x = input_data(dims);
	for (auto _ : state)
		forward_direct(e, x, dims);
	state.SetItemsProcessed(state.iterations() * state.range(0));
}

// The same through vAccel: the plugin wraps the input, runs the cached
// model and returns a newly allocated output tensor.
void run_vaccel(benchmark::State &state, vaccel_session &sess,
		vaccel_resource &res)
{
	Env &e = env();
	const auto dims = e.dims(state.range(0));
	std::vector<float> x = input_data(dims);
	vaccel_torch_tensor *in = make_input(x, dims);
	for (auto _ : state) {
		vaccel_torch_tensor *out = nullptr;
		if (vaccel_torch_model_run(&sess, &res, nullptr, &in, 1, &out,
					   1) != VACCEL_OK) {
			state.SkipWithError("vaccel_torch_model_run failed");
			break;
		}
		benchmark::DoNotOptimize(out->data);
		vaccel_torch_tensor_delete(out);
	}
	vaccel_torch_tensor_delete(in);
	state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_run_vaccel(benchmark::State &state)
{
	Env &e = env();
	if (!e.ok) {
		state.SkipWithError("setup failed");
		return;
	}
	run_vaccel(state, e.sess, e.res);
}

// Through the agent: the rpc plugin sends the input tensor over the unix
// socket, the agent's torch plugin runs the model, the output comes back.
void BM_run_agent(benchmark::State &state)
{
	Env &e = env();
	if (!e.ok || !e.remote_ok) {
		state.SkipWithError("no agent path");
		return;
	}
	run_vaccel(state, e.remote_sess, e.remote_res);
}

// The three paths one after the other in every iteration, a block of
// VACCEL_BENCH_TORCH_BLOCK calls each (default 10), every call timed on its
// own: slow drifts of the machine (GPU clocks, other processes) hit them
// alike, so their ratio is steadier than that of separate runs. Blocks
// rather than single calls, because on a GPU the agent's process and this
// one take turns on the device, and the first call after a turn pays for
// the switch, which an agent owning the GPU never does; the medians over
// all calls are kept for the summary (one switched call in a block of ten
// does not move a median).
struct Interleaved {
	double direct_us = 0, vaccel_us = 0, agent_us = 0;
	// Outputs compared with native libtorch's for the same input, and
	// the largest difference, relative to the largest native value.
	size_t checked = 0, mismatched = 0;
	double worst = 0;
};
std::map<int64_t, Interleaved> g_interleaved;
constexpr double kOutputTolerance = 1e-3;

double median(std::vector<double> v)
{
	if (v.empty())
		return 0;
	std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
	return v[v.size() / 2];
}

// Compares @p got with native libtorch's output @p want for the same
// input: a different GPU process may pick other kernels, so a small
// difference is allowed (relative to the largest native value).
void check_output(const vaccel_torch_tensor &got, const at::Tensor &want,
		  Interleaved *r)
{
	++r->checked;
	const auto ref = want.to(at::kFloat).contiguous();
	const auto n = static_cast<size_t>(ref.numel());
	if (got.data_type != VACCEL_TORCH_FLOAT ||
	    got.size != n * sizeof(float)) {
		++r->mismatched;
		return;
	}
	const float *a = static_cast<const float *>(got.data);
	const float *b = ref.data_ptr<float>();
	double scale = 1e-6, diff = 0;
	for (size_t i = 0; i < n; i++) {
		scale = std::max(scale, std::fabs(double{b[i]}));
		diff = std::max(diff, std::fabs(double{a[i]} - double{b[i]}));
	}
	const double rel = diff / scale;
	r->worst = std::max(r->worst, rel);
	if (!(rel <= kOutputTolerance))
		++r->mismatched;
}

void BM_run_interleaved(benchmark::State &state)
{
	Env &e = env();
	if (!e.ok) {
		state.SkipWithError("setup failed");
		return;
	}
	const auto dims = e.dims(state.range(0));
	std::vector<float> x = input_data(dims);
	vaccel_torch_tensor *in = make_input(x, dims);
	std::vector<double> direct, local, remote;
	using clock = std::chrono::steady_clock;
	const auto us = [](clock::time_point a, clock::time_point b) {
		return std::chrono::duration<double, std::micro>(b - a).count();
	};
	Interleaved &r = g_interleaved[state.range(0)];
	const int block = std::max(
	    1, std::atoi(env_or("VACCEL_BENCH_TORCH_BLOCK", "10").c_str()));
	// Native outputs of this round's inputs, one per call of the block.
	std::vector<at::Tensor> want(static_cast<size_t>(block));
	uint64_t round = 0;
	// Call @p i of a block: its input in place (untimed), then the call.
	const auto prepare = [&](int i) {
		vary_input(x, round * static_cast<uint64_t>(block) +
				  static_cast<uint64_t>(i));
		if (in->data != x.data()) // vaccel_torch_tensor_allocate()d
			std::memcpy(in->data, x.data(), in->size);
	};
	const auto run = [&](vaccel_session &s, vaccel_resource &res, int i) {
		vaccel_torch_tensor *out = nullptr;
		if (vaccel_torch_model_run(&s, &res, nullptr, &in, 1, &out,
					   1) != VACCEL_OK)
			return clock::now();
		const auto done = clock::now();
		check_output(*out, want[static_cast<size_t>(i)], &r);
		vaccel_torch_tensor_delete(out);
		return done;
	};
	bool failed = false;
	for (auto _ : state) {
		for (int i = 0; i < block; ++i) {
			prepare(i);
			const auto t0 = clock::now();
			want[static_cast<size_t>(i)] =
			    forward_direct(e, x, dims);
			direct.push_back(us(t0, clock::now()));
		}
		const size_t before = r.checked;
		for (int i = 0; i < block; ++i) {
			prepare(i);
			const auto t0 = clock::now();
			local.push_back(us(t0, run(e.sess, e.res, i)));
		}
		if ((failed = r.checked != before + block)) {
			state.SkipWithError("vaccel_torch_model_run failed");
			break;
		}
		for (int i = 0; i < block && e.remote_ok; ++i) {
			prepare(i);
			const auto t0 = clock::now();
			remote.push_back(
			    us(t0, run(e.remote_sess, e.remote_res, i)));
		}
		failed = e.remote_ok && r.checked != before + 2 * block;
		++round;
		if (failed) {
			state.SkipWithError("run through the agent failed");
			break;
		}
	}
	vaccel_torch_tensor_delete(in);
	if (r.mismatched != 0)
		state.SkipWithError("an output differs from native libtorch's "
				    "for the same input");
	r.direct_us = median(direct);
	r.vaccel_us = median(local);
	r.agent_us = median(remote);
	state.counters["direct_us"] = r.direct_us;
	state.counters["vaccel_us"] = r.vaccel_us;
	if (e.remote_ok)
		state.counters["agent_us"] = r.agent_us;
}

void BM_load_direct(benchmark::State &state)
{
	Env &e = env();
	for (auto _ : state) {
		torch::jit::Module m = torch::jit::load(e.model_path, e.device);
		benchmark::DoNotOptimize(&m);
	}
}

// A new resource each time: the plugin's cache must not serve it.
void BM_load_vaccel(benchmark::State &state)
{
	Env &e = env();
	if (!e.ok) {
		state.SkipWithError("setup failed");
		return;
	}
	for (auto _ : state) {
		vaccel_resource r{};
		if (vaccel_resource_init(&r, e.model_path.c_str(),
					 VACCEL_RESOURCE_MODEL) != VACCEL_OK ||
		    vaccel_resource_register(&r, &e.sess) != VACCEL_OK ||
		    vaccel_torch_model_load(&e.sess, &r) != VACCEL_OK) {
			state.SkipWithError("load failed");
			break;
		}
		vaccel_resource_unregister(&r, &e.sess);
		vaccel_resource_release(&r);
	}
}
int repetitions()
{
	const auto v = parse_list(env_or("VACCEL_BENCH_TORCH_REPS", "3"), ',');
	return v.empty() || v[0] < 1 ? 1 : static_cast<int>(v[0]);
}

std::vector<int64_t> batch_sizes()
{
	return parse_list(env_or("VACCEL_BENCH_TORCH_BATCHES", "1,32"), ',');
}

// Each vAccel benchmark right after its baseline, both repeated and their
// medians compared: on a busy machine, or a GPU changing clocks, a single
// measurement of each cannot tell a few percent apart.
void register_benchmarks()
{
	const int reps = repetitions();
	const auto common = [reps](benchmark::internal::Benchmark *b) {
		b->UseRealTime()->Repetitions(reps)->ReportAggregatesOnly(reps >
									  1);
	};
	for (int64_t n : batch_sizes()) {
		for (auto *b : {benchmark::RegisterBenchmark("BM_run_direct",
							     BM_run_direct),
				benchmark::RegisterBenchmark("BM_run_vaccel",
							     BM_run_vaccel),
				benchmark::RegisterBenchmark("BM_run_agent",
							     BM_run_agent)}) {
			b->Arg(n);
			common(b);
		}
		// One run: its medians are over every iteration.
		benchmark::RegisterBenchmark("BM_run_interleaved",
					     BM_run_interleaved)
		    ->Arg(n)
		    ->UseRealTime();
	}
	for (auto *b :
	     {benchmark::RegisterBenchmark("BM_load_direct", BM_load_direct),
	      benchmark::RegisterBenchmark("BM_load_vaccel", BM_load_vaccel)}) {
		b->Unit(benchmark::kMillisecond);
		common(b);
	}
}

// Collects per-benchmark times so that the overheads can be printed at the
// end.
class OverheadReporter : public benchmark::ConsoleReporter
{
public:
	void ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		// The median of the repetitions, or the single run.
		for (const auto &r : runs) {
			const bool median = r.run_type == Run::RT_Aggregate &&
					    r.aggregate_name == "median";
			if (bench_net::run_skipped(r) ||
			    (!median && r.run_type != Run::RT_Iteration))
				continue;
			// "BM_run_vaccel/1", "BM_load_vaccel": without the
			// repetition and time-type parts of the name.
			const std::string key =
			    r.run_name.function_name +
			    (r.run_name.args.empty() ? ""
						     : "/" + r.run_name.args);
			us_[key] =
			    r.GetAdjustedRealTime() /
			    benchmark::GetTimeUnitMultiplier(r.time_unit) * 1e6;
		}
	}
	void Finalize() override
	{
		ConsoleReporter::Finalize();
		std::printf("\nvAccel overhead over libtorch (same run, "
			    "medians of %d):\n",
			    repetitions());
		for (int64_t n : batch_sizes()) {
			overhead("model run, batch " + std::to_string(n),
				 "BM_run_vaccel/" + std::to_string(n),
				 "BM_run_direct/" + std::to_string(n));
			overhead("  through the agent",
				 "BM_run_agent/" + std::to_string(n),
				 "BM_run_direct/" + std::to_string(n));
		}
		overhead("model load (new resource)", "BM_load_vaccel",
			 "BM_load_direct");
		if (g_interleaved.empty())
			return;
		std::printf("\nInterleaved (blocks of direct, vaccel, agent "
			    "calls in turn; medians):\n");
		for (const auto &[n, r] : g_interleaved) {
			if (r.direct_us <= 0)
				continue;
			std::printf(
			    "  batch %-4lld direct %10.1f us  vaccel "
			    "%10.1f us (%+6.2f%%)",
			    static_cast<long long>(n), r.direct_us, r.vaccel_us,
			    100.0 * (r.vaccel_us - r.direct_us) / r.direct_us);
			if (r.agent_us > 0)
				std::printf("  agent %10.1f us (%+6.2f%%)",
					    r.agent_us,
					    100.0 * (r.agent_us - r.direct_us) /
						r.direct_us);
			std::printf(
			    "\n             a new input every call; %zu "
			    "outputs checked against native libtorch's, "
			    "%zu differ (largest difference %.2g of the "
			    "largest value)\n",
			    r.checked, r.mismatched, r.worst);
		}
	}

private:
	void overhead(const std::string &what, const std::string &a,
		      const std::string &b)
	{
		if (!us_.count(a) || !us_.count(b) || us_[b] <= 0)
			return;
		std::printf("  %-28s vaccel %10.1f us  direct %10.1f us  "
			    "overhead %+7.1f%% (%+.1f us)\n",
			    what.c_str(), us_[a], us_[b],
			    100.0 * (us_[a] - us_[b]) / us_[b],
			    us_[a] - us_[b]);
	}
	std::map<std::string, double> us_;
};

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	register_benchmarks();
	OverheadReporter reporter;
	benchmark::RunSpecifiedBenchmarks(&reporter);
	benchmark::Shutdown();
	g_env.reset();
	return 0;
}
