// SPDX-License-Identifier: Apache-2.0
// The agent's worker pool: every job runs once, in a bounded number of
// threads; one-after-another jobs stay on one thread (GPU backends pay for
// a change of thread); concurrent jobs still spread; stop() drains.
#include "../../agent/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace
{

using namespace std::chrono_literals;
using vaccel::agent::WorkerPool;

// Runs @p n jobs one after another, each submitted once the previous has
// finished and its worker has had time to go idle, and returns the
// threads they ran on.
std::set<std::thread::id> sequential_threads(WorkerPool &pool, int n)
{
	std::set<std::thread::id> ids;
	for (int i = 0; i < n; ++i) {
		std::promise<std::thread::id> done;
		auto f = done.get_future();
		EXPECT_TRUE(pool.submit(
		    [&done] { done.set_value(std::this_thread::get_id()); }));
		ids.insert(f.get());
		std::this_thread::sleep_for(5ms);
	}
	return ids;
}

// (The first job may meet a worker still spinning from its start.)
TEST(WorkerPool, SequentialJobsStayOnOneThread)
{
	WorkerPool pool(8);
	sequential_threads(pool, 1);
	EXPECT_EQ(sequential_threads(pool, 50).size(), 1U);
}

TEST(WorkerPool, SequentialJobsStayOnOneThreadWhenSpinning)
{
	WorkerPool pool(8, 50us);
	sequential_threads(pool, 1);
	EXPECT_EQ(sequential_threads(pool, 50).size(), 1U);
}

// Jobs that wait for each other must get threads of their own: a slow op
// stalls no other.
TEST(WorkerPool, ConcurrentJobsSpreadOverThreads)
{
	constexpr int kJobs = 4;
	WorkerPool pool(kJobs);
	std::mutex mu;
	std::set<std::thread::id> ids;
	std::atomic<int> arrived{0};
	std::vector<std::future<void>> done;
	for (int i = 0; i < kJobs; ++i) {
		auto p = std::make_shared<std::promise<void>>();
		done.push_back(p->get_future());
		ASSERT_TRUE(pool.submit([&, p] {
			{
				std::lock_guard lock(mu);
				ids.insert(std::this_thread::get_id());
			}
			arrived.fetch_add(1);
			// Bounded: all kJobs must be running at once.
			const auto until =
			    std::chrono::steady_clock::now() + 10s;
			while (arrived.load() < kJobs &&
			       std::chrono::steady_clock::now() < until)
				std::this_thread::sleep_for(100us);
			p->set_value();
		}));
	}
	for (auto &f : done)
		f.get();
	EXPECT_EQ(arrived.load(), kJobs);
	EXPECT_EQ(ids.size(), static_cast<size_t>(kJobs));
}

TEST(WorkerPool, EveryJobRunsOnceAndStopDrains)
{
	std::atomic<int> ran{0};
	{
		WorkerPool pool(3, 20us);
		std::vector<std::thread> submitters;
		for (int t = 0; t < 4; ++t)
			submitters.emplace_back([&] {
				for (int i = 0; i < 2000; ++i)
					EXPECT_TRUE(pool.submit(
					    [&] { ran.fetch_add(1); }));
			});
		for (auto &t : submitters)
			t.join();
		pool.stop();
		EXPECT_EQ(ran.load(), 8000);
		EXPECT_FALSE(pool.submit([] {}));
	}
	EXPECT_EQ(ran.load(), 8000);
}

} // namespace
