// SPDX-License-Identifier: Apache-2.0
// The worker processes' system call filter (agent/seccomp_filter.h),
// tested directly: in a forked child that installs it, what a backend
// never needs fails with EPERM, and what backends do (threads, memory,
// files, sockets) still works.
#include "seccomp_filter.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace
{

// Runs @p body in a child with the filter installed; the child's report
// ("" when every check passed).
template <class F> std::string filtered(F body)
{
	int p[2];
	if (::pipe(p) != 0)
		return "pipe failed";
	const pid_t pid = ::fork();
	if (pid == 0) {
		::close(p[0]);
		std::string report;
		if (auto st = vaccel::agent::install_worker_filter(); !st)
			report = "install: " + st.message();
		else
			report = body();
		[[maybe_unused]] ssize_t n =
		    ::write(p[1], report.data(), report.size());
		::_exit(0); // no atexit work (sanitizers) under the filter
	}
	::close(p[1]);
	std::string out;
	char buf[256];
	for (ssize_t n; (n = ::read(p[0], buf, sizeof(buf))) > 0;)
		out.append(buf, static_cast<size_t>(n));
	::close(p[0]);
	int status = 0;
	::waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		out += " child died: status " + std::to_string(status);
	return out;
}

// "" when @p rc is -1 with EPERM, else what happened.
std::string refused(const char *what, long rc)
{
	if (rc == -1 && errno == EPERM)
		return "";
	return std::string(what) + ": rc " + std::to_string(rc) + " errno " +
	       std::to_string(errno) + "; ";
}

TEST(SeccompFilter, RefusesWhatNoBackendNeeds)
{
	const std::string report = filtered([] {
		std::string r;
		r += refused("unshare", ::unshare(CLONE_NEWUSER));
		r += refused("mount",
			     ::mount("none", "/mnt", "tmpfs", 0, nullptr));
		r += refused("umount2", ::umount2("/", MNT_DETACH));
		r += refused("chroot", ::chroot("/"));
		r += refused("ptrace", ::ptrace(PTRACE_TRACEME, 0, 0, 0));
		r += refused("bpf", ::syscall(SYS_bpf, 0, nullptr, 0));
		r += refused(
		    "perf_event_open",
		    ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0));
		r += refused("keyctl", ::syscall(SYS_keyctl, 0, 0, 0, 0, 0));
		r += refused("init_module",
			     ::syscall(SYS_init_module, nullptr, 0, ""));
		r += refused("personality",
			     ::syscall(SYS_personality, 0x0040000));
		char *argv[] = {const_cast<char *>("/bin/true"), nullptr};
		char *envp[] = {nullptr};
		r += refused("execve", ::execve("/bin/true", argv, envp));
		r += refused("fork", ::fork());
		// system() goes through clone (clone3 says ENOSYS first).
		if (std::system("true") == 0)
			r += "system() ran a program; ";
		return r;
	});
	EXPECT_EQ(report, "");
}

TEST(SeccompFilter, LeavesBackendsTheirUsualCalls)
{
	const std::string report = filtered([] {
		std::string r;
		// Threads: libtorch and OpenMP pools.
		int sum = 0;
		std::thread t([&] { sum = 42; });
		t.join();
		if (sum != 42)
			r += "thread; ";
		void *m = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			r += "mmap; ";
		else
			::munmap(m, 1 << 20);
		const int fd = ::open("/proc/self/status", O_RDONLY);
		char buf[64];
		if (fd < 0 || ::read(fd, buf, sizeof(buf)) <= 0)
			r += "open/read; ";
		if (fd >= 0)
			::close(fd);
		int sv[2];
		if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
			r += "socketpair; ";
		else if (::write(sv[0], "x", 1) != 1 ||
			 ::read(sv[1], buf, 1) != 1)
			r += "socket io; ";
		// Asking the personality is fine.
		if (::syscall(SYS_personality, 0xffffffffUL) < 0)
			r += "personality query; ";
		return r;
	});
	EXPECT_EQ(report, "");
}

} // namespace
