// SPDX-License-Identifier: Apache-2.0
// Makes the next session's run directory on a thread of its own
// (vaccel_session_prepare_rundir(), src/core/session_dir_ahead.h), so that
// a new sandbox's CreateSession finds it made and its reply does not wait
// for a mkdir, which on an overlay /tmp is a visible part of the sandbox's
// way to its first result.
//
// Asked after every CreateSession and every DestroySession: whether a
// tenant's next session finds its directory made then depends on its own
// calls and on none of another tenant's, except those running at the same
// moment.
#pragma once

#include "thread_cache.h"

#include <mutex>

namespace vaccel::agent
{

class SessionDirPreparer
{
public:
	SessionDirPreparer() = default;
	SessionDirPreparer(const SessionDirPreparer &) = delete;
	SessionDirPreparer &operator=(const SessionDirPreparer &) = delete;
	~SessionDirPreparer();

	// Prepares the next session's directory soon; never waits for it.
	void request() noexcept;

private:
	void run() noexcept;

	std::mutex mu_;
	PooledThread job_;     // guarded by mu_
	bool running_ = false; // guarded by mu_
	bool again_ = false;   // guarded by mu_: asked while running
};

} // namespace vaccel::agent
