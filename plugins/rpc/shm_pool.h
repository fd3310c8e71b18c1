// SPDX-License-Identifier: Apache-2.0
// The shared-memory data plane of one connection (docs/protocol.md, "Large
// data"): memfd regions mapped here and in the agent (pooled for reuse),
// the blocks of vAccel's shared tensor memory mapped as regions, and the
// reply slots (transport/reply_slot.h) in a region of their own. On a
// connection that mapped the VM's sandbox memory, the regions it leases
// are pieces of that memory instead (it is the only memory both sides
// see).
#pragma once

#include "base/status.h"

#include "transport/reply_slot.h"
#include "transport/spin.h"
#include "transport/transport.h"

#include "rpc/ext.pb.h"

#include <sys/mman.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace vaccel::rpc_plugin
{

using base::Result;
using base::Status;

class Connection;

// A memfd mapped here and in the agent (AgentData/MapRegion), or a piece
// of the sandbox memory (vaccel_buffer_alloc() there) at @p offset of its
// region.
struct ShmBuffer {
	uint32_t id = 0;
	uint8_t *base = nullptr;
	size_t size = 0;
	uint64_t offset = 0; // of base in region id
	bool piece = false;  // of the sandbox memory: freed, not unmapped
	transport::UniqueFd fd;

	ShmBuffer() = default;
	ShmBuffer(const ShmBuffer &) = delete;
	ShmBuffer &operator=(const ShmBuffer &) = delete;
	~ShmBuffer();
};

// The slot region: kReplySlots slots of kReplySlotSize bytes, one region
// (1 MiB, the pool's granule) mapped once per connection.
inline constexpr uint32_t kReplySlots = 16;
inline constexpr size_t kReplySlotSize = size_t{64} << 10;

// One reply slot of a connection's slot region, held by one call at a time.
struct SlotLease {
	uint32_t index = 0;
	uint32_t region = 0;
	uint64_t offset = 0;
	transport::ReplySlot slot;
	// The slot region's base: its reader_polling word, when requests may
	// be posted in the slot (feature request-slots); else null.
	uint8_t *requests = nullptr;
	// How the call waits for its reply (set when it is sent).
	transport::SpinPolicy::Plan plan;

	// Where the slot is, as the request's metadata names it.
	[[nodiscard]] std::string where() const
	{
		return transport::format_reply_slot(region, offset,
						    kReplySlotSize);
	}
};

class ShmPool
{
public:
	// Regions are mapped on the agent by calls on @p conn, which owns
	// this pool.
	explicit ShmPool(Connection &conn);
	ShmPool(const ShmPool &) = delete;
	ShmPool &operator=(const ShmPool &) = delete;
	~ShmPool();

	// @p slot_size: a fresh region mapped as request slots of that size
	// (MapRegion.slot_size); 0: any region, reused when one is idle.
	Result<std::shared_ptr<ShmBuffer>> take_region(size_t size,
						       transport::Deadline dl,
						       uint64_t slot_size = 0);
	void give_back(std::shared_ptr<ShmBuffer> buf);

	// The region naming block @p block (of @p size bytes, memfd @p fd)
	// of vAccel's shared memory (tensors, vaccel_buffer_alloc()); mapped
	// on the agent the first time, as client memory (the descriptor is
	// passed, not kept). A block the agent refused stays refused on this
	// connection (VACCEL_EBUSY).
	Result<uint32_t> arena_region(uint64_t block, int fd, size_t size,
				      transport::Deadline dl);

	// A free reply slot, mapping the slot region on the agent the first
	// time (as request slots too with @p requests); none when mapping it
	// failed or all are in use.
	std::optional<SlotLease> take_reply_slot(transport::Deadline dl,
						 bool requests);
	// Mappings sent along with the connection's Hello
	// (Link::open_early()), so that the first calls find them made
	// instead of waiting for their round trips. The slot region, guessing
	// that the agent offers slots (as @p requests: request slots too):
	void post_slot_region(bool requests, transport::Deadline dl);
	// And the first block of vAccel's shared memory, where the first
	// tensors go (arena_region()).
	void post_arena_block(uint64_t block, int fd, size_t size,
			      transport::Deadline dl);
	// Reads their answers once the Hello's is in. The region posted
	// becomes the slot region when the agent mapped it and the
	// connection uses slots (@p slots) as was guessed (@p requests); else
	// it is dropped, and a wrong guess cost nothing but the mapping.
	void settle_posted(transport::Deadline dl, bool slots, bool requests);
	void give_back_slot(uint32_t index);
	// Never used again (the agent may still write to it).
	void retire_slot(uint32_t index);

private:
	// A MapRegion sent ahead, until settle_posted() reads its answer.
	struct Posted;

	// The smallest idle region of at least @p size bytes, or null.
	std::shared_ptr<ShmBuffer> idle_region(size_t size);
	// A piece of the sandbox memory of @p size bytes.
	Result<std::shared_ptr<ShmBuffer>> sandbox_piece(size_t size);
	// A sealed memfd of @p size bytes rounded up, mapped here only.
	Result<std::shared_ptr<ShmBuffer>> new_region(size_t size);
	// @p region becomes the slot region, all its slots free (mu_ held).
	void use_slot_region(std::shared_ptr<ShmBuffer> region);
	// Call with mu_ held.
	std::optional<SlotLease> lease_slot(bool requests);
	uint32_t next_region();
	// Asks the agent to let go of region @p id.
	void unmap_on_agent(uint32_t id, transport::Deadline dl);
	// Posts @p req with @p fd, to be settled as @p what; whether it went.
	// Called with map_mu_ held.
	bool post_map(const rpc::ext::MapRegion &req, int fd,
		      transport::Deadline dl, Posted what);

	Connection &conn_;
	std::mutex mu_; // guards everything below
	std::vector<std::shared_ptr<ShmBuffer>> idle_;
	uint32_t next_region_ = 1;
	std::unordered_map<uint64_t, uint32_t>
	    arena_regions_; // block -> id, 0: refused
	// Reply slots: the region (mapped once), which slots are free, and
	// whether mapping it failed (then no call uses slots).
	std::shared_ptr<ShmBuffer> slot_region_;
	uint32_t free_slots_ = 0;
	bool slots_failed_ = false;
	// Requests posted ahead, until settle_posted() (guarded by map_mu_).
	std::vector<Posted> posted_;
	// Held while a block or the slot region is being mapped, so that it
	// is mapped once.
	std::mutex map_mu_;
};

} // namespace vaccel::rpc_plugin
