// SPDX-License-Identifier: Apache-2.0
// Whether a thread about to poll would have a core to itself: polling
// instead of sleeping pays only then.
//
// Why: a caller or worker that polls for what comes next keeps its core
// busy. While the host has more runnable threads than cores, that core is
// taken from the very thread the poller waits for (the agent's reader,
// another client), so every poller slows everyone down, and many clients
// that each poll get fewer calls through than the same clients asleep.
// No process sees the others' polling, so each decides from the host's
// count of runnable threads (/proc/loadavg), sampled at most every few
// milliseconds and only by threads that are about to poll.
//
// The decision has hysteresis: polling stops once the other runnable
// threads fill every core and comes back only when half the cores are
// free, so that pollers which stop (and are no longer counted) do not
// turn it back on at the next sample.
#pragma once

#include <atomic>
#include <optional>
#include <string_view>

namespace vaccel::transport
{

// The decision alone, fed with samples (tests feed their own).
class SpareCores
{
public:
	// @p cores: the host's online CPUs (at least 1).
	explicit SpareCores(unsigned cores) noexcept;

	// One sample: @p runnable threads on the host, the sampling thread
	// among them. Returns spare() after it.
	bool update(unsigned runnable) noexcept;
	[[nodiscard]] bool spare() const noexcept
	{
		return spare_.load(std::memory_order_relaxed);
	}

private:
	unsigned cores_;
	std::atomic<bool> spare_{true};
};

// The runnable count of /proc/loadavg's text ("0.52 0.31 0.20 3/120 4567"
// gives 3); nothing for text of another shape.
std::optional<unsigned> runnable_in_loadavg(std::string_view text) noexcept;

// Process-wide: whether a thread that would poll now has a core to spare.
// Cheap between samples (a clock read); true wherever /proc/loadavg cannot
// be read, as before this check existed, and after poll_on_busy_host(true).
// Thread-safe. The first call opens /proc/loadavg: make it at start-up
// (before any fork()), not in a first request.
bool cores_to_spare() noexcept;

// @p yes: cores_to_spare() says true whatever the load
// (VACCEL_POLL_BUSY_HOST=1, read by the process at start-up: hosts whose
// pollers have CPUs of their own, tests of polling on a shared machine).
void poll_on_busy_host(bool yes) noexcept;

} // namespace vaccel::transport
