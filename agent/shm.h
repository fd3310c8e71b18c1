// SPDX-License-Identifier: Apache-2.0
// The agent's half of the shared-memory data plane: memfd regions a local
// client mapped into this process (AgentData/MapRegion), by the client's
// region number, per connection.
//
// Why the checks: the memory is the client's. A client that shrank its
// memfd under us would turn our next access into SIGBUS and kill the agent,
// so a region is accepted only if the file is sealed against shrinking
// (F_SEAL_SHRINK) and already as large as announced; offsets and sizes of
// every argument are range-checked against the mapping. The bytes may
// still change while an op runs (the client can write them at any time),
// which is why the plane is offered only to peers on unix sockets, that is
// processes of the same host (docs/protocol.md, "Shared memory").
#pragma once

#include "host_pin.h"
#include "rpc_status.h"
#include "thread_cache.h"

#include "transport/transport.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace vaccel::agent
{

class ShmRegion
{
public:
	// @p pinner (may be NULL): page-locks the region on request.
	// @p client_memory: the client said its program keeps its data
	// there (MapRegion.client_memory), for counting only.
	ShmRegion(void *base, size_t size, HostMemoryPinner *pinner = nullptr,
		  bool client_memory = false) noexcept
	    : base_(base), size_(size), pinner_(pinner),
	      client_memory_(client_memory)
	{
	}
	ShmRegion(const ShmRegion &) = delete;
	ShmRegion &operator=(const ShmRegion &) = delete;
	~ShmRegion();

	[[nodiscard]] uint8_t *data() const noexcept
	{
		return static_cast<uint8_t *>(base_);
	}
	[[nodiscard]] size_t size() const noexcept { return size_; }
	// Arguments here are used where the client's program keeps them,
	// not copies it staged (never trusted for anything but counting).
	[[nodiscard]] bool client_memory() const noexcept
	{
		return client_memory_;
	}
	// [offset, offset + len) lies inside the region.
	[[nodiscard]] bool contains(uint64_t offset,
				    uint64_t len) const noexcept
	{
		return offset <= size_ && len <= size_ - offset;
	}

	// Before an op that may copy @p bytes from the region to a GPU: true
	// when the region is page-locked (host_pin.h). The first time such a
	// copy is at least kPinMinBytes, if this agent pins and CUDA is in
	// use, asks for the region to be locked once the op is done
	// (pin_after_op()). Locking takes milliseconds and the driver's lock,
	// which holds up every CUDA call meanwhile: the op that follows, a
	// client's next call, waits for it (on an H100, a new connection's
	// second ResNet-18 run took 7.5-8.3 ms instead of 1.4). Below the
	// threshold the driver's staging copy costs less than that, so
	// regions that only carry small tensors are never locked. While CUDA
	// is not in use yet, the pinner rate-limits the asking.
	bool prepare_for_devices(uint64_t bytes) noexcept;
	static constexpr uint64_t kPinMinBytes = uint64_t{1} << 20;
	// After the op: starts locking the region on a thread of its own if
	// prepare_for_devices() asked for it.
	void pin_after_op() noexcept;

private:
	enum class Pin : uint8_t { Untried, Wanted, Pinning, Pinned, Refused };

	// Page-locks the region now and records how that went.
	void pin_now() noexcept;

	void *base_;
	size_t size_;
	HostMemoryPinner *pinner_;
	bool client_memory_;
	std::atomic<Pin> pin_{Pin::Untried};
	std::mutex pin_mu_;
	PooledThread pinning_; // guarded by pin_mu_; joined before unmapping
};

struct RegionLimits {
	size_t max_regions = 64;
	uint64_t max_bytes = uint64_t{64} << 30; // address space, not RAM
};

// A connection's regions. Thread-safe; a region stays mapped while a call
// holds it, even if the client unmaps it meanwhile.
class RegionTable
{
public:
	// @p counter (may be NULL) follows the number of regions mapped;
	// @p pinner (may be NULL) page-locks them for GPUs on request.
	explicit RegionTable(std::atomic<uint64_t> *counter = nullptr,
			     RegionLimits limits = {},
			     HostMemoryPinner *pinner = nullptr)
	    : limits_(limits), counter_(counter), pinner_(pinner)
	{
	}
	~RegionTable() { clear(); }
	RegionTable(const RegionTable &) = delete;
	RegionTable &operator=(const RegionTable &) = delete;

	// Validates and maps @p fd as region @p id of @p size bytes
	// (@p client_memory: see ShmRegion).
	RpcStatus map(uint32_t id, transport::UniqueFd fd, uint64_t size,
		      bool client_memory = false);
	// Names @p region, mapped elsewhere (a sandbox's memory,
	// sandbox_memory.h), as region @p id. Naming the same region under
	// the same id again is accepted.
	RpcStatus attach(uint32_t id, std::shared_ptr<ShmRegion> region);
	RpcStatus unmap(uint32_t id);
	// NOT_FOUND when @p id is not mapped.
	RpcStatus find(uint32_t id, std::shared_ptr<ShmRegion> *out);
	void clear();
	[[nodiscard]] size_t size();

	// Request slots (transport/reply_slot.h): region @p id is a row of
	// slots of @p slot_size bytes whose requests the connection's reader
	// watches. INVALID_ARGUMENT unless the size is a multiple of 64
	// above 64 and at most @p max_slot (a request in a slot is bounded
	// like a frame), and divides the region into 1..kMaxRequestSlots
	// slots; NOT_FOUND unless @p id is mapped.
	RpcStatus set_slots(uint32_t id, uint64_t slot_size, uint64_t max_slot);
	// The slot region, if any, and its slot size; a version that changes
	// whenever it does, so that a reader can keep its copy.
	struct Slots {
		std::shared_ptr<ShmRegion> region;
		size_t slot_size = 0;
		size_t count = 0;
	};
	[[nodiscard]] uint64_t slots_version() const noexcept
	{
		return slots_version_.load(std::memory_order_acquire);
	}
	Slots slots();

private:
	void count(int64_t delta) noexcept
	{
		if (counter_ != nullptr)
			counter_->fetch_add(static_cast<uint64_t>(delta));
	}

	const RegionLimits limits_;
	std::atomic<uint64_t> *counter_;
	HostMemoryPinner *pinner_;
	std::mutex mu_;
	std::unordered_map<uint32_t, std::shared_ptr<ShmRegion>> regions_;
	uint64_t bytes_ = 0;
	uint32_t slots_id_ = 0;
	Slots slots_;
	std::atomic<uint64_t> slots_version_{0};
};

} // namespace vaccel::agent
