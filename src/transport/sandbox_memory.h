// SPDX-License-Identifier: Apache-2.0
// Sandbox memory: one memory file per VM, created by its launcher
// (vaccel-vm), mapped by the VMM as the guest's ivshmem device and by the
// agent that serves the VM (docs/protocol.md, "Sandbox memory").
//
// Why: inside a VM descriptors cannot be passed, so the memfd regions of
// the local shared-memory plane are out of reach; a device whose memory the
// host maps too lets tensors and op buffers travel by offset instead of
// being copied through the serial or vsock channel.
//
// The agent writes a header at offset 0 when it takes the file over;
// everything after kSandboxHeaderSize is the guest's to allocate from:
//   +0   magic    "VACCELSM"
//   +8   version  1 (little-endian 32 bits)
//   +12  header   bytes of the header (kSandboxHeaderSize)
//   +16  size     bytes of the whole memory (little-endian 64 bits)
//   +24  token    kSandboxTokenSize random bytes
// The guest proves that it maps this very memory by sending the token back
// (AgentData/MapSandboxMemory); the agent keeps its own copy, since the
// guest can write the header like any other byte of the memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace vaccel::transport
{

inline constexpr size_t kSandboxHeaderSize = 4096;
inline constexpr size_t kSandboxTokenSize = 16;
inline constexpr uint32_t kSandboxVersion = 1;
// The smallest memory worth having: the header and one more page.
inline constexpr uint64_t kSandboxMinSize = 2 * kSandboxHeaderSize;
// The client's name for the sandbox memory on its connection: the same in
// every guest process, so that successive processes sharing one
// virtio-serial connection name it alike, and far above the numbers the
// client gives its memfd regions.
inline constexpr uint32_t kSandboxRegion = 0xffffff00U;

using SandboxToken = std::array<uint8_t, kSandboxTokenSize>;

struct SandboxHeader {
	uint64_t size = 0; // of the whole memory
	SandboxToken token{};
};

// Writes the header into the first kSandboxHeaderSize bytes of @p memory
// (which must hold them; the rest of the header page is cleared).
void write_sandbox_header(std::span<uint8_t> memory, const SandboxHeader &h);
// Reads the header of @p memory; nothing when it is not one of ours, of
// another version, or claims a size other than the memory's.
std::optional<SandboxHeader>
read_sandbox_header(std::span<const uint8_t> memory);

} // namespace vaccel::transport
