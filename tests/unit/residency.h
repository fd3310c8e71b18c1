// SPDX-License-Identifier: Apache-2.0
// Whether memory has its pages: for tests of what populates it ahead
// (shared tensor memory, vaccel_shared_memory_prewarm()).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace vaccel_test
{

// Resident pages of [p, p + n).
inline size_t resident_pages(const void *p, size_t n)
{
	const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
	std::vector<unsigned char> v((n + page - 1) / page);
	EXPECT_EQ(::mincore(const_cast<void *>(p), n, v.data()), 0);
	size_t in = 0;
	for (unsigned char r : v)
		in += r & 1;
	return in;
}

// Whether this kernel can populate memory (MADV_POPULATE_WRITE, Linux
// 5.14); older ones give pages only as they are touched.
inline bool kernel_populates()
{
	const long page = ::sysconf(_SC_PAGESIZE);
	void *probe = ::mmap(nullptr, page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	constexpr int kPopulateWrite = 23; // MADV_POPULATE_WRITE
	const bool yes = ::madvise(probe, page, kPopulateWrite) == 0;
	::munmap(probe, page);
	return yes;
}

} // namespace vaccel_test
