// SPDX-License-Identifier: Apache-2.0
// The sandbox memory's header (transport/sandbox_memory.h): what the agent
// writes is what the guest reads back, and anything else, including a
// header the guest changed, is not taken for one.
#include "transport/sandbox_memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace
{

namespace tr = vaccel::transport;

tr::SandboxHeader header(size_t size)
{
	tr::SandboxHeader h;
	h.size = size;
	for (size_t i = 0; i < h.token.size(); ++i)
		h.token[i] = static_cast<uint8_t>(i * 37 + 1);
	return h;
}

TEST(SandboxMemory, HeaderRoundTrips)
{
	std::vector<uint8_t> memory(64 * 1024, 0xee);
	tr::write_sandbox_header(memory, header(memory.size()));
	// The header's page is cleared; the rest is the guest's.
	EXPECT_EQ(memory[tr::kSandboxHeaderSize - 1], 0);
	EXPECT_EQ(memory[tr::kSandboxHeaderSize], 0xee);
	EXPECT_EQ(std::memcmp(memory.data(), "VACCELSM", 8), 0);
	auto got = tr::read_sandbox_header(memory);
	ASSERT_TRUE(got);
	EXPECT_EQ(got->size, memory.size());
	EXPECT_EQ(got->token, header(memory.size()).token);
}

TEST(SandboxMemory, AnythingElseIsNoHeader)
{
	std::vector<uint8_t> memory(64 * 1024, 0);
	EXPECT_FALSE(tr::read_sandbox_header(memory)) << "zeros";
	tr::write_sandbox_header(memory, header(memory.size()));
	// Each field spoilt in turn: magic, version, header size, size.
	for (size_t at : {size_t{0}, size_t{8}, size_t{12}, size_t{16}}) {
		auto copy = memory;
		copy[at] ^= 1;
		EXPECT_FALSE(tr::read_sandbox_header(copy)) << "byte " << at;
	}
	// A header that claims another size than the memory it is in.
	tr::write_sandbox_header(memory, header(memory.size() * 2));
	EXPECT_FALSE(tr::read_sandbox_header(memory));
	// Too small to hold a header and a page.
	std::vector<uint8_t> tiny(tr::kSandboxMinSize - 1, 0);
	EXPECT_FALSE(tr::read_sandbox_header(tiny));
}

} // namespace
