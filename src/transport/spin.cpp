// SPDX-License-Identifier: Apache-2.0
#include "spin.h"

#include <cerrno>
#include <ctime>
#include <thread>

namespace vaccel::transport
{

int plan_poll(std::span<pollfd> fds, SpinPolicy::Plan plan)
{
	if (plan.sleep.count() > 0) {
		const int64_t ns = plan.sleep.count();
		const timespec ts{static_cast<time_t>(ns / 1000000000),
				  static_cast<long>(ns % 1000000000)};
		const int n = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
		// Interrupted: go on polling, as after the sleep.
		if (n != 0 && !(n < 0 && errno == EINTR))
			return n;
	}
	return plan.poll.count() > 0 ? spin_poll(fds, plan.poll) : 0;
}

} // namespace vaccel::transport
