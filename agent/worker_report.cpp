// SPDX-License-Identifier: Apache-2.0
#include "worker_report.h"

#include <vaccel.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

namespace vaccel::agent
{

namespace
{

constexpr size_t kSize = sizeof(WorkerReport);
constexpr auto relaxed = std::memory_order_relaxed;

core::Status failed(const char *what)
{
	return core::Status::error(VACCEL_EIO, "worker report: %s: %s", what,
				   std::strerror(errno));
}

} // namespace

core::Result<WorkerReportMap> WorkerReportMap::create()
{
	WorkerReportMap m;
	m.fd_ = transport::UniqueFd(::memfd_create(
	    "vaccel-worker-report", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!m.fd_.valid())
		return failed("memfd_create");
	if (::ftruncate(m.fd_.get(), kSize) != 0)
		return failed("ftruncate");
	// The worker may write its numbers, never change the size under
	// the agent's mapping.
	if (::fcntl(m.fd_.get(), F_ADD_SEALS,
		    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		return failed("seal");
	void *p = ::mmap(nullptr, kSize, PROT_READ, MAP_SHARED, m.fd_.get(), 0);
	if (p == MAP_FAILED)
		return failed("mmap");
	// Zeroed by the kernel: the counters' initial state.
	m.report_ = static_cast<WorkerReport *>(p);
	return m;
}

core::Result<WorkerReportMap> WorkerReportMap::attach(int fd)
{
	transport::UniqueFd owned(fd);
	struct stat st {
	};
	if (::fstat(fd, &st) != 0)
		return failed("fstat");
	if (static_cast<size_t>(st.st_size) != kSize)
		return core::Status::error(
		    VACCEL_EINVAL, "worker report: %lld bytes, expected %zu",
		    static_cast<long long>(st.st_size), kSize);
	void *p =
	    ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return failed("mmap");
	WorkerReportMap m;
	// The memory is zero, which is what a new report holds.
	m.report_ = new (p) WorkerReport();
	return m;
}

WorkerReportMap::WorkerReportMap(WorkerReportMap &&o) noexcept
    : report_(std::exchange(o.report_, nullptr)), fd_(std::move(o.fd_))
{
}

WorkerReportMap &WorkerReportMap::operator=(WorkerReportMap &&o) noexcept
{
	if (this != &o) {
		if (report_ != nullptr)
			::munmap(report_, kSize);
		report_ = std::exchange(o.report_, nullptr);
		fd_ = std::move(o.fd_);
	}
	return *this;
}

WorkerReportMap::~WorkerReportMap()
{
	if (report_ != nullptr)
		::munmap(report_, kSize);
}

void publish_gauges(WorkerReport &r, const Tenant &tenant, uint64_t queued,
		    uint64_t buffered, uint64_t regions) noexcept
{
	for (size_t i = 0; i < r.used.size(); ++i) {
		const auto l = static_cast<Limit>(i);
		r.used[i].store(l == Limit::Connections ? 0 : tenant.used(l),
				relaxed);
	}
	r.queued.store(queued, relaxed);
	r.buffered.store(buffered, relaxed);
	r.regions.store(regions, relaxed);
}

} // namespace vaccel::agent
