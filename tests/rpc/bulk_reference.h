// SPDX-License-Identifier: Apache-2.0
// Test data for the bulk fixture (fixtures/bulk.c), shared by the rpc tests
// that move large buffers: random bytes, and what bulk_transform makes of
// them, computed here independently of the fixture.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace rpc_test
{

// @p n random bytes at @p p, the same for the same @p seed.
inline void fill_random(void *p, size_t n, uint32_t seed)
{
	std::mt19937 rng(seed);
	auto *b = static_cast<uint8_t *>(p);
	for (size_t i = 0; i < n; ++i)
		b[i] = static_cast<uint8_t>(rng());
}

// What bulk_transform writes for @p in.
inline std::vector<uint8_t> transformed(const uint8_t *in, size_t n)
{
	std::vector<uint8_t> out(n);
	for (size_t i = 0; i < n; ++i)
		out[i] = static_cast<uint8_t>(in[i] * 31u + 7u);
	return out;
}

} // namespace rpc_test
