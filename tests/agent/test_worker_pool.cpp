// SPDX-License-Identifier: Apache-2.0
// The agent's worker pool: every job runs once, in a bounded number of
// threads; one-after-another jobs stay on one thread (GPU backends pay for
// a change of thread); concurrent jobs still spread; stop() drains; idle
// polling follows the gaps between jobs.
#include "../../agent/worker_pool.h"

#include "transport/spin.h"

#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace
{

using namespace std::chrono_literals;
using vaccel::agent::SpinPolicy;
using vaccel::agent::WorkerPool;
namespace tp = vaccel::transport;

// Waits (at most 10 s) until every started worker waits for a job again.
void wait_all_idle(const WorkerPool &pool)
{
	const auto until = std::chrono::steady_clock::now() + 10s;
	while (pool.idle() < pool.size() &&
	       std::chrono::steady_clock::now() < until)
		std::this_thread::sleep_for(100us);
	ASSERT_EQ(pool.idle(), pool.size());
}

// Runs @p n jobs one after another, each submitted once the previous one's
// worker is idle again (waiting on a fixed sleep made this depend on the
// machine's load), and returns the threads they ran on.
std::set<std::thread::id> sequential_threads(WorkerPool &pool, int n)
{
	std::set<std::thread::id> ids;
	for (int i = 0; i < n; ++i) {
		wait_all_idle(pool);
		std::promise<std::thread::id> done;
		auto f = done.get_future();
		EXPECT_TRUE(pool.submit(
		    [&done] { done.set_value(std::this_thread::get_id()); }));
		ids.insert(f.get());
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

// A lazy pool (attached sandboxes) starts with no thread, starts one per job
// that finds every thread busy, up to its size, and runs every job.
TEST(WorkerPool, LazyPoolStartsThreadsAsJobsNeedThem)
{
	WorkerPool pool(3, 0us, 50us, 0);
	EXPECT_EQ(pool.size(), 0U);
	std::promise<void> release;
	std::shared_future<void> gate = release.get_future().share();
	std::atomic<int> started{0}, ran{0};
	auto blocked = [&] {
		++started;
		gate.wait();
		++ran;
	};
	ASSERT_TRUE(pool.submit(blocked));
	const auto until = std::chrono::steady_clock::now() + 10s;
	while (started.load() < 1 && std::chrono::steady_clock::now() < until)
		std::this_thread::sleep_for(1ms);
	EXPECT_EQ(pool.size(), 1U);
	for (int i = 0; i < 4; ++i)
		ASSERT_TRUE(pool.submit(blocked));
	while (started.load() < 3 && std::chrono::steady_clock::now() < until)
		std::this_thread::sleep_for(1ms);
	EXPECT_EQ(started.load(), 3); // every thread busy, two jobs queued
	EXPECT_EQ(pool.size(), 3U);
	EXPECT_EQ(pool.queued(), 2U);
	release.set_value();
	pool.stop();
	EXPECT_EQ(ran.load(), 5);
	EXPECT_EQ(pool.size(), 3U);
}

// Many submitters, short jobs: a lazy pool loses none and never passes its
// size (also under ThreadSanitizer).
TEST(WorkerPool, LazyPoolRunsEveryJobFromManySubmitters)
{
	constexpr int kThreads = 4, kJobs = 500;
	WorkerPool pool(3, 20us, 10us, 0);
	std::atomic<int> ran{0};
	std::vector<std::thread> submitters;
	for (int t = 0; t < kThreads; ++t)
		submitters.emplace_back([&, t] {
			for (int i = 0; i < kJobs; ++i)
				EXPECT_TRUE(pool.submit(
				    [&] { ++ran; }, static_cast<uint64_t>(t)));
		});
	for (auto &th : submitters)
		th.join();
	pool.stop();
	EXPECT_EQ(ran.load(), kThreads * kJobs);
	EXPECT_LE(pool.size(), 3U);
	EXPECT_GE(pool.size(), 1U);
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

// --- adaptive polling
// ---------------------------------------------------------

constexpr int64_t kUs = 1000; // ns

// Keys take turns: a burst queued under one key waits behind the next job of
// every other key, and each key's jobs keep their order.
TEST(WorkerPool, KeysTakeTurns)
{
	WorkerPool pool(1);
	std::promise<void> release;
	std::shared_future<void> go = release.get_future().share();
	std::mutex mu;
	std::vector<std::string> order;
	auto record = [&](std::string what) {
		return [&, what] {
			std::lock_guard lock(mu);
			order.push_back(what);
		};
	};
	std::promise<void> started;
	ASSERT_TRUE(pool.submit( // holds the worker until all are queued
	    [go, &started] {
		    started.set_value();
		    go.wait();
	    },
	    1));
	started.get_future().wait();
	for (int i = 0; i < 5; ++i)
		ASSERT_TRUE(pool.submit(record("a" + std::to_string(i)), 1));
	ASSERT_TRUE(pool.submit(record("b0"), 2));
	ASSERT_TRUE(pool.submit(record("b1"), 2));
	ASSERT_TRUE(pool.submit(record("c0"), 3));
	release.set_value();
	pool.stop();
	// Key 1's burst came first, but only its oldest job runs before the
	// other keys' next ones.
	const std::vector<std::string> want = {"a0", "b0", "c0", "a1",
					       "b1", "a2", "a3", "a4"};
	EXPECT_EQ(order, want);
}

TEST(SpinPolicy, PollsTwiceTheUsualGapWithinTheBounds)
{
	const SpinPolicy p(2000us, 50us);
	EXPECT_EQ(p.budget(0), 50us);            // nothing known: the floor
	EXPECT_EQ(p.budget(10 * kUs), 50us);     // 2 x 10 us < floor
	EXPECT_EQ(p.budget(150 * kUs), 300us);   // 2 x gap
	EXPECT_EQ(p.budget(1500 * kUs), 2000us); // capped at the maximum
	// Gaps longer than the most it may poll: polling would not catch
	// them, so only the floor.
	EXPECT_EQ(p.budget(2500 * kUs), 50us);
}

// Waits longer than half the most it may poll: sleep through the first
// part, then poll for the maximum around the usual arrival; far longer
// ones: the floor.
TEST(SpinPolicy, LongerWaitsSleepFirstThenPollAroundTheUsualArrival)
{
	const SpinPolicy p(2000us, 50us);
	// Up to half the maximum: no sleep, as budget() says.
	EXPECT_EQ(p.plan(150 * kUs).sleep, 0us);
	EXPECT_EQ(p.plan(150 * kUs).poll, 300us);
	EXPECT_EQ(p.plan(1000 * kUs).sleep, 0us);
	EXPECT_EQ(p.plan(1000 * kUs).poll, 2000us);
	// 1.2 ms: polled from 0.2 to 2.2 ms.
	EXPECT_EQ(p.plan(1200 * kUs).sleep, 200us);
	EXPECT_EQ(p.plan(1200 * kUs).poll, 2000us);
	// 2.4 ms, longer than the maximum: polled from 1.4 to 3.4 ms.
	EXPECT_EQ(p.plan(2400 * kUs).sleep, 1400us);
	EXPECT_EQ(p.plan(2400 * kUs).poll, 2000us);
	EXPECT_EQ(p.plan(6000 * kUs).sleep, 5000us);
	// Beyond three times the maximum: an idle peer, the floor only.
	EXPECT_EQ(p.plan(6001 * kUs).sleep, 0us);
	EXPECT_EQ(p.plan(6001 * kUs).poll, 50us);
	// A deadline cuts the sleep first, then the polling.
	const auto cut = p.plan(2400 * kUs).within(2000us);
	EXPECT_EQ(cut.sleep, 1400us);
	EXPECT_EQ(cut.poll, 600us);
	EXPECT_EQ(p.plan(2400 * kUs).within(1000us).sleep, 1000us);
	EXPECT_EQ(p.plan(2400 * kUs).within(1000us).poll, 0us);
	EXPECT_EQ(p.plan(2400 * kUs).within(-5us).sleep, 0us);
	EXPECT_EQ(p.plan(2400 * kUs).within(-5us).poll, 0us);
	// Never polling stays never polling.
	const SpinPolicy off(0us, 50us);
	EXPECT_EQ(off.plan(2400 * kUs).sleep, 0us);
	EXPECT_EQ(off.plan(2400 * kUs).poll, 0us);
}

// The polling loop (the reader's watching of request slots rides on it):
// it stops when the extra condition holds, when a descriptor has an event,
// or when the budget runs out, whichever comes first.
TEST(SpinPoll, StopsOnTheConditionAnEventOrTheBudget)
{
	int fds[2];
	ASSERT_EQ(::pipe(fds), 0);
	pollfd p{fds[0], POLLIN, 0};
	int asked = 0;
	EXPECT_EQ(tp::spin_poll_or(std::span(&p, 1), std::chrono::seconds(10),
				   [&] { return ++asked == 3; }),
		  0);
	EXPECT_EQ(asked, 3);
	const auto start = std::chrono::steady_clock::now();
	EXPECT_EQ(tp::spin_poll(std::span(&p, 1), std::chrono::milliseconds(2)),
		  0);
	EXPECT_GE(std::chrono::steady_clock::now() - start,
		  std::chrono::milliseconds(2));
	ASSERT_EQ(::write(fds[1], "x", 1), 1);
	asked = 0;
	EXPECT_EQ(tp::spin_poll_or(std::span(&p, 1), std::chrono::seconds(10),
				   [&] { return ++asked > 1000000; }),
		  1);
	EXPECT_EQ(p.revents & POLLIN, POLLIN);
	EXPECT_EQ(asked, 1); // the event was there at the first poll
	::close(fds[0]);
	::close(fds[1]);
}

TEST(SpinPolicy, ZeroMaximumNeverPolls)
{
	const SpinPolicy p(0us, 50us);
	EXPECT_EQ(p.budget(0), 0us);
	EXPECT_EQ(p.budget(100 * kUs), 0us);
	// A floor above the maximum is lowered to it.
	const SpinPolicy q(20us, 50us);
	EXPECT_EQ(q.budget(0), 20us);
}

TEST(SpinPolicy, AverageFollowsGapsAndOnePauseDoesNotStopPolling)
{
	const SpinPolicy p(2000us, 50us);
	int64_t avg = 0;
	for (int i = 0; i < 100; ++i)
		avg = p.update(avg, 150 * kUs);
	EXPECT_NEAR(double(avg), 150.0 * kUs, 2.0 * kUs);
	// One long pause (a minute) counts as 8 ms: still polling after it.
	avg = p.update(avg, 60'000'000 * kUs);
	EXPECT_LT(avg, 2000 * kUs);
	EXPECT_GT(p.budget(avg), 300us);
	// A few more and the client is taken as idle: back to the floor.
	for (int i = 0; i < 20; ++i)
		avg = p.update(avg, 60'000'000 * kUs);
	EXPECT_EQ(p.budget(avg), 50us);
	// Busy again: polling comes back.
	for (int i = 0; i < 60; ++i)
		avg = p.update(avg, 150 * kUs);
	EXPECT_GE(p.budget(avg), 300us);
	EXPECT_LT(p.budget(avg), 310us);
}

// Submits @p n jobs, each one @p gap after the previous finished.
void jobs_with_gaps(WorkerPool &pool, int n, std::chrono::microseconds gap)
{
	for (int i = 0; i < n; ++i) {
		std::promise<void> done;
		auto f = done.get_future();
		ASSERT_TRUE(pool.submit([&done] { done.set_value(); }));
		f.get();
		std::this_thread::sleep_for(gap);
	}
}

// The pool learns the gaps of its real workload. The bounds are wide (a
// 1 ms sleep may take several on a loaded CI machine; 60 ms gaps are far
// beyond the 20 ms maximum).
TEST(WorkerPool, PollingAdaptsToTheGapsBetweenJobs)
{
	WorkerPool pool(4, 20ms, 50us);
	EXPECT_EQ(pool.spin_budget(), 50us);
	jobs_with_gaps(pool, 40, 1ms);
	EXPECT_GT(pool.spin_budget(), 1ms);
	EXPECT_LE(pool.spin_budget(), 20ms);
	jobs_with_gaps(pool, 25, 60ms);
	EXPECT_EQ(pool.spin_budget(), 50us);
}

// Two jobs arriving while a worker polls: it takes one, and the other must
// get a worker of its own, not wait behind the first (here the first waits
// for the second, so waiting behind it would never end).
TEST(WorkerPool, SecondJobDuringPollingIsNotStuckBehindTheFirst)
{
	WorkerPool pool(4, 1000ms, 1000ms); // always polls a full second
	for (int round = 0; round < 20; ++round) {
		jobs_with_gaps(pool, 1, 0ms); // a worker is polling now
		std::promise<void> second_ran;
		auto second = second_ran.get_future().share();
		std::promise<bool> first_saw;
		auto first = first_saw.get_future();
		ASSERT_TRUE(pool.submit([&first_saw, second] {
			first_saw.set_value(second.wait_for(10s) ==
					    std::future_status::ready);
		}));
		ASSERT_TRUE(
		    pool.submit([&second_ran] { second_ran.set_value(); }));
		ASSERT_TRUE(first.get()) << "round " << round;
	}
}

} // namespace
