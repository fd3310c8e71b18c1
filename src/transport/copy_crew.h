// SPDX-License-Identifier: Apache-2.0
// Large copies shared between the calling thread and a few helpers.
//
// Why: a program that passes a tensor or a genop argument in its own buffer
// has it copied into shared memory on the call's critical path, and one
// thread copies at a fraction of what the memory system moves. Helpers
// asleep take microseconds to wake, so the caller never waits for them:
// the copy is cut into chunks that whoever comes first claims, the caller
// starts on the first at once, and a helper that wakes after the last
// chunk was claimed takes nothing. At worst the copy costs what it cost
// alone.
//
// One copy is shared at a time; a second thread copying meanwhile copies
// alone. Helpers stay awake a little after each copy, for the next one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace vaccel::transport
{

class CopyCrew
{
public:
	// Chunks are this large, or larger for copies of more than 65535
	// of them.
	static constexpr size_t kChunk = size_t{64} << 10;
	// Smaller copies are the caller's alone by default: below it, on the
	// machines measured (bench_copy), waking the helpers cost more than
	// they saved, and a copy that fits the caller's cache gains nothing.
	static constexpr size_t kDefaultMinShared = size_t{2} << 20;

	// Starts @p helpers threads (0: every copy is the caller's own) that
	// share copies of @p min_shared bytes or more (at least one chunk).
	// Throws std::system_error when a thread cannot start.
	explicit CopyCrew(unsigned helpers,
			  size_t min_shared = kDefaultMinShared);
	// Stops and joins the helpers; no copy may be running.
	~CopyCrew();
	CopyCrew(const CopyCrew &) = delete;
	CopyCrew &operator=(const CopyCrew &) = delete;

	// Lets the helpers go without joining them: for a forked child,
	// where they do not exist (a join would wait forever). The crew
	// then copies alone. Their handles are leaked, not destroyed.
	void abandon() noexcept;

	// Wakes the helpers ahead of a copy about to come, so that they are
	// up when it starts. Cheap while they are awake.
	void heads_up() noexcept;
	// Copies @p n bytes from @p src to @p dst (which must not overlap);
	// returns when every byte is in place.
	void copy(void *dst, const void *src, size_t n) noexcept;

	[[nodiscard]] size_t min_shared() const noexcept { return min_shared_; }
	[[nodiscard]] unsigned helpers() const noexcept
	{
		return static_cast<unsigned>(helpers_.size());
	}
	// Chunks the helpers copied since the start: tests see the sharing.
	[[nodiscard]] uint64_t helped_chunks() const noexcept
	{
		return helped_.load(std::memory_order_relaxed);
	}
	// Chunks claimed by anyone since the start: each chunk of each
	// shared copy exactly once (tests).
	[[nodiscard]] uint64_t claimed_chunks() const noexcept
	{
		return claims_.load(std::memory_order_relaxed);
	}

private:
	struct Helper {
		// Bumped to wake this helper (a futex word).
		std::atomic<uint32_t> bell{0};
		std::thread thread;
	};

	void stop_all() noexcept;
	void helper_loop(size_t index);
	// Claims and copies one chunk of the current job; false when none
	// is left to claim.
	bool take_chunk(bool by_helper) noexcept;
	void ring(size_t index) noexcept;

	const size_t min_shared_;
	// The job: generation (32 bits), next chunk to claim (16), chunk
	// count (16). The fields below belong to the generation in it and
	// hold still while one of its chunks is unclaimed.
	std::atomic<uint64_t> state_{0};
	std::atomic<char *> dst_{nullptr};
	std::atomic<const char *> src_{nullptr};
	std::atomic<size_t> size_{0}, chunk_{0};
	std::atomic<uint32_t> done_{0}; // chunks of the job copied
	std::atomic<bool> busy_{false}; // a job is being shared
	std::atomic<bool> stop_{false};
	std::atomic<uint64_t> helped_{0}, claims_{0};
	std::vector<std::unique_ptr<Helper>> helpers_;
};

} // namespace vaccel::transport
