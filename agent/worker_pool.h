// SPDX-License-Identifier: Apache-2.0
// A fixed pool of threads running queued jobs in order of arrival. The agent
// runs every request on it: a fixed pool bounds how many ops run at once
// (backends hold real devices and memory), where a thread per request
// would let one client's burst exhaust the host.
//
// An idle worker is woken most-recently-idle first, so that a client making
// one call after another keeps landing on the same thread instead of
// rotating through the pool. GPU work pays dearly for a change of thread
// (libtorch on CUDA: a Fashion-MNIST forward pass took 174 us from one
// thread and 460 us from 16 threads in turn on an H100; ResNet-18 1.37 ms
// vs 2.13 ms), and CPU caches favour it too.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vaccel::agent
{

class WorkerPool
{
public:
	// Starts @p threads threads (>= 1). Throws std::system_error when the
	// system refuses a thread (nothing is left running then).
	// @p spin: how long an idle worker polls the queue before sleeping
	// (one worker at a time). A request that arrives meanwhile starts
	// without a thread wake-up, which costs more than the whole of a
	// small op on a virtual machine; 0 disables it.
	explicit WorkerPool(size_t threads,
			    std::chrono::microseconds spin = {});
	WorkerPool(const WorkerPool &) = delete;
	WorkerPool &operator=(const WorkerPool &) = delete;
	~WorkerPool() { stop(); }

	// Queues @p job; false once stop() has begun. Jobs must not throw
	// (an escaping exception is caught and logged).
	bool submit(std::function<void()> job);
	// Runs what is queued, then joins the threads. Idempotent.
	void stop();

	[[nodiscard]] size_t size() const noexcept { return threads_.size(); }

private:
	// A worker waiting for a job: woken only by name.
	struct Idle {
		std::condition_variable cv;
		bool woken = false;
	};

	void run();

	const std::chrono::microseconds spin_;
	std::atomic<size_t> queued_{0};
	std::atomic<bool> spinning_{false};
	std::mutex mu_;
	std::deque<std::function<void()>> jobs_;
	// Waiting workers, the most recently idle last (guarded by mu_).
	std::vector<Idle *> idle_;
	bool stopping_ = false;
	std::vector<std::thread> threads_;
};

} // namespace vaccel::agent
