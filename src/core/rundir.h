// SPDX-License-Identifier: Apache-2.0
// The process's private run directory (docs/configuration.md#run-directory).
//
// A base directory per user holds the run directories of every process of
// that user: /run/user/<euid>/vaccel, or $TMPDIR/vaccel-<euid> (TMPDIR
// defaulting to /tmp) where the first is not usable. The base is created
// 0700, opened without following a symlink and checked (a directory owned by
// the effective uid, no group or other access; nothing above it changeable
// by another user) before anything is put in it; every later step works
// relative to that open descriptor.
//
// Each run directory <name> has a lock file <name>.lock beside it, created
// first and held with flock(LOCK_EX) for the run directory's lifetime. A
// run directory whose lock can be taken belongs to a process that died
// without cleaning up: the next bootstrap in that base removes it. A forked
// child shares its parent's lock (flock locks belong to the open file), so
// the directory stays while either lives; only the process that created it
// removes it.
#pragma once

#include "core/status.h"

#include <string>
#include <sys/types.h>

namespace vaccel::core
{

// Creates @p path (a session's or resource's directory inside the run
// directory) 0700. One that exists already was left by a forked child that
// shared our run directory and died: it is ours, so it is emptied and used.
Status make_private_dir(const std::string &path);

class RunDir
{
public:
	RunDir() = default;
	RunDir(const RunDir &) = delete;
	RunDir &operator=(const RunDir &) = delete;
	~RunDir() = default; // never destroyed in practice (see runtime.h)

	// Picks a base, removes what dead processes left in it, then creates
	// and locks a fresh run directory.
	Status create();
	// Removes the run directory and then its lock file. In a forked child
	// (not the creating process) only closes the descriptors.
	void release() noexcept;

	[[nodiscard]] const std::string &path() const noexcept { return path_; }

private:
	Status create_in(int base_fd, const std::string &base);

	int base_fd_ = -1;
	int lock_fd_ = -1;
	pid_t owner_ = 0;
	std::string name_;
	std::string path_;
};

} // namespace vaccel::core
