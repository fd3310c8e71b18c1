// SPDX-License-Identifier: Apache-2.0
#include "worker_pool.h"

#include <vaccel.h>

#include <exception>

namespace vaccel::agent
{

namespace
{
inline void cpu_relax() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	asm volatile("yield");
#endif
}
} // namespace

WorkerPool::WorkerPool(size_t threads, std::chrono::microseconds spin)
    : spin_(spin)
{
	threads_.reserve(threads);
	try {
		for (size_t i = 0; i < threads; ++i)
			threads_.emplace_back([this] { run(); });
	} catch (...) {
		stop();
		throw;
	}
}

bool WorkerPool::submit(std::function<void()> job)
{
	std::lock_guard lock(mu_);
	if (stopping_)
		return false;
	jobs_.push_back(std::move(job));
	queued_.fetch_add(1);
	// A spinning worker takes it without a wake-up; if it stops
	// spinning meanwhile, it re-checks the queue under the lock.
	// Otherwise the most recently idle worker is woken. Notified under
	// the lock: a worker leaves (and its Idle goes) only while holding
	// it, so @p w is alive here.
	if (!spinning_.load() && !idle_.empty()) {
		Idle *w = idle_.back();
		idle_.pop_back();
		w->woken = true;
		w->cv.notify_one();
	}
	return true;
}

void WorkerPool::stop()
{
	{
		std::lock_guard lock(mu_);
		stopping_ = true;
		for (Idle *w : idle_) {
			w->woken = true;
			w->cv.notify_one();
		}
		idle_.clear();
	}
	for (auto &t : threads_)
		if (t.joinable())
			t.join();
	threads_.clear();
}

void WorkerPool::run()
{
	Idle me;
	for (;;) {
		std::function<void()> job;
		bool expected = false;
		if (spin_.count() > 0 && queued_.load() == 0 &&
		    spinning_.compare_exchange_strong(expected, true)) {
			const auto until =
			    std::chrono::steady_clock::now() + spin_;
			while (queued_.load() == 0 &&
			       std::chrono::steady_clock::now() < until)
				cpu_relax();
			spinning_.store(false);
		}
		{
			std::unique_lock lock(mu_);
			while (jobs_.empty() && !stopping_) {
				me.woken = false;
				idle_.push_back(&me);
				me.cv.wait(lock, [&] { return me.woken; });
			}
			if (jobs_.empty())
				return; // stopping and drained
			job = std::move(jobs_.front());
			jobs_.pop_front();
			queued_.fetch_sub(1);
		}
		try {
			job();
		} catch (const std::exception &e) {
			vaccel_error("agent: worker: job failed: %s", e.what());
		} catch (...) {
			vaccel_error("agent: worker: job failed");
		}
	}
}

} // namespace vaccel::agent
