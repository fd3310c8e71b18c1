// SPDX-License-Identifier: Apache-2.0
// The torch plugin against libtorch called directly, in the same run: a
// TorchScript model's forward pass through vaccel_torch_model_run() and
// through torch::jit::Module::forward(), and a model load through a vAccel
// resource and through torch::jit::load(). The overhead of each vAccel path
// is printed at the end.
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
//   VACCEL_TORCH_DEVICE        cpu, cuda, cuda:N or auto, for both paths
//   VACCEL_TORCH_JIT_OPTIMIZE  1: JIT graph optimizations, for both paths
// The plugin is loaded from the build tree unless VACCEL_PLUGINS names it.
#include <benchmark/benchmark.h>
#include <vaccel.h>

#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <cstdio>
#include <cstdlib>
#include <map>
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

struct Env {
	std::string model_path;
	std::vector<int64_t> shape; // batch dimension first
	c10::Device device{c10::kCPU};
	torch::jit::Module module;
	vaccel_session sess{};
	vaccel_resource res{};
	bool ok = false;

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

		if (vaccel_plugin_count() == 0 &&
		    vaccel_plugin_load(BENCH_TORCH_PLUGIN) != VACCEL_OK)
			return;
		if (vaccel_session_init(&sess, 0) != VACCEL_OK)
			return;
		if (vaccel_resource_init(&res, model_path.c_str(),
					 VACCEL_RESOURCE_MODEL) != VACCEL_OK ||
		    vaccel_resource_register(&res, &sess) != VACCEL_OK ||
		    vaccel_torch_model_load(&sess, &res) != VACCEL_OK)
			return;
		warm_up();
		std::printf(
		    "model %s, input %s, device %s, jit optimize %d\n",
		    model_path.c_str(),
		    env_or("VACCEL_BENCH_TORCH_INPUT", "(default)").c_str(),
		    device.str().c_str(), jit_optimize() ? 1 : 0);
		ok = true;
	}
	~Env()
	{
		if (res.id > 0) {
			vaccel_resource_unregister(&res, &sess);
			vaccel_resource_release(&res);
		}
		if (sess.id > 0)
			vaccel_session_release(&sess);
	}

	// A few runs of both paths before any is timed: the first runs load
	// kernels, pick algorithms and fill allocator caches.
	void warm_up()
	{
		std::vector<float> x(numel(shape), 0.5F);
		vaccel_torch_tensor *in = nullptr;
		vaccel_torch_tensor_new(&in, static_cast<int64_t>(shape.size()),
					shape.data(), VACCEL_TORCH_FLOAT);
		vaccel_torch_tensor_set_data(in, x.data(),
					     x.size() * sizeof(float));
		torch::jit::GraphOptimizerEnabledGuard opt(jit_optimize());
		c10::InferenceMode guard;
		for (int i = 0; i < 5; i++) {
			vaccel_torch_tensor *out = nullptr;
			if (vaccel_torch_model_run(&sess, &res, nullptr, &in, 1,
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

Env &env()
{
	static Env e;
	return e;
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

// libtorch directly: the input from host memory to the device, forward,
// the first output back on the host.
void BM_run_direct(benchmark::State &state)
{
	Env &e = env();
	if (!e.ok) {
		state.SkipWithError("setup failed");
		return;
	}
	const auto dims = e.dims(state.range(0));
	std::vector<float> x = input_data(dims);
	torch::jit::GraphOptimizerEnabledGuard opt(jit_optimize());
	c10::InferenceMode guard;
	for (auto _ : state) {
		at::Tensor in = torch::from_blob(x.data(), dims).to(e.device);
		c10::IValue r = e.module.forward({in});
		at::Tensor out =
		    (r.isTensor() ? r.toTensor()
				  : r.toTupleRef().elements()[0].toTensor())
			.to(at::kCPU)
			.contiguous();
		benchmark::DoNotOptimize(out.data_ptr());
	}
	state.SetItemsProcessed(state.iterations() * state.range(0));
}

// The same through vAccel: the plugin wraps the input, runs the cached
// model and returns a newly allocated output tensor.
void BM_run_vaccel(benchmark::State &state)
{
	Env &e = env();
	if (!e.ok) {
		state.SkipWithError("setup failed");
		return;
	}
	const auto dims = e.dims(state.range(0));
	std::vector<float> x = input_data(dims);
	vaccel_torch_tensor *in = nullptr;
	vaccel_torch_tensor_new(&in, static_cast<int64_t>(dims.size()),
				dims.data(), VACCEL_TORCH_FLOAT);
	vaccel_torch_tensor_set_data(in, x.data(), x.size() * sizeof(float));
	for (auto _ : state) {
		vaccel_torch_tensor *out = nullptr;
		if (vaccel_torch_model_run(&e.sess, &e.res, nullptr, &in, 1,
					   &out, 1) != VACCEL_OK) {
			state.SkipWithError("vaccel_torch_model_run failed");
			break;
		}
		benchmark::DoNotOptimize(out->data);
		vaccel_torch_tensor_delete(out);
	}
	vaccel_torch_tensor_delete(in);
	state.SetItemsProcessed(state.iterations() * state.range(0));
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
							     BM_run_vaccel)}) {
			b->Arg(n);
			common(b);
		}
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
			if (r.error_occurred ||
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
		for (int64_t n : batch_sizes())
			overhead("model run, batch " + std::to_string(n),
				 "BM_run_vaccel/" + std::to_string(n),
				 "BM_run_direct/" + std::to_string(n));
		overhead("model load (new resource)", "BM_load_vaccel",
			 "BM_load_direct");
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
	return 0;
}
