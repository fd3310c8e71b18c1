// SPDX-License-Identifier: Apache-2.0
#include "sandbox_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace vaccel::agent
{

namespace tr = vaccel::transport;

core::Result<std::shared_ptr<ShmRegion>>
SandboxMemory::map(int fd, HostMemoryPinner *pinner)
{
	struct stat st {
	};
	if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return core::Status::error(VACCEL_EINVAL,
					   "the sandbox memory is not a file");
	const int seals = ::fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & F_SEAL_SHRINK) == 0)
		return core::Status::error(
		    VACCEL_EINVAL, "the sandbox memory must be a memfd sealed "
				   "with F_SEAL_SHRINK");
	const auto size = static_cast<uint64_t>(st.st_size);
	if (size < tr::kSandboxMinSize || size > RegionLimits{}.max_bytes)
		return core::Status::error(
		    VACCEL_EINVAL,
		    "the sandbox memory has %llu bytes: %llu at least, %llu "
		    "at most",
		    static_cast<unsigned long long>(size),
		    static_cast<unsigned long long>(tr::kSandboxMinSize),
		    static_cast<unsigned long long>(RegionLimits{}.max_bytes));
	void *base =
	    ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return core::Status::error(VACCEL_EIO,
					   "mapping the sandbox memory: %s",
					   std::strerror(errno));
	// What the guest keeps there is its program's data (tensors, op
	// buffers), named in place.
	return std::make_shared<ShmRegion>(base, static_cast<size_t>(size),
					   pinner, true);
}

core::Result<std::shared_ptr<SandboxMemory>>
SandboxMemory::create(tr::UniqueFd fd, HostMemoryPinner *pinner)
{
	auto region = map(fd.get(), pinner);
	if (!region)
		return region.status();
	tr::SandboxHeader h;
	h.size = region.value()->size();
	if (::getrandom(h.token.data(), h.token.size(), 0) !=
	    static_cast<ssize_t>(h.token.size()))
		return core::Status::error(VACCEL_EIO, "getrandom: %s",
					   std::strerror(errno));
	tr::write_sandbox_header(
	    {region.value()->data(), region.value()->size()}, h);
	return std::shared_ptr<SandboxMemory>(new SandboxMemory(
	    std::move(fd), std::move(region).value(), h.token));
}

core::Result<std::shared_ptr<SandboxMemory>>
SandboxMemory::adopt(tr::UniqueFd fd, const tr::SandboxToken &token,
		     HostMemoryPinner *pinner)
{
	auto region = map(fd.get(), pinner);
	if (!region)
		return region.status();
	return std::shared_ptr<SandboxMemory>(
	    new SandboxMemory(std::move(fd), std::move(region).value(), token));
}

bool SandboxMemory::matches(std::span<const uint8_t> token) const noexcept
{
	if (token.size() != token_.size())
		return false;
	uint8_t diff = 0;
	for (size_t i = 0; i < token_.size(); ++i)
		diff |= static_cast<uint8_t>(token[i] ^ token_[i]);
	return diff == 0;
}

} // namespace vaccel::agent
