// SPDX-License-Identifier: Apache-2.0
// Shared-memory regions, the request slots a region may hold, and
// page-locking regions for GPUs (host_pin.h) where no CUDA context is
// active, as on every CI machine: nothing is pinned, the region stays
// usable, and CUDA is asked again later, not on every call. (Pinning
// itself is exercised on the GPU machine: scripts/device-test.sh
// overhead.)
#include "host_pin.h"
#include "sandbox_memory.h"
#include "shm.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <span>
#include <thread>

namespace
{

using vaccel::agent::HostMemoryPinner;
using vaccel::agent::RegionTable;
using vaccel::agent::SandboxMemory;
using vaccel::agent::ShmRegion;
namespace tr = vaccel::transport;

// A sealed memfd of @p size bytes, as the rpc plugin makes.
tr::UniqueFd sealed_memfd(size_t size)
{
	const int fd =
	    ::memfd_create("test-region", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0 ||
	    ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
		ADD_FAILURE() << "memfd: " << std::strerror(errno);
		return tr::UniqueFd();
	}
	return tr::UniqueFd(fd);
}

TEST(HostPin, NothingPinnedWithoutAnActiveCudaContext)
{
	HostMemoryPinner pinner;
	std::vector<uint8_t> mem(1 << 20, 1);
	EXPECT_EQ(pinner.pin(mem.data(), mem.size()),
		  HostMemoryPinner::Result::NotNow);
	// Within the recheck interval the answer comes without asking CUDA.
	EXPECT_EQ(pinner.pin(mem.data(), mem.size()),
		  HostMemoryPinner::Result::NotNow);
	EXPECT_EQ(pinner.pinned_now(), 0U);
	pinner.unpin(mem.data()); // harmless: nothing was resolved
	EXPECT_EQ(mem[12345], 1);
}

TEST(HostPin, RegionTriesOnceAndStaysUsable)
{
	HostMemoryPinner pinner;
	RegionTable table(nullptr, {}, &pinner);
	ASSERT_TRUE(table.map(7, sealed_memfd(1 << 16), 1 << 16).is_ok());
	std::shared_ptr<ShmRegion> region;
	ASSERT_TRUE(table.find(7, &region).is_ok());
	EXPECT_FALSE(region->prepare_for_devices(ShmRegion::kPinMinBytes));
	// CUDA may come into use later (a model's first run): asked again
	// after the recheck interval, still without pinning here.
	std::this_thread::sleep_for(HostMemoryPinner::kRecheck +
				    std::chrono::milliseconds(10));
	EXPECT_FALSE(region->prepare_for_devices(ShmRegion::kPinMinBytes));
	std::memset(region->data(), 0x5a, region->size());
	EXPECT_EQ(region->data()[(1 << 16) - 1], 0x5a);
	EXPECT_EQ(pinner.pinned_now(), 0U);
	EXPECT_TRUE(table.unmap(7).is_ok());
	EXPECT_EQ(region->data()[0], 0x5a); // still mapped while held
}

TEST(HostPin, AgentWithoutPinnerNeverPins)
{
	RegionTable table;
	ASSERT_TRUE(table.map(1, sealed_memfd(4096), 4096).is_ok());
	std::shared_ptr<ShmRegion> region;
	ASSERT_TRUE(table.find(1, &region).is_ok());
	EXPECT_FALSE(region->prepare_for_devices(ShmRegion::kPinMinBytes));
}

} // namespace

namespace
{

// Request slots (transport/reply_slot.h): what a region may be cut into,
// and the reader's view following maps and unmaps.
TEST(RequestSlots, SlotSizesAreCheckedAndTheViewFollowsTheRegion)
{
	vaccel::agent::RegionTable table;
	constexpr size_t kMiB = size_t{1} << 20;
	ASSERT_TRUE(table.map(3, sealed_memfd(8 * kMiB), 8 * kMiB).is_ok());
	const uint64_t max_slot = 4 * kMiB;
	for (uint64_t bad :
	     {uint64_t{0}, uint64_t{64}, uint64_t{100}, uint64_t{3} << 16,
	      uint64_t{4096} /* 2048 slots */, uint64_t{8} * kMiB /* > max */,
	      uint64_t{16} * kMiB})
		EXPECT_EQ(table.set_slots(3, bad, max_slot).code(),
			  vaccel::transport::RpcCode::InvalidArgument)
		    << bad;
	EXPECT_EQ(table.set_slots(9, kMiB, max_slot).code(),
		  vaccel::transport::RpcCode::NotFound);
	EXPECT_FALSE(table.slots().region);

	const uint64_t v0 = table.slots_version();
	ASSERT_TRUE(table.set_slots(3, kMiB, max_slot).is_ok());
	auto s = table.slots();
	ASSERT_TRUE(s.region);
	EXPECT_EQ(s.slot_size, kMiB);
	EXPECT_EQ(s.count, 8U);
	EXPECT_NE(table.slots_version(), v0);

	// Unmapping it stops the watching; the view held keeps it mapped.
	const uint64_t v1 = table.slots_version();
	ASSERT_TRUE(table.unmap(3).is_ok());
	EXPECT_NE(table.slots_version(), v1);
	EXPECT_FALSE(table.slots().region);
	s.region->data()[0] = 1; // still mapped for its holder
}

// A sandbox's memory: the header with a fresh token per memory, the token
// compared whole, and the mapping named as a region of each connection that
// proved it, with the same name again accepted and any other refused.
TEST(SandboxMemory, TokenHeaderAndRegions)
{
	std::atomic<uint64_t> mapped{0};
	auto a = SandboxMemory::create(sealed_memfd(1 << 20), nullptr);
	auto b = SandboxMemory::create(sealed_memfd(1 << 20), nullptr);
	ASSERT_TRUE(a) << a.status().message();
	ASSERT_TRUE(b) << b.status().message();
	const auto &m = *a.value();
	EXPECT_EQ(m.size(), 1U << 20);
	EXPECT_NE(m.token(), b.value()->token());
	auto h = tr::read_sandbox_header({m.region()->data(), m.size()});
	ASSERT_TRUE(h);
	EXPECT_EQ(h->token, m.token());
	EXPECT_TRUE(m.matches(m.token()));
	auto wrong = m.token();
	wrong[15] ^= 0x80;
	EXPECT_FALSE(m.matches(wrong));
	EXPECT_FALSE(m.matches(std::span(m.token()).first(8)));

	{
		RegionTable conn(&mapped);
		EXPECT_TRUE(conn.attach(9, m.region()).is_ok());
		EXPECT_TRUE(conn.attach(9, m.region()).is_ok()); // again
		EXPECT_FALSE(conn.attach(9, b.value()->region()).is_ok());
		EXPECT_FALSE(conn.attach(0, m.region()).is_ok());
		EXPECT_EQ(conn.size(), 1U);
		EXPECT_EQ(mapped.load(), 1U);
		std::shared_ptr<ShmRegion> r;
		ASSERT_TRUE(conn.find(9, &r).is_ok());
		EXPECT_EQ(r->data(), m.region()->data());
		// Unmapping a connection's name leaves the memory mapped.
		EXPECT_TRUE(conn.unmap(9).is_ok());
		EXPECT_EQ(m.region()->data()[0], 'V');
	}
	EXPECT_EQ(mapped.load(), 0U);

	// Not sealed against shrinking, or too small: refused.
	const int fd = ::memfd_create("t", MFD_CLOEXEC);
	ASSERT_EQ(::ftruncate(fd, 1 << 20), 0);
	EXPECT_FALSE(SandboxMemory::create(tr::UniqueFd(fd), nullptr));
	EXPECT_FALSE(SandboxMemory::create(sealed_memfd(4096), nullptr));
	// A worker maps the memory with the token it was given.
	const int dup = ::fcntl(m.fd(), F_DUPFD_CLOEXEC, 0);
	auto w = SandboxMemory::adopt(tr::UniqueFd(dup), m.token(), nullptr);
	ASSERT_TRUE(w);
	EXPECT_TRUE(w.value()->matches(m.token()));
	EXPECT_EQ(
	    std::memcmp(w.value()->region()->data(), m.region()->data(), 64),
	    0);
}

} // namespace
