// SPDX-License-Identifier: Apache-2.0
#include "seccomp_filter.h"

#include <vaccel.h>

#include <sched.h>
#include <seccomp.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace vaccel::agent
{

namespace
{

// Refused with EPERM whatever their arguments (docs/security.md lists
// them with the reasons).
constexpr const char *kDenied[] = {
    // other processes' memory and control
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    // namespaces, mounts and the filesystem root
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    // the kernel itself
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "fanotify_init",
    "lookup_dcookie",
    "iopl",
    "ioperm",
    "syslog",
    "quotactl",
    "nfsservctl",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "vhangup",
    // keyrings
    "keyctl",
    "add_key",
    "request_key",
    // the host's clocks
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    // new programs and new processes (threads stay: see clone below)
    "execve",
    "execveat",
    "fork",
    "vfork",
};

struct CtxDeleter {
	void operator()(scmp_filter_ctx c) const noexcept
	{
		seccomp_release(c);
	}
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

core::Status failed(const char *what, int rc)
{
	return core::Status::error(VACCEL_EIO, "seccomp: %s: %s", what,
				   std::strerror(-rc));
}

core::Status deny_listed(scmp_filter_ctx ctx)
{
	for (const char *name : kDenied) {
		const int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR)
			continue; // not on this architecture
		if (int rc =
			seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		    rc != 0)
			return failed(name, rc);
	}
	return core::Status::ok();
}

// clone: threads (CLONE_THREAD) are what libtorch and OpenMP create; a
// clone without it is a new process (fork, posix_spawn, system()).
// clone3 passes its flags in memory a filter cannot read: ENOSYS makes
// glibc retry with clone.
core::Status deny_processes(scmp_filter_ctx ctx)
{
	int rc = seccomp_rule_add(
	    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, static_cast<scmp_datum_t>(CLONE_THREAD),
		    0));
	if (rc != 0)
		return failed("clone", rc);
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return rc == 0 ? core::Status::ok() : failed("clone3", rc);
}

// personality: asking (0xffffffff) is harmless and some libraries do;
// changing it (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE) is refused.
core::Status deny_personality(scmp_filter_ctx ctx)
{
	const int rc =
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality),
			     1, SCMP_A0(SCMP_CMP_NE, 0xffffffffU));
	return rc == 0 ? core::Status::ok() : failed("personality", rc);
}

} // namespace

core::Status install_worker_filter()
{
	Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
	if (!ctx)
		return core::Status::error(VACCEL_ENOMEM, "seccomp: init");
	// Every thread: plugins started theirs before the filter.
	if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1);
	    rc != 0)
		return failed("tsync", rc);
	VACCEL_RETURN_IF_ERROR(deny_listed(ctx.get()));
	VACCEL_RETURN_IF_ERROR(deny_processes(ctx.get()));
	VACCEL_RETURN_IF_ERROR(deny_personality(ctx.get()));
	if (int rc = seccomp_load(ctx.get()); rc != 0)
		return failed("load", rc);
	return core::Status::ok();
}

} // namespace vaccel::agent
