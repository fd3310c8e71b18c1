// SPDX-License-Identifier: Apache-2.0
// A session's profiling regions, as upstream's GetProfiler returns them
// (rpc/profiling.proto): for each kind of vAccel op the agent ran for the
// session, one sample per call, its start and its duration (nanoseconds of
// the agent host's CLOCK_MONOTONIC_RAW, the clock of vaccel_prof_*, so that
// a client on the same host can line them up with its own regions). Upstream's
// client fetches them before it destroys a session and prints them with its own
// regions.
//
// Recorded only while the agent's runtime has profiling enabled
// (--vaccel-config profiling_enabled=true, or VACCEL_PROFILING_ENABLED=1),
// as upstream's agent does, and bounded: each region keeps its latest
// kMaxSamples samples, so that a long-lived session costs the agent a
// fixed amount of memory whatever it runs.
#pragma once

#include "rpc/profiling.pb.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace vaccel::agent
{

class SessionProfile
{
public:
	static constexpr size_t kMaxSamples = 1024; // per region
	// Regions are named "[vaccel-agent] <op>", upstream's way
	// ("[component] region").
	static constexpr std::string_view kComponent = "vaccel-agent";

	// The clock of the samples, in nanoseconds.
	static uint64_t now_ns() noexcept;
	// Adds one call of @p op (a fixed name: "genop", "torch_model_run").
	// Without memory the sample is dropped.
	void add(std::string_view op, uint64_t start_ns,
		 uint64_t time_ns) noexcept;
	// Fills @p out: component name and every region's samples, oldest
	// first.
	void to_proto(rpc::profiling::Profiler *out) const;

private:
	struct Region {
		std::vector<rpc::profiling::Sample> ring; // up to kMaxSamples
		size_t next = 0; // where the next sample goes once full
	};

	mutable std::mutex mu_;
	std::map<std::string, Region, std::less<>> regions_;
};

} // namespace vaccel::agent
