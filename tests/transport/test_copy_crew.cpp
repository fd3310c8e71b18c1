// SPDX-License-Identifier: Apache-2.0
// transport::CopyCrew: every byte where it belongs whoever copies it, the
// helpers really share large copies, and callers on several threads at once
// each get their own bytes (ThreadSanitizer runs this too).
#include "transport/copy_crew.h"

#include "../thread_names.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace
{

using vaccel::transport::CopyCrew;

std::vector<uint8_t> noise(size_t n, uint32_t seed)
{
	std::vector<uint8_t> v(n);
	std::mt19937 gen(seed);
	for (auto &b : v)
		b = static_cast<uint8_t>(gen());
	return v;
}

// Copies @p n bytes from an odd offset to another through @p crew and
// checks them, and that the bytes around the destination are untouched.
void check_copy(CopyCrew &crew, size_t n, uint32_t seed)
{
	const std::vector<uint8_t> src = noise(n + 3, seed);
	std::vector<uint8_t> dst(n + 16, 0xA5);
	crew.copy(dst.data() + 5, src.data() + 3, n);
	ASSERT_EQ(std::memcmp(dst.data() + 5, src.data() + 3, n), 0)
	    << n << " bytes";
	for (size_t i = 0; i < 5; ++i)
		ASSERT_EQ(dst[i], 0xA5) << "byte " << i << " before";
	for (size_t i = n + 5; i < dst.size(); ++i)
		ASSERT_EQ(dst[i], 0xA5) << "byte " << i << " after";
}

TEST(CopyCrew, EverySizeArrivesExactly)
{
	CopyCrew crew(3, CopyCrew::kChunk * 2);
	ASSERT_EQ(crew.helpers(), 3u);
	const size_t sizes[] = {0,
				1,
				crew.min_shared() - 1,
				crew.min_shared(),
				crew.min_shared() + 1,
				CopyCrew::kChunk * 7 + 13,
				(size_t{3} << 20) + 17};
	uint32_t seed = 1;
	for (size_t n : sizes)
		check_copy(crew, n, seed++);
}

TEST(CopyCrew, WithoutHelpersTheCallerCopiesAlone)
{
	CopyCrew crew(0);
	check_copy(crew, size_t{2} << 20, 7);
	EXPECT_EQ(crew.helped_chunks(), 0u);
}

TEST(CopyCrew, HelpersTakeChunksOfALargeCopy)
{
	CopyCrew crew(2);
	const size_t n = size_t{32} << 20;
	const std::vector<uint8_t> src = noise(n, 3);
	std::vector<uint8_t> dst(n);
	// A helper that wakes late takes nothing; over a few tries one is
	// up in time (the heads-up, then a copy of many chunks).
	for (int i = 0; i < 50 && crew.helped_chunks() == 0; ++i) {
		std::memset(dst.data(), 0, n);
		crew.heads_up();
		crew.copy(dst.data(), src.data(), n);
		ASSERT_EQ(std::memcmp(dst.data(), src.data(), n), 0);
	}
	EXPECT_GT(crew.helped_chunks(), 0u);
}

// Back-to-back copies keep the helpers awake, racing the caller for every
// chunk: each is claimed exactly once (a lost claim race would copy one
// twice, which the bytes alone would not show).
TEST(CopyCrew, EveryChunkIsClaimedOnce)
{
	CopyCrew crew(3, CopyCrew::kChunk * 2);
	const size_t n = CopyCrew::kChunk * 40 + 7;
	const auto src = noise(n, 21);
	std::vector<uint8_t> dst(n);
	constexpr int kCopies = 200;
	for (int i = 0; i < kCopies; ++i) {
		crew.heads_up();
		crew.copy(dst.data(), src.data(), n);
	}
	EXPECT_EQ(std::memcmp(dst.data(), src.data(), n), 0);
	EXPECT_EQ(crew.claimed_chunks(), uint64_t{kCopies} * 41);
}

TEST(CopyCrew, ConcurrentCallersEachGetTheirOwnBytes)
{
	CopyCrew crew(2, CopyCrew::kChunk * 2);
	constexpr int kThreads = 4;
	constexpr int kRounds = 20;
	std::vector<std::thread> threads;
	std::vector<int> bad(kThreads, 0);
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			const size_t n = crew.min_shared() * 3 +
					 static_cast<size_t>(t) * 4099;
			const auto src =
			    noise(n, static_cast<uint32_t>(100 + t));
			std::vector<uint8_t> dst(n);
			for (int r = 0; r < kRounds; ++r) {
				std::memset(dst.data(), 0, n);
				crew.copy(dst.data(), src.data(), n);
				bad[static_cast<size_t>(t)] +=
				    std::memcmp(dst.data(), src.data(), n) != 0;
			}
		});
	for (auto &th : threads)
		th.join();
	for (int t = 0; t < kThreads; ++t)
		EXPECT_EQ(bad[static_cast<size_t>(t)], 0) << "thread " << t;
}

TEST(CopyCrew, StopsWhileHelpersAreAwake)
{
	// Destroyed right after a copy, while the helpers linger for the
	// next: the destructor must not hang.
	for (int i = 0; i < 5; ++i) {
		CopyCrew crew(3, CopyCrew::kChunk * 2);
		check_copy(crew, size_t{1} << 20, static_cast<uint32_t>(i));
		crew.heads_up();
	}
}

TEST(CopyCrew, AForkedChildLetsItsParentsHelpersGo)
{
#ifdef __SANITIZE_THREAD__
	GTEST_SKIP() << "fork of a process that has run threads: not "
			"supported under ThreadSanitizer";
#endif
	CopyCrew crew(2, CopyCrew::kChunk * 2);
	check_copy(crew, size_t{1} << 20, 8);
	const pid_t child = ::fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		// The helpers are not in this process: joining them would
		// never return, and copies are the child's own. Threads the
		// child started first reuse the parent's thread records:
		// letting the helpers go must leave them alone.
		std::atomic<bool> go{false};
		std::vector<std::thread> own;
		for (int i = 0; i < 4; ++i)
			own.emplace_back([&go] {
				while (!go.load())
					std::this_thread::sleep_for(
					    std::chrono::milliseconds(1));
			});
		crew.abandon();
		go = true;
		for (auto &t : own)
			t.join(); // std::terminate if one was detached
		const bool alone = crew.helpers() == 0;
		const uint64_t before = crew.helped_chunks();
		const size_t n = size_t{2} << 20;
		const auto src = noise(n, 9);
		std::vector<uint8_t> dst(n);
		crew.copy(dst.data(), src.data(), n);
		const bool same = std::memcmp(dst.data(), src.data(), n) == 0;
		::_exit(alone && same && crew.helped_chunks() == before ? 0
									: 1);
	}
	int status = 0;
	ASSERT_EQ(::waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	// The parent's crew still shares.
	check_copy(crew, size_t{3} << 20, 10);
}

TEST(CopyCrew, HelpersAreNamed)
{
	CopyCrew crew(2);
	EXPECT_EQ(wait_threads_named("vaccel-copy", 2), 2);
}

} // namespace
