// SPDX-License-Identifier: Apache-2.0
#include "plugin_gate.h"

#include <chrono>

namespace vaccel::agent
{

void PluginGate::settle(State to)
{
	{
		std::lock_guard lock(mu_);
		State from = State::Loading;
		state_.compare_exchange_strong(from, to,
					       std::memory_order_acq_rel);
	}
	cv_.notify_all();
}

bool PluginGate::wait(const std::atomic<bool> &cancel)
{
	if (is_open())
		return true;
	std::unique_lock lock(mu_);
	// The cancel flag (a connection closed by the server's stop) has no
	// way to notify this condition variable: it is polled, only for as
	// long as the plugins load.
	while (state_.load(std::memory_order_acquire) == State::Loading &&
	       !cancel.load(std::memory_order_acquire))
		cv_.wait_for(lock, std::chrono::milliseconds(20));
	return is_open() && !cancel.load(std::memory_order_acquire);
}

} // namespace vaccel::agent
