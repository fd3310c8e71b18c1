// SPDX-License-Identifier: Apache-2.0
// coldstart-native: the cold-start benchmark's function without vAccel, the
// same-run baseline of scripts/bench_coldstart.py. libtorch in this
// process, with the torch plugin's own preprocessing (plugins/torch
// settings.cpp, image.cpp) so that the result must equal the plugin's:
//
//   coldstart-native classify <model.pt> <labels.txt> <model.cfg> <image>
//   coldstart-native run <model.pt> <C>x<H>x<W>
//
// The same marker lines as coldstart-client (bench/coldstart), without a
// session: start, loaded (torch::jit::load on the device), first, warm
// (the median of five more calls).
//
// With COLDSTART_NATIVE_SERVE=1 it then stays, and for each line read on
// stdin makes one more call and prints "served <us>": the benchmark times
// a call of this warm process after it idled as long as its sandboxes'
// first runs did, another process launched meanwhile (a sandbox's own
// start, which leaves the CPU caches to that process).
// The device: VACCEL_TORCH_DEVICE (cpu, cuda), else CUDA when available.
#include "image.h"
#include "settings.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <c10/core/InferenceMode.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace
{

// Calls after the first whose median is the warm call's time.
constexpr int kWarmCalls = 5;

long long now_us()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void phase(const char *name, const std::string &rest = {})
{
	std::printf("phase %s %lld%s%s\n", name, now_us(),
		    rest.empty() ? "" : " ", rest.c_str());
	std::fflush(stdout);
}

std::string slurp(const char *path)
{
	std::ifstream in(path, std::ios::binary);
	return {std::istreambuf_iterator<char>(in), {}};
}

torch::Device device()
{
	const char *d = std::getenv("VACCEL_TORCH_DEVICE");
	if (d != nullptr && std::strcmp(d, "cpu") == 0)
		return torch::kCPU;
	if (d != nullptr && std::strncmp(d, "cuda", 4) == 0)
		return torch::Device(d);
	return torch::cuda::is_available() ? torch::Device(torch::kCUDA)
					   : torch::Device(torch::kCPU);
}

// Runs @p forward as the torch plugin does (torch_plugin.cpp, forward()):
// without the JIT's graph optimizations unless VACCEL_TORCH_JIT_OPTIMIZE is
// set, in inference mode; otherwise the baseline measures other settings.
torch::Tensor plugin_like(torch::jit::Module &m, torch::Tensor in)
{
	torch::jit::GraphOptimizerEnabledGuard opt(
	    vtorch::env_flag("VACCEL_TORCH_JIT_OPTIMIZE", false));
	c10::InferenceMode inference;
	return m.forward({std::move(in)}).toTensor();
}

// The plugin's intra-op threads setting (VACCEL_TORCH_THREADS).
void plugin_threads()
{
	int threads = 0;
	std::string error;
	if (vtorch::env_positive_int("VACCEL_TORCH_THREADS", 0, threads,
				     error) &&
	    threads > 0)
		at::set_num_threads(threads);
}

// Prints the first call's result, then the median time of kWarmCalls more
// calls (coldstart_client.c does the same) and the last one's result.
template <class F> void first_and_warm(F call)
{
	phase("first", call());
	std::vector<long long> took;
	std::string again;
	for (int i = 0; i < kWarmCalls; i++) {
		const long long t0 = now_us();
		again = call();
		took.push_back(now_us() - t0);
	}
	std::sort(took.begin(), took.end());
	phase("warm", again + " " + std::to_string(took[took.size() / 2]));
	if (std::getenv("COLDSTART_NATIVE_SERVE") == nullptr)
		return;
	char line[64];
	while (std::fgets(line, sizeof(line), stdin) != nullptr) {
		const long long t0 = now_us();
		call();
		std::printf("served %lld\n", now_us() - t0);
		std::fflush(stdout);
	}
}

int top_index(const torch::Tensor &out)
{
	return static_cast<int>(out.flatten().argmax().item<int64_t>());
}

int classify(char **argv)
{
	vtorch::KeyValues kv;
	vtorch::ImageSettings settings;
	std::string error;
	if (!vtorch::parse_config(slurp(argv[4]), kv, error) ||
	    !vtorch::image_settings(kv, settings, error)) {
		std::fprintf(stderr, "%s: %s\n", argv[4], error.c_str());
		return 1;
	}
	const auto labels = vtorch::split_labels(slurp(argv[3]));
	const std::string image = slurp(argv[5]);
	const torch::Device dev = device();
	torch::jit::Module m = torch::jit::load(argv[2], dev);
	m.eval();
	phase("loaded");
	int rc = 0;
	first_and_warm([&]() -> std::string {
		std::vector<float> chw;
		if (vtorch::image_to_chw(image.data(), image.size(), settings,
					 chw, error) != 0) {
			std::fprintf(stderr, "%s: %s\n", argv[5],
				     error.c_str());
			rc = 1;
			return "error";
		}
		auto in = torch::from_blob(chw.data(),
					   {1, settings.channels,
					    settings.height, settings.width})
			      .to(dev);
		const int k = top_index(plugin_like(m, in).cpu());
		return k < static_cast<int>(labels.size()) ? labels[k] : "?";
	});
	return rc;
}

// The request's payload in run mode (coldstart-client's make_payload()),
// made before main() counts as started: a request arrives before its
// sandbox.
std::vector<float> payload;
int64_t c = 0, h = 0, w = 0;

bool make_payload(const char *shape)
{
	if (std::sscanf(shape, "%ldx%ldx%ld", &c, &h, &w) != 3 || c <= 0 ||
	    h <= 0 || w <= 0)
		return false;
	payload.resize(static_cast<size_t>(c * h * w));
	for (size_t i = 0; i < payload.size(); i++)
		payload[i] =
		    static_cast<float>((i * 7919) % 1000) / 1000.0F - 0.5F;
	return true;
}

int run(char **argv)
{
	const torch::Device dev = device();
	torch::jit::Module m = torch::jit::load(argv[2], dev);
	m.eval();
	phase("loaded");
	std::vector<float> x(payload.size());
	first_and_warm([&] {
		// Every call copies its request's input in, as
		// coldstart-client's fill_input() does (and as the classify
		// mode decodes its image in every call).
		std::memcpy(x.data(), payload.data(), x.size() * sizeof(float));
		auto in = torch::from_blob(x.data(), {1, c, h, w}).to(dev);
		return "class-" + std::to_string(top_index(
				      m.forward({in}).toTensor().cpu()));
	});
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	const bool is_run = argc == 4 && std::strcmp(argv[1], "run") == 0;
	if (is_run && !make_payload(argv[3]))
		return 2;
	phase("start");
	plugin_threads();
	try {
		if (argc == 6 && std::strcmp(argv[1], "classify") == 0)
			return classify(argv);
		if (is_run)
			return run(argv);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "coldstart-native: %s\n", e.what());
		return 1;
	}
	std::fprintf(stderr,
		     "usage: %s classify <model.pt> <labels> <cfg> <image>\n"
		     "       %s run <model.pt> <C>x<H>x<W>\n",
		     argv[0], argv[0]);
	return 2;
}
