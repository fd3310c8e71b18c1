// SPDX-License-Identifier: Apache-2.0
#include "shm_pool.h"

#include "client.h"
#include "connection.h"
#include "envelope.h"

#include "rpc/ext.pb.h"
#include "transport/sandbox_memory.h"

#include <vaccel/buffer.h>
#include <vaccel/ext.h>
#include <vaccel/log.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>

namespace vaccel::rpc_plugin
{

using transport::Clock;
using transport::Deadline;

namespace
{

constexpr size_t kRegionAlign = size_t{1} << 20; // 1 MiB
constexpr size_t kIdleRegions = 4;
// Idle pieces of the sandbox memory kept: the memory is small and shared
// with the program's own tensors and buffers, so only the last one is kept
// (a program that repeats a call reuses it without clearing it again).
constexpr size_t kIdlePieces = 1;

// What is left of @p dl, as a call timeout (0: none).
std::chrono::milliseconds time_left(Deadline dl)
{
	return dl ? std::chrono::ceil<std::chrono::milliseconds>(*dl -
								 Clock::now())
		  : std::chrono::milliseconds(0);
}

// The request that maps @p buf on the agent.
rpc::ext::MapRegion map_request(const ShmBuffer &buf, uint64_t slot_size)
{
	rpc::ext::MapRegion req;
	req.set_region(buf.id);
	req.set_size(buf.size);
	req.set_slot_size(slot_size);
	return req;
}

constexpr size_t kSlotRegionSize = kReplySlots * kReplySlotSize;

} // namespace

// A MapRegion sent ahead (post_slot_region(), post_arena_block()).
struct ShmPool::Posted {
	std::shared_ptr<ShmBuffer> slots; // the slot region; null: a block
	bool requests = false;            // slots that take requests too
	uint64_t block = 0;               // the arena block mapped
	Connection::Posted call{};
	uint32_t id = 0;
};

ShmPool::ShmPool(Connection &conn) : conn_(conn)
{
}

ShmPool::~ShmPool() = default;

ShmBuffer::~ShmBuffer()
{
	if (base == nullptr)
		return;
	if (piece)
		(void)vaccel_buffer_free(base);
	else
		::munmap(base, size);
}

uint32_t ShmPool::next_region()
{
	std::lock_guard lock(mu_);
	return next_region_++;
}

std::shared_ptr<ShmBuffer> ShmPool::idle_region(size_t size)
{
	std::lock_guard lock(mu_);
	auto best = idle_.end();
	for (auto it = idle_.begin(); it != idle_.end(); ++it)
		if ((*it)->size >= size &&
		    (best == idle_.end() || (*it)->size < (*best)->size))
			best = it;
	if (best == idle_.end())
		return nullptr;
	auto buf = std::move(*best);
	idle_.erase(best);
	return buf;
}

Result<std::shared_ptr<ShmBuffer>> ShmPool::new_region(size_t size)
{
	auto buf = std::make_shared<ShmBuffer>();
	buf->size = (size + kRegionAlign - 1) / kRegionAlign * kRegionAlign;
	buf->fd = transport::UniqueFd(
	    ::memfd_create("vaccel-rpc-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!buf->fd.valid())
		return Status::error(VACCEL_EIO, "memfd_create: %s",
				     std::strerror(errno));
	// Sealed so the agent can trust the size: it maps the file and a
	// shrink would make its accesses fault.
	if (::ftruncate(buf->fd.get(), static_cast<off_t>(buf->size)) != 0 ||
	    ::fcntl(buf->fd.get(), F_ADD_SEALS,
		    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		return Status::error(VACCEL_EIO, "sizing shared memory: %s",
				     std::strerror(errno));
	void *base = ::mmap(nullptr, buf->size, PROT_READ | PROT_WRITE,
			    MAP_SHARED, buf->fd.get(), 0);
	if (base == MAP_FAILED)
		return Status::error(VACCEL_EIO, "mmap: %s",
				     std::strerror(errno));
	buf->base = static_cast<uint8_t *>(base);
	return buf;
}

Result<std::shared_ptr<ShmBuffer>> ShmPool::sandbox_piece(size_t size)
{
	auto buf = std::make_shared<ShmBuffer>();
	void *p = nullptr;
	if (vaccel_buffer_alloc(size, &p) != VACCEL_OK)
		return Status::error(VACCEL_ENOMEM, "%zu bytes: out of memory",
				     size);
	buf->base = static_cast<uint8_t *>(p);
	buf->size = size;
	buf->piece = true;
	vaccel_shared_memory_place place{};
	place.struct_size = sizeof(place);
	// Beyond what the device holds, the buffer came from the heap.
	if (vaccel_shared_memory_find(p, size, &place) != VACCEL_OK ||
	    place.fd >= 0)
		return Status::error(VACCEL_EBUSY,
				     "the sandbox memory has no room for %zu "
				     "bytes",
				     size);
	buf->id = transport::kSandboxRegion;
	buf->offset = place.offset;
	return buf;
}

Result<std::shared_ptr<ShmBuffer>>
ShmPool::take_region(size_t size, Deadline dl, uint64_t slot_size)
{
	if (slot_size == 0)
		if (auto buf = idle_region(size))
			return buf;
	if (conn_.features().sandbox_shm)
		return sandbox_piece(size);
	auto made = new_region(size);
	if (!made)
		return made.status();
	std::shared_ptr<ShmBuffer> buf = std::move(made).value();
	buf->id = next_region();
	const int fd = buf->fd.get();
	VACCEL_RETURN_IF_ERROR(conn_.call(transport::kServiceData, "MapRegion",
					  map_request(*buf, slot_size), nullptr,
					  time_left(dl), std::span(&fd, 1)));
	// The agent has its own mapping now; ours stays for our side.
	buf->fd.reset();
	return buf;
}

void ShmPool::unmap_on_agent(uint32_t id, Deadline dl)
{
	rpc::ext::UnmapRegion req;
	req.set_region(id);
	if (conn_.alive())
		(void)conn_.call(transport::kServiceData, "UnmapRegion", req,
				 nullptr, time_left(dl));
}

void ShmPool::give_back(std::shared_ptr<ShmBuffer> buf)
{
	{
		std::lock_guard lock(mu_);
		if (idle_.size() < (buf->piece ? kIdlePieces : kIdleRegions)) {
			idle_.push_back(std::move(buf));
			return;
		}
	}
	if (buf->piece)
		return; // freed with the last reference: nothing to unmap
	// Pool full: tell the agent to let go, then unmap ours.
	unmap_on_agent(buf->id, transport::deadline_in(conn_.call_timeout()));
}

Result<uint32_t> ShmPool::arena_region(uint64_t block, int fd, size_t size,
				       Deadline dl)
{
	// 0: the agent refused the block once; it is not asked again on
	// this connection (each call would pay a round trip to be refused).
	const auto known = [&]() -> std::optional<uint32_t> {
		std::lock_guard lock(mu_);
		auto it = arena_regions_.find(block);
		if (it == arena_regions_.end())
			return std::nullopt;
		return it->second;
	};
	const auto named = [block](uint32_t id) -> Result<uint32_t> {
		if (id == 0)
			return Status::error(
			    VACCEL_EBUSY,
			    "shared block %llu could not be "
			    "mapped on this connection",
			    static_cast<unsigned long long>(block));
		return id;
	};
	if (auto id = known())
		return named(*id);
	std::lock_guard mapping(map_mu_);
	if (auto id = known())
		return named(*id);
	const uint32_t id = next_region();
	rpc::ext::MapRegion req;
	req.set_region(id);
	req.set_size(size);
	req.set_client_memory(true);
	Status st = conn_.call(transport::kServiceData, "MapRegion", req,
			       nullptr, time_left(dl), std::span(&fd, 1));
	// The agent's refusal is remembered; a transport failure or timeout
	// (VACCEL_EIO) is not: the next call asks again.
	if (!st && st.code() == VACCEL_EIO)
		return st;
	std::lock_guard lock(mu_);
	arena_regions_.emplace(block, st ? id : 0);
	if (!st)
		return st;
	return id;
}

std::optional<SlotLease> ShmPool::take_reply_slot(Deadline dl, bool requests)
{
	{
		std::lock_guard lock(mu_);
		if (slot_region_ || slots_failed_)
			return lease_slot(requests);
	}
	std::lock_guard mapping(map_mu_);
	{
		std::lock_guard lock(mu_);
		if (slot_region_ || slots_failed_)
			return lease_slot(requests);
	}
	static_assert(kReplySlots <= 32 && kSlotRegionSize <= kRegionAlign);
	auto buf =
	    take_region(kSlotRegionSize, dl, requests ? kReplySlotSize : 0);
	std::lock_guard lock(mu_);
	if (!buf) {
		vaccel_debug("[rpc] no reply slots: %s",
			     buf.status().message().c_str());
		slots_failed_ = true;
		return std::nullopt;
	}
	use_slot_region(std::move(buf).value());
	return lease_slot(requests);
}

void ShmPool::use_slot_region(std::shared_ptr<ShmBuffer> region)
{
	slot_region_ = std::move(region);
	free_slots_ = kReplySlots == 32 ? ~0U : (1U << kReplySlots) - 1;
}

bool ShmPool::post_map(const rpc::ext::MapRegion &req, int fd, Deadline dl,
		       Posted what)
{
	std::string frame;
	Status st =
	    encode(transport::kServiceData, "MapRegion",
		   req.SerializeAsString(), conn_.call_timeout(), &frame);
	if (st) {
		auto call = conn_.post(bytes_of(frame), dl, std::span(&fd, 1));
		if (call) {
			what.call = std::move(call).value();
			what.id = req.region();
			posted_.push_back(std::move(what));
			return true;
		}
		st = call.status();
	}
	vaccel_debug("[rpc] region %u not mapped ahead: %s", req.region(),
		     st.message().c_str());
	return false;
}

void ShmPool::post_slot_region(bool requests, Deadline dl)
{
	std::lock_guard mapping(map_mu_);
	if (slot_region_)
		return;
	auto made = new_region(kSlotRegionSize);
	if (!made) {
		vaccel_debug("[rpc] reply slots not mapped ahead: %s",
			     made.status().message().c_str());
		return;
	}
	std::shared_ptr<ShmBuffer> buf = std::move(made).value();
	buf->id = next_region();
	const auto req = map_request(*buf, requests ? kReplySlotSize : 0);
	if (post_map(req, buf->fd.get(), dl,
		     Posted{.slots = buf, .requests = requests, .block = 0}))
		buf->fd.reset(); // the agent has its own
}

void ShmPool::post_arena_block(uint64_t block, int fd, size_t size, Deadline dl)
{
	std::lock_guard mapping(map_mu_);
	rpc::ext::MapRegion req;
	req.set_region(next_region());
	req.set_size(size);
	req.set_client_memory(true);
	(void)post_map(
	    req, fd, dl,
	    Posted{.slots = nullptr, .requests = false, .block = block});
}

void ShmPool::settle_posted(Deadline dl, bool slots, bool requests)
{
	std::lock_guard mapping(map_mu_);
	for (Posted &p : std::exchange(posted_, {})) {
		auto bytes = conn_.collect(p.call, dl);
		Status st =
		    bytes ? decode(bytes.value().bytes(), nullptr, nullptr)
			  : bytes.status();
		std::lock_guard lock(mu_);
		if (p.slots && st && slots && p.requests == requests) {
			use_slot_region(std::move(p.slots));
		} else if (p.slots) {
			// Refused (the agent offers no slots after all), or
			// made for other slots than the connection uses: the
			// first call that polls maps a region as it would
			// have.
			vaccel_debug("[rpc] reply slots mapped ahead: %s; not "
				     "used",
				     st ? "not as the connection uses them"
					: st.message().c_str());
			if (st)
				unmap_on_agent(p.id, dl);
		} else if (st || st.code() != VACCEL_EIO) {
			// As arena_region() records it: a refusal stands.
			arena_regions_.emplace(p.block, st ? p.id : 0);
		}
	}
}

std::optional<SlotLease> ShmPool::lease_slot(bool requests)
{
	if (!slot_region_ || free_slots_ == 0)
		return std::nullopt;
	const auto i = static_cast<uint32_t>(std::countr_zero(free_slots_));
	free_slots_ &= ~(1U << i);
	SlotLease l;
	l.index = i;
	l.region = slot_region_->id;
	l.offset = uint64_t{i} * kReplySlotSize;
	l.slot =
	    transport::ReplySlot(slot_region_->base + l.offset, kReplySlotSize);
	if (requests)
		l.requests = slot_region_->base;
	return l;
}

void ShmPool::give_back_slot(uint32_t index)
{
	std::lock_guard lock(mu_);
	free_slots_ |= 1U << index;
}

void ShmPool::retire_slot(uint32_t index)
{
	std::lock_guard lock(mu_);
	free_slots_ &= ~(1U << index);
}

// ---- ShmLease (client.h) ----------------------------------------------------

ShmLease::ShmLease(std::shared_ptr<Connection> conn,
		   std::shared_ptr<ShmBuffer> buf)
    : conn_(std::move(conn)), buf_(std::move(buf))
{
}

ShmLease::~ShmLease()
{
	if (conn_ && buf_)
		conn_->shm().give_back(std::move(buf_));
}

uint32_t ShmLease::region() const noexcept
{
	return buf_ ? buf_->id : 0;
}
uint64_t ShmLease::offset() const noexcept
{
	return buf_ ? buf_->offset : 0;
}
uint8_t *ShmLease::data() const noexcept
{
	return buf_ ? buf_->base : nullptr;
}
size_t ShmLease::size() const noexcept
{
	return buf_ ? buf_->size : 0;
}

} // namespace vaccel::rpc_plugin
