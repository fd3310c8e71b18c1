// SPDX-License-Identifier: Apache-2.0
// Buffers for op arguments (vaccel_buffer_alloc(), vaccel/buffer.h; C++
// vaccel::Buffer): ordinary zeroed memory until a transport enables vAccel's
// shared memory, any size in that memory afterwards (where a transport can
// name it by reference), only buffers accepted back, their own copy in a
// child after fork(), and many threads at once. Each test runs in its own
// process (ctest), so enabling shared memory here changes no other test.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <vaccel.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace
{

bool in_shared_memory(const void *p, size_t n)
{
	vaccel_shared_memory_place pl{};
	pl.struct_size = sizeof(pl);
	return vaccel_shared_memory_find(p, n, &pl) == VACCEL_OK;
}

bool all_zero(const void *p, size_t n)
{
	const auto *b = static_cast<const uint8_t *>(p);
	for (size_t i = 0; i < n; ++i)
		if (b[i] != 0)
			return false;
	return true;
}

TEST(Buffers, OrdinaryMemoryUntilSharedMemoryIsOn)
{
	void *p = nullptr;
	ASSERT_EQ(vaccel_buffer_alloc(size_t{1} << 20, &p), VACCEL_OK);
	ASSERT_NE(p, nullptr);
	EXPECT_FALSE(in_shared_memory(p, 1));
	EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 4096, 0U);
	EXPECT_TRUE(all_zero(p, size_t{1} << 20));
	std::memset(p, 0x5a, size_t{1} << 20); // ASan: all of it is ours
	EXPECT_EQ(vaccel_buffer_free(p), VACCEL_OK);
}

TEST(Buffers, AnySizeLivesInSharedMemoryOnceOn)
{
	ASSERT_EQ(vaccel_shared_memory_enable(size_t{1} << 20), VACCEL_OK);
	void *small = nullptr;
	ASSERT_EQ(vaccel_buffer_alloc(100, &small), VACCEL_OK);
	EXPECT_TRUE(in_shared_memory(small, 100))
	    << "below the tensors' threshold, still shared";
	EXPECT_FALSE(in_shared_memory(small, 4096 + 1))
	    << "past its end: not inside one allocation";
	EXPECT_TRUE(all_zero(small, 100));
	std::memset(small, 0xff, 100);
	EXPECT_EQ(vaccel_buffer_free(small), VACCEL_OK);
	void *again = nullptr;
	ASSERT_EQ(vaccel_buffer_alloc(100, &again), VACCEL_OK);
	EXPECT_EQ(again, small) << "the freed piece is reused";
	EXPECT_TRUE(all_zero(again, 100)) << "and zeroed again";
	EXPECT_EQ(vaccel_buffer_free(again), VACCEL_OK);
}

TEST(Buffers, OnlyLiveBuffersAreFreed)
{
	void *p = reinterpret_cast<void *>(0x1);
	EXPECT_EQ(vaccel_buffer_alloc(0, &p), VACCEL_EINVAL);
	EXPECT_EQ(p, reinterpret_cast<void *>(0x1))
	    << "written on success only";
	EXPECT_EQ(vaccel_buffer_alloc(16, nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_buffer_free(nullptr), VACCEL_OK);

	ASSERT_EQ(vaccel_buffer_alloc(64, &p), VACCEL_OK);
	EXPECT_EQ(vaccel_buffer_free(static_cast<char *>(p) + 1),
		  VACCEL_EINVAL);
	EXPECT_NE(std::string(vaccel_last_error()).find("vaccel_buffer_alloc"),
		  std::string::npos)
	    << vaccel_last_error();
	EXPECT_EQ(vaccel_buffer_free(p), VACCEL_OK);
	EXPECT_EQ(vaccel_buffer_free(p), VACCEL_EINVAL) << "freed already";

	void *heap = std::malloc(64);
	EXPECT_EQ(vaccel_buffer_free(heap), VACCEL_EINVAL);
	std::free(heap); // still the program's (ASan checks)

	// A tensor's shared data is not a buffer either.
	ASSERT_EQ(vaccel_shared_memory_enable(4096), VACCEL_OK);
	const int64_t dims[1] = {4096};
	vaccel_torch_tensor *t = nullptr;
	ASSERT_EQ(vaccel_torch_tensor_allocate(&t, 1, dims, VACCEL_TORCH_FLOAT,
					       4 * 4096),
		  VACCEL_OK);
	ASSERT_TRUE(in_shared_memory(t->data, t->size));
	EXPECT_EQ(vaccel_buffer_free(t->data), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_torch_tensor_delete(t), VACCEL_OK);
}

// After fork() the child's buffers are its own, as with malloc(); what was
// freed before the fork is not carried over, and is zeroed when reused.
TEST(Buffers, ForkGivesTheChildItsOwnCopy)
{
	ASSERT_EQ(vaccel_shared_memory_enable(size_t{1} << 20), VACCEL_OK);
	constexpr size_t n = 3 * 4096;
	void *gone = nullptr;
	ASSERT_EQ(vaccel_buffer_alloc(n, &gone), VACCEL_OK);
	std::memset(gone, 7, n);
	void *p = nullptr;
	ASSERT_EQ(vaccel_buffer_alloc(n, &p), VACCEL_OK);
	ASSERT_TRUE(in_shared_memory(p, n));
	std::memset(p, 1, n);
	ASSERT_EQ(vaccel_buffer_free(gone), VACCEL_OK);
	const pid_t pid = ::fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		const auto *b = static_cast<uint8_t *>(p);
		int code = b[0] == 1 && b[n - 1] == 1 ? 0 : 1;
		std::memset(p, 2, n);
		if (vaccel_buffer_free(p) != VACCEL_OK)
			code |= 2;
		void *again = nullptr;
		if (vaccel_buffer_alloc(n, &again) != VACCEL_OK ||
		    !in_shared_memory(again, n) || !all_zero(again, n))
			code |= 4;
		::_exit(code);
	}
	int status = 0;
	ASSERT_EQ(::waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	EXPECT_EQ(static_cast<uint8_t *>(p)[0], 1)
	    << "the child's writes reached the parent";
	EXPECT_EQ(vaccel_buffer_free(p), VACCEL_OK);
}

TEST(Buffers, CxxBufferOwnsItsMemory)
{
	ASSERT_EQ(vaccel_shared_memory_enable(size_t{1} << 20), VACCEL_OK);
	vaccel::Buffer a(3 * 4096 + 8);
	EXPECT_EQ(a.size(), 3 * 4096 + 8U);
	ASSERT_EQ(a.as<float>().size(), (3 * 4096 + 8) / sizeof(float));
	a.as<float>()[5] = 2.5F;
	EXPECT_TRUE(in_shared_memory(a.data(), a.size()));
	void *where = a.data();
	vaccel::Buffer b(std::move(a));
	EXPECT_EQ(a.data(), nullptr); // NOLINT: moved-from is empty
	EXPECT_EQ(a.size(), 0U);
	EXPECT_EQ(b.data(), where);
	EXPECT_EQ(b.as<float>()[5], 2.5F);
	vaccel::Buffer c(16);
	c = std::move(b); // c's old buffer is freed
	EXPECT_EQ(c.data(), where);
	try {
		vaccel::Buffer none(0);
		ADD_FAILURE() << "a buffer of 0 bytes";
	} catch (const vaccel::Error &e) {
		EXPECT_EQ(e.code(), VACCEL_EINVAL);
	}
}

TEST(Buffers, ManyThreads)
{
	ASSERT_EQ(vaccel_shared_memory_enable(size_t{1} << 20), VACCEL_OK);
	std::atomic<int> bad{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 8; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < 200; ++i) {
				const size_t n =
				    1 + size_t(i * 7919 + t) % 70000;
				void *p = nullptr;
				if (vaccel_buffer_alloc(n, &p) != VACCEL_OK ||
				    !all_zero(p, n)) {
					++bad;
					continue;
				}
				std::memset(p, t + 1, n);
				const auto *b = static_cast<uint8_t *>(p);
				if (!in_shared_memory(p, n) || b[0] != t + 1 ||
				    b[n - 1] != t + 1)
					++bad;
				if (vaccel_buffer_free(p) != VACCEL_OK)
					++bad;
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(bad.load(), 0);
}

} // namespace
