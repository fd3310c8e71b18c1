// SPDX-License-Identifier: Apache-2.0
#include "endpoint.h"

#include <vaccel/log.h>

namespace vaccel::rpc_plugin
{

bool Endpoint::usable(Clock::time_point now)
{
	if (!serving())
		return false;
	std::lock_guard lock(mu_);
	return backoff_.ready(now);
}

bool Endpoint::serving()
{
	if (!listed())
		return false;
	const uint64_t g = draining_gen_.load(std::memory_order_relaxed);
	if (g == 0)
		return true;
	auto c = link_.current();
	return !c || c->generation() != g;
}

void Endpoint::failed(Clock::time_point now)
{
	std::lock_guard lock(mu_);
	backoff_.failed(now);
	vaccel_debug("[rpc] agent %s: failure %u in a row; next try in %lld "
		     "ms",
		     name().c_str(), backoff_.failures(),
		     static_cast<long long>(
			 std::chrono::duration_cast<std::chrono::milliseconds>(
			     backoff_.retry_at() - now)
			     .count()));
}

void Endpoint::dropped(uint64_t generation, Clock::time_point now)
{
	uint64_t seen = dropped_gen_.load(std::memory_order_relaxed);
	while (seen < generation)
		if (dropped_gen_.compare_exchange_weak(seen, generation)) {
			failed(now);
			return;
		}
}

void Endpoint::connected(uint64_t generation)
{
	{
		std::lock_guard lock(mu_);
		backoff_.succeeded();
	}
	uint64_t g = draining_gen_.load(std::memory_order_relaxed);
	if (g != 0 && g != generation)
		draining_gen_.compare_exchange_strong(g, 0);
}

void Endpoint::draining(uint64_t generation)
{
	uint64_t none = 0;
	if (draining_gen_.compare_exchange_strong(none, generation))
		vaccel_info("[rpc] agent %s is draining: no new sessions there",
			    name().c_str());
}

Candidate Endpoint::candidate() const noexcept
{
	return {outstanding(), reported_.load(std::memory_order_relaxed),
		sessions_.load(std::memory_order_relaxed)};
}

void Endpoint::reported(uint64_t load, Clock::time_point when) noexcept
{
	reported_.store(load, std::memory_order_relaxed);
	reported_at_ns_.store(
	    std::chrono::duration_cast<std::chrono::nanoseconds>(
		when.time_since_epoch())
		.count(),
	    std::memory_order_relaxed);
}

Endpoint::Clock::time_point Endpoint::reported_at() const noexcept
{
	return Clock::time_point(std::chrono::nanoseconds(
	    reported_at_ns_.load(std::memory_order_relaxed)));
}

} // namespace vaccel::rpc_plugin
