// SPDX-License-Identifier: Apache-2.0
// Buffers a program allocates for op arguments (vaccel_buffer_alloc()).
//
// Why: an argument in the program's own memory has to be copied to reach an
// agent in another process. A program that knows which of its buffers feed
// ops can take them from vAccel instead: from the shared host memory
// (host_arena.h) when a transport enabled it, so that the transport names
// them by block and offset and the agent reads and writes them in place;
// from the C heap otherwise, where nothing changes.
//
// Each buffer is remembered until it is freed, so that freeing a pointer
// that is not one (a tensor's data, memory from malloc, a buffer freed
// already) is refused instead of corrupting either allocator.
#pragma once

#include "core/host_arena.h"
#include "core/status.h"

#include <cstddef>
#include <mutex>
#include <unordered_set>

namespace vaccel::core
{

class SharedBuffers
{
public:
	explicit SharedBuffers(HostArena &arena) noexcept : arena_(arena) {}
	SharedBuffers(const SharedBuffers &) = delete;
	SharedBuffers &operator=(const SharedBuffers &) = delete;

	// @p size (>= 1) zeroed bytes, aligned to HostArena::kAlign.
	Result<void *> allocate(size_t size);
	// Frees a pointer allocate() returned; EINVAL for any other.
	Status release(void *p);

private:
	HostArena &arena_;
	std::mutex mu_;
	std::unordered_set<void *> live_;
};

} // namespace vaccel::core
