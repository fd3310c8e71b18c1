// SPDX-License-Identifier: Apache-2.0
// A VM's sandbox memory as its guest sees it (transport/sandbox_memory.h):
// QEMU's ivshmem-plain device, PCI vendor 0x1af4 device 0x1110, whose BAR 2
// is the memory file the host's agent maps too. Found through sysfs and
// mapped through the device's resource2 file: no kernel module, only a
// kernel that lets root map a PCI BAR (Debian's does; docs/guests.md).
//
// One process of the guest at a time uses it: the memory is handed to
// vAccel's shared-memory allocator (vaccel_shared_memory_adopt()), one per
// process, so the process that takes the device's lock (flock on resource2)
// gets it and the others copy as before. The mapping and the lock stay
// until the process exits: tensors may live in the memory that long.
#pragma once

#include "base/status.h"

#include "transport/sandbox_memory.h"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace vaccel::rpc_plugin
{

using base::Result;
using base::Status;

class SandboxDevice
{
public:
	static constexpr const char *kVendor = "0x1af4";
	static constexpr const char *kDevice = "0x1110";

	// This process's device, found in @p devices (a directory like
	// /sys/bus/pci/devices) and mapped the first time; later calls
	// return the same one. VACCEL_ENODEV when there is none, another
	// code with the reason when one is there but unusable (locked by
	// another process, no header from the agent, cannot be mapped).
	static Result<std::shared_ptr<const SandboxDevice>>
	open(const std::string &devices);

	SandboxDevice(const SandboxDevice &) = delete;
	SandboxDevice &operator=(const SandboxDevice &) = delete;

	[[nodiscard]] uint8_t *base() const noexcept { return base_; }
	[[nodiscard]] size_t size() const noexcept { return size_; }
	[[nodiscard]] const transport::SandboxToken &token() const noexcept
	{
		return token_;
	}
	[[nodiscard]] const std::string &path() const noexcept { return path_; }
	// False in a child after fork(): its copy of the memory is private.
	[[nodiscard]] bool usable() const noexcept;

private:
	SandboxDevice() = default;
	static Result<std::shared_ptr<const SandboxDevice>>
	map(const std::string &resource);

	std::string path_;
	uint8_t *base_ = nullptr;
	size_t size_ = 0;
	transport::SandboxToken token_{};
	pid_t pid_ = 0;
};

} // namespace vaccel::rpc_plugin
