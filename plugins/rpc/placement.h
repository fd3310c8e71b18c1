// SPDX-License-Identifier: Apache-2.0
// Which agent of the pool a new session goes to (VACCEL_RPC_PLACEMENT).
// Sessions then stay where they were placed: the agent holds their
// resources and loaded models.
//
// least-loaded (default): the agent with the fewest calls in flight, this
//   process's own calls to it plus the calls of others it last reported
//   (pool.h asks it). Ties go to the agent with fewer of this process's
//   sessions, then in turn, so that sessions made in a burst before any
//   call spread evenly.
// round-robin: each agent in turn, whatever its load (a baseline for the
//   benchmark, and for agents known to be alike).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace vaccel::rpc_plugin
{

enum class PlacementPolicy : uint8_t { LeastLoaded, RoundRobin };

// What placement knows of one usable agent.
struct Candidate {
	uint64_t outstanding = 0; // this process's calls in flight there
	uint64_t reported = 0;    // others' calls, as the agent last said
	uint64_t sessions = 0;    // this process's sessions there
};

class Placement
{
public:
	explicit Placement(PlacementPolicy policy) : policy_(policy) {}

	[[nodiscard]] PlacementPolicy policy() const noexcept
	{
		return policy_;
	}
	// The index into @p c (not empty) of the agent for a new session.
	size_t pick(std::span<const Candidate> c) noexcept;

private:
	const PlacementPolicy policy_;
	std::atomic<uint64_t> turn_{0};
};

} // namespace vaccel::rpc_plugin
