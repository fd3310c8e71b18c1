// SPDX-License-Identifier: Apache-2.0
// Shared host memory for tensor data (vaccel_shared_memory_enable()).
//
// Why: a transport that reaches a local agent through shared memory would
// otherwise copy every large input into a shared region on every call
// (602 KB next to ResNet-18 on an H100: about 50 us of its 100 us per call).
// Data that vAccel allocates itself (vaccel_*_tensor_allocate) can live in
// that shared memory from the start, and the transport then names it by
// block and offset instead of copying it.
//
// How: blocks are sealed memfds (F_SEAL_SHRINK, so a peer that maps one
// can trust its size), mapped here for the life of the process; each block
// hands out page-aligned pieces first-fit from a list of returned ranges,
// then from its untouched tail. Memory from the tail is zero already;
// reused ranges are cleared, so allocations are zeroed like calloc().
// Blocks are never unmapped: a peer may still have one mapped, and the
// memory is reused (what stays mapped is the peak in use). Thread-safe.
//
// Device memory (adopt()): inside a VM descriptors cannot be passed, and the
// memory the host sees is a device the transport mapped (the VM's sandbox
// memory, its ivshmem BAR). Adopted, that mapping is the one block, and no
// memfd is made: allocations that do not fit it come from the C heap, as
// when the arena is off.
//
// fork(): shared mappings stay shared in a child, where the program expects
// a private copy of its tensors (a pre-fork server that fills an input in
// each worker would have them overwrite each other). So the child replaces
// every block, at the same address, with a new memfd holding a copy of its
// live allocations (pthread_atfork, registered when the arena is first
// enabled); an adopted device block becomes private memory with the same
// live bytes, no longer shared with anyone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace vaccel::core
{

class HostArena
{
public:
	struct Place {
		int fd = -1;        // -1: adopted device memory
		uint64_t block = 0; // 1, 2, ...: stable within the process
		size_t block_size = 0;
		size_t offset = 0;
	};

	HostArena() = default;
	HostArena(const HostArena &) = delete;
	HostArena &operator=(const HostArena &) = delete;
	~HostArena();

	// Serve allocations of at least @p min_bytes (>= 1) from now on; the
	// smallest threshold asked for wins.
	void enable(size_t min_bytes) noexcept;
	[[nodiscard]] bool enabled() const noexcept
	{
		return min_bytes_.load(std::memory_order_relaxed) != 0;
	}
	// Serve allocations from [base + offset, base + size), memory mapped
	// by the caller and never unmapped, instead of memfds, and enable
	// the arena with @p min_bytes. Place::offset then counts from
	// @p base. VACCEL_EEXIST when the arena already holds memory (a
	// block, or an adopted one), VACCEL_EINVAL for a bad range.
	int adopt(void *base, size_t size, size_t offset,
		  size_t min_bytes) noexcept;

	// @p size zeroed bytes in shared memory, or NULL when the arena is
	// off, @p size is below the threshold, or no memory could be had (the
	// caller then uses the C heap).
	void *allocate(size_t size) noexcept;
	// The same for a buffer the program asked to share
	// (vaccel_buffer_alloc()): any size once the arena is on, since the
	// program chose this memory for data that travels.
	void *allocate_buffer(size_t size) noexcept;
	// Makes the first block now, if there is none, and gives its first
	// @p bytes their pages, so that the first allocations need none: a
	// new process's first tensor would otherwise wait for every page of
	// it to be allocated and zeroed. Meant for a thread of its own while
	// the program starts. VACCEL_OK, VACCEL_ENOTSUP (the arena is off or
	// serves adopted device memory), VACCEL_ENOMEM (no memfd).
	int prewarm(size_t bytes) noexcept;
	// Makes the first block now (of at least @p bytes), if there is
	// none, and says where it is (@p out, offset 0): a transport can then
	// map it on its peer before the first allocation, instead of at the
	// first call that uses it. VACCEL_OK, VACCEL_ENOTSUP (off, or adopted
	// device memory), VACCEL_ENOMEM (no memfd).
	int first_block(size_t bytes, Place &out) noexcept;
	// Frees @p p if it came from allocate(); false (nothing done) if not.
	bool release(void *p) noexcept;
	// Whether @p p is the start of one of allocate()'s allocations.
	bool owns(const void *p) noexcept;
	// Where [p, p + len) lies, when it is inside one allocation of a
	// shareable block.
	std::optional<Place> find(const void *p, size_t len) noexcept;

	// Blocks made so far (tests, stats).
	[[nodiscard]] size_t blocks() noexcept;

	// fork() handlers (pthread_atfork): the lock is held across the fork
	// so the child's copy of the arena is consistent.
	void before_fork() noexcept;
	void after_fork_in_parent() noexcept;
	void after_fork_in_child() noexcept;

	static constexpr size_t kAlign = 4096;
	static constexpr size_t kMinBlock = size_t{16} << 20;

private:
	struct Block {
		uint64_t id = 0;
		int fd = -1;
		uint8_t *base = nullptr;
		size_t size = 0;
		size_t top = 0;  // [top, size) never used yet
		size_t warm = 0; // [0, warm) has its pages (prewarm())
		std::map<size_t, size_t> free_;   // offset -> length, returned
		std::map<size_t, size_t> in_use_; // offset -> length
		bool device = false;              // adopt(): fd is -1
		// Whether a peer can be given this memory by place.
		[[nodiscard]] bool shareable() const noexcept
		{
			return fd >= 0 || device;
		}
	};
	// The block holding @p p, or NULL (mu_ held).
	Block *block_of(const void *p) noexcept;
	// @p size bytes (a multiple of kAlign) from @p b, or from any block,
	// making one if none has room; @p fresh: from a never used tail.
	void *take(Block &b, size_t size, bool &fresh) noexcept;
	void *take_any(size_t size, bool &fresh) noexcept;
	// A new memfd block of at least @p need bytes, mapped, appended to
	// blocks_ (mu_ held); null when none could be made.
	Block *new_block(size_t need) noexcept;
	// The first memfd block, made (of at least @p need bytes) if there is
	// none; null when the arena is off, serves adopted memory, or no
	// block could be made (mu_ held).
	Block *first_memfd_block(size_t need) noexcept;

	std::atomic<size_t> min_bytes_{0};
	std::once_flag fork_handlers_;
	std::mutex mu_;
	std::vector<std::unique_ptr<Block>> blocks_;
	bool adopted_ = false; // no memfd blocks are made
};

} // namespace vaccel::core
