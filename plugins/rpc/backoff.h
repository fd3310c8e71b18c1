// SPDX-License-Identifier: Apache-2.0
// When to try an agent again after it failed (a refused or timed-out
// connection, a dropped one): the wait doubles with each failure in a row,
// from VACCEL_RPC_BACKOFF_MS up to VACCEL_RPC_BACKOFF_MAX_MS, and a success
// forgets them. Not thread-safe: its owner (pool.h, Endpoint) locks.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace vaccel::rpc_plugin
{

class Backoff
{
public:
	using Clock = std::chrono::steady_clock;
	using ms = std::chrono::milliseconds;

	Backoff(ms first, ms cap) : first_(first), cap_(std::max(first, cap)) {}

	// A failure at @p now: no retry before now plus the current wait,
	// which then doubles (up to the cap).
	void failed(Clock::time_point now) noexcept
	{
		const ms wait = next_;
		retry_at_ = now + wait;
		next_ = std::min(cap_, wait * 2);
		++failures_;
	}
	void succeeded() noexcept
	{
		failures_ = 0;
		next_ = first_;
		retry_at_ = {};
	}
	// Whether the agent may be tried at @p now.
	[[nodiscard]] bool ready(Clock::time_point now) const noexcept
	{
		return failures_ == 0 || now >= retry_at_;
	}
	[[nodiscard]] Clock::time_point retry_at() const noexcept
	{
		return retry_at_;
	}
	[[nodiscard]] uint32_t failures() const noexcept { return failures_; }

private:
	const ms first_;
	const ms cap_;
	ms next_ = first_;
	Clock::time_point retry_at_{};
	uint32_t failures_ = 0;
};

} // namespace vaccel::rpc_plugin
