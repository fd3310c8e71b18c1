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
// moment. The agent asks first once its plugins are in, which starts the
// thread; asking then costs a handler a wake-up.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

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
	// The thread starts with the first request.
	void request() noexcept;

private:
	void run();

	std::mutex mu_;
	std::condition_variable cv_;
	bool wanted_ = false;   // guarded by mu_
	bool stopping_ = false; // guarded by mu_
	std::thread thread_;    // started under mu_
};

} // namespace vaccel::agent
