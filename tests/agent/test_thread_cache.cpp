// SPDX-License-Identifier: Apache-2.0
// The agent's thread cache: a job runs and join() waits for it; a thread
// that returned runs the next job with its per-thread state intact (what
// makes a new sandbox's first call warm) but with the last error message
// cleared; concurrent jobs get threads of their own; kept threads are
// bounded in number and time; worker pools hand their threads on.
#include "../../agent/thread_cache.h"
#include "../../agent/worker_pool.h"

#include <sys/syscall.h>
#include <unistd.h>
#include <vaccel.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace
{

using namespace std::chrono_literals;
using vaccel::agent::PooledThread;
using vaccel::agent::ThreadCache;
using vaccel::agent::WorkerPool;

long tid()
{
	return ::syscall(SYS_gettid);
}

// Polls @p cond for up to 5 s; true once it holds.
bool eventually(const std::function<bool()> &cond)
{
	const auto end = std::chrono::steady_clock::now() + 5s;
	while (!cond()) {
		if (std::chrono::steady_clock::now() > end)
			return false;
		std::this_thread::sleep_for(1ms);
	}
	return true;
}

// Runs @p job on @p cache and waits for it.
void run_and_join(ThreadCache &cache, std::function<void()> job)
{
	PooledThread t = cache.run(std::move(job));
	t.join();
}

TEST(ThreadCache, JoinWaitsForTheJob)
{
	ThreadCache cache({});
	std::atomic<bool> ran{false};
	PooledThread t = cache.run([&] {
		std::this_thread::sleep_for(20ms);
		ran = true;
	});
	EXPECT_TRUE(t.joinable());
	t.join();
	EXPECT_TRUE(ran);
	EXPECT_FALSE(t.joinable());
}

TEST(ThreadCache, AReturnedThreadRunsTheNextJobWithItsStateKept)
{
	ThreadCache cache({});
	thread_local int warmed = 0; // a backend's per-thread set-up
	long first = 0, second = 0;
	int seen = -1;
	run_and_join(cache, [&] {
		first = tid();
		warmed = 42;
	});
	ASSERT_TRUE(eventually([&] { return cache.parked() == 1; }));
	run_and_join(cache, [&] {
		second = tid();
		seen = warmed;
	});
	EXPECT_EQ(first, second);
	EXPECT_EQ(seen, 42);
	EXPECT_EQ(cache.started(), 1U);
}

// A GPU backend's per-thread handles live on the threads that ran ops: of
// two waiting threads, the next job gets the one that ran ops, even when
// the other (one that only waited, or served downloads) returned later.
TEST(ThreadCache, AThreadThatRanOpsIsTakenFirst)
{
	ThreadCache cache({});
	long ran_ops = 0, idle = 0, next = 0;
	std::atomic<bool> release{false};
	// Two at once, on two threads: one runs ops and returns first; the
	// other only waits and returns last (a plain LIFO would give it the
	// next job).
	PooledThread waits = cache.run([&] {
		idle = tid();
		while (!release)
			std::this_thread::sleep_for(1ms);
	});
	PooledThread works = cache.run([&] {
		ran_ops = tid();
		for (int i = 0; i < 3; ++i)
			ThreadCache::note_op();
	});
	works.join();
	ASSERT_TRUE(eventually([&] { return cache.parked() == 1; }));
	release = true;
	waits.join();
	ASSERT_TRUE(eventually([&] { return cache.parked() == 2; }));
	EXPECT_EQ(cache.started(), 2U);
	run_and_join(cache, [&] { next = tid(); });
	EXPECT_NE(ran_ops, idle);
	EXPECT_EQ(next, ran_ops);
}

TEST(ThreadCache, TheLastErrorDoesNotReachTheNextJob)
{
	ThreadCache cache({});
	std::string before, after;
	run_and_join(cache, [&] {
		// Fails without bootstrap or plugins: NULL arguments.
		EXPECT_NE(vaccel_session_init(nullptr, 0), VACCEL_OK);
		before = vaccel_last_error();
	});
	ASSERT_TRUE(eventually([&] { return cache.parked() == 1; }));
	run_and_join(cache, [&] { after = vaccel_last_error(); });
	EXPECT_FALSE(before.empty());
	EXPECT_EQ(after, "");
	EXPECT_EQ(cache.started(), 1U);
}

TEST(ThreadCache, ConcurrentJobsHaveThreadsOfTheirOwn)
{
	ThreadCache cache({});
	// Each job waits for the other: on one thread they could not both
	// finish.
	std::promise<void> a, b;
	auto fa = a.get_future().share();
	auto fb = b.get_future().share();
	std::atomic<int> met{0};
	PooledThread ta = cache.run([&] {
		a.set_value();
		if (fb.wait_for(5s) == std::future_status::ready)
			++met;
	});
	PooledThread tb = cache.run([&] {
		b.set_value();
		if (fa.wait_for(5s) == std::future_status::ready)
			++met;
	});
	ta.join();
	tb.join();
	EXPECT_EQ(met, 2);
	EXPECT_EQ(cache.started(), 2U);
}

TEST(ThreadCache, IdleThreadsEnd)
{
	ThreadCache cache({.max_parked = 8, .idle = 20ms});
	run_and_join(cache, [] {});
	EXPECT_TRUE(eventually([&] { return cache.parked() == 0; }));
	run_and_join(cache, [] {});
	EXPECT_EQ(cache.started(), 2U);
}

TEST(ThreadCache, KeepsAtMostMaxParked)
{
	ThreadCache cache({.max_parked = 1, .idle = 10s});
	std::promise<void> go;
	auto f = go.get_future().share();
	std::vector<PooledThread> threads;
	for (int i = 0; i < 3; ++i)
		threads.push_back(cache.run([f] { f.wait(); }));
	go.set_value();
	for (auto &t : threads)
		t.join();
	ASSERT_TRUE(eventually([&] { return cache.parked() == 1; }));
	std::this_thread::sleep_for(20ms);
	EXPECT_EQ(cache.parked(), 1U);
	// The kept one serves the next job.
	run_and_join(cache, [] {});
	EXPECT_EQ(cache.started(), 3U);
}

TEST(ThreadCache, ManyOwnersAtOnce)
{
	ThreadCache cache({.max_parked = 4, .idle = 1s});
	std::atomic<int> runs{0};
	std::vector<std::thread> owners;
	for (int o = 0; o < 6; ++o)
		owners.emplace_back([&] {
			for (int i = 0; i < 40; ++i)
				run_and_join(cache, [&] { ++runs; });
		});
	for (auto &o : owners)
		o.join();
	EXPECT_EQ(runs, 240);
	// Threads were handed on: far fewer started than jobs run.
	EXPECT_LT(cache.started(), 240U);
}

TEST(ThreadCache, DestroyingEndsTheKeptThreads)
{
	auto cache = std::make_unique<ThreadCache>(
	    ThreadCache::Options{.max_parked = 4, .idle = 10min});
	run_and_join(*cache, [] {});
	ASSERT_TRUE(eventually([&] { return cache->parked() == 1; }));
	cache.reset(); // returns: the kept thread ended
	SUCCEED();
}

TEST(ThreadCache, SparesAreStartedAheadOfNeed)
{
	ThreadCache cache({.max_parked = 8, .idle = 10s, .spare = 2});
	run_and_join(cache, [] {});
	// The job's thread started a spare before its job; it waits too
	// once done.
	ASSERT_TRUE(eventually([&] { return cache.parked() == 2; }));
	EXPECT_EQ(cache.started(), 2U);
	// Each job that takes a waiting thread has a replacement started,
	// so that two are waiting again.
	std::promise<void> go;
	auto f = go.get_future().share();
	PooledThread t = cache.run([f] { f.wait(); });
	ASSERT_TRUE(eventually([&] { return cache.parked() == 2; }));
	EXPECT_EQ(cache.started(), 3U);
	PooledThread u = cache.run([f] { f.wait(); });
	ASSERT_TRUE(eventually([&] { return cache.parked() == 2; }));
	EXPECT_EQ(cache.started(), 4U);
	go.set_value();
	t.join();
	u.join();
	EXPECT_TRUE(eventually([&] { return cache.parked() == 4; }));
}

TEST(ThreadCache, WorkerPoolsHandTheirThreadsOn)
{
	long first = 0, second = 0;
	{
		WorkerPool pool(1, {}, 50us, 0);
		std::promise<long> p;
		pool.submit([&] { p.set_value(tid()); });
		first = p.get_future().get();
	}
	ASSERT_TRUE(
	    eventually([] { return ThreadCache::ops().parked() >= 1; }));
	WorkerPool pool(1, {}, 50us, 0);
	std::promise<long> p;
	pool.submit([&] { p.set_value(tid()); });
	second = p.get_future().get();
	EXPECT_EQ(first, second);
}

} // namespace
