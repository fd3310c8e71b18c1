// SPDX-License-Identifier: Apache-2.0
#include "placement.h"

#include <utility>

namespace vaccel::rpc_plugin
{

size_t Placement::pick(std::span<const Candidate> c) noexcept
{
	const uint64_t turn = turn_.fetch_add(1, std::memory_order_relaxed);
	if (policy_ == PlacementPolicy::RoundRobin)
		return static_cast<size_t>(turn % c.size());
	auto key = [&](size_t i) {
		return std::pair(c[i].outstanding + c[i].reported,
				 c[i].sessions);
	};
	auto best = key(0);
	size_t tied = 0;
	for (size_t i = 0; i < c.size(); ++i) {
		if (key(i) < best) {
			best = key(i);
			tied = 0;
		}
		tied += key(i) == best ? 1 : 0;
	}
	// Equal agents take turns.
	size_t nth = static_cast<size_t>(turn % tied);
	for (size_t i = 0; i < c.size(); ++i)
		if (key(i) == best && nth-- == 0)
			return i;
	return 0;
}

} // namespace vaccel::rpc_plugin
