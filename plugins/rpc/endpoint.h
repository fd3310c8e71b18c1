// SPDX-License-Identifier: Apache-2.0
// One agent of the pool as the client sees it: its connection over time
// (link.h), whether it may take new sessions (health: failures and their
// backoff, draining, dropped from the DNS answer) and what placement weighs
// (this process's calls in flight and sessions there, the load the agent
// last reported).
#pragma once

#include "backoff.h"
#include "link.h"
#include "placement.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

namespace vaccel::rpc_plugin
{

class Endpoint
{
public:
	using Clock = std::chrono::steady_clock;

	// @p device: the VM's sandbox memory (link.h); may be null.
	Endpoint(const Config &cfg, EndpointAddress where, uint32_t index,
		 const SandboxDevice *device)
	    : link_(cfg, std::move(where), index, device), index_(index),
	      backoff_(cfg.backoff_first, cfg.backoff_max)
	{
	}
	Endpoint(const Endpoint &) = delete;
	Endpoint &operator=(const Endpoint &) = delete;

	[[nodiscard]] Link &link() noexcept { return link_; }
	[[nodiscard]] const Link &link() const noexcept { return link_; }
	[[nodiscard]] const std::string &name() const noexcept
	{
		return link_.where().name;
	}
	[[nodiscard]] uint32_t index() const noexcept { return index_; }

	// ---- health
	// May it take a new session at @p now: serving, and not waiting out
	// a failure.
	[[nodiscard]] bool usable(Clock::time_point now);
	// Listed, and not draining on its current connection (once that is
	// gone, whatever agent answers at the address next may serve).
	[[nodiscard]] bool serving();
	// Connecting failed: wait before the next try (backoff.h).
	void failed(Clock::time_point now);
	// Its connection @p generation dropped: failed, once per connection
	// however many sessions notice.
	void dropped(uint64_t generation, Clock::time_point now);
	// Connection @p generation is up (Hello answered): healthy again, and
	// unless that is the connection that said it drains, no longer
	// draining (a new agent behind the address).
	void connected(uint64_t generation);
	// The agent said it drains (on its connection @p generation): no new
	// sessions while that connection lasts.
	void draining(uint64_t generation);
	// Whether connection @p generation is one whose agent drains.
	[[nodiscard]] bool draining_on(uint64_t generation) const noexcept
	{
		return generation != 0 &&
		       draining_gen_.load(std::memory_order_relaxed) ==
			   generation;
	}
	// Whether the last resolution listed it (always, for an address
	// given as such).
	void set_listed(bool listed) noexcept
	{
		listed_.store(listed, std::memory_order_relaxed);
	}
	[[nodiscard]] bool listed() const noexcept
	{
		return listed_.load(std::memory_order_relaxed);
	}

	// ---- load
	[[nodiscard]] Candidate candidate() const noexcept;
	void call_started() noexcept
	{
		outstanding_.fetch_add(1, std::memory_order_relaxed);
	}
	void call_ended() noexcept
	{
		outstanding_.fetch_sub(1, std::memory_order_relaxed);
	}
	[[nodiscard]] uint64_t outstanding() const noexcept
	{
		return outstanding_.load(std::memory_order_relaxed);
	}
	void session_added() noexcept
	{
		sessions_.fetch_add(1, std::memory_order_relaxed);
	}
	void session_removed() noexcept
	{
		sessions_.fetch_sub(1, std::memory_order_relaxed);
	}
	// The calls of others the agent reported at @p when.
	void reported(uint64_t load, Clock::time_point when) noexcept;
	[[nodiscard]] Clock::time_point reported_at() const noexcept;

private:
	Link link_;
	const uint32_t index_;
	mutable std::mutex mu_; // guards backoff_
	Backoff backoff_;
	std::atomic<uint64_t> draining_gen_{0};
	std::atomic<uint64_t> dropped_gen_{0};
	std::atomic<bool> listed_{true};
	std::atomic<uint64_t> outstanding_{0};
	std::atomic<uint64_t> sessions_{0};
	std::atomic<uint64_t> reported_{0};
	std::atomic<int64_t> reported_at_ns_{0};
};

} // namespace vaccel::rpc_plugin
