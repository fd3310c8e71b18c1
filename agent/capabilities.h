// SPDX-License-Identifier: Apache-2.0
// Process hardening that does not depend on a filter: what a tenant's code,
// running in a worker (or in the agent for a single-tenant agent), could
// otherwise use to reach other processes of the same user.
#pragma once

#include "core/status.h"

namespace vaccel::agent
{

// Marks the process not dumpable: its /proc/<pid>/mem, environ and the
// like are then closed to other processes of the same uid unless they hold
// CAP_SYS_PTRACE, so a tenant's code in one worker cannot read or write the
// agent (which holds every TLS session) or another tenant's worker. No core
// files either. Inherited by threads; execve() resets it, so every
// process calls it (the agent and each worker, from main()).
void make_undumpable() noexcept;

// Drops every capability of the calling thread (effective, permitted,
// inheritable, ambient) and, when allowed, the bounding set, so that a
// worker started by an agent running as root keeps its uid but not root's
// powers (CAP_SYS_PTRACE, CAP_DAC_OVERRIDE...). Capabilities are per
// thread: call it before the process starts threads; threads started
// later inherit the empty sets.
core::Status drop_capabilities();

} // namespace vaccel::agent
