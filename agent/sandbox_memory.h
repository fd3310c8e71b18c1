// SPDX-License-Identifier: Apache-2.0
// The memory of one sandbox (transport/sandbox_memory.h): the file its
// launcher created, which the VM sees as its ivshmem device. Mapped here
// once, with a header holding a fresh random token, and offered only to
// the connections of that sandbox (ServerOptions::sandbox_memory), each of
// which maps it as a region (AgentData/MapSandboxMemory) once its client
// sent the token back. Every reference into it is then range-checked like
// any region's (shm.h).
//
// Why the file must be sealed against shrinking: the guest cannot resize
// it, but whoever holds the file could, and a shrink would turn the
// agent's next access into SIGBUS.
#pragma once

#include "shm.h"

#include "core/status.h"
#include "transport/sandbox_memory.h"
#include "transport/transport.h"

#include <cstdint>
#include <memory>
#include <span>

namespace vaccel::agent
{

class SandboxMemory
{
public:
	// Takes over @p fd, maps it and writes the header with a new token.
	// @p pinner (may be NULL): page-locks the memory for GPUs (shm.h).
	static core::Result<std::shared_ptr<SandboxMemory>>
	create(transport::UniqueFd fd, HostMemoryPinner *pinner);
	// The memory another process of this agent created (a tenant's
	// worker, tenant_workers.h): mapped with the token it was given; the
	// header is left as it is.
	static core::Result<std::shared_ptr<SandboxMemory>>
	adopt(transport::UniqueFd fd, const transport::SandboxToken &token,
	      HostMemoryPinner *pinner);

	SandboxMemory(const SandboxMemory &) = delete;
	SandboxMemory &operator=(const SandboxMemory &) = delete;

	// The mapping, as the region the connections name.
	[[nodiscard]] const std::shared_ptr<ShmRegion> &region() const noexcept
	{
		return region_;
	}
	[[nodiscard]] uint64_t size() const noexcept { return region_->size(); }
	[[nodiscard]] const transport::SandboxToken &token() const noexcept
	{
		return token_;
	}
	// Whether @p token is this memory's (in constant time).
	[[nodiscard]] bool
	matches(std::span<const uint8_t> token) const noexcept;
	// The file, for handing the memory to a worker process.
	[[nodiscard]] int fd() const noexcept { return fd_.get(); }

private:
	SandboxMemory(transport::UniqueFd fd, std::shared_ptr<ShmRegion> r,
		      const transport::SandboxToken &token)
	    : fd_(std::move(fd)), region_(std::move(r)), token_(token)
	{
	}
	// Checks and maps @p fd.
	static core::Result<std::shared_ptr<ShmRegion>>
	map(int fd, HostMemoryPinner *pinner);

	transport::UniqueFd fd_;
	std::shared_ptr<ShmRegion> region_;
	transport::SandboxToken token_;
};

} // namespace vaccel::agent
