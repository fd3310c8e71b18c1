// SPDX-License-Identifier: Apache-2.0
// Threads kept after their job returns, for the next job to run on.
//
// An attached sandbox starts its acceptor, one reader per connection and
// its workers when it starts and is first called; each of those was a new
// thread, and a new thread is slow at more than its creation: the first op
// it runs through a backend pays that backend's per-thread set-up (libtorch
// builds its OpenMP team and thread-local state on the first forward pass a
// thread makes, several times a warm call). Taking threads that served an
// earlier sandbox, and have since returned, makes a new sandbox's first
// call as cheap as a warm one; of those, the threads that ran ops go first
// (run()).
//
// A thread serves one job at a time and belongs to that job's owner until
// the job returns, so handing threads on shares nothing between sandboxes
// while they run: one tenant's long calls hold only its own threads.
// Between jobs a thread's per-thread error state is cleared (reset_hook),
// so that nothing one job noted is read by the next.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace vaccel::agent
{

// A job running on a cached thread; join() waits for it to return (the
// thread itself goes back to its cache). Like std::thread, a joinable
// handle must be joined before it is destroyed or assigned to.
class PooledThread
{
public:
	struct Done {
		std::mutex mu;
		std::condition_variable cv;
		bool finished = false;
	};

	PooledThread() = default;
	explicit PooledThread(std::shared_ptr<Done> done)
	    : done_(std::move(done))
	{
	}
	PooledThread(PooledThread &&) noexcept = default;
	PooledThread &operator=(PooledThread &&other) noexcept;
	PooledThread(const PooledThread &) = delete;
	PooledThread &operator=(const PooledThread &) = delete;
	~PooledThread();

	[[nodiscard]] bool joinable() const noexcept
	{
		return done_ != nullptr;
	}
	// The job returned (join() would not wait).
	[[nodiscard]] bool finished() const;
	void join();

private:
	std::shared_ptr<Done> done_;
};

class ThreadCache
{
public:
	struct Options {
		// Threads kept waiting for a job at most; a returning thread
		// beyond that ends.
		size_t max_parked = 64;
		// How long a kept thread waits for a job before it ends.
		std::chrono::milliseconds idle{std::chrono::minutes(2)};
		// Threads kept waiting ahead of need: a job that takes one of
		// the last waiting threads first starts a replacement (on its
		// own thread, before the job), so that the next caller finds a
		// thread without paying for its creation.
		size_t spare = 0;
	};

	explicit ThreadCache(Options options);
	// Ends the waiting threads and waits for every thread of this cache
	// to end: the owners must have joined their jobs.
	~ThreadCache();
	ThreadCache(const ThreadCache &) = delete;
	ThreadCache &operator=(const ThreadCache &) = delete;

	// The agent's caches, for its whole life (never destroyed: their
	// threads may still be waiting when the process exits). Two, so that
	// a thread that ran ops goes to the next pool's worker, not to a
	// connection's reader: the backends' per-thread set-up is on the
	// threads that ran ops.
	static ThreadCache &ops();         // worker pools
	static ThreadCache &connections(); // acceptors and readers

	// Runs @p job on the waiting thread that has run the most ops
	// (note_op()), the most recently returned of those, or on a new one.
	// Ops, not jobs: a worker pool's thread runs one job, the pool's
	// loop, and its ops inside; a thread that ran ops carries the
	// backends' per-thread set-up (a GPU library's handles: a first op
	// on a new thread can cost more than ten warm ones), which a thread
	// that only waited in a pool, or served a download, does not. Throws
	// std::system_error when the system refuses a new thread, as
	// std::thread does. The job must not throw.
	PooledThread run(std::function<void()> job);

	// Threads waiting for a job now, and threads started in all.
	[[nodiscard]] size_t parked();
	[[nodiscard]] size_t started();

	// Clears the calling thread's per-thread state that a job may leave
	// behind (the core's last error and plugin reason, open profiling
	// samples); run between two jobs.
	static void reset_hook();
	// Counts an op run on the calling thread (worker_pool.cpp), for the
	// choice above.
	static void note_op() noexcept;

private:
	struct Slot;

	void thread_main(std::unique_ptr<Slot> slot);
	// Starts a thread that waits for a job (mu_ held); false if the
	// system refuses it.
	bool start_thread(std::unique_ptr<Slot> slot);
	// Whether a job handed out now should start a spare (mu_ held).
	bool wants_spare();
	// Waits for the next job (mu_ held by @p lock); false: end.
	bool park(Slot &slot, std::unique_lock<std::mutex> &lock);

	const Options opts_;
	std::mutex mu_;
	std::condition_variable ended_;
	std::vector<Slot *> parked_; // the most recently returned last
	size_t alive_ = 0;
	size_t started_ = 0;
	size_t spares_coming_ = 0; // started, not yet waiting
	bool stopping_ = false;
};

} // namespace vaccel::agent
