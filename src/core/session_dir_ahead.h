// SPDX-License-Identifier: Apache-2.0
// The run directory of the next session, made before the session is asked
// for (vaccel_session_prepare_rundir(), vaccel/ext.h).
//
// Why: creating a session makes its directory (sess->rundir exists when
// vaccel_session_init() returns, as upstream's does), and where the run
// directory sits on an overlay or journaled file system that mkdir is a
// visible part of a new sandbox's way to its first result, in the client
// and again in the agent. A thread with nothing better to do can make it
// ahead: the agent after each session it creates or destroys, a transport's
// start-up thread in a client.
//
// Sessions take ids in order, so the next one's directory is known. Its
// name is read under the lock that claiming takes, and the mkdir runs
// outside it: only the session with that id and path, which would make the
// directory itself otherwise, ever waits for it. A directory prepared for
// an id whose session came and went meanwhile is replaced by the next one's
// and made again, emptied, by its session if that is still to come; at most
// one waits unclaimed, and cleanup forgets it with the run directory.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>

namespace vaccel::core
{

class SessionDirAhead
{
public:
	// Makes the directory that @p next_path() names (the one the session
	// with the next id will have; empty: none) unless it is prepared or
	// being prepared. Never touches a directory it did not make.
	template <class NextPath> void prepare(NextPath &&next_path) noexcept
	{
		std::string path;
		{
			std::lock_guard lock(mu_);
			if (!open_ || !pending_.empty())
				return;
			try {
				path = next_path();
				if (path.empty() || path == ready_)
					return;
				pending_ = path;
			} catch (...) {
				return;
			}
		}
		made(path);
	}
	// Whether @p path was prepared; it is the caller's session's now.
	bool claim(const std::string &path) noexcept;

	// Between bootstrap and cleanup only: close() waits for a mkdir in
	// progress and forgets what was prepared (the run directory goes).
	void open() noexcept;
	void close() noexcept;

private:
	// The mkdir of @p path (pending_), and its result recorded.
	void made(const std::string &path) noexcept;
	static void register_fork_handlers() noexcept;

	std::mutex mu_;
	std::condition_variable idle_; // pending_ emptied
	std::string ready_;            // guarded by mu_; empty: none
	std::string pending_;          // guarded by mu_: being made
	bool open_ = false;            // guarded by mu_
};

} // namespace vaccel::core
