// SPDX-License-Identifier: Apache-2.0
// vaccel-vm fails a run whose agent's plugins do not load: the real
// vaccel-vm and vaccel-agent run, with a stand-in VMM (a shell script that
// records that it was started and reports exit status 0 on its "console").
// The agent listens before its plugins load (agent/plugin_gate.h), so the
// VMM may already have started when the agent exits with the reason;
// vaccel-vm then stops it and reports the agent's failure (125), never the
// guest's status. Plugins are named as VACCEL_PLUGINS takes them: short
// names too.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace
{

namespace fs = std::filesystem;

class TempDir
{
public:
	TempDir()
	{
		std::string t =
		    (fs::temp_directory_path() / "vaccel-vm-plugins-XXXXXX")
			.string();
		if (mkdtemp(t.data()) == nullptr)
			throw std::runtime_error("mkdtemp");
		path_ = t;
	}
	~TempDir() { fs::remove_all(path_); }
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;
	[[nodiscard]] std::string file(const std::string &n) const
	{
		return path_ + "/" + n;
	}

private:
	std::string path_;
};

struct Outcome {
	int rc = -1;
	std::string output; // stdout and stderr
};

// Runs @p cmd under /bin/sh, at most 60 s (coreutils' timeout).
Outcome sh(const std::string &cmd)
{
	int p[2];
	if (pipe(p) != 0)
		return {};
	const std::string line = "exec timeout 60 " + cmd + " 2>&1";
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execl("/bin/sh", "sh", "-c", line.c_str(),
		      static_cast<char *>(nullptr));
		_exit(127);
	}
	close(p[1]);
	Outcome r;
	char buf[4096];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof buf)) > 0)
		r.output.append(buf, static_cast<size_t>(n));
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

class VmPlugins : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::ofstream(dir_.file("vmlinuz")) << "not a kernel";
		std::ofstream(dir_.file("qemu"))
		    << "#!/bin/sh\ntouch '" << marker() << "'\n"
		    << "echo VACCEL_VM_EXIT=0\n";
		fs::permissions(dir_.file("qemu"), fs::perms::owner_all);
	}
	[[nodiscard]] std::string marker() const
	{
		return dir_.file("vmm-started");
	}
	Outcome vm(const std::string &plugins)
	{
		return sh("env -u VACCEL_PLUGINS " TEST_VACCEL_VM " --qemu " +
			  dir_.file("qemu") + " --kernel " +
			  dir_.file("vmlinuz") + " --workdir " +
			  dir_.file("sb") + " -p '" + plugins + "' true");
	}

	TempDir dir_;
};

// The control: the same command line with a plugin that loads reaches the
// VMM, so the refusals below are the plugin check's doing.
TEST_F(VmPlugins, ShortNamesReachTheVmm)
{
	Outcome r = vm("noop:libvaccel-exec.so");
	EXPECT_EQ(r.rc, 0) << r.output;
	EXPECT_TRUE(fs::exists(marker())) << r.output;
}

TEST_F(VmPlugins, UnknownPluginFailsTheRun)
{
	Outcome r = vm("noop:nosuch");
	EXPECT_EQ(r.rc, 125) << r.output; // kExitSetup, not the guest's 0
	EXPECT_NE(r.output.find("vaccel-agent: plugins: "), std::string::npos)
	    << r.output;
	// The agent's reason: what was looked for, where, and what is there.
	EXPECT_NE(r.output.find("cannot load plugin nosuch: no "
				"libvaccel-nosuch.so in"),
		  std::string::npos)
	    << r.output;
	EXPECT_NE(r.output.find("plugins there: "), std::string::npos)
	    << r.output;
	EXPECT_NE(r.output.find("noop"), std::string::npos) << r.output;
}

TEST_F(VmPlugins, MissingPathFailsTheRun)
{
	Outcome r = vm(dir_.file("libvaccel-gone.so"));
	EXPECT_EQ(r.rc, 125) << r.output;
	EXPECT_NE(r.output.find("libvaccel-gone.so"), std::string::npos)
	    << r.output;
}

} // namespace
