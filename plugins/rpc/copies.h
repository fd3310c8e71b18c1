// SPDX-License-Identifier: Apache-2.0
// Copies of a program's own buffers into shared memory, and of results
// into the program's buffers, shared with a few helper threads
// (transport/copy_crew.h) where the host has cores to spare: an input in the
// program's buffer reaches the agent sooner, a large result the program
// sooner.
//
// The helpers belong to the process that started them. A forked child that
// copies gets helpers of its own; the parent's, which do not exist in the
// child, are let go without a join.
#pragma once

#include "transport/copy_crew.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace vaccel::rpc_plugin
{

class Copies
{
public:
	// @p helpers: threads that share copies of @p min_shared bytes or
	// more (0: none).
	Copies(unsigned helpers, size_t min_shared) noexcept
	    : helpers_(helpers), min_shared_(min_shared)
	{
	}
	~Copies();
	Copies(const Copies &) = delete;
	Copies &operator=(const Copies &) = delete;

	// Starts the helpers now, off a call's path (the plugin's start-up
	// thread); otherwise the first large copy starts them.
	void start() noexcept;
	// A copy of @p n bytes is coming: wakes the helpers if it will be
	// shared.
	void heads_up(size_t n) noexcept;
	// Copies @p n bytes (the ranges must not overlap).
	void copy(void *dst, const void *src, size_t n) noexcept;

private:
	// The crew to share a copy of @p n bytes with; null: copy alone.
	transport::CopyCrew *crew(size_t n) noexcept;
	transport::CopyCrew *crew_of_this_process() noexcept;

	const unsigned helpers_;
	const size_t min_shared_;
	std::mutex mu_; // making or replacing the crew
	std::unique_ptr<transport::CopyCrew> crew_;
	std::atomic<transport::CopyCrew *> current_{nullptr};
	// The fork_epoch() the crew was made in, plus one (0: none made).
	std::atomic<uint64_t> made_in_{0};
	bool failed_ = false; // a helper could not start: copy alone
};

} // namespace vaccel::rpc_plugin
