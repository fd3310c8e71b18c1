// SPDX-License-Identifier: Apache-2.0
// A sandbox handed to a vaccel-agent that already runs (vaccel-vm
// --attach), through the agent's admin socket (docs/security.md, "Attaching
// sandboxes"), instead of a fresh agent per sandbox. vaccel-vm binds the
// sandbox's socket itself and passes it over, so the agent needs no access
// to the sandbox's directory; the tenant and its policy are the launcher's
// to name, and the sandbox memory (the VM's ivshmem device), if any, is
// passed along. Detached when destroyed.
#pragma once

#include "transport/transport.h"
#include "transport/unary_call.h"

#include <cstdint>
#include <string>
#include <vector>

namespace vaccel::vm
{

class Attachment
{
public:
	// Binds @p listen_address (what a per-sandbox agent would listen
	// on) and attaches it to the agent at @p admin as tenant @p tenant,
	// under @p policy (a [tenant] table's keys; empty: the agent's
	// rules for that tenant), on a connection of its own for each call.
	// @p memory_fd: the sandbox memory's file (-1: none), which the agent
	// maps too. Throws std::runtime_error saying why.
	Attachment(std::string admin, const std::string &listen_address,
		   const std::string &tenant, const std::string &policy,
		   int memory_fd = -1);
	// The same for a long-running launcher: @p admin is its connection
	// to the admin socket, kept open (it must outlive this object), and
	// @p listener the sandbox's socket, bound with bind_listener().
	Attachment(transport::UnaryClient &admin, transport::UniqueFd listener,
		   const std::string &tenant, const std::string &policy,
		   int memory_fd = -1);
	Attachment(const Attachment &) = delete;
	Attachment &operator=(const Attachment &) = delete;
	~Attachment();

	// A listening socket at @p listen_address, as the agent would bind
	// it. Throws std::runtime_error.
	static transport::UniqueFd
	bind_listener(const std::string &listen_address);

	[[nodiscard]] uint64_t sandbox() const noexcept { return sandbox_; }

private:
	void attach(transport::UniqueFd listener, const std::string &tenant,
		    const std::string &policy, int memory_fd);
	// One Launcher call; its reply payload, or throws.
	std::string call(const char *method, const std::string &payload,
			 std::vector<int> fds = {});

	std::string admin_;
	transport::UnaryClient *client_ = nullptr;
	uint64_t sandbox_ = 0;
};

} // namespace vaccel::vm
