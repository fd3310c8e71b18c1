// SPDX-License-Identifier: Apache-2.0
#include "transport/copy_crew.h"

#include "transport/spin.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace vaccel::transport
{

namespace
{

// How long a helper keeps looking for work after its last chunk before it
// sleeps: back-to-back copies (a call's arguments, one after the other)
// find it awake.
constexpr auto kLinger = std::chrono::microseconds(300);
constexpr uint64_t kMaxChunks = 0xffff;

constexpr uint64_t pack(uint64_t gen, uint64_t next, uint64_t total) noexcept
{
	return (gen << 32) | (next << 16) | total;
}
constexpr uint32_t gen_of(uint64_t s) noexcept
{
	return static_cast<uint32_t>(s >> 32);
}
constexpr uint64_t next_of(uint64_t s) noexcept
{
	return (s >> 16) & kMaxChunks;
}
constexpr uint64_t total_of(uint64_t s) noexcept
{
	return s & kMaxChunks;
}

} // namespace

CopyCrew::CopyCrew(unsigned helpers, size_t min_shared)
    : min_shared_(std::max(min_shared, kChunk))
{
	// All in place before any starts: helpers read the list.
	for (unsigned i = 0; i < helpers; ++i)
		helpers_.push_back(std::make_unique<Helper>());
	try {
		for (unsigned i = 0; i < helpers; ++i)
			helpers_[i]->thread =
			    std::thread([this, i] { helper_loop(i); });
	} catch (...) {
		stop_all(); // those that started
		throw;
	}
}

CopyCrew::~CopyCrew()
{
	stop_all();
}

void CopyCrew::stop_all() noexcept
{
	stop_.store(true, std::memory_order_seq_cst);
	for (size_t i = 0; i < helpers_.size(); ++i)
		ring(i);
	for (auto &h : helpers_)
		if (h && h->thread.joinable())
			h->thread.join();
	helpers_.clear();
}

void CopyCrew::abandon() noexcept
{
	// The handles name the parent's threads, and after fork() glibc
	// reuses their records for the child's own threads: a join or a
	// detach could reach one of those. So they are let go, never
	// destroyed (a few bytes per helper, once per forked child).
	for (auto &h : helpers_)
		(void)h.release();
	helpers_.clear();
}

void CopyCrew::ring(size_t index) noexcept
{
	if (index >= helpers_.size() || !helpers_[index])
		return;
	helpers_[index]->bell.fetch_add(1, std::memory_order_release);
	helpers_[index]->bell.notify_one();
}

void CopyCrew::heads_up() noexcept
{
	// The first helper wakes the next, and so on: the caller pays for
	// one wake-up, not one per helper.
	ring(0);
}

bool CopyCrew::take_chunk(bool by_helper) noexcept
{
	uint64_t s = state_.load(std::memory_order_acquire);
	for (;;) {
		const uint64_t next = next_of(s);
		if (next >= total_of(s))
			return false;
		if (state_.compare_exchange_weak(
			s, pack(gen_of(s), next + 1, total_of(s)),
			std::memory_order_acq_rel, std::memory_order_acquire))
			break;
	}
	claims_.fetch_add(1, std::memory_order_relaxed);
	// Chunk `next` of this generation is ours: until it is counted
	// done, the job cannot end and its fields hold still.
	const size_t chunk = chunk_.load(std::memory_order_relaxed);
	const size_t size = size_.load(std::memory_order_relaxed);
	const size_t at = next_of(s) * chunk;
	std::memcpy(dst_.load(std::memory_order_relaxed) + at,
		    src_.load(std::memory_order_relaxed) + at,
		    std::min(chunk, size - at));
	if (by_helper)
		helped_.fetch_add(1, std::memory_order_relaxed);
	done_.fetch_add(1, std::memory_order_release);
	return true;
}

void CopyCrew::helper_loop(size_t index)
{
	// Named, so that ps and tests tell them from the program's own.
	(void)pthread_setname_np(pthread_self(), "vaccel-copy");
	Helper &me = *helpers_[index];
	uint32_t heard = 0;
	for (;;) {
		me.bell.wait(heard, std::memory_order_acquire);
		heard = me.bell.load(std::memory_order_acquire);
		ring(index + 1);
		if (stop_.load(std::memory_order_acquire))
			return;
		auto until = std::chrono::steady_clock::now() + kLinger;
		uint32_t seen = gen_of(state_.load(std::memory_order_relaxed));
		while (!stop_.load(std::memory_order_relaxed)) {
			// A copy came while this one lingered: the next helper
			// may have gone to sleep, and only this one hears the
			// caller's bell.
			const uint32_t gen =
			    gen_of(state_.load(std::memory_order_relaxed));
			if (gen != seen) {
				seen = gen;
				ring(index + 1);
			}
			if (take_chunk(true)) {
				until =
				    std::chrono::steady_clock::now() + kLinger;
				continue;
			}
			if (std::chrono::steady_clock::now() >= until)
				break;
			cpu_relax();
		}
	}
}

void CopyCrew::copy(void *dst, const void *src, size_t n) noexcept
{
	if (n < min_shared_ || helpers_.empty() ||
	    busy_.exchange(true, std::memory_order_acquire)) {
		std::memcpy(dst, src, n);
		return;
	}
	const size_t chunk =
	    std::max(kChunk, (n + kMaxChunks - 1) / kMaxChunks);
	const uint64_t total = (n + chunk - 1) / chunk;
	dst_.store(static_cast<char *>(dst), std::memory_order_relaxed);
	src_.store(static_cast<const char *>(src), std::memory_order_relaxed);
	size_.store(n, std::memory_order_relaxed);
	chunk_.store(chunk, std::memory_order_relaxed);
	done_.store(0, std::memory_order_relaxed);
	const uint64_t gen =
	    gen_of(state_.load(std::memory_order_relaxed)) + uint64_t{1};
	state_.store(pack(gen & 0xffffffffu, 0, total),
		     std::memory_order_release);
	heads_up();
	while (take_chunk(false)) {
	}
	// The last chunks may still be in a helper's hands (one that lost
	// its core meanwhile gets the caller's turn).
	for (unsigned spins = 0; done_.load(std::memory_order_acquire) < total;
	     ++spins) {
		if (spins < 4096)
			cpu_relax();
		else
			std::this_thread::yield();
	}
	busy_.store(false, std::memory_order_release);
}

} // namespace vaccel::transport
