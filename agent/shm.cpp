// SPDX-License-Identifier: Apache-2.0
#include "shm.h"

#include "transport/reply_slot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace vaccel::agent
{

ShmRegion::~ShmRegion()
{
	if (pinning_.joinable())
		pinning_.join();
	if (pin_.load() == Pin::Pinned)
		pinner_->unpin(base_);
	if (base_ != nullptr && size_ > 0)
		::munmap(base_, size_);
}

void ShmRegion::pin_now() noexcept
{
	Pin p = Pin::Untried; // NotNow: asked again next time
	switch (pinner_->pin(base_, size_)) {
	case HostMemoryPinner::Result::Pinned:
		p = Pin::Pinned;
		break;
	case HostMemoryPinner::Result::Refused:
		p = Pin::Refused;
		break;
	case HostMemoryPinner::Result::NotNow:
		break;
	}
	pin_.store(p, std::memory_order_release);
}

bool ShmRegion::prepare_for_devices(uint64_t bytes) noexcept
{
	Pin p = pin_.load(std::memory_order_acquire);
	if (p != Pin::Untried)
		return p == Pin::Pinned;
	if (bytes < kPinMinBytes || pinner_ == nullptr ||
	    !pinner_->cuda_in_use())
		return false;
	p = Pin::Untried;
	pin_.compare_exchange_strong(p, Pin::Wanted);
	return false;
}

void ShmRegion::pin_after_op() noexcept
{
	Pin p = Pin::Wanted;
	if (!pin_.compare_exchange_strong(p, Pin::Pinning))
		return;
	std::lock_guard lock(pin_mu_);
	if (pinning_.joinable())
		pinning_.join(); // an earlier try that found CUDA not ready
	try {
		pinning_ =
		    ThreadCache::connections().run([this] { pin_now(); });
	} catch (...) {
		pin_now(); // no thread to be had: here
	}
}

RpcStatus RegionTable::map(uint32_t id, transport::UniqueFd fd, uint64_t size,
			   bool client_memory)
{
	if (id == 0)
		return RpcStatus::invalid("region 0 is reserved (inline args)");
	if (!fd.valid())
		return RpcStatus::invalid(
		    "MapRegion %u: no descriptor came with the request (shared "
		    "memory needs a unix socket)",
		    id);
	if (size == 0 || size > limits_.max_bytes)
		return RpcStatus::invalid(
		    "MapRegion %u: size %llu is out of "
		    "range",
		    id, static_cast<unsigned long long>(size));
	struct stat st {
	};
	if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
		return RpcStatus::invalid("MapRegion %u: not a memory file",
					  id);
	const int seals = ::fcntl(fd.get(), F_GET_SEALS);
	if (seals < 0 || (seals & F_SEAL_SHRINK) == 0)
		return RpcStatus::invalid(
		    "MapRegion %u: the file must be sealed with F_SEAL_SHRINK",
		    id);
	if (static_cast<uint64_t>(st.st_size) < size)
		return RpcStatus::invalid(
		    "MapRegion %u: file has %lld bytes, %llu announced", id,
		    static_cast<long long>(st.st_size),
		    static_cast<unsigned long long>(size));

	std::lock_guard lock(mu_);
	if (regions_.contains(id))
		return RpcStatus::invalid("MapRegion %u: already mapped", id);
	if (regions_.size() >= limits_.max_regions ||
	    size > limits_.max_bytes - bytes_)
		return RpcStatus::exhausted(
		    "MapRegion %u: at most %zu regions / %llu bytes per "
		    "connection",
		    id, limits_.max_regions,
		    static_cast<unsigned long long>(limits_.max_bytes));
	void *base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			    fd.get(), 0);
	if (base == MAP_FAILED)
		return RpcStatus::invalid("MapRegion %u: mmap: %s", id,
					  std::strerror(errno));
	regions_.emplace(id, std::make_shared<ShmRegion>(base, size, pinner_,
							 client_memory));
	bytes_ += size;
	count(1);
	return RpcStatus::ok();
}

RpcStatus RegionTable::attach(uint32_t id, std::shared_ptr<ShmRegion> region)
{
	if (id == 0)
		return RpcStatus::invalid("region 0 is reserved (inline args)");
	std::lock_guard lock(mu_);
	if (auto it = regions_.find(id); it != regions_.end()) {
		if (it->second == region)
			return RpcStatus::ok();
		return RpcStatus::invalid("region %u is already mapped", id);
	}
	const size_t size = region->size();
	if (regions_.size() >= limits_.max_regions ||
	    size > limits_.max_bytes - bytes_)
		return RpcStatus::exhausted(
		    "region %u: at most %zu regions / %llu bytes per "
		    "connection",
		    id, limits_.max_regions,
		    static_cast<unsigned long long>(limits_.max_bytes));
	regions_.emplace(id, std::move(region));
	bytes_ += size;
	count(1);
	return RpcStatus::ok();
}

RpcStatus RegionTable::unmap(uint32_t id)
{
	std::lock_guard lock(mu_);
	auto it = regions_.find(id);
	if (it == regions_.end())
		return RpcStatus::not_found("region %u is not mapped", id);
	bytes_ -= it->second->size();
	regions_.erase(it);
	count(-1);
	if (id == slots_id_) {
		slots_id_ = 0;
		slots_ = {};
		slots_version_.fetch_add(1, std::memory_order_release);
	}
	return RpcStatus::ok();
}

RpcStatus RegionTable::set_slots(uint32_t id, uint64_t slot_size,
				 uint64_t max_slot)
{
	std::lock_guard lock(mu_);
	auto it = regions_.find(id);
	if (it == regions_.end())
		return RpcStatus::not_found("region %u is not mapped", id);
	const size_t size = it->second->size();
	if (slot_size <= transport::kReplySlotHeader ||
	    slot_size % transport::kReplySlotHeader != 0 ||
	    slot_size > max_slot || slot_size > size || size % slot_size != 0 ||
	    size / slot_size > transport::kMaxRequestSlots)
		return RpcStatus::invalid(
		    "MapRegion %u: slot size %llu does not divide %zu bytes "
		    "into 1..%zu slots of a multiple of %zu bytes, each at "
		    "most %llu",
		    id, static_cast<unsigned long long>(slot_size), size,
		    transport::kMaxRequestSlots, transport::kReplySlotHeader,
		    static_cast<unsigned long long>(max_slot));
	slots_id_ = id;
	slots_ = {it->second, static_cast<size_t>(slot_size),
		  size / static_cast<size_t>(slot_size)};
	slots_version_.fetch_add(1, std::memory_order_release);
	return RpcStatus::ok();
}

RegionTable::Slots RegionTable::slots()
{
	std::lock_guard lock(mu_);
	return slots_;
}

RpcStatus RegionTable::find(uint32_t id, std::shared_ptr<ShmRegion> *out)
{
	std::lock_guard lock(mu_);
	auto it = regions_.find(id);
	if (it == regions_.end())
		return RpcStatus::not_found(
		    "region %u is not mapped on this connection", id);
	*out = it->second;
	return RpcStatus::ok();
}

void RegionTable::clear()
{
	std::lock_guard lock(mu_);
	count(-static_cast<int64_t>(regions_.size()));
	regions_.clear();
	bytes_ = 0;
	slots_id_ = 0;
	slots_ = {};
	slots_version_.fetch_add(1, std::memory_order_release);
}

size_t RegionTable::size()
{
	std::lock_guard lock(mu_);
	return regions_.size();
}

} // namespace vaccel::agent
