// SPDX-License-Identifier: Apache-2.0
#include "memory_cap.h"

#include <vaccel.h>

#if VACCEL_TORCH_CUDA_CAP
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <dlfcn.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace vtorch
{

namespace
{

constexpr const char *kCapEnv = "VACCEL_ACCELERATOR_BYTES";

struct Outcome {
	int rc = VACCEL_OK;
	std::string error;
};

// A plain decimal number of bytes: digits only (strtoull alone would
// take " -1" as 2^64 - 1, i.e. no cap).
bool parse_bytes(std::string_view text, uint64_t *out)
{
	if (text.empty() || text.size() > 20 ||
	    !std::all_of(text.begin(), text.end(),
			 [](char c) { return c >= '0' && c <= '9'; }))
		return false;
	errno = 0;
	const unsigned long long v =
	    std::strtoull(std::string(text).c_str(), nullptr, 10);
	*out = v;
	return errno == 0;
}

// No GPU for this process: set before CUDA starts, so that neither the
// plugin nor a model's own code can reach one uncapped.
Outcome hide_gpus(int rc, std::string why)
{
	::setenv("CUDA_VISIBLE_DEVICES", "", 1);
	return {rc, why + "; the GPUs are hidden from this process"};
}

#if VACCEL_TORCH_CUDA_CAP
// The memory of CUDA device @p index, from the driver libtorch has already
// loaded (its headers are not needed: three stable entry points).
bool device_total(int index, uint64_t *out)
{
	using Init = int (*)(unsigned);
	using Get = int (*)(int *, int);
	using Total = int (*)(size_t *, int);
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (h == nullptr)
		return false;
	auto init = reinterpret_cast<Init>(dlsym(h, "cuInit"));
	auto get = reinterpret_cast<Get>(dlsym(h, "cuDeviceGet"));
	auto total = reinterpret_cast<Total>(dlsym(h, "cuDeviceTotalMem_v2"));
	int dev = 0;
	size_t bytes = 0;
	const bool ok = init != nullptr && get != nullptr && total != nullptr &&
			init(0) == 0 && get(&dev, index) == 0 &&
			total(&bytes, dev) == 0;
	dlclose(h);
	*out = bytes;
	return ok && bytes > 0;
}

Outcome enforce(uint64_t cap)
{
	if (!torch::cuda::is_available())
		return {}; // nothing to cap
	// A first CUDA tensor brings up the context and the caching
	// allocator, whose per-device fractions are set next.
	(void)torch::zeros({1}, torch::kCUDA);
	const auto current = c10::cuda::current_device();
	const auto count = static_cast<int>(torch::cuda::device_count());
	for (int d = 0; d < count; ++d) {
		uint64_t total = 0;
		if (!device_total(d, &total))
			return {VACCEL_EBACKEND,
				"cannot read the memory size of CUDA device " +
				    std::to_string(d) + " to apply " + kCapEnv};
		const double fraction = std::min(
		    1.0, static_cast<double>(cap) / static_cast<double>(total));
		c10::cuda::CUDACachingAllocator::setMemoryFraction(
		    fraction, static_cast<c10::DeviceIndex>(d));
		vaccel_info("[torch] CUDA device %d: tensors capped at %llu "
			    "bytes (%.4f of %llu; %s)",
			    d, static_cast<unsigned long long>(cap), fraction,
			    static_cast<unsigned long long>(total), kCapEnv);
	}
	c10::cuda::set_device(current); // setting a fraction moves it
	return {};
}
#endif

Outcome apply()
{
	const char *v = std::getenv(kCapEnv);
	if (v == nullptr || *v == '\0')
		return {};
	uint64_t cap = 0;
	if (!parse_bytes(v, &cap))
		return hide_gpus(VACCEL_EINVAL,
				 std::string(kCapEnv) + "='" + v +
				     "' is not a number of bytes");
	if (cap == 0)
		return {};
	if (const char *nc = std::getenv("PYTORCH_NO_CUDA_MEMORY_CACHING");
	    nc != nullptr && *nc != '\0')
		return hide_gpus(
		    VACCEL_EINVAL,
		    std::string(kCapEnv) +
			" is set, but PYTORCH_NO_CUDA_MEMORY_CACHING "
			"bypasses the allocator that enforces it");
#if VACCEL_TORCH_CUDA_CAP
	try {
		return enforce(cap);
	} catch (const std::exception &e) {
		return {VACCEL_EBACKEND, std::string("cannot apply ") +
					     kCapEnv + ": " + e.what()};
	}
#else
	return hide_gpus(VACCEL_ENOTSUP,
			 std::string(kCapEnv) +
			     " is set, but this torch plugin was built without "
			     "libtorch's CUDA allocator (c10_cuda) and cannot "
			     "enforce it");
#endif
}

} // namespace

int apply_memory_cap(std::string &error)
{
	static const Outcome once = apply();
	error = once.error;
	return once.rc;
}

} // namespace vtorch
