// SPDX-License-Identifier: Apache-2.0
#include "worker_pool.h"

#include "transport/spare_cores.h"

#include <vaccel.h>

#include <exception>
#include <system_error>
#include <thread>
#include <utility>

namespace vaccel::agent
{

using transport::cpu_relax;

WorkerPool::WorkerPool(size_t threads, std::chrono::microseconds spin,
		       std::chrono::microseconds spin_floor, size_t initial)
    : policy_(spin, spin_floor), max_threads_(threads)
{
	threads_.reserve(threads);
	try {
		std::lock_guard lock(mu_);
		for (size_t i = 0; i < std::min(initial, threads); ++i) {
			threads_.push_back(
			    ThreadCache::ops().run([this] { run(false); }));
			started_.fetch_add(1, std::memory_order_relaxed);
		}
	} catch (...) {
		stop();
		throw;
	}
}

bool WorkerPool::grow(bool for_job)
{
	if (threads_.size() >= max_threads_)
		return false;
	try {
		threads_.push_back(
		    ThreadCache::ops().run([this, for_job] { run(for_job); }));
	} catch (const std::system_error &e) {
		vaccel_warn("agent: cannot start a worker thread: %s",
			    e.what());
		return false;
	}
	started_.fetch_add(1, std::memory_order_relaxed);
	return true;
}

void WorkerPool::start_all()
{
	std::lock_guard lock(mu_);
	if (stopping_)
		return;
	// Stops at a refused thread: the rest start as jobs need them.
	while (grow(false)) {
	}
}

void FairQueue::push(uint64_t key, std::function<void()> job)
{
	auto &q = jobs_[key];
	if (q.empty())
		turn_.push_back(key);
	q.push_back(std::move(job));
	++size_;
}

std::function<void()> FairQueue::pop()
{
	const uint64_t key = turn_.front();
	turn_.pop_front();
	auto it = jobs_.find(key);
	std::function<void()> job = std::move(it->second.front());
	it->second.pop_front();
	if (it->second.empty())
		jobs_.erase(it);
	else
		turn_.push_back(key); // its next job after the others' next
	--size_;
	return job;
}

bool WorkerPool::submit(std::function<void()> job, uint64_t key)
{
	std::lock_guard lock(mu_);
	if (stopping_)
		return false;
	jobs_.push(key, std::move(job));
	queued_.fetch_add(1);
	// Each queued job needs a worker on its way: one already woken, or
	// the polling one (it takes one job without a wake-up; if it stops
	// polling meanwhile, it re-checks the queue under the lock). Two jobs
	// arriving while one worker polls need a wake-up for the second, or
	// it would wait behind the first however long that runs. Otherwise
	// the most recently idle worker is woken. Notified under the lock: a
	// worker leaves (and its Idle goes) only while holding it, so @p w
	// is alive here.
	// With no idle worker, a pool below its size starts one, which
	// takes the job as it begins.
	const size_t coming = waking_ + (spinning_.load() ? 1 : 0);
	if (jobs_.size() > coming && !idle_.empty()) {
		Idle *w = idle_.back();
		idle_.pop_back();
		w->woken = true;
		++waking_;
		w->cv.notify_one();
	} else if (jobs_.size() > coming && grow()) {
		++waking_;
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
	// No thread starts once stopping_ is set: threads_ is ours now.
	for (auto &t : threads_)
		if (t.joinable())
			t.join();
	threads_.clear();
}

size_t WorkerPool::idle() const
{
	std::lock_guard lock(mu_);
	return idle_.size() + (spinning_.load() ? 1 : 0);
}

void WorkerPool::note_gap(std::chrono::steady_clock::duration gap) noexcept
{
	const int64_t ns =
	    std::chrono::duration_cast<std::chrono::nanoseconds>(gap).count();
	const int64_t avg = gap_ns_.load(std::memory_order_relaxed);
	gap_ns_.store(policy_.update(avg, ns), std::memory_order_relaxed);
}

void WorkerPool::run(bool grown)
{
	using Clock = std::chrono::steady_clock;
	// Yield the CPU now and then while polling: the client that is about
	// to send the next request may need this core.
	constexpr auto kYieldEvery = transport::kSpinYieldEvery;
	Idle me;
	for (;;) {
		std::function<void()> job;
		const auto idle_since = Clock::now();
		const bool idle = queued_.load() == 0;
		bool expected = false;
		const auto budget = spin_budget();
		const bool spun =
		    budget.count() > 0 && idle && transport::cores_to_spare() &&
		    spinning_.compare_exchange_strong(expected, true);
		if (spun) {
			const auto until = idle_since + budget;
			auto next_yield = idle_since + kYieldEvery;
			for (auto now = idle_since;
			     queued_.load() == 0 && now < until;
			     now = Clock::now()) {
				if (now >= next_yield) {
					std::this_thread::yield();
					next_yield = now + kYieldEvery;
				} else {
					cpu_relax();
				}
			}
		}
		{
			std::unique_lock lock(mu_);
			// Still counted as polling until here: a job submitted
			// meanwhile is this worker's (it looks below), where
			// waking another one would race it for the job.
			if (spun)
				spinning_.store(false);
			// submit() counted a grown thread as on its way.
			if (std::exchange(grown, false))
				--waking_;
			while (jobs_.empty() && !stopping_) {
				me.woken = false;
				idle_.push_back(&me);
				me.cv.wait(lock, [&] { return me.woken; });
				if (!stopping_)
					--waking_;
			}
			if (jobs_.empty())
				return; // stopping and drained
			job = jobs_.pop();
			queued_.fetch_sub(1);
		}
		// Only a worker that found nothing to do measures a gap: one
		// that went straight from job to job saw none.
		if (idle)
			note_gap(Clock::now() - idle_since);
		ThreadCache::note_op();
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
