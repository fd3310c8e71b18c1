// SPDX-License-Identifier: Apache-2.0
#include "session_dirs.h"

#include <vaccel.h>

#include <system_error>

namespace vaccel::agent
{

SessionDirPreparer::~SessionDirPreparer()
{
	{
		std::lock_guard lock(mu_);
		stopping_ = true;
	}
	cv_.notify_all();
	if (thread_.joinable())
		thread_.join();
}

void SessionDirPreparer::request() noexcept
{
	{
		std::lock_guard lock(mu_);
		wanted_ = true;
		if (!thread_.joinable() && !stopping_) {
			try {
				thread_ = std::thread([this] { run(); });
			} catch (const std::system_error &) {
				// No thread: sessions make their own.
				return;
			}
		}
	}
	cv_.notify_one();
}

void SessionDirPreparer::run()
{
	std::unique_lock lock(mu_);
	for (;;) {
		cv_.wait(lock, [this] { return wanted_ || stopping_; });
		if (stopping_)
			return;
		wanted_ = false;
		lock.unlock();
		(void)vaccel_session_prepare_rundir();
		lock.lock();
	}
}

} // namespace vaccel::agent
