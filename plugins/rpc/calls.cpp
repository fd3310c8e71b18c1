// SPDX-License-Identifier: Apache-2.0
#include "calls.h"

#include <algorithm>

namespace vaccel::rpc_plugin
{

using transport::Clock;

Result<std::pair<uint32_t, std::shared_ptr<Pending>>> CallTable::open()
{
	auto call = std::make_shared<Pending>();
	std::lock_guard lock(mu_);
	if (failed_)
		return death_;
	const uint32_t id = take_stream_id();
	pending_.emplace_back(id, call);
	return std::pair{id, std::move(call)};
}

Result<ReplyBytes> CallTable::await(const std::shared_ptr<Pending> &call,
				    uint32_t id, transport::Deadline dl,
				    ReadFn read)
{
	std::unique_lock lk(mu_);
	// Under the lock, which orders done with the status and payload.
	const auto is_done = [&] {
		return call->done.load(std::memory_order_relaxed);
	};
	while (!is_done()) {
		if (!reading_) {
			reading_ = true;
			lk.unlock();
			read(*call, dl);
			lk.lock();
			reading_ = false;
			wake_next_reader();
			if (is_done())
				break;
		} else {
			call->waiting = true;
			if (dl)
				call->cv.wait_until(lk, *dl);
			else
				call->cv.wait(lk);
			call->waiting = false;
		}
		if (!is_done() && dl && Clock::now() >= *dl) {
			if (auto it = entry(id); it != pending_.end())
				drop(it);
			// Calls wait VACCEL_RPC_TIMEOUT_MS; one that waits
			// another timeout (the handshake: link.cpp) names it
			// itself, told by the cause.
			return Status::error(VACCEL_EIO,
					     "no reply within %lld ms "
					     "(VACCEL_RPC_TIMEOUT_MS=%lld)",
					     static_cast<long long>(
						 call_timeout_.count()),
					     static_cast<long long>(
						 call_timeout_.count()))
			    .with(base::Cause::TimedOut);
		}
	}
	if (!call->status)
		return call->status;
	return std::move(call->payload);
}

// Someone still waiting reads next; a caller still sending will find nobody
// reading. Called with mu_ held.
void CallTable::wake_next_reader()
{
	for (auto &[other, p] : pending_) {
		if (p->waiting) {
			p->cv.notify_one();
			return;
		}
	}
}

std::vector<CallTable::Entry>::iterator CallTable::entry(uint32_t id)
{
	return std::find_if(pending_.begin(), pending_.end(),
			    [id](const Entry &e) { return e.first == id; });
}

// Order does not matter: the last entry takes its place.
void CallTable::drop(std::vector<Entry>::iterator it)
{
	if (it != pending_.end() - 1)
		*it = std::move(pending_.back());
	pending_.pop_back();
}

std::shared_ptr<Pending> CallTable::find(uint32_t id)
{
	std::lock_guard lock(mu_);
	auto it = entry(id);
	return it == pending_.end() ? nullptr : it->second;
}

std::shared_ptr<Pending> CallTable::take(uint32_t id)
{
	std::lock_guard lock(mu_);
	auto it = entry(id);
	if (it == pending_.end())
		return nullptr;
	auto call = std::move(it->second);
	drop(it);
	return call;
}

void CallTable::forget(uint32_t id)
{
	std::lock_guard lock(mu_);
	if (auto it = entry(id); it != pending_.end())
		drop(it);
}

void CallTable::complete_locked(Pending &call, Status st, ReplyBytes data)
{
	call.status = std::move(st);
	call.payload = std::move(data);
	call.done.store(true, std::memory_order_release);
	call.cv.notify_one();
}

void CallTable::finish(Pending &call, Status st, ReplyBytes data)
{
	std::lock_guard lock(mu_);
	complete_locked(call, std::move(st), std::move(data));
}

bool CallTable::done(const Pending &call)
{
	return call.done.load(std::memory_order_acquire);
}

bool CallTable::settled(const Pending &call)
{
	return call.done.load(std::memory_order_acquire) ||
	       failed_flag_.load(std::memory_order_acquire);
}

bool CallTable::fail(const Status &why)
{
	std::lock_guard lock(mu_);
	if (failed_)
		return false;
	failed_ = true;
	failed_flag_.store(true, std::memory_order_release);
	death_ = why;
	for (auto &[id, call] : pending_)
		complete_locked(*call, why, {});
	pending_.clear();
	return true;
}

CallTable::Activity CallTable::activity()
{
	std::lock_guard lock(mu_);
	if (failed_)
		return Activity::Failed;
	if (reading_ || !pending_.empty())
		return Activity::Busy;
	return Activity::Idle;
}

// Odd ids, increasing, as ttrpc clients use; after 2^31 calls they wrap,
// skipping any still in flight. Called with mu_ held.
uint32_t CallTable::take_stream_id()
{
	for (;;) {
		const uint32_t id = next_id_;
		next_id_ += 2;
		if (entry(id) == pending_.end())
			return id;
	}
}

} // namespace vaccel::rpc_plugin
