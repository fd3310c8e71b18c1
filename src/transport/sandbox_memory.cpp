// SPDX-License-Identifier: Apache-2.0
#include "sandbox_memory.h"

#include <cstring>
#include <string_view>

namespace vaccel::transport
{

namespace
{

constexpr std::string_view kMagic = "VACCELSM";
constexpr size_t kVersionAt = 8, kHeaderAt = 12, kSizeAt = 16, kTokenAt = 24;

void put_le(uint8_t *p, uint64_t v, size_t bytes) noexcept
{
	for (size_t i = 0; i < bytes; ++i)
		p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_le(const uint8_t *p, size_t bytes) noexcept
{
	uint64_t v = 0;
	for (size_t i = 0; i < bytes; ++i)
		v |= uint64_t{p[i]} << (8 * i);
	return v;
}

} // namespace

void write_sandbox_header(std::span<uint8_t> memory, const SandboxHeader &h)
{
	uint8_t *p = memory.data();
	std::memset(p, 0, kSandboxHeaderSize);
	std::memcpy(p, kMagic.data(), kMagic.size());
	put_le(p + kVersionAt, kSandboxVersion, 4);
	put_le(p + kHeaderAt, kSandboxHeaderSize, 4);
	put_le(p + kSizeAt, h.size, 8);
	std::memcpy(p + kTokenAt, h.token.data(), h.token.size());
}

std::optional<SandboxHeader>
read_sandbox_header(std::span<const uint8_t> memory)
{
	if (memory.size() < kSandboxMinSize)
		return std::nullopt;
	// One copy, then checks on the copy: the guest may write the memory
	// while it is read.
	uint8_t h[kTokenAt + kSandboxTokenSize];
	std::memcpy(h, memory.data(), sizeof(h));
	if (std::memcmp(h, kMagic.data(), kMagic.size()) != 0 ||
	    get_le(h + kVersionAt, 4) != kSandboxVersion ||
	    get_le(h + kHeaderAt, 4) != kSandboxHeaderSize ||
	    get_le(h + kSizeAt, 8) != memory.size())
		return std::nullopt;
	SandboxHeader out;
	out.size = memory.size();
	std::memcpy(out.token.data(), h + kTokenAt, out.token.size());
	return out;
}

} // namespace vaccel::transport
