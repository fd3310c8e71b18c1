// SPDX-License-Identifier: Apache-2.0
// Draining: how an agent leaves without failing its clients' calls
// (SIGTERM, or Launcher/Drain on the admin socket; docs/observability.md,
// "Draining"). Once it begins:
//  - /readyz answers 503 (health.h), so that probes and load balancers
//    stop sending new work; /healthz stays 200;
//  - new sessions are refused with UNAVAILABLE: the request was not run;
//  - a connection that negotiated our extensions (AgentAdmin/Hello) gets
//    the same refusal for any call that would add work, with a Draining
//    detail (ext.proto) saying how long the agent may still take, so that
//    our client sends it to another agent instead; calls that only release
//    what the connection holds still run, so that it can leave at once;
//  - a connection of an upstream client (no Hello) keeps being served on
//    the sessions it has, and sees only standard ttrpc errors;
//  - calls already queued or running finish.
// The agent exits once nothing is in flight and no extension client holds
// a session, or when the grace period ends, whichever comes first
// (wait_drained()).
//
// This is the one place that decides what a request gets while the agent
// drains (admit()); the servers ask it for every request and say whether
// they are quiet (Server::quiet()).
#pragma once

#include "rpc_status.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

namespace vaccel::agent
{

class Drain
{
public:
	using Clock = std::chrono::steady_clock;

	// @p grace: the most the agent waits for its clients once it
	// drains (--drain-grace).
	explicit Drain(std::chrono::milliseconds grace) noexcept;
	Drain(const Drain &) = delete;
	Drain &operator=(const Drain &) = delete;
	~Drain();

	// Begins draining now; false when it had begun already (the grace
	// period is not extended). Any thread.
	bool begin() noexcept { return begin_until(Clock::now() + grace_); }
	// Begins draining with the grace period ending at @p deadline (a
	// tenant's worker process, told by the agent); false when it had
	// begun already.
	bool begin_until(Clock::time_point deadline) noexcept;

	[[nodiscard]] bool active() const noexcept
	{
		return deadline_ns_.load(std::memory_order_acquire) != 0;
	}
	// When the grace period ends; meaningful once active().
	[[nodiscard]] Clock::time_point deadline() const noexcept
	{
		return Clock::time_point(std::chrono::nanoseconds(
		    deadline_ns_.load(std::memory_order_acquire)));
	}
	// Milliseconds left of the grace period (the whole of it before
	// begin(), 0 once it is over).
	[[nodiscard]] uint32_t left_ms() const noexcept;
	[[nodiscard]] std::chrono::milliseconds grace() const noexcept
	{
		return grace_;
	}
	// Readable once draining began (an eventfd; -1 if none could be
	// made): main() waits on it with its stop signals, so that an
	// admin's Drain wakes it.
	[[nodiscard]] int fd() const noexcept { return event_fd_; }

	// What a request for @p service / @p method gets: OK (it runs) or
	// the refusal it is answered with instead. @p extended: its
	// connection sent our Hello (the Hello itself included).
	[[nodiscard]] RpcStatus admit(std::string_view service,
				      std::string_view method,
				      bool extended) const;

private:
	const std::chrono::milliseconds grace_;
	// Clock nanoseconds of the deadline; 0: not draining.
	std::atomic<int64_t> deadline_ns_{0};
	int event_fd_ = -1;
};

// How wait_drained() ended.
enum class DrainEnd {
	Quiet,   // nothing in flight, no extension client holds a session
	Expired, // the grace period ended first
	Stopped, // a stop signal came (or @p stop_fd was readable)
};

// Waits until @p quiet() holds, the grace period of @p drain ends, or a
// byte arrives on @p stop_fd (main()'s stop pipe: a second signal, or the
// plugins failing; the byte goes to *@p stop_byte), with the stop signals
// unblocked while it waits (main.cpp). @p quiet is asked a few times a
// second.
DrainEnd wait_drained(const Drain &drain, const std::function<bool()> &quiet,
		      int stop_fd, int *stop_byte);

} // namespace vaccel::agent
