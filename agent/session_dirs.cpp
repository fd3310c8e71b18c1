// SPDX-License-Identifier: Apache-2.0
#include "session_dirs.h"

#include <vaccel.h>

namespace vaccel::agent
{

SessionDirPreparer::~SessionDirPreparer()
{
	PooledThread job;
	{
		std::lock_guard lock(mu_);
		job = std::move(job_);
	}
	if (job.joinable())
		job.join();
}

void SessionDirPreparer::request() noexcept
{
	std::lock_guard lock(mu_);
	if (running_) {
		again_ = true; // the id it prepares may be taken already
		return;
	}
	if (job_.joinable())
		job_.join(); // returned, or about to
	running_ = true;
	try {
		job_ = ThreadCache::connections().run([this] { run(); });
	} catch (...) {
		running_ = false; // no thread: the session makes its own
	}
}

void SessionDirPreparer::run() noexcept
{
	for (;;) {
		(void)vaccel_session_prepare_rundir();
		std::lock_guard lock(mu_);
		if (!again_) {
			running_ = false;
			return;
		}
		again_ = false;
	}
}

} // namespace vaccel::agent
