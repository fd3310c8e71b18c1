// SPDX-License-Identifier: Apache-2.0
#include "host_arena.h"
#include "runtime.h"

#include <vaccel/error.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>

namespace vaccel::core
{

namespace
{

size_t round_up(size_t n, size_t to) noexcept
{
	return (n + to - 1) / to * to;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 // Linux 5.14; older kernels say EINVAL
#endif

// Gives fresh memory its pages now: the program writes a tensor right after
// allocating it, and one call that populates the range costs less than a
// fault per page. Bounded, since a large allocation may never be written
// whole; older kernels (EINVAL) simply fault as before. The range widens to
// whole pages (larger than kAlign on some kernels): blocks are mapped at a
// page boundary and span whole pages, so it stays inside the block.
bool populate(void *p, size_t size) noexcept
{
	constexpr size_t kMaxPopulate = size_t{64} << 20;
	static const auto page = static_cast<uintptr_t>(::getpagesize());
	const auto begin = reinterpret_cast<uintptr_t>(p) / page * page;
	const auto end = round_up(reinterpret_cast<uintptr_t>(p) +
				      std::min(size, kMaxPopulate),
				  page);
	return ::madvise(reinterpret_cast<void *>(begin), end - begin,
			 MADV_POPULATE_WRITE) == 0;
}

} // namespace

HostArena::~HostArena()
{
	// Only reached at process exit (the runtime is never destroyed);
	// still, leave nothing mapped behind in tests that make their own.
	for (auto &b : blocks_) {
		::munmap(b->base, b->size);
		::close(b->fd);
	}
}

int HostArena::adopt(void *base, size_t size, size_t offset,
		     size_t min_bytes) noexcept
{
	if (base == nullptr || offset >= size ||
	    reinterpret_cast<uintptr_t>(base) % kAlign != 0 ||
	    offset % kAlign != 0)
		return VACCEL_EINVAL;
	{
		std::lock_guard lock(mu_);
		if (adopted_ || !blocks_.empty())
			return VACCEL_EEXIST;
		auto b = std::make_unique<Block>();
		b->id = 1;
		b->base = static_cast<uint8_t *>(base);
		b->size = size;
		b->top = offset;
		b->device = true;
		blocks_.push_back(std::move(b));
		adopted_ = true;
	}
	enable(min_bytes);
	return VACCEL_OK;
}

void HostArena::enable(size_t min_bytes) noexcept
{
	// The runtime's arena is the only one that serves tensors; the
	// handlers find it through the runtime.
	if (this == &runtime().host_arena())
		std::call_once(fork_handlers_, [] {
			::pthread_atfork(
			    [] { runtime().host_arena().before_fork(); },
			    [] {
				    runtime()
					.host_arena()
					.after_fork_in_parent();
			    },
			    [] {
				    runtime()
					.host_arena()
					.after_fork_in_child();
			    });
		});
	if (min_bytes == 0)
		min_bytes = 1;
	size_t cur = min_bytes_.load();
	while ((cur == 0 || min_bytes < cur) &&
	       !min_bytes_.compare_exchange_weak(cur, min_bytes)) {
	}
}

void *HostArena::take(Block &b, size_t size, bool &fresh) noexcept
{
	fresh = false;
	for (auto it = b.free_.begin(); it != b.free_.end(); ++it) {
		if (it->second < size)
			continue;
		const size_t off = it->first;
		const size_t rest = it->second - size;
		b.free_.erase(it);
		if (rest > 0)
			b.free_.emplace(off + size, rest);
		b.in_use_.emplace(off, size);
		std::memset(b.base + off, 0, size); // reused: clear it
		return b.base + off;
	}
	if (b.size - b.top < size)
		return nullptr;
	const size_t off = b.top;
	b.top += size;
	b.in_use_.emplace(off, size);
	// A device mapping has no pages to populate; prewarm() gave the
	// range its pages already.
	fresh = !b.device && off + size > b.warm;
	return b.base + off; // never used: zero already
}

void *HostArena::allocate(size_t size) noexcept
{
	const size_t min = min_bytes_.load(std::memory_order_relaxed);
	if (min == 0 || size < min)
		return nullptr;
	return allocate_buffer(size);
}

void *HostArena::allocate_buffer(size_t size) noexcept
{
	if (!enabled() || size == 0 || size > (size_t{1} << 40))
		return nullptr;
	const size_t need = round_up(size, kAlign);
	bool fresh = false;
	void *p = take_any(need, fresh);
	// Outside the lock: the range is the caller's alone now. Memory that
	// was used before was cleared, which gave it its pages already.
	if (p != nullptr && fresh)
		(void)populate(p, need);
	return p;
}

void *HostArena::take_any(size_t need, bool &fresh) noexcept
{
	std::lock_guard lock(mu_);
	for (auto &b : blocks_)
		if (void *p = take(*b, need, fresh))
			return p;
	if (adopted_)
		return nullptr; // the device is full: the C heap serves
	Block *b = new_block(need);
	return b != nullptr ? take(*b, need, fresh) : nullptr;
}

HostArena::Block *HostArena::new_block(size_t need) noexcept
{
	auto b = std::make_unique<Block>();
	b->size = std::max(kMinBlock, round_up(need, size_t{2} << 20));
	b->fd =
	    ::memfd_create("vaccel-tensors", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (b->fd < 0)
		return nullptr;
	if (::ftruncate(b->fd, static_cast<off_t>(b->size)) != 0 ||
	    ::fcntl(b->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
		::close(b->fd);
		return nullptr;
	}
	void *base = ::mmap(nullptr, b->size, PROT_READ | PROT_WRITE,
			    MAP_SHARED, b->fd, 0);
	if (base == MAP_FAILED) {
		::close(b->fd);
		return nullptr;
	}
	b->base = static_cast<uint8_t *>(base);
	b->id = blocks_.size() + 1;
	blocks_.push_back(std::move(b));
	return blocks_.back().get();
}

HostArena::Block *HostArena::first_memfd_block(size_t need) noexcept
{
	if (adopted_)
		return nullptr;
	return blocks_.empty() ? new_block(need) : blocks_[0].get();
}

int HostArena::first_block(size_t bytes, Place &out) noexcept
{
	if (!enabled())
		return VACCEL_ENOTSUP;
	std::lock_guard lock(mu_);
	if (adopted_)
		return VACCEL_ENOTSUP;
	const Block *b = first_memfd_block(bytes);
	if (b == nullptr)
		return VACCEL_ENOMEM;
	out = Place{b->fd, b->id, b->size, 0};
	return VACCEL_OK;
}

int HostArena::prewarm(size_t bytes) noexcept
{
	constexpr size_t kMaxPrewarm = size_t{64} << 20;
	if (!enabled())
		return VACCEL_ENOTSUP;
	uint8_t *base = nullptr;
	{
		std::lock_guard lock(mu_);
		if (adopted_)
			return VACCEL_ENOTSUP;
		Block *b = first_memfd_block(bytes);
		if (b == nullptr)
			return VACCEL_ENOMEM;
		// As much as one allocation would populate at most.
		bytes =
		    round_up(std::min({bytes, b->size, kMaxPrewarm}), kAlign);
		if (bytes <= b->warm)
			return VACCEL_OK;
		base = b->base;
	}
	// Outside the lock: allocations go on meanwhile. One that takes this
	// range before the pages are here populates it itself, which is
	// harmless (both only allocate or map the same shared pages), and
	// the bytes stay zero: a shared page is zeroed once, when made. The
	// block stays (blocks are never unmapped), and a fork() meanwhile
	// gives the child new blocks (after_fork_in_child()).
	// In small steps: populating holds the process's mmap lock, which
	// the program's own threads need whenever they map memory.
	constexpr size_t kStep = size_t{64} << 10;
	for (size_t off = 0; off < bytes; off += kStep)
		if (!populate(base + off, std::min(kStep, bytes - off)))
			return VACCEL_OK; // an older kernel: faults as before
	std::lock_guard lock(mu_);
	if (!blocks_.empty() && blocks_[0]->base == base)
		blocks_[0]->warm = std::max(blocks_[0]->warm, bytes);
	return VACCEL_OK;
}

HostArena::Block *HostArena::block_of(const void *p) noexcept
{
	const auto *q = static_cast<const uint8_t *>(p);
	for (auto &b : blocks_)
		if (q >= b->base && q < b->base + b->size)
			return b.get();
	return nullptr;
}

bool HostArena::release(void *p) noexcept
{
	if (p == nullptr || !enabled())
		return false;
	std::lock_guard lock(mu_);
	Block *b = block_of(p);
	if (b == nullptr)
		return false;
	const size_t off =
	    static_cast<size_t>(static_cast<uint8_t *>(p) - b->base);
	auto it = b->in_use_.find(off);
	if (it == b->in_use_.end())
		return false; // inside, but not the start of an allocation
	size_t start = off, len = it->second;
	b->in_use_.erase(it);
	// Merge with the free ranges on either side.
	auto next = b->free_.lower_bound(start);
	if (next != b->free_.end() && next->first == start + len) {
		len += next->second;
		next = b->free_.erase(next);
	}
	if (next != b->free_.begin()) {
		auto prev = std::prev(next);
		if (prev->first + prev->second == start) {
			start = prev->first;
			len += prev->second;
			b->free_.erase(prev);
		}
	}
	b->free_.emplace(start, len);
	return true;
}

bool HostArena::owns(const void *p) noexcept
{
	if (p == nullptr || !enabled())
		return false;
	std::lock_guard lock(mu_);
	Block *b = block_of(p);
	return b != nullptr && b->in_use_.contains(static_cast<size_t>(
				   static_cast<const uint8_t *>(p) - b->base));
}

std::optional<HostArena::Place> HostArena::find(const void *p,
						size_t len) noexcept
{
	if (p == nullptr || !enabled())
		return std::nullopt;
	std::lock_guard lock(mu_);
	Block *b = block_of(p);
	if (b == nullptr || !b->shareable())
		return std::nullopt;
	const size_t off =
	    static_cast<size_t>(static_cast<const uint8_t *>(p) - b->base);
	// The allocation that starts at or before off must also cover len.
	auto it = b->in_use_.upper_bound(off);
	if (it == b->in_use_.begin())
		return std::nullopt;
	--it;
	if (off - it->first > it->second ||
	    len > it->second - (off - it->first))
		return std::nullopt;
	return Place{b->fd, b->id, b->size, off};
}

void HostArena::before_fork() noexcept
{
	mu_.lock();
}

void HostArena::after_fork_in_parent() noexcept
{
	mu_.unlock();
}

void HostArena::after_fork_in_child() noexcept
{
	// Only what is allocated is the child's data: ranges freed since
	// (and reused ones are cleared when taken) need no copy. A child
	// that is about to exec pays for its live allocations only.
	const auto copy_live = [](const Block &b, uint8_t *to,
				  const uint8_t *from) {
		for (const auto &[off, len] : b.in_use_)
			std::memcpy(to + off, from + off, len);
	};
	for (auto &b : blocks_) {
		// A device has no file to copy into: private memory below.
		const int fd =
		    b->device ? -1
			      : ::memfd_create("vaccel-tensors",
					       MFD_CLOEXEC | MFD_ALLOW_SEALING);
		b->device = false;
		b->warm = 0; // the new memory has no pages yet
		void *tmp = MAP_FAILED;
		if (fd >= 0 &&
		    ::ftruncate(fd, static_cast<off_t>(b->size)) == 0 &&
		    ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) == 0)
			tmp = ::mmap(nullptr, b->size, PROT_READ | PROT_WRITE,
				     MAP_SHARED, fd, 0);
		if (tmp != MAP_FAILED) {
			copy_live(*b, static_cast<uint8_t *>(tmp), b->base);
			::munmap(tmp, b->size);
			if (::mmap(b->base, b->size, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_FIXED, fd,
				   0) != MAP_FAILED) {
				::close(b->fd);
				b->fd = fd;
				continue;
			}
		}
		if (fd >= 0)
			::close(fd);
		// No new memfd: private anonymous memory with the same bytes
		// at the same place. The block is no longer shareable (find()
		// reports it as ordinary memory), but the program's data stays
		// its own.
		tmp = ::mmap(nullptr, b->top > 0 ? b->top : 1,
			     PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (tmp != MAP_FAILED) {
			copy_live(*b, static_cast<uint8_t *>(tmp), b->base);
			::mmap(b->base, b->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			copy_live(*b, b->base, static_cast<uint8_t *>(tmp));
			::munmap(tmp, b->top > 0 ? b->top : 1);
		}
		if (b->fd >= 0)
			::close(b->fd);
		b->fd = -1;
	}
	mu_.unlock();
}

size_t HostArena::blocks() noexcept
{
	std::lock_guard lock(mu_);
	return blocks_.size();
}

} // namespace vaccel::core
