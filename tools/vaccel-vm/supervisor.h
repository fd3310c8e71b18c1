// SPDX-License-Identifier: Apache-2.0
// vaccel-vm: runs one sandbox. A private directory, a vaccel-agent serving
// only this VM (its plugins chosen per sandbox) on a socket in that
// directory, then the VMM with the transport wired to it. The guest's
// console is copied to stdout; the exit status the guest's init reports
// (VACCEL_VM_EXIT=<n>) becomes ours. The agent is stopped however the VM
// ends: normal exit, guest crash, VMM killed, timeout, or a signal to us;
// if vaccel-vm itself is killed, the kernel stops both children
// (PR_SET_PDEATHSIG).
#pragma once

#include "vm_config.h"

#include <string>
#include <vector>

namespace vaccel::vm
{

// Exit statuses of vaccel-vm besides the guest's own.
inline constexpr int kExitCrashed = 123; // VM ended without a status
inline constexpr int kExitTimeout = 124; // --timeout reached
inline constexpr int kExitSetup = 125;   // agent or VMM could not run

struct RunOptions {
	VmSpec spec;       // workdir filled in by run_sandbox if empty
	std::string agent; // vaccel-agent binary
	std::vector<std::string> agent_args;
	std::string plugins; // the agent's VACCEL_PLUGINS
	std::string firecracker = "firecracker";
	unsigned timeout_s = 0; // 0: none
	bool keep_workdir = false;
	bool verbose = false; // say what is started, on stderr
	// Instead of an agent of its own, hand the sandbox to the running
	// agent whose admin socket this is (attach.h), as `tenant` under
	// `policy` (TOML, a [tenant] table's keys).
	std::string attach;
	std::string tenant;
	std::string policy;
};

// Runs the sandbox; returns the exit status vaccel-vm should have.
int run_sandbox(RunOptions opts);

// The tcp transport's bridge: copies stdin to the agent's unix socket
// @p unix_path and the socket to stdout until both sides are done. QEMU
// runs it for each guest connection (guestfwd cmd:). Returns 0, or 1 if
// the agent cannot be reached.
int run_bridge(const std::string &unix_path);

// The command line of the sandbox's own agent: @p agent listening where
// @p spec says, with the sandbox memory at descriptor @p memory_fd (-1:
// none), and @p extra.
std::vector<std::string> agent_argv(const std::string &agent,
				    const VmSpec &spec,
				    const std::vector<std::string> &extra,
				    int memory_fd);

// The agent binary next to this program (same build or install tree), or
// plain "vaccel-agent" to be found on PATH.
std::string default_agent_path();
// This program's own path (for the bridge command).
std::string self_path();

} // namespace vaccel::vm
