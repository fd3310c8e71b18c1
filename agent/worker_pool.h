// SPDX-License-Identifier: Apache-2.0
// A fixed pool of threads running queued jobs. The agent runs every request
// on it: a fixed pool bounds how many ops run at once (backends hold real
// devices and memory), where a thread per request would let one client's
// burst exhaust the host. Jobs carry a key (the agent's: the tenant) and
// keys take turns: each key's jobs run in order of arrival, but one key's
// burst of queued jobs waits behind every other key's next job rather
// than in front of it.
//
// An idle worker is woken most-recently-idle first, so that a client making
// one call after another keeps landing on the same thread instead of
// rotating through the pool. GPU work pays dearly for a change of thread
// (libtorch on CUDA: a Fashion-MNIST forward pass took 174 us from one
// thread and 460 us from 16 threads in turn on an H100; ResNet-18 1.37 ms
// vs 2.13 ms), and CPU caches favour it too.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "thread_cache.h"
#include "transport/spin.h"

namespace vaccel::agent
{

// Queued jobs by key, served in turn (round robin over the keys that have
// jobs). Not thread-safe: the pool's lock guards it.
class FairQueue
{
public:
	void push(uint64_t key, std::function<void()> job);
	// The next key's oldest job; the queue must not be empty.
	std::function<void()> pop();
	[[nodiscard]] bool empty() const noexcept { return size_ == 0; }
	[[nodiscard]] size_t size() const noexcept { return size_; }

private:
	std::unordered_map<uint64_t, std::deque<std::function<void()>>> jobs_;
	std::deque<uint64_t> turn_; // keys with jobs, next first
	size_t size_ = 0;
};

// How long an idle worker polls before it sleeps is learnt from how soon
// work came back after earlier idle spells (transport::SpinPolicy): a
// client that calls again and again leaves the worker idle for the same
// short gap each time (its own time between calls). A sleeping worker woken
// by a futex can cost far more than the gap (on an H100 host, ResNet-18
// through the agent took +35% with 50 us of polling and +2% with 2 ms).
using transport::SpinPolicy;

class WorkerPool
{
public:
	// Starts @p threads threads (>= 1). Throws std::system_error when the
	// system refuses a thread (nothing is left running then).
	// @p spin: the most an idle worker polls the queue before sleeping
	// (one worker at a time; how long within that, SpinPolicy decides,
	// never less than @p spin_floor). A request that arrives meanwhile
	// starts without a thread wake-up, which costs more than the whole of
	// a small op on a virtual machine; 0 disables polling.
	// @p initial (at most @p threads): the threads started at once; the
	// rest start when a job finds every thread busy, so that a server
	// that stays idle (an attached sandbox) costs no threads and starts
	// without making them.
	explicit WorkerPool(size_t threads, std::chrono::microseconds spin = {},
			    std::chrono::microseconds spin_floor =
				std::chrono::microseconds{50},
			    size_t initial = SIZE_MAX);
	WorkerPool(const WorkerPool &) = delete;
	WorkerPool &operator=(const WorkerPool &) = delete;
	~WorkerPool() { stop(); }

	// Queues @p job under @p key (FairQueue); false once stop() has
	// begun. Jobs must not throw (an escaping exception is caught and
	// logged).
	bool submit(std::function<void()> job, uint64_t key = 0);
	// Runs what is queued, then joins the threads. Idempotent.
	void stop();
	// Starts the threads not started yet (@p initial above), for a pool
	// that should be whole before its first job but not at once: a
	// fresh agent's, whose first job waits for the plugins anyway.
	void start_all();

	// Threads started so far.
	[[nodiscard]] size_t size() const noexcept
	{
		return started_.load(std::memory_order_relaxed);
	}
	// Jobs waiting for a worker (the queue-depth gauge).
	[[nodiscard]] size_t queued() const noexcept
	{
		return queued_.load(std::memory_order_relaxed);
	}
	// Workers waiting for a job, polling one included (for tests: a
	// job submitted once every worker waits goes to the latest idle).
	[[nodiscard]] size_t idle() const;
	// How long the next idle worker would poll (for tests and stats).
	[[nodiscard]] std::chrono::nanoseconds spin_budget() const noexcept
	{
		return policy_.budget(gap_ns_.load(std::memory_order_relaxed));
	}

private:
	// A worker waiting for a job: woken only by name.
	struct Idle {
		std::condition_variable cv;
		bool woken = false;
	};

	// @p grown: started by grow() for a queued job.
	void run(bool grown);
	// Starts one more thread if the pool may grow (mu_ held); false if
	// the system refuses it (the queued job then waits for a busy one).
	// @p for_job: the thread takes a queued job as it begins (run()).
	bool grow(bool for_job = true);

	// Records how long a worker was idle before its next job.
	void note_gap(std::chrono::steady_clock::duration gap) noexcept;

	const SpinPolicy policy_;
	// Smoothed idle gap, ns (SpinPolicy::update). Updated without a lock:
	// a lost update among racing workers only delays the average.
	std::atomic<int64_t> gap_ns_{0};
	std::atomic<size_t> queued_{0};
	std::atomic<bool> spinning_{false};
	mutable std::mutex mu_;
	FairQueue jobs_;
	// Waiting workers, the most recently idle last (guarded by mu_).
	std::vector<Idle *> idle_;
	// Workers woken for a job that have not yet taken one (guarded by
	// mu_).
	size_t waking_ = 0;
	bool stopping_ = false;
	const size_t max_threads_;
	std::atomic<size_t> started_{0};
	// On the agent's ThreadCache: threads that served an earlier pool
	// come with their backends' per-thread set-up done.
	std::vector<PooledThread> threads_; // guarded by mu_ until stop()
};

} // namespace vaccel::agent
