// SPDX-License-Identifier: Apache-2.0
// The system call filter of a tenant's worker process (--isolate-tenants,
// tenant_workers.h). A worker runs one tenant's ops, and so whatever a
// hostile model or an allowed exec library makes the backend do; the
// filter takes away what no backend needs and what would turn a backend
// bug into a host compromise: debugging other processes, namespaces and
// mounts, kernel modules, BPF, keyrings, clocks, new programs (execve)
// and new processes (clone without CLONE_THREAD). Threads, memory, files,
// sockets and device ioctls stay allowed: libtorch, OpenMP and CUDA need
// them. Refused calls fail with EPERM (a library sees an error it
// handles, the process is not killed); clone3 fails with ENOSYS, so that
// glibc falls back to clone, whose flags a filter can read.
#pragma once

#include "core/status.h"

namespace vaccel::agent
{

// Installs the filter on the calling process (every thread, present and
// future: SECCOMP_FILTER_FLAG_TSYNC) with no_new_privs set. Irreversible.
// Call once the runtime and its plugins are loaded.
core::Status install_worker_filter();

} // namespace vaccel::agent
