// SPDX-License-Identifier: Apache-2.0
#include "accelerator_memory.h"

#include <vaccel.h>

#include <dlfcn.h>

#include <mutex>

namespace vaccel::agent
{

namespace
{

// NVML's C ABI, declared here so that the agent builds without the CUDA
// toolkit (nvml.h): nvmlReturn_t is an int, 0 on success; a device is an
// opaque handle; nvmlMemory_t (version 1) is three byte counts.
struct NvmlMemory {
	unsigned long long total;
	unsigned long long free;
	unsigned long long used;
};
using InitFn = int (*)();
using CountFn = int (*)(unsigned int *);
using HandleFn = int (*)(unsigned int, void **);
using MemoryFn = int (*)(void *, NvmlMemory *);

struct Nvml {
	CountFn count = nullptr;
	HandleFn handle = nullptr;
	MemoryFn memory = nullptr;
};

// The library, opened and initialised once; null members when it cannot
// be (the handle stays open for the process's life, as a backend's would).
const Nvml &nvml()
{
	static Nvml api;
	static std::once_flag once;
	std::call_once(once, [] {
		void *h = ::dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_LOCAL);
		if (h == nullptr)
			return;
		auto init = reinterpret_cast<InitFn>(::dlsym(h, "nvmlInit_v2"));
		Nvml got{
		    reinterpret_cast<CountFn>(
			::dlsym(h, "nvmlDeviceGetCount_v2")),
		    reinterpret_cast<HandleFn>(
			::dlsym(h, "nvmlDeviceGetHandleByIndex_v2")),
		    reinterpret_cast<MemoryFn>(
			::dlsym(h, "nvmlDeviceGetMemoryInfo")),
		};
		if (init == nullptr || got.count == nullptr ||
		    got.handle == nullptr || got.memory == nullptr ||
		    init() != 0) {
			vaccel_debug("agent: NVML is not usable: no "
				     "accelerator memory on the metrics page");
			return;
		}
		api = got;
	});
	return api;
}

} // namespace

std::vector<AcceleratorMemory> accelerator_memory()
{
	const Nvml &api = nvml();
	std::vector<AcceleratorMemory> out;
	unsigned int n = 0;
	if (api.count == nullptr || api.count(&n) != 0)
		return out;
	for (unsigned int i = 0; i < n; ++i) {
		void *dev = nullptr;
		NvmlMemory m{};
		if (api.handle(i, &dev) != 0 || api.memory(dev, &m) != 0)
			continue;
		out.push_back({"cuda:" + std::to_string(i), m.used, m.total});
	}
	return out;
}

} // namespace vaccel::agent
