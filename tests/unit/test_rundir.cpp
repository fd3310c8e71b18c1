// SPDX-License-Identifier: Apache-2.0
// The run directory's base (docs/configuration.md#run-directory): created
// private, never followed through a symlink, refused when another user owns
// it or can change a directory above it; run directories of dead processes
// removed at the next bootstrap, those of live ones (and of older builds,
// without a lock file) kept.
//
// The tests choose the base through TMPDIR, which is used only where
// /run/user/<euid> does not exist: they are skipped where it does.
#include "test_util.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/stat.h>
#include <sys/wait.h>
#include <vaccel/ext.h>

using namespace vaccel_test;

namespace
{

class RunDir : public ::testing::Test
{
protected:
	void SetUp() override
	{
		(void)vaccel_cleanup();
		const std::string run_user =
		    "/run/user/" + std::to_string(::geteuid());
		if (fs::is_directory(run_user))
			GTEST_SKIP() << run_user
				     << " exists: TMPDIR does not choose the "
					"base";
		tmpdir_ = tmp_.path() / "tmp";
		fs::create_directory(tmpdir_);
		set_tmpdir(tmpdir_);
	}
	void TearDown() override { EXPECT_EQ(vaccel_cleanup(), VACCEL_OK); }

	void set_tmpdir(const fs::path &p)
	{
		tmpdir_env_.reset();
		tmpdir_env_ = std::make_unique<ScopedEnv>("TMPDIR", p.string());
		base_ = p / ("vaccel-" + std::to_string(::geteuid()));
	}

	static int boot()
	{
		return rebootstrap(nullptr, VACCEL_LOG_ERROR, nullptr);
	}

	static unsigned mode_of(const fs::path &p)
	{
		struct stat st {
		};
		EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
		return st.st_mode & 07777;
	}

	static std::string last_error()
	{
		const char *e = vaccel_last_error();
		return e != nullptr ? e : "";
	}

	CleanVaccelEnv env_;
	TempDir tmp_; // made before TMPDIR points into it
	fs::path tmpdir_;
	fs::path base_;
	std::unique_ptr<ScopedEnv> tmpdir_env_;
};

// A child process that bootstraps its own runtime, leaves a file and a
// session in its run directory, reports the directory on a pipe, then either
// dies without cleanup (_exit) or waits until the parent closes `hold`.
struct Child {
	pid_t pid = -1;
	std::string rundir;
	int hold = -1; // write end kept by the parent while it should live

	static Child start(bool stay)
	{
		Child c;
		int report[2];
		int wait_fds[2];
		if (::pipe(report) != 0 || ::pipe(wait_fds) != 0)
			return c;
		c.pid = ::fork();
		if (c.pid == 0) {
			::close(report[0]);
			::close(wait_fds[1]);
			if (rebootstrap(nullptr, VACCEL_LOG_ERROR, nullptr) !=
			    VACCEL_OK)
				::_exit(1);
			const std::string dir = vaccel_rundir();
			struct vaccel_session sess {
			};
			if (vaccel_session_init(&sess, 0) != VACCEL_OK)
				::_exit(2);
			std::ofstream(dir + "/tenant-file") << "guest data";
			if (::write(report[1], dir.data(), dir.size()) !=
			    static_cast<ssize_t>(dir.size()))
				::_exit(3);
			::close(report[1]);
			if (stay) {
				char b = 0;
				while (::read(wait_fds[0], &b, 1) > 0) {
				}
			}
			::_exit(0); // no cleanup, as a crash
		}
		::close(report[1]);
		::close(wait_fds[0]);
		char buf[4096];
		ssize_t n = 0;
		ssize_t got = 0;
		while ((n = ::read(report[0], buf + got,
				   sizeof(buf) - static_cast<size_t>(got))) > 0)
			got += n;
		::close(report[0]);
		c.rundir.assign(buf, static_cast<size_t>(got));
		if (stay)
			c.hold = wait_fds[1];
		else
			::close(wait_fds[1]);
		return c;
	}

	// Lets a staying child exit (still without cleanup); its exit code.
	int finish()
	{
		if (hold >= 0)
			::close(hold);
		hold = -1;
		int status = 0;
		if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
			return -1;
		return WEXITSTATUS(status);
	}
};

TEST_F(RunDir, BaseIsCreatedPrivateWithALockPerRunDir)
{
	ASSERT_EQ(boot(), VACCEL_OK) << last_error();
	const fs::path rd = vaccel_rundir();
	EXPECT_EQ(rd.parent_path(), base_);
	EXPECT_EQ(mode_of(base_), 0700U);
	EXPECT_EQ(mode_of(rd), 0700U);
	const fs::path lock = base_ / (rd.filename().string() + ".lock");
	ASSERT_TRUE(fs::is_regular_file(lock));
	EXPECT_EQ(mode_of(lock), 0600U);

	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	EXPECT_FALSE(fs::exists(rd));
	EXPECT_FALSE(fs::exists(lock));
	EXPECT_TRUE(fs::is_directory(base_));
}

// Bootstrap and cleanup (and a refused base) leave no descriptor open.
TEST_F(RunDir, NoDescriptorIsLeaked)
{
	auto count = [] {
		size_t n = 0;
		for ([[maybe_unused]] const auto &e :
		     fs::directory_iterator("/proc/self/fd"))
			++n;
		return n;
	};
	const size_t before = count();
	for (int i = 0; i < 3; ++i) {
		ASSERT_EQ(boot(), VACCEL_OK) << last_error();
		ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	}
	fs::create_directory(tmpdir_ / "other");
	set_tmpdir(tmpdir_ / "other");
	fs::create_directory_symlink(tmp_.path(), base_);
	EXPECT_EQ(boot(), VACCEL_EIO);
	EXPECT_EQ(count(), before);
}

TEST_F(RunDir, LooseBaseIsMadePrivate)
{
	ASSERT_EQ(::mkdir(base_.c_str(), 0755), 0);
	ASSERT_EQ(::chmod(base_.c_str(), 0755), 0);
	ASSERT_EQ(boot(), VACCEL_OK) << last_error();
	EXPECT_EQ(mode_of(base_), 0700U);
}

TEST_F(RunDir, MissingTmpdirIsCreated)
{
	set_tmpdir(tmpdir_ / "a" / "b");
	ASSERT_EQ(boot(), VACCEL_OK) << last_error();
	EXPECT_EQ(fs::path(vaccel_rundir()).parent_path(), base_);
	EXPECT_EQ(mode_of(base_), 0700U);
}

// Later lookups use the path that was checked, not the link given.
TEST_F(RunDir, TmpdirThroughALinkIsResolved)
{
	const fs::path link = tmp_.path() / "link";
	fs::create_directory_symlink(tmpdir_, link);
	const fs::path real = base_;
	set_tmpdir(link);
	ASSERT_EQ(boot(), VACCEL_OK) << last_error();
	EXPECT_EQ(fs::path(vaccel_rundir()).parent_path(), real);
}

// The attack: another local user pre-creates $TMPDIR/vaccel-<uid> as a link
// to a directory of theirs, to receive the guests' files.
TEST_F(RunDir, SymlinkedBaseIsNotFollowed)
{
	const fs::path target = tmp_.path() / "attacker";
	fs::create_directory(target);
	fs::create_directory_symlink(target, base_);

	EXPECT_EQ(boot(), VACCEL_EIO);
	EXPECT_FALSE(vaccel_is_initialized());
	EXPECT_NE(last_error().find(base_.string() + " is a symbolic link"),
		  std::string::npos)
	    << last_error();
	EXPECT_TRUE(fs::is_empty(target));
	EXPECT_TRUE(fs::is_symlink(base_)); // left as it was
}

TEST_F(RunDir, BaseOwnedByAnotherUserIsRefused)
{
	if (::geteuid() != 0)
		GTEST_SKIP() << "needs root to give a directory away";
	ASSERT_EQ(::mkdir(base_.c_str(), 0777), 0);
	ASSERT_EQ(::chown(base_.c_str(), 65534, 65534), 0);

	EXPECT_EQ(boot(), VACCEL_EIO);
	EXPECT_NE(
	    last_error().find(base_.string() + " is owned by uid 65534, not 0"),
	    std::string::npos)
	    << last_error();
	EXPECT_TRUE(fs::is_empty(base_));
}

// Whoever can write to the directory above the base (without the sticky
// bit) can move the base away and put another in its place after the check.
TEST_F(RunDir, TmpdirWritableByOthersIsRefusedUnlessSticky)
{
	ASSERT_EQ(::chmod(tmpdir_.c_str(), 0777), 0);
	EXPECT_EQ(boot(), VACCEL_EIO);
	EXPECT_NE(last_error().find(tmpdir_.string() +
				    " is writable by group or others"),
		  std::string::npos)
	    << last_error();
	EXPECT_FALSE(fs::exists(base_));

	ASSERT_EQ(::chmod(tmpdir_.c_str(), 01777), 0);
	EXPECT_EQ(boot(), VACCEL_OK) << last_error();
}

TEST_F(RunDir, StaleRunDirIsRemovedLiveOneKept)
{
	// The live one first: a bootstrap would remove the dead one's.
	Child live = Child::start(true);
	ASSERT_GT(live.pid, 0);
	Child dead = Child::start(false);
	ASSERT_GT(dead.pid, 0);
	ASSERT_EQ(dead.finish(), 0);
	ASSERT_FALSE(dead.rundir.empty());
	ASSERT_FALSE(live.rundir.empty());
	ASSERT_TRUE(fs::exists(dead.rundir + "/tenant-file"));
	ASSERT_TRUE(fs::exists(live.rundir + "/tenant-file"));
	// Made by an older build (no lock file): whether its owner lives
	// cannot be told, so it stays.
	const fs::path old = base_ / "0ldBld";
	fs::create_directory(old);
	// Not ours (another name pattern): never touched.
	const fs::path other = base_ / "something-else";
	fs::create_directory(other);

	ASSERT_EQ(boot(), VACCEL_OK) << last_error();
	EXPECT_FALSE(fs::exists(dead.rundir)) << dead.rundir;
	EXPECT_FALSE(fs::exists(dead.rundir + ".lock"));
	EXPECT_TRUE(fs::exists(live.rundir + "/tenant-file")) << live.rundir;
	EXPECT_TRUE(fs::exists(live.rundir + ".lock"));
	EXPECT_TRUE(fs::is_directory(old));
	EXPECT_TRUE(fs::is_directory(other));
	EXPECT_TRUE(fs::is_directory(vaccel_rundir()));

	// Killed: the next bootstrap removes its directory too.
	ASSERT_EQ(::kill(live.pid, SIGKILL), 0);
	int status = 0;
	ASSERT_EQ(::waitpid(live.pid, &status, 0), live.pid);
	::close(live.hold);
	ASSERT_EQ(boot(), VACCEL_OK) << last_error();
	EXPECT_FALSE(fs::exists(live.rundir)) << live.rundir;
	EXPECT_FALSE(fs::exists(live.rundir + ".lock"));
}

// A forked child shares the parent's runtime (and lock); its cleanup (e.g.
// exit() running the atexit handler) must not remove the parent's run
// directory.
TEST_F(RunDir, ForkedChildLeavesTheParentsRunDir)
{
	ASSERT_EQ(boot(), VACCEL_OK) << last_error();
	const std::string rd = vaccel_rundir();
	const pid_t pid = ::fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		::_exit(vaccel_cleanup() == VACCEL_OK ? 0 : 1);
	int status = 0;
	ASSERT_EQ(::waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	EXPECT_TRUE(fs::is_directory(rd));
	EXPECT_TRUE(fs::exists(rd + ".lock"));
	// And a bootstrap elsewhere sees it as alive.
	Child c = Child::start(false);
	ASSERT_EQ(c.finish(), 0);
	EXPECT_TRUE(fs::is_directory(rd));
}

} // namespace
