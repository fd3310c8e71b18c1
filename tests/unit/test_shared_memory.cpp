// SPDX-License-Identifier: Apache-2.0
// vAccel's shared tensor memory (vaccel_shared_memory_*; core/host_arena.h)
// through the public API: which allocations it serves, that they are zeroed
// and reused, where they lie (a sealed memfd another process could map),
// that take_data() still hands out free()-able memory, and many threads at
// once. Each test runs in its own process (ctest), so enabling it here
// changes no other test.
#include "residency.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <vaccel.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace
{

using vaccel_test::kernel_populates;
using vaccel_test::resident_pages;

constexpr size_t kMin = 64 * 1024;

vaccel_shared_memory_place place_of(const void *p, size_t len, int *rc)
{
	vaccel_shared_memory_place pl{};
	pl.struct_size = sizeof(pl);
	*rc = vaccel_shared_memory_find(p, len, &pl);
	return pl;
}

vaccel_torch_tensor *tensor(size_t bytes)
{
	const int64_t dims[1] = {static_cast<int64_t>(bytes / 4)};
	vaccel_torch_tensor *t = nullptr;
	EXPECT_EQ(vaccel_torch_tensor_allocate(&t, 1, dims, VACCEL_TORCH_FLOAT,
					       bytes),
		  VACCEL_OK);
	return t;
}

bool all_zero(const void *p, size_t n)
{
	const auto *b = static_cast<const uint8_t *>(p);
	for (size_t i = 0; i < n; ++i)
		if (b[i] != 0)
			return false;
	return true;
}

// Waits for the child @p pid, which reports what it found wrong as its
// exit status.
void expect_child_exits_zero(pid_t pid)
{
	int status = 0;
	ASSERT_EQ(::waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SharedMemory, OffUntilEnabled)
{
	vaccel_torch_tensor *t = tensor(1 << 20);
	int rc = 0;
	place_of(t->data, t->size, &rc);
	EXPECT_EQ(rc, VACCEL_ENOENT);
	EXPECT_EQ(vaccel_torch_tensor_delete(t), VACCEL_OK);
}

TEST(SharedMemory, LargeTensorsLiveInASealedMemfd)
{
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	vaccel_torch_tensor *small = tensor(kMin - 4);
	vaccel_torch_tensor *big = tensor(3 * kMin + 12);
	int rc = 0;
	place_of(small->data, small->size, &rc);
	EXPECT_EQ(rc, VACCEL_ENOENT) << "below the threshold: the C heap";
	auto pl = place_of(big->data, big->size, &rc);
	ASSERT_EQ(rc, VACCEL_OK);
	EXPECT_GE(pl.block, 1U);
	EXPECT_EQ(pl.offset % 4096, 0U);
	EXPECT_TRUE(all_zero(big->data, big->size));
	// Another process would map the memfd: its bytes are the tensor's.
	std::memset(big->data, 0x3c, big->size);
	void *view =
	    ::mmap(nullptr, pl.block_size, PROT_READ, MAP_SHARED, pl.fd, 0);
	ASSERT_NE(view, MAP_FAILED);
	EXPECT_EQ(static_cast<uint8_t *>(view)[pl.offset + big->size - 1],
		  0x3c);
	::munmap(view, pl.block_size);
	EXPECT_NE(::fcntl(pl.fd, F_GET_SEALS) & F_SEAL_SHRINK, 0)
	    << "a peer must be able to trust the size";
	// Inside one allocation: found; running past its end: not.
	place_of(static_cast<uint8_t *>(big->data) + 100, 200, &rc);
	EXPECT_EQ(rc, VACCEL_OK);
	place_of(big->data, big->size + 4096 * 2, &rc);
	EXPECT_EQ(rc, VACCEL_ENOENT);
	vaccel_shared_memory_place wrong{};
	EXPECT_EQ(vaccel_shared_memory_find(big->data, 1, &wrong),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_shared_memory_find(big->data, 1, nullptr),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_torch_tensor_delete(small), VACCEL_OK);
	EXPECT_EQ(vaccel_torch_tensor_delete(big), VACCEL_OK);
}

// Fresh memory has its pages when the allocation returns (a program fills
// its tensor next; populating the range at once is cheaper than a fault per
// page), wherever the kernel can populate (MADV_POPULATE_WRITE, Linux 5.14).
TEST(SharedMemory, FreshMemoryIsResidentAtOnce)
{
	constexpr size_t kBytes = size_t{2} << 20;
	const long page = ::sysconf(_SC_PAGESIZE);
	void *probe = ::mmap(nullptr, page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(probe, MAP_FAILED);
	constexpr int kPopulateWrite = 23; // MADV_POPULATE_WRITE (Linux 5.14)
	const bool kernel_populates =
	    ::madvise(probe, page, kPopulateWrite) == 0;
	::munmap(probe, page);
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	vaccel_torch_tensor *t = tensor(kBytes);
	std::vector<unsigned char> resident(kBytes / page);
	ASSERT_EQ(::mincore(t->data, kBytes, resident.data()), 0);
	size_t in = 0;
	for (unsigned char r : resident)
		in += r & 1;
	// Older kernels fault the pages in as they are written, as before:
	// nothing to check there (a range reused from an earlier test in the
	// same process is resident anyway, cleared when taken).
	if (kernel_populates) {
		EXPECT_EQ(in, resident.size());
	}
	EXPECT_TRUE(all_zero(t->data, kBytes));
	EXPECT_EQ(vaccel_torch_tensor_delete(t), VACCEL_OK);
}

// prewarm() gives the first block's first bytes their pages before any
// allocation, exactly as many as asked (rounded to pages); the first
// tensor lands there, zeroed.
TEST(SharedMemory, PrewarmGivesTheFirstBytesTheirPages)
{
	EXPECT_EQ(vaccel_shared_memory_prewarm(kMin), VACCEL_ENOTSUP)
	    << "shared memory is off";
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	constexpr size_t kWarm = size_t{1} << 20;
	ASSERT_EQ(vaccel_shared_memory_prewarm(kWarm), VACCEL_OK);
	EXPECT_EQ(vaccel_shared_memory_prewarm(kWarm), VACCEL_OK)
	    << "again: nothing to do";
	vaccel_torch_tensor *t = tensor(kMin);
	int rc = 0;
	const auto pl = place_of(t->data, t->size, &rc);
	ASSERT_EQ(rc, VACCEL_OK);
	ASSERT_EQ(pl.offset, 0U) << "the first tensor starts the first block";
	ASSERT_GE(pl.block_size, 2 * kWarm);
	EXPECT_TRUE(all_zero(t->data, t->size));
	const auto *base = static_cast<const uint8_t *>(t->data);
	if (kernel_populates()) {
		const size_t page = ::sysconf(_SC_PAGESIZE);
		EXPECT_EQ(resident_pages(base, kWarm), kWarm / page);
		EXPECT_EQ(resident_pages(base + kWarm, kWarm), 0U)
		    << "more than asked for was populated";
	}
	EXPECT_EQ(vaccel_torch_tensor_delete(t), VACCEL_OK);
}

// The first block, made before any allocation so that a transport can map
// it on its peer ahead of the first tensor: a sealed memfd of its stated
// size, the same one every time, and where the first tensor then lies.
TEST(SharedMemory, FirstBlockIsMadeAheadAndTakesTheFirstTensor)
{
	constexpr size_t kBig = size_t{40} << 20; // above the least block
	vaccel_shared_memory_place first{};
	first.struct_size = sizeof(first);
	EXPECT_EQ(vaccel_shared_memory_first_block(0, &first), VACCEL_ENOTSUP)
	    << "shared memory is off";
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	EXPECT_EQ(vaccel_shared_memory_first_block(0, nullptr), VACCEL_EINVAL);
	vaccel_shared_memory_place small{};
	small.struct_size = sizeof(small) - 1;
	EXPECT_EQ(vaccel_shared_memory_first_block(0, &small), VACCEL_EINVAL);

	ASSERT_EQ(vaccel_shared_memory_first_block(kBig, &first), VACCEL_OK);
	ASSERT_GE(first.fd, 0);
	EXPECT_EQ(first.block, 1U);
	EXPECT_EQ(first.offset, 0U);
	EXPECT_GE(first.block_size, kBig) << "as large as asked for";
	struct stat st {
	};
	ASSERT_EQ(::fstat(first.fd, &st), 0);
	EXPECT_EQ(static_cast<size_t>(st.st_size), first.block_size);
	EXPECT_NE(::fcntl(first.fd, F_GET_SEALS) & F_SEAL_SHRINK, 0);
	vaccel_shared_memory_place again{};
	again.struct_size = sizeof(again);
	ASSERT_EQ(vaccel_shared_memory_first_block(0, &again), VACCEL_OK);
	EXPECT_EQ(again.fd, first.fd);
	EXPECT_EQ(again.block, first.block);
	EXPECT_EQ(again.block_size, first.block_size);

	// As large as it was asked to be: a tensor of that size fits.
	vaccel_torch_tensor *t = tensor(kBig);
	int rc = 0;
	const auto pl = place_of(t->data, t->size, &rc);
	ASSERT_EQ(rc, VACCEL_OK);
	EXPECT_EQ(pl.block, first.block);
	EXPECT_EQ(pl.fd, first.fd);
	EXPECT_EQ(pl.offset, 0U);
	EXPECT_TRUE(all_zero(t->data, t->size));
	EXPECT_EQ(vaccel_torch_tensor_delete(t), VACCEL_OK);
}

// Allocations while another thread prewarms: each is zeroed, and no two
// overlap.
TEST(SharedMemory, PrewarmWhileOtherThreadsAllocate)
{
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	std::atomic<bool> go{false};
	std::atomic<int> bad{0};
	std::vector<std::thread> threads;
	threads.emplace_back([&] {
		while (!go.load()) {
		}
		if (vaccel_shared_memory_prewarm(size_t{8} << 20) != VACCEL_OK)
			++bad;
	});
	for (int t = 0; t < 3; ++t)
		threads.emplace_back([&, t] {
			while (!go.load()) {
			}
			for (int i = 0; i < 20; ++i) {
				vaccel_torch_tensor *x = tensor(kMin * (1 + t));
				if (x == nullptr ||
				    !all_zero(x->data, x->size)) {
					++bad;
					continue;
				}
				std::memset(x->data, t + 1, x->size);
				const auto *b =
				    static_cast<const uint8_t *>(x->data);
				if (b[0] != t + 1 || b[x->size - 1] != t + 1)
					++bad; // another thread wrote it
				if (vaccel_torch_tensor_delete(x) != VACCEL_OK)
					++bad;
			}
		});
	go = true;
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(bad.load(), 0);
}

// A child after fork() has new memory, which prewarm() in the parent never
// touched: its first tensor gets its pages when allocated.
TEST(SharedMemory, ForkedChildPopulatesItsOwnMemory)
{
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	constexpr size_t kWarm = size_t{1} << 20;
	ASSERT_EQ(vaccel_shared_memory_prewarm(kWarm), VACCEL_OK);
	const bool populates = kernel_populates();
	const pid_t pid = ::fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		vaccel_torch_tensor *t = tensor(kWarm / 2);
		int code = t == nullptr ? 1 : 0;
		if (code == 0 && populates &&
		    resident_pages(t->data, t->size) *
			    ::sysconf(_SC_PAGESIZE) !=
			t->size)
			code |= 2; // taken as warm, never populated
		if (code == 0 && !all_zero(t->data, t->size))
			code |= 4;
		::_exit(code);
	}
	expect_child_exits_zero(pid);
}

TEST(SharedMemory, FreedMemoryIsReusedAndZeroedAgain)
{
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	vaccel_torch_tensor *a = tensor(4 * kMin);
	std::memset(a->data, 0xff, a->size);
	void *was = a->data;
	EXPECT_EQ(vaccel_torch_tensor_delete(a), VACCEL_OK);
	vaccel_torch_tensor *b = tensor(4 * kMin);
	EXPECT_EQ(b->data, was) << "first fit: the range just returned";
	EXPECT_TRUE(all_zero(b->data, b->size));
	// Neighbours freed in any order merge back into one range.
	vaccel_torch_tensor *c = tensor(kMin);
	vaccel_torch_tensor *d = tensor(kMin);
	void *cd = c->data;
	EXPECT_EQ(vaccel_torch_tensor_delete(b), VACCEL_OK);
	EXPECT_EQ(vaccel_torch_tensor_delete(d), VACCEL_OK);
	EXPECT_EQ(vaccel_torch_tensor_delete(c), VACCEL_OK);
	vaccel_torch_tensor *e = tensor(6 * kMin);
	EXPECT_EQ(e->data, was) << "a, c and d merged";
	EXPECT_NE(cd, nullptr);
	EXPECT_EQ(vaccel_torch_tensor_delete(e), VACCEL_OK);
}

TEST(SharedMemory, TakeDataHandsOutHeapMemory)
{
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	vaccel_torch_tensor *t = tensor(2 * kMin);
	std::memset(t->data, 0x5a, t->size);
	void *shared = t->data;
	void *data = nullptr;
	size_t size = 0;
	ASSERT_EQ(vaccel_torch_tensor_take_data(t, &data, &size), VACCEL_OK);
	EXPECT_NE(data, shared);
	ASSERT_EQ(size, 2 * kMin);
	EXPECT_EQ(static_cast<uint8_t *>(data)[size - 1], 0x5a);
	int rc = 0;
	place_of(data, size, &rc);
	EXPECT_EQ(rc, VACCEL_ENOENT);
	std::free(data); // the caller's, from the C heap (ASan checks)
	EXPECT_EQ(vaccel_torch_tensor_delete(t), VACCEL_OK);
	// The shared piece went back: the next allocation reuses it.
	vaccel_torch_tensor *u = tensor(2 * kMin);
	EXPECT_EQ(u->data, shared);
	EXPECT_EQ(vaccel_torch_tensor_delete(u), VACCEL_OK);
}

TEST(SharedMemory, DataSetByTheProgramIsNeverFreedByIt)
{
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	std::vector<uint8_t> mine(2 * kMin, 7);
	vaccel_torch_tensor *t = tensor(0);
	ASSERT_EQ(vaccel_torch_tensor_set_data(t, mine.data(), mine.size()),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_torch_tensor_delete(t), VACCEL_OK);
	EXPECT_EQ(mine[0], 7);
}

// After fork() each process owns its tensors, as with ordinary memory,
// although the memory is shared memory: what the child writes stays in the
// child, and the child's memory can still be shared with a peer of its own.
TEST(SharedMemory, ForkGivesTheChildItsOwnCopy)
{
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	vaccel_torch_tensor *t = tensor(2 * kMin);
	std::memset(t->data, 1, t->size);
	int rc = 0;
	const auto before = place_of(t->data, t->size, &rc);
	ASSERT_EQ(rc, VACCEL_OK);
	const pid_t pid = ::fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		auto *b = static_cast<uint8_t *>(t->data);
		int code = 0;
		if (b[0] != 1 || b[t->size - 1] != 1)
			code = 1; // not the parent's bytes
		std::memset(t->data, 2, t->size);
		int r = 0;
		const auto mine = place_of(t->data, t->size, &r);
		if (r != VACCEL_OK || mine.fd == before.fd)
			code |= 2; // not a memfd of its own
		vaccel_torch_tensor *u = tensor(kMin);
		if (u == nullptr || !all_zero(u->data, u->size))
			code |= 4;
		::_exit(code);
	}
	expect_child_exits_zero(pid);
	const auto *b = static_cast<uint8_t *>(t->data);
	EXPECT_EQ(b[0], 1) << "the child's writes reached the parent";
	EXPECT_EQ(b[t->size - 1], 1);
	EXPECT_EQ(vaccel_torch_tensor_delete(t), VACCEL_OK);
}

// Memory a transport mapped itself (a VM's ivshmem BAR; here a shared
// mapping of a memfd standing for it): the one block, named by offset from
// its base, no memfd made beside it, the heap when it is full, and a
// private copy in a child after fork().
TEST(SharedMemory, AdoptedDeviceMemory)
{
	constexpr size_t kDevice = 4 << 20, kHeader = 4096;
	const int fd = ::memfd_create("device", MFD_CLOEXEC);
	ASSERT_EQ(::ftruncate(fd, kDevice), 0);
	void *base =
	    ::mmap(nullptr, kDevice, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(base, MAP_FAILED);
	// A view of the device that the arena does not know: the host's.
	auto *host = static_cast<uint8_t *>(::mmap(
	    nullptr, kDevice, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	ASSERT_NE(host, MAP_FAILED);
	EXPECT_EQ(vaccel_shared_memory_adopt(nullptr, kDevice, kHeader, kMin),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_shared_memory_adopt(base, kDevice, kDevice, kMin),
		  VACCEL_EINVAL);
	ASSERT_EQ(vaccel_shared_memory_adopt(base, kDevice, kHeader, kMin),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_shared_memory_adopt(base, kDevice, kHeader, kMin),
		  VACCEL_EEXIST);
	EXPECT_EQ(vaccel_shared_memory_prewarm(kMin), VACCEL_ENOTSUP)
	    << "a device has no pages of ours to populate";
	vaccel_shared_memory_place first{};
	first.struct_size = sizeof(first);
	EXPECT_EQ(vaccel_shared_memory_first_block(0, &first), VACCEL_ENOTSUP)
	    << "the device is the memory: no memfd block to map ahead";

	vaccel_torch_tensor *t = tensor(kMin);
	int rc = 0;
	const auto pl = place_of(t->data, t->size, &rc);
	ASSERT_EQ(rc, VACCEL_OK);
	EXPECT_EQ(pl.fd, -1);
	EXPECT_EQ(pl.block_size, kDevice);
	EXPECT_GE(pl.offset, kHeader) << "the header is never handed out";
	EXPECT_EQ(static_cast<uint8_t *>(t->data),
		  static_cast<uint8_t *>(base) + pl.offset);
	std::memset(t->data, 7, t->size);
	EXPECT_EQ(host[pl.offset + 100], 7) << "not the device's memory";

	// Larger than what is left: the C heap, no memfd.
	vaccel_torch_tensor *big = tensor(kDevice);
	place_of(big->data, big->size, &rc);
	EXPECT_EQ(rc, VACCEL_ENOENT);

	const pid_t pid = ::fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		auto *b = static_cast<uint8_t *>(t->data);
		int code = b[0] == 7 ? 0 : 1; // the parent's bytes
		std::memset(t->data, 9, t->size);
		int r = 0;
		place_of(t->data, t->size, &r);
		if (r != VACCEL_ENOENT)
			code |= 2; // still named as shared memory
		::_exit(code);
	}
	expect_child_exits_zero(pid);
	EXPECT_EQ(host[pl.offset], 7) << "the child wrote the device";
	EXPECT_EQ(vaccel_torch_tensor_delete(big), VACCEL_OK);
	EXPECT_EQ(vaccel_torch_tensor_delete(t), VACCEL_OK);
}

TEST(SharedMemory, ManyThreads)
{
	ASSERT_EQ(vaccel_shared_memory_enable(kMin), VACCEL_OK);
	std::vector<std::thread> threads;
	std::atomic<int> bad{0};
	for (int t = 0; t < 8; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < 200; ++i) {
				const size_t n = kMin * (1 + (i + t) % 5);
				vaccel_torch_tensor *x = tensor(n);
				if (x == nullptr || !all_zero(x->data, 64)) {
					++bad;
					continue;
				}
				std::memset(x->data, t + 1, n);
				int rc = 0;
				place_of(x->data, n, &rc);
				if (rc != VACCEL_OK ||
				    static_cast<uint8_t *>(x->data)[n - 1] !=
					t + 1)
					++bad;
				vaccel_torch_tensor_delete(x);
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(bad.load(), 0);
}

} // namespace
