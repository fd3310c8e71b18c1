// SPDX-License-Identifier: Apache-2.0
// Page-locks the agent's shared-memory regions for the GPU when a backend
// in this process uses CUDA.
//
// Why: a tensor that arrives through the shared-memory plane is copied to
// the GPU straight from the mapped region. From ordinary (pageable) memory
// the CUDA driver first copies it into a pinned staging buffer, then DMAs
// it; from page-locked memory it DMAs at once. The client already paid one
// copy to put the bytes in the region, so pinning the region takes the
// staging copy off the agent's side and the remote call stops costing two
// copies where a native call costs one.
//
// How, without linking CUDA: the CUDA runtime is found among the libraries
// a plugin already loaded (dlopen with RTLD_NOLOAD), and only used once a
// CUDA context is active in this process (the driver's primary context
// state), so an agent whose backends run on the CPU never creates one.
// A region is registered once, starting with the first op that reads it
// (in the background: shm.h), and unregistered before it is unmapped.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>

namespace vaccel::agent
{

class HostMemoryPinner
{
public:
	HostMemoryPinner() = default;
	HostMemoryPinner(const HostMemoryPinner &) = delete;
	HostMemoryPinner &operator=(const HostMemoryPinner &) = delete;

	enum class Result {
		Pinned,
		// No CUDA runtime loaded or no context active yet: a later
		// call may succeed (a model with no weights on the GPU
		// creates its context only in its first run).
		NotNow,
		// CUDA refused this memory: do not ask again for it.
		Refused,
	};
	// Page-locks [base, base + size) for every CUDA context. Unless
	// Pinned, the memory stays ordinary and works as before. While CUDA
	// is not in use, asks at most every @c kRecheck (the check costs a
	// few driver calls), answering NotNow in between.
	Result pin(void *base, size_t size) noexcept;
	static constexpr std::chrono::milliseconds kRecheck{100};
	// Undoes a successful pin().
	void unpin(void *base) noexcept;
	// Whether pin() would try now: a CUDA context is active (checked at
	// most every kRecheck while there is none).
	bool cuda_in_use() noexcept;

	// Regions pinned so far and now (for stats and tests).
	[[nodiscard]] size_t pinned_now() noexcept;

private:
	bool cuda_in_use_locked() noexcept;

	using RegisterFn = int (*)(void *, size_t, unsigned int);
	using UnregisterFn = int (*)(void *);
	using LastErrorFn = int (*)();
	using CountFn = int (*)(int *);
	using CtxStateFn = int (*)(int, unsigned int *, int *);

	// Resolves the CUDA entry points if their libraries are loaded.
	bool resolve() noexcept;
	bool context_active() noexcept;

	std::mutex mu_;
	RegisterFn register_ = nullptr;
	UnregisterFn unregister_ = nullptr;
	LastErrorFn last_error_ = nullptr;
	CountFn device_count_ = nullptr;
	CtxStateFn ctx_state_ = nullptr;
	size_t pinned_ = 0;
	bool announced_ = false;
	bool cuda_seen_ = false; // a context was active once: no more checks
	std::chrono::steady_clock::time_point next_check_{};
};

} // namespace vaccel::agent
