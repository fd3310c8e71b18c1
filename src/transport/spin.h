// SPDX-License-Identifier: Apache-2.0
// Polling before sleeping, for threads that wait for the next message of a
// conversation (the agent's workers and connection readers, the rpc
// plugin's caller waiting for its reply).
//
// Why: on the virtual machines this runs on, a thread that blocks and is
// woken by the kernel pays far more than a thread that polls, and the more
// the longer it slept (measured with a blocked reader woken through a unix
// socket, median: 11 us after 20 us of sleep, 30 us after 1.7 ms, 55 us
// after 10 ms on an H100 host; 24, 76 and 123 us on the 2-core development
// VM; a polling reader: 5-15 us throughout). A GPU model that runs for
// 1.7 ms and three threads on the path that sleep across it add up to a
// tenth of the model's time.
#pragma once

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <span>
#include <thread>

namespace vaccel::transport
{

// How long to poll, learnt from how long the earlier waits were. A client
// that calls again and again waits about as long each time; polling a
// little longer than that means none of its waits ends in a wake-up. When
// the waits are longer than the most we may poll, polling would only burn
// CPU for nothing: the short floor is kept.
//
// Pure arithmetic over a smoothed wait kept by the caller (an atomic, a
// member under a lock).
class SpinPolicy
{
public:
	// @p max: the most one wait polls (0: never); @p floor: what it polls
	// when the waits are unknown or too long (at most @p max).
	constexpr SpinPolicy(std::chrono::nanoseconds max,
			     std::chrono::nanoseconds floor)
	    : max_(max), floor_(std::min(floor, max))
	{
	}

	// How long to poll now, given the smoothed wait @p avg (ns).
	[[nodiscard]] constexpr std::chrono::nanoseconds
	budget(int64_t avg) const
	{
		if (max_.count() <= 0)
			return std::chrono::nanoseconds{0};
		if (avg > max_.count())
			return floor_;
		return std::clamp(std::chrono::nanoseconds{2 * avg}, floor_,
				  max_);
	}

	// For a wait on a descriptor, which can sleep with a timeout and
	// still wake when the event comes early. Waits of up to half the
	// maximum are polled from the start (budget()). Longer ones, up to
	// three times the maximum, sleep until half the maximum before the
	// usual arrival and then poll for the maximum, so that the polling
	// window is centred on it: a GPU model that runs about as long as
	// the maximum, or a little longer, then still finds its caller and
	// the agent polling, whichever side of the maximum its runs fall.
	// Longer waits: the floor only (an idle peer).
	struct Plan {
		std::chrono::nanoseconds sleep{0}, poll{0};

		// The part of the plan that fits in @p left (a deadline's).
		[[nodiscard]] constexpr Plan
		within(std::chrono::nanoseconds left) const
		{
			left = std::max(left, std::chrono::nanoseconds{0});
			const auto s = std::min(sleep, left);
			return {s, std::min(poll, left - s)};
		}
	};
	[[nodiscard]] constexpr Plan plan(int64_t avg) const
	{
		const int64_t max = max_.count();
		if (max <= 0)
			return {};
		if (avg <= max / 2 || avg > 3 * max)
			return {std::chrono::nanoseconds{0}, budget(avg)};
		return {std::chrono::nanoseconds{avg - max / 2}, max_};
	}

	// The smoothed wait after one more wait @p wait (ns) following
	// @p avg. Long waits count as four times the maximum, so that one
	// pause in a busy stream does not stop the polling at once, yet a
	// few do.
	[[nodiscard]] constexpr int64_t update(int64_t avg, int64_t wait) const
	{
		const int64_t cap = 4 * max_.count();
		wait = std::clamp<int64_t>(wait, 0, cap);
		return avg + (wait - avg) / 8;
	}

	[[nodiscard]] constexpr std::chrono::nanoseconds max() const
	{
		return max_;
	}

private:
	std::chrono::nanoseconds max_;
	std::chrono::nanoseconds floor_;
};

// One pause of a polling loop (the CPU's spin-wait hint).
inline void cpu_relax() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	asm volatile("yield");
#endif
}

// How often a polling loop gives its core away (sched_yield): where there
// are fewer cores than busy threads, the thread that will produce what we
// wait for may need this one.
inline constexpr std::chrono::microseconds kSpinYieldEvery{20};

// Polls @p fds without blocking (poll(2) with a zero timeout) until one has
// an event or @p budget has passed, and before each poll asks @p done
// (true: stop polling, return 0). Returns what poll returned last: > 0
// with revents set, 0 when the budget ran out, < 0 on an error (errno
// set; EINTR is retried).
template <class Done>
int spin_poll_or(std::span<pollfd> fds, std::chrono::nanoseconds budget,
		 Done &&done)
{
	using SteadyClock = std::chrono::steady_clock;
	const auto start = SteadyClock::now();
	const auto until = start + budget;
	auto next_yield = start + kSpinYieldEvery;
	for (;;) {
		if (done())
			return 0;
		for (auto &p : fds)
			p.revents = 0;
		const int n = ::poll(fds.data(), fds.size(), 0);
		if (n != 0 && !(n < 0 && errno == EINTR))
			return n;
		const auto now = SteadyClock::now();
		if (now >= until)
			return 0;
		if (now >= next_yield) {
			std::this_thread::yield();
			next_yield = now + kSpinYieldEvery;
		} else {
			cpu_relax();
		}
	}
}

// spin_poll_or() with nothing else to watch.
inline int spin_poll(std::span<pollfd> fds, std::chrono::nanoseconds budget)
{
	return spin_poll_or(fds, budget, [] { return false; });
}

// Waits for @p fds as @p plan says: sleeps (ppoll with a timeout) for
// plan.sleep, then polls for plan.poll. Returns as spin_poll(): > 0 as soon
// as an event comes, whichever part it comes in; 0 when the plan ran out.
int plan_poll(std::span<pollfd> fds, SpinPolicy::Plan plan);

} // namespace vaccel::transport
