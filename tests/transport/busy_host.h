// SPDX-License-Identifier: Apache-2.0
// A host with no core to spare, for tests of what stops polling then
// (transport/spare_cores.h): threads that spin, twice as many as there are
// CPUs and two more, until the object goes.
#pragma once

#include "transport/spare_cores.h"

#include <sys/sysinfo.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace vaccel::transport::test
{

class BusyHost
{
public:
	BusyHost()
	{
		const int cores = std::max(::get_nprocs(), 1);
		for (int i = 0; i < 2 * cores + 2; i++)
			threads_.emplace_back([this] {
				while (!stop_.load(std::memory_order_relaxed)) {
				}
			});
	}
	BusyHost(const BusyHost &) = delete;
	BusyHost &operator=(const BusyHost &) = delete;
	~BusyHost()
	{
		stop_ = true;
		for (auto &t : threads_)
			t.join();
	}

	// Whether this process's check saw the host full within 5 s (it
	// samples every few milliseconds; what it sees, any other process's
	// copy sees too).
	[[nodiscard]] static bool seen()
	{
		const auto until =
		    std::chrono::steady_clock::now() + std::chrono::seconds(5);
		while (std::chrono::steady_clock::now() < until) {
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(6));
			if (!cores_to_spare())
				return true;
		}
		return false;
	}

private:
	std::atomic<bool> stop_{false};
	std::vector<std::thread> threads_;
};

} // namespace vaccel::transport::test
