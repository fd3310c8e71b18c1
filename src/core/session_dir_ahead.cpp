// SPDX-License-Identifier: Apache-2.0
#include "core/session_dir_ahead.h"
#include "core/runtime.h"

#include <pthread.h>
#include <sys/stat.h>

namespace vaccel::core
{

void SessionDirAhead::made(const std::string &path) noexcept
{
	const bool ok = ::mkdir(path.c_str(), 0700) == 0;
	std::lock_guard lock(mu_);
	if (ok && open_) {
		try {
			ready_ = path;
		} catch (...) {
			// Not recorded: its session empties and uses it
			// (make_private_dir()).
		}
	}
	pending_.clear();
	idle_.notify_all();
}

bool SessionDirAhead::claim(const std::string &path) noexcept
{
	std::unique_lock lock(mu_);
	// Being made right now: for this session, which would otherwise
	// make it itself, so it waits for that mkdir instead.
	idle_.wait(lock, [&] { return pending_ != path; });
	if (ready_.empty() || ready_ != path)
		return false;
	ready_.clear();
	return true;
}

void SessionDirAhead::open() noexcept
{
	static std::once_flag once;
	std::call_once(once, register_fork_handlers);
	std::lock_guard lock(mu_);
	open_ = true;
}

void SessionDirAhead::close() noexcept
{
	std::unique_lock lock(mu_);
	open_ = false;
	idle_.wait(lock, [this] { return pending_.empty(); });
	ready_.clear();
}

// A child of fork() shares its parent's run directory but not the thread
// that may be making a directory: it starts with nothing prepared (it then
// makes its sessions' directories itself, as before), and the lock is held
// across the fork so that its copy is consistent.
void SessionDirAhead::register_fork_handlers() noexcept
{
	::pthread_atfork([] { runtime().session_dirs().mu_.lock(); },
			 [] { runtime().session_dirs().mu_.unlock(); },
			 [] {
				 SessionDirAhead &d = runtime().session_dirs();
				 d.ready_.clear();
				 d.pending_.clear();
				 d.mu_.unlock();
			 });
}

} // namespace vaccel::core
