// SPDX-License-Identifier: Apache-2.0
#include "sandbox_device.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <span>

namespace vaccel::rpc_plugin
{

namespace
{

// The first word of a sysfs attribute file ("0x1af4\n" -> "0x1af4").
std::string attribute(const std::string &dir, const char *name)
{
	std::ifstream in(dir + "/" + name);
	std::string word;
	in >> word;
	return word;
}

// The ivshmem device's directory under @p devices; empty when none.
std::string find_device(const std::string &devices)
{
	DIR *d = ::opendir(devices.c_str());
	if (d == nullptr)
		return {};
	std::string found;
	while (const dirent *e = ::readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		const std::string dir = devices + "/" + e->d_name;
		if (attribute(dir, "vendor") == SandboxDevice::kVendor &&
		    attribute(dir, "device") == SandboxDevice::kDevice) {
			found = dir;
			break;
		}
	}
	::closedir(d);
	return found;
}

} // namespace

bool SandboxDevice::usable() const noexcept
{
	return ::getpid() == pid_;
}

Result<std::shared_ptr<const SandboxDevice>>
SandboxDevice::map(const std::string &resource)
{
	// Kept open for the process's life: it holds the lock.
	const int fd = ::open(resource.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return Status::error(VACCEL_EIO, "%s: %s", resource.c_str(),
				     std::strerror(errno));
	const auto fail = [fd](Status st) {
		::close(fd);
		return st;
	};
	if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
		return fail(Status::error(
		    VACCEL_EBUSY, "%s: %s", resource.c_str(),
		    errno == EWOULDBLOCK ? "in use by another process"
					 : std::strerror(errno)));
	struct stat st {
	};
	if (::fstat(fd, &st) != 0 || st.st_size <= 0)
		return fail(
		    Status::error(VACCEL_EIO, "%s: no size", resource.c_str()));
	const auto size = static_cast<size_t>(st.st_size);
	void *base =
	    ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return fail(Status::error(VACCEL_EIO, "mapping %s: %s",
					  resource.c_str(),
					  std::strerror(errno)));
	auto header = transport::read_sandbox_header(
	    std::span(static_cast<const uint8_t *>(base), size));
	if (!header) {
		::munmap(base, size);
		return fail(Status::error(
		    VACCEL_EINVAL,
		    "%s: no sandbox memory header (the agent was not given "
		    "this memory)",
		    resource.c_str()));
	}
	std::shared_ptr<SandboxDevice> dev(new SandboxDevice());
	dev->path_ = resource;
	dev->base_ = static_cast<uint8_t *>(base);
	dev->size_ = size;
	dev->token_ = header->token;
	dev->pid_ = ::getpid();
	return std::shared_ptr<const SandboxDevice>(std::move(dev));
}

Result<std::shared_ptr<const SandboxDevice>>
SandboxDevice::open(const std::string &devices)
{
	// Once per process: a second lock on the file from here would
	// conflict with the first, and the memory is adopted once.
	static std::mutex mu;
	static std::shared_ptr<const SandboxDevice> opened;
	std::lock_guard lock(mu);
	if (opened)
		return opened;
	const std::string dir = find_device(devices);
	if (dir.empty())
		return Status::error(VACCEL_ENODEV,
				     "no ivshmem device (%s:%s) in %s", kVendor,
				     kDevice, devices.c_str());
	auto dev = map(dir + "/resource2");
	if (dev)
		opened = dev.value();
	return dev;
}

} // namespace vaccel::rpc_plugin
