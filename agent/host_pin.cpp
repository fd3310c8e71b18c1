// SPDX-License-Identifier: Apache-2.0
#include "host_pin.h"

#include <vaccel.h>

#include <dlfcn.h>

namespace vaccel::agent
{

namespace
{

// The first of @p names already loaded in this process, or NULL. The
// handle only keeps the library loaded as long as the plugin does anyway.
void *loaded(std::initializer_list<const char *> names) noexcept
{
	for (const char *n : names)
		if (void *h = ::dlopen(n, RTLD_LAZY | RTLD_NOLOAD))
			return h;
	return nullptr;
}

constexpr unsigned int kRegisterPortable = 1; // cudaHostRegisterPortable

} // namespace

bool HostMemoryPinner::resolve() noexcept
{
	if (register_ != nullptr)
		return true;
	void *rt = loaded({"libcudart.so.13", "libcudart.so.12",
			   "libcudart.so.11.0", "libcudart.so"});
	void *drv = loaded({"libcuda.so.1", "libcuda.so"});
	if (rt == nullptr || drv == nullptr)
		return false;
	auto *reg =
	    reinterpret_cast<RegisterFn>(::dlsym(rt, "cudaHostRegister"));
	auto *unreg =
	    reinterpret_cast<UnregisterFn>(::dlsym(rt, "cudaHostUnregister"));
	auto *err =
	    reinterpret_cast<LastErrorFn>(::dlsym(rt, "cudaGetLastError"));
	auto *count =
	    reinterpret_cast<CountFn>(::dlsym(drv, "cuDeviceGetCount"));
	auto *state = reinterpret_cast<CtxStateFn>(
	    ::dlsym(drv, "cuDevicePrimaryCtxGetState"));
	if (reg == nullptr || unreg == nullptr || err == nullptr ||
	    count == nullptr || state == nullptr)
		return false;
	register_ = reg;
	unregister_ = unreg;
	last_error_ = err;
	device_count_ = count;
	ctx_state_ = state;
	return true;
}

bool HostMemoryPinner::context_active() noexcept
{
	int n = 0;
	// Fails (CUDA_ERROR_NOT_INITIALIZED) until someone called cuInit:
	// then nobody uses CUDA here.
	if (device_count_(&n) != 0)
		return false;
	for (int dev = 0; dev < n; ++dev) {
		unsigned int flags = 0;
		int active = 0;
		if (ctx_state_(dev, &flags, &active) == 0 && active != 0)
			return true;
	}
	return false;
}

bool HostMemoryPinner::cuda_in_use_locked() noexcept
{
	if (cuda_seen_)
		return true;
	const auto now = std::chrono::steady_clock::now();
	if (now < next_check_)
		return false;
	if (!resolve() || !context_active()) {
		next_check_ = now + kRecheck;
		return false;
	}
	cuda_seen_ = true;
	return true;
}

bool HostMemoryPinner::cuda_in_use() noexcept
{
	std::lock_guard lock(mu_);
	return cuda_in_use_locked();
}

HostMemoryPinner::Result HostMemoryPinner::pin(void *base, size_t size) noexcept
{
	std::lock_guard lock(mu_);
	if (!cuda_in_use_locked())
		return Result::NotNow;
	if (register_(base, size, kRegisterPortable) != 0) {
		// A failed runtime call is also left as the thread's last
		// error, where the backend's next error check would find it
		// and fail an op that did nothing wrong.
		last_error_();
		vaccel_debug("agent: cannot page-lock a %zu-byte shared-memory "
			     "region for CUDA; it stays pageable",
			     size);
		return Result::Refused;
	}
	if (!announced_) {
		announced_ = true;
		vaccel_info("agent: CUDA is in use: shared-memory regions are "
			    "page-locked for copies to the GPU (--no-pin-shm "
			    "turns this off)");
	}
	++pinned_;
	return Result::Pinned;
}

void HostMemoryPinner::unpin(void *base) noexcept
{
	std::lock_guard lock(mu_);
	if (unregister_ == nullptr)
		return;
	if (unregister_(base) != 0)
		last_error_();
	--pinned_;
}

size_t HostMemoryPinner::pinned_now() noexcept
{
	std::lock_guard lock(mu_);
	return pinned_;
}

} // namespace vaccel::agent
