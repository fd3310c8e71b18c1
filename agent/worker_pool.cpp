// SPDX-License-Identifier: Apache-2.0
#include "worker_pool.h"

#include <vaccel.h>

#include <exception>

namespace vaccel::agent
{

WorkerPool::WorkerPool(size_t threads)
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
	{
		std::lock_guard lock(mu_);
		if (stopping_)
			return false;
		jobs_.push_back(std::move(job));
	}
	cv_.notify_one();
	return true;
}

void WorkerPool::stop()
{
	{
		std::lock_guard lock(mu_);
		stopping_ = true;
	}
	cv_.notify_all();
	for (auto &t : threads_)
		if (t.joinable())
			t.join();
	threads_.clear();
}

void WorkerPool::run()
{
	for (;;) {
		std::function<void()> job;
		{
			std::unique_lock lock(mu_);
			cv_.wait(lock, [this] {
				return stopping_ || !jobs_.empty();
			});
			if (jobs_.empty())
				return; // stopping and drained
			job = std::move(jobs_.front());
			jobs_.pop_front();
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
