// SPDX-License-Identifier: Apache-2.0
#include "copies.h"

#include "fork_epoch.h"

#include "transport/spare_cores.h"

#include <vaccel/log.h>

#include <cstring>
#include <system_error>

namespace vaccel::rpc_plugin
{

Copies::~Copies()
{
	// Made by the parent of this forked process: its helpers are not
	// here to be joined.
	if (crew_ && made_in_.load() != fork_epoch() + 1)
		crew_->abandon();
}

void Copies::start() noexcept
{
	if (helpers_ > 0)
		(void)crew_of_this_process();
}

transport::CopyCrew *Copies::crew(size_t n) noexcept
{
	// A helper takes a core: only while the host has one to spare.
	if (helpers_ == 0 || n < min_shared_ || !transport::cores_to_spare())
		return nullptr;
	if (made_in_.load(std::memory_order_acquire) == fork_epoch() + 1)
		return current_.load(std::memory_order_acquire);
	return crew_of_this_process();
}

transport::CopyCrew *Copies::crew_of_this_process() noexcept
{
	// Not a wait: a child forked while another thread held the lock
	// (making the crew) would wait forever. Whoever misses it copies
	// alone this time.
	std::unique_lock lock(mu_, std::try_to_lock);
	if (!lock.owns_lock())
		return nullptr;
	const uint64_t here = fork_epoch() + 1;
	if (made_in_.load() == here)
		return current_.load();
	if (failed_)
		return nullptr;
	if (crew_)
		crew_->abandon(); // the parent's (see the destructor)
	current_.store(nullptr);
	crew_.reset();
	try {
		crew_ = std::make_unique<transport::CopyCrew>(helpers_,
							      min_shared_);
	} catch (const std::exception &e) {
		vaccel_debug("[rpc] no copy helpers: %s", e.what());
		failed_ = true;
		return nullptr;
	}
	current_.store(crew_.get(), std::memory_order_release);
	made_in_.store(here, std::memory_order_release);
	return crew_.get();
}

void Copies::heads_up(size_t n) noexcept
{
	if (auto *c = crew(n))
		c->heads_up();
}

void Copies::copy(void *dst, const void *src, size_t n) noexcept
{
	if (auto *c = crew(n))
		c->copy(dst, src, n);
	else
		std::memcpy(dst, src, n);
}

} // namespace vaccel::rpc_plugin
