// SPDX-License-Identifier: Apache-2.0
// How long a tenant's calls of each kind take, so that a connection's reader
// can run a short one itself instead of handing it to a worker.
//
// Why: a hand-off to a worker costs a thread wake-up, tens of microseconds
// on a virtual machine, which is more than a noop or a small genop takes
// to run; and with many clients, twice the context switches per call. Long
// calls still go to the workers: they are what the pool's bound is for
// (backends hold devices), and GPU backends want the same worker thread
// call after call.
//
// A kind is a method, and for a genop its op: a noop and an sgemm are both
// Genop calls of very different lengths. What "short" means is learnt from
// calls that ran, never declared by the client, and per tenant, so that no
// tenant's calls change where another tenant's run (or how fast they
// answer). A kind never seen is not short. Each call moves the kind's
// average an eighth of the way: one call of more than eight times the
// limit makes its kind long at once, so a tenant that slips a long op in
// under a short kind holds its own reader for that one call and its next
// calls of the kind go to the workers.
#pragma once

#include "metrics.h"

#include "transport/codec.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace vaccel::agent
{

class CallTimes
{
public:
	static constexpr size_t kKinds = metrics::kMethods + metrics::kGenopOps;
	static constexpr size_t kNone = SIZE_MAX;

	CallTimes() noexcept
	{
		for (auto &a : avg_ns_)
			a.store(-1, std::memory_order_relaxed);
	}

	// The kind of request @p req: its method's, or for Genop and
	// GenopShm its op's when the op travels inline. kNone for a method
	// not served.
	static size_t
	kind_of(const transport::codec::RequestView &req) noexcept;

	// Whether calls of kind @p k lately took less than @p limit on
	// average (false for kNone, a kind never seen, or a zero limit).
	[[nodiscard]] bool
	is_short(size_t k, std::chrono::nanoseconds limit) const noexcept;

	// One call of kind @p k took @p took (kNone: ignored). @p ran false
	// (refused, expired, failed): it counts only when it took longer
	// than the kind's average, since a call that did not run its op says
	// nothing of how long the op takes (a tenant could otherwise make a
	// long kind look short with calls that fail at once), except that
	// it held its thread that long.
	void note(size_t k, std::chrono::nanoseconds took,
		  bool ran = true) noexcept;

private:
	// Smoothed duration in ns; -1: never seen. Updated without a lock:
	// a lost update among racing calls only delays the average.
	std::array<std::atomic<int64_t>, kKinds> avg_ns_;
};

} // namespace vaccel::agent
