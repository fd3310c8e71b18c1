// SPDX-License-Identifier: Apache-2.0
#include "thread_cache.h"

#include <vaccel.h>

#include <cstdint>
#include <exception>
#include <iterator>
#include <system_error>
#include <thread>
#include <utility>

namespace vaccel::agent
{

PooledThread &PooledThread::operator=(PooledThread &&other) noexcept
{
	if (joinable())
		std::terminate(); // as std::thread: a job left unjoined
	done_ = std::move(other.done_);
	return *this;
}

PooledThread::~PooledThread()
{
	if (joinable())
		std::terminate();
}

bool PooledThread::finished() const
{
	if (!done_)
		return false;
	std::lock_guard lock(done_->mu);
	return done_->finished;
}

void PooledThread::join()
{
	if (!done_)
		throw std::system_error(
		    std::make_error_code(std::errc::invalid_argument),
		    "PooledThread::join: nothing to join");
	std::unique_lock lock(done_->mu);
	done_->cv.wait(lock, [&] { return done_->finished; });
	lock.unlock();
	done_.reset();
}

// One thread's hand-over point: the job it is given, and where it says the
// job returned.
struct ThreadCache::Slot {
	std::condition_variable cv;
	std::function<void()> job; // none: a spare, waiting from the start
	std::shared_ptr<PooledThread::Done> done;
	bool start_spare = false; // before the job
	uint64_t ops = 0;         // run by this thread, when it last parked
};

namespace
{
thread_local uint64_t t_ops = 0; // ops run on this thread (note_op())
} // namespace

void ThreadCache::note_op() noexcept
{
	++t_ops;
}

ThreadCache::ThreadCache(Options options) : opts_(options)
{
}

ThreadCache::~ThreadCache()
{
	std::unique_lock lock(mu_);
	stopping_ = true;
	for (Slot *s : parked_)
		s->cv.notify_one();
	ended_.wait(lock, [&] { return alive_ == 0; });
}

ThreadCache &ThreadCache::ops()
{
	static auto *cache = new ThreadCache(Options{});
	return *cache;
}

ThreadCache &ThreadCache::connections()
{
	// A new sandbox takes two at once (its acceptor, its first
	// connection's reader). The op threads keep no spares: a spare would
	// be the most recently waiting thread, taken before the threads that
	// ran ops.
	static auto *cache = new ThreadCache(Options{.spare = 2});
	return *cache;
}

void ThreadCache::reset_hook()
{
	vaccel_clear_last_error();
}

bool ThreadCache::wants_spare()
{
	if (opts_.spare == 0 || stopping_ ||
	    parked_.size() + spares_coming_ >= opts_.spare)
		return false;
	++spares_coming_;
	return true;
}

bool ThreadCache::start_thread(std::unique_ptr<Slot> slot)
{
	++alive_;
	try {
		std::thread([this, s = std::move(slot)]() mutable {
			thread_main(std::move(s));
		}).detach();
	} catch (...) {
		--alive_;
		return false;
	}
	++started_;
	return true;
}

PooledThread ThreadCache::run(std::function<void()> job)
{
	auto done = std::make_shared<PooledThread::Done>();
	std::unique_lock lock(mu_);
	if (!parked_.empty()) {
		// The one that ran the most ops, the latest to park among
		// equals.
		auto best = parked_.rbegin();
		for (auto it = parked_.rbegin(); it != parked_.rend(); ++it)
			if ((*it)->ops > (*best)->ops)
				best = it;
		Slot *s = *best;
		parked_.erase(std::next(best).base());
		s->job = std::move(job);
		s->done = done;
		s->start_spare = wants_spare();
		s->cv.notify_one();
		return PooledThread(std::move(done));
	}
	auto slot = std::make_unique<Slot>();
	slot->job = std::move(job);
	slot->done = done;
	slot->start_spare = wants_spare();
	const bool spare = slot->start_spare;
	if (!start_thread(std::move(slot))) {
		spares_coming_ -= spare ? 1 : 0;
		throw std::system_error(
		    std::make_error_code(
			std::errc::resource_unavailable_try_again),
		    "cannot start a thread");
	}
	return PooledThread(std::move(done));
}

bool ThreadCache::park(Slot &slot, std::unique_lock<std::mutex> &lock)
{
	if (stopping_ || parked_.size() >= opts_.max_parked)
		return false;
	parked_.push_back(&slot);
	const bool given = slot.cv.wait_for(
	    lock, opts_.idle, [&] { return slot.job != nullptr || stopping_; });
	if (slot.job != nullptr)
		return true; // run() took it off the list
	(void)given;
	std::erase(parked_, &slot);
	return false;
}

void ThreadCache::thread_main(std::unique_ptr<Slot> slot)
{
	std::unique_lock lock(mu_);
	if (slot->job == nullptr) { // a spare: waits from the start
		--spares_coming_;
		if (!park(*slot, lock)) {
			--alive_;
			ended_.notify_all();
			return;
		}
	}
	for (;;) {
		if (std::exchange(slot->start_spare, false) &&
		    !start_thread(std::make_unique<Slot>()))
			--spares_coming_;
		lock.unlock();
		std::function<void()> job = std::move(slot->job);
		slot->job = nullptr;
		job(); // a job that throws ends the process, as on std::thread
		job = nullptr; // its captures go before the owner is told
		reset_hook();
		{
			const auto done = std::move(slot->done);
			std::lock_guard done_lock(done->mu);
			done->finished = true;
			done->cv.notify_all();
		}
		lock.lock();
		slot->ops = t_ops;
		if (!park(*slot, lock)) {
			--alive_;
			ended_.notify_all();
			return;
		}
	}
}

size_t ThreadCache::parked()
{
	std::lock_guard lock(mu_);
	return parked_.size();
}

size_t ThreadCache::started()
{
	std::lock_guard lock(mu_);
	return started_;
}

} // namespace vaccel::agent
