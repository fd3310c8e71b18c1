// SPDX-License-Identifier: Apache-2.0
// The run directory of the next session, made before the session is asked
// for (vaccel_session_prepare_rundir(), vaccel/ext.h).
//
// Why: creating a session makes its directory (sess->rundir exists when
// vaccel_session_init() returns, as upstream's does), and where the run
// directory sits on an overlay or journaled file system that mkdir is a
// visible part of a new sandbox's way to its first result, in the client
// and again in the agent. A thread with nothing better to do can make it
// ahead: the agent once a session is gone, a transport's start-up thread in
// a client.
//
// Sessions take ids in order, so the next one's directory is known: the one
// prepared is claimed by the session that gets that id and path, and by no
// other. A session that finds nothing prepared makes its own, as before; a
// prepared directory nobody claims stays empty until cleanup removes the
// run directory around it.
#pragma once

#include <mutex>
#include <string>

namespace vaccel::core
{

class SessionDirAhead
{
public:
	// Makes the directory that @p next_path() names, the one the session
	// with the next id will have, unless it is prepared already. The name
	// is asked for under the lock that claim() takes, so that a session
	// reserving that id meanwhile claims the directory instead of making
	// its own beside it. Never touches a directory it did not make.
	template <class NextPath> void prepare(NextPath &&next_path) noexcept
	{
		std::lock_guard lock(mu_);
		try {
			make(next_path());
		} catch (...) {
			// Nothing prepared: the session makes its own.
		}
	}
	// Whether @p path was prepared; it is the caller's session's now.
	bool claim(const std::string &path) noexcept;

private:
	void make(std::string path); // mu_ held

	std::mutex mu_;
	std::string ready_; // guarded by mu_; empty: none prepared
};

} // namespace vaccel::core
