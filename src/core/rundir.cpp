// SPDX-License-Identifier: Apache-2.0
#include "core/rundir.h"

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vaccel/log.h>
#include <vector>

namespace vaccel::core
{
namespace
{

constexpr size_t kNameLen = 6; // as mkdtemp's XXXXXX, which older builds used
constexpr const char kLockSuffix[] = ".lock";
constexpr int kMaxDepth = 128;

class Fd
{
public:
	explicit Fd(int fd = -1) noexcept : fd_(fd) {}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	~Fd()
	{
		if (fd_ >= 0)
			::close(fd_);
	}
	[[nodiscard]] int get() const noexcept { return fd_; }
	int release() noexcept
	{
		int fd = fd_;
		fd_ = -1;
		return fd;
	}
	void reset(int fd) noexcept
	{
		if (fd_ >= 0)
			::close(fd_);
		fd_ = fd;
	}

private:
	int fd_;
};

bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

// A run directory's name: kNameLen letters and digits.
bool is_run_name(const std::string &s)
{
	if (s.size() != kNameLen)
		return false;
	for (char c : s)
		if (!is_name_char(c))
			return false;
	return true;
}

std::string random_name()
{
	static constexpr char chars[] = "abcdefghijklmnopqrstuvwxyz"
					"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char buf[kNameLen];
	if (::getrandom(buf, sizeof(buf), GRND_NONBLOCK) !=
	    static_cast<ssize_t>(sizeof(buf))) {
		// A collision only costs a retry (names are taken with O_EXCL).
		static unsigned counter = 0;
		auto x = static_cast<unsigned long long>(
			     std::chrono::steady_clock::now()
				 .time_since_epoch()
				 .count()) ^
			 (static_cast<unsigned long long>(::getpid()) << 32) ^
			 ++counter;
		for (auto &b : buf) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			b = static_cast<unsigned char>(x >> 33);
		}
	}
	std::string s(kNameLen, 'a');
	for (size_t i = 0; i < kNameLen; ++i)
		s[i] = chars[buf[i] % (sizeof(chars) - 1)];
	return s;
}

// Removes `name` below `dirfd` and everything in it, never following a
// symbolic link (a link is removed, not what it points to). True when
// nothing is left.
bool remove_tree_at(int dirfd, const char *name, int depth = 0) noexcept
{
	if (::unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return true;
	if (errno != EISDIR && errno != EPERM)
		return false;
	if (depth >= kMaxDepth)
		return false;
	int fd = ::openat(dirfd, name,
			  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	DIR *d = ::fdopendir(fd);
	if (d == nullptr) {
		::close(fd);
		return false;
	}
	// Entries removed while reading may make readdir() skip others: read
	// again until a pass finds nothing.
	for (int pass = 0; pass < 4; ++pass) {
		bool any = false;
		::rewinddir(d);
		while (struct dirent *e = ::readdir(d)) {
			if (std::strcmp(e->d_name, ".") == 0 ||
			    std::strcmp(e->d_name, "..") == 0)
				continue;
			any = true;
			(void)remove_tree_at(fd, e->d_name, depth + 1);
		}
		if (!any)
			break;
	}
	::closedir(d);
	return ::unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT;
}

// Whether no user but root and us can change `st` (owned by one of them,
// and not writable by group or others unless sticky).
bool safe_ancestor(const struct stat &st, const std::string &path,
		   std::string *why)
{
	const uid_t me = ::geteuid();
	if (st.st_uid != 0 && st.st_uid != me) {
		*why = path + " is owned by uid " + std::to_string(st.st_uid) +
		       ", not " + std::to_string(me) + " or root";
		return false;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (st.st_mode & S_ISVTX) == 0) {
		*why = path +
		       " is writable by group or others without the sticky bit";
		return false;
	}
	return true;
}

// Creates the missing directories of the absolute path `dir`, 0700.
void make_parents(const std::string &dir)
{
	for (size_t pos = 1; pos != std::string::npos;) {
		pos = dir.find('/', pos + 1);
		std::string prefix = dir.substr(0, pos);
		if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
			return;
	}
}

// Opens the directory `dir` (resolved to a canonical path first), walking
// down from / without following links and checking each directory on the
// way with safe_ancestor(): no other user can move or replace anything
// between / and the directory, so what is created in it stays where it was
// checked. Its canonical path in `canonical` (what later path lookups must
// use: the path that was checked). -1 with `why` set, and *missing when it
// does not exist.
int open_trusted_dir(const std::string &dir, std::string *why, bool *missing,
		     std::string *canonical)
{
	*missing = false;
	char real[PATH_MAX];
	if (::realpath(dir.c_str(), real) == nullptr) {
		*missing = errno == ENOENT;
		*why = dir + ": " + std::strerror(errno);
		return -1;
	}
	Fd fd(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	std::string path = "/";
	const std::string r = real;
	*canonical = r;
	size_t pos = 1;
	for (;;) {
		struct stat st {
		};
		if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
			*why = path + ": " + std::strerror(errno);
			return -1;
		}
		if (!safe_ancestor(st, path, why))
			return -1;
		if (pos >= r.size())
			break;
		size_t end = r.find('/', pos);
		if (end == std::string::npos)
			end = r.size();
		const std::string comp = r.substr(pos, end - pos);
		pos = end + 1;
		path = r.substr(0, end);
		fd.reset(
		    ::openat(fd.get(), comp.c_str(),
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
	}
	return fd.release();
}

// Creates (0700) and opens the base `leaf` in `parent_fd`, checking it: a
// directory, not a link, owned by us; access by group and others is
// removed. -1 with `why` set when it is not usable.
int open_base(int parent_fd, const std::string &leaf, const std::string &path,
	      std::string *why)
{
	if (::mkdirat(parent_fd, leaf.c_str(), 0700) != 0 && errno != EEXIST) {
		*why = path + " cannot be created: " + std::strerror(errno);
		return -1;
	}
	Fd fd(::openat(parent_fd, leaf.c_str(),
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
	struct stat st {
	};
	if (fd.get() < 0) {
		const int err = errno;
		if (::fstatat(parent_fd, leaf.c_str(), &st,
			      AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISLNK(st.st_mode)) {
				*why = path + " is a symbolic link";
				return -1;
			}
			if (!S_ISDIR(st.st_mode)) {
				*why = path + " is not a directory";
				return -1;
			}
		}
		*why = path + " cannot be opened: " + std::strerror(err);
		return -1;
	}
	if (::fstat(fd.get(), &st) != 0) {
		*why = path + ": " + std::strerror(errno);
		return -1;
	}
	const uid_t me = ::geteuid();
	if (st.st_uid != me) {
		*why = path + " is owned by uid " + std::to_string(st.st_uid) +
		       ", not " + std::to_string(me);
		return -1;
	}
	if ((st.st_mode & 07777) != 0700) {
		if (::fchmod(fd.get(), 0700) != 0) {
			*why = path + " has mode " +
			       std::to_string(st.st_mode & 07777) +
			       " and cannot be made private: " +
			       std::strerror(errno);
			return -1;
		}
		vaccel_warn("run directory base %s had mode %04o; set to 0700",
			    path.c_str(), st.st_mode & 07777);
	}
	return fd.release();
}

// Opens `name`.lock in `base_fd`; with its stat in `st`. -1 if absent or
// not a regular file of ours.
int open_lock(int base_fd, const std::string &lock, struct stat *st)
{
	Fd fd(::openat(base_fd, lock.c_str(),
		       O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
	if (fd.get() < 0)
		return -1;
	if (::fstat(fd.get(), st) != 0 || !S_ISREG(st->st_mode) ||
	    st->st_uid != ::geteuid()) {
		errno = EPERM;
		return -1;
	}
	return fd.release();
}

// Whether `lock` in `base_fd` still names the file `st` describes: a lock
// taken on a file that was unlinked (and perhaps replaced) meanwhile proves
// nothing.
bool still_linked(int base_fd, const std::string &lock, const struct stat &st)
{
	struct stat now {
	};
	return ::fstatat(base_fd, lock.c_str(), &now, AT_SYMLINK_NOFOLLOW) ==
		   0 &&
	       now.st_dev == st.st_dev && now.st_ino == st.st_ino;
}

// Removes the run directories (and lock files) of dead processes from the
// base. A run directory with no lock file at all (left by a build older than
// the locks, or still in use by one) is left alone: whether its owner lives
// cannot be told.
void sweep(int base_fd, const std::string &base)
{
	std::set<std::string> names;
	{
		int fd =
		    ::openat(base_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return;
		DIR *d = ::fdopendir(fd);
		if (d == nullptr) {
			::close(fd);
			return;
		}
		while (struct dirent *e = ::readdir(d)) {
			std::string n = e->d_name;
			const size_t sl = sizeof(kLockSuffix) - 1;
			if (n.size() == kNameLen + sl &&
			    n.compare(kNameLen, sl, kLockSuffix) == 0)
				n.resize(kNameLen);
			if (is_run_name(n))
				names.insert(n);
		}
		::closedir(d);
	}
	for (const std::string &name : names) {
		const std::string lock = name + kLockSuffix;
		struct stat st {
		};
		Fd fd(open_lock(base_fd, lock, &st));
		if (fd.get() < 0) {
			if (errno == ENOENT)
				vaccel_debug("run directory %s/%s has no lock "
					     "file; left alone",
					     base.c_str(), name.c_str());
			continue;
		}
		if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 ||
		    !still_linked(base_fd, lock, st))
			continue; // alive, or just removed by another sweep
		if (!remove_tree_at(base_fd, name.c_str())) {
			vaccel_warn("cannot remove stale run directory %s/%s",
				    base.c_str(), name.c_str());
			continue;
		}
		(void)::unlinkat(base_fd, lock.c_str(), 0);
		vaccel_debug("removed stale run directory %s/%s", base.c_str(),
			     name.c_str());
	}
}

} // namespace

Status RunDir::create_in(int base_fd, const std::string &base)
{
	for (int attempt = 0; attempt < 100; ++attempt) {
		const std::string name = random_name();
		const std::string lock = name + kLockSuffix;
		// The lock first, then the directory: a sweep never sees a
		// directory of ours without its lock held.
		Fd fd(::openat(
		    base_fd, lock.c_str(),
		    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
		if (fd.get() < 0) {
			if (errno == EEXIST)
				continue;
			return Status::error(
			    VACCEL_EIO, "cannot create %s/%s: %s", base.c_str(),
			    lock.c_str(), std::strerror(errno));
		}
		struct stat st {
		};
		// A sweep may take (and remove) a lock file between its
		// creation and our flock(): then try another name. Where
		// locks are not supported (ENOSYS, ENOLCK: a unikernel, NFS
		// without a lock manager) the run directory is made without
		// one: sweeps cannot take its lock either, so they keep it.
		if (::fstat(fd.get(), &st) != 0)
			continue;
		if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
			if (errno == EWOULDBLOCK || errno == EINTR)
				continue;
			vaccel_debug("cannot lock %s/%s: %s", base.c_str(),
				     lock.c_str(), std::strerror(errno));
		}
		if (!still_linked(base_fd, lock, st))
			continue;
		if (::mkdirat(base_fd, name.c_str(), 0700) != 0) {
			const int err = errno;
			(void)::unlinkat(base_fd, lock.c_str(), 0);
			if (err == EEXIST)
				continue;
			return Status::error(
			    VACCEL_EIO, "cannot create %s/%s: %s", base.c_str(),
			    name.c_str(), std::strerror(err));
		}
		// Whatever the umask: the base is ours alone anyway.
		(void)::fchmodat(base_fd, name.c_str(), 0700, 0);
		lock_fd_ = fd.release();
		name_ = name;
		path_ = base + "/" + name;
		owner_ = ::getpid();
		return Status::ok();
	}
	return Status::error(VACCEL_EIO, "cannot create a run directory in %s",
			     base.c_str());
}

Status RunDir::create()
{
	const std::string uid = std::to_string(::geteuid());
	const char *tmp = std::getenv("TMPDIR");
	struct Candidate {
		std::string parent;
		std::string leaf;
		bool optional; // skipped silently when the parent is missing
	};
	// /run/user/<uid>/vaccel as upstream; $TMPDIR (or /tmp) when that is
	// not available, e.g. root without a login session.
	const Candidate candidates[] = {
	    {"/run/user/" + uid, "vaccel", true},
	    {tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "vaccel-" + uid,
	     false},
	};
	std::string reasons;
	for (const Candidate &c : candidates) {
		std::string why;
		bool missing = false;
		std::string real;
		Fd parent(open_trusted_dir(c.parent, &why, &missing, &real));
		if (parent.get() < 0 && missing && !c.optional) {
			make_parents(c.parent);
			parent.reset(
			    open_trusted_dir(c.parent, &why, &missing, &real));
		}
		std::string path = parent.get() < 0 ? c.parent : real;
		if (!path.empty() && path.back() == '/')
			path.pop_back();
		path += "/" + c.leaf;
		if (parent.get() < 0 && missing && c.optional) {
			vaccel_debug("run directory base %s: %s", path.c_str(),
				     why.c_str());
			continue;
		}
		Fd base(parent.get() < 0
			    ? -1
			    : open_base(parent.get(), c.leaf, path, &why));
		if (base.get() < 0) {
			vaccel_warn("run directory base %s not used: %s",
				    path.c_str(), why.c_str());
			reasons += (reasons.empty() ? "" : "; ") + why;
			continue;
		}
		sweep(base.get(), path);
		Status st = create_in(base.get(), path);
		if (!st.is_ok()) {
			vaccel_warn("%s", st.message().c_str());
			reasons += (reasons.empty() ? "" : "; ") + st.message();
			continue;
		}
		base_fd_ = base.release();
		return Status::ok();
	}
	return Status::error(VACCEL_EIO, "no usable run directory base: %s",
			     reasons.empty() ? "none found" : reasons.c_str());
}

void RunDir::release() noexcept
{
	if (base_fd_ < 0)
		return;
	if (::getpid() == owner_) {
		// The directory first, then the lock: a lock file without its
		// directory is harmless, a directory without a lock would be
		// left for good.
		if (remove_tree_at(base_fd_, name_.c_str()))
			(void)::unlinkat(base_fd_,
					 (name_ + kLockSuffix).c_str(), 0);
		else
			vaccel_warn("cannot remove run directory %s: %s",
				    path_.c_str(), std::strerror(errno));
	}
	::close(lock_fd_);
	::close(base_fd_);
	lock_fd_ = -1;
	base_fd_ = -1;
	owner_ = 0;
	name_.clear();
	path_.clear();
}

Status make_private_dir(const std::string &path)
{
	if (::mkdir(path.c_str(), 0700) == 0)
		return Status::ok();
	if (errno == EEXIST) {
		std::error_code ec;
		std::filesystem::remove_all(path, ec); // never follows links
		if (!ec && ::mkdir(path.c_str(), 0700) == 0)
			return Status::ok();
	}
	return Status::error(VACCEL_EIO, "cannot create %s: %s", path.c_str(),
			     std::strerror(errno));
}

} // namespace vaccel::core
