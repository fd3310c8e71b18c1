// SPDX-License-Identifier: Apache-2.0
// A sandbox handed to a vaccel-agent that already runs (vaccel-vm
// --attach), through the agent's admin socket (docs/security.md, "Attaching
// sandboxes"), instead of a fresh agent per sandbox. vaccel-vm binds the
// sandbox's socket itself and passes it over, so the agent needs no access
// to the sandbox's directory; the tenant and its policy are the launcher's
// to name. Detached when destroyed.
#pragma once

#include <cstdint>
#include <string>

namespace vaccel::vm
{

class Attachment
{
public:
	// Binds @p listen_address (what a per-sandbox agent would listen
	// on) and attaches it to the agent at @p admin as tenant @p tenant,
	// under @p policy (a [tenant] table's keys; empty: the agent's
	// rules for that tenant). Throws std::runtime_error saying why.
	Attachment(std::string admin, const std::string &listen_address,
		   const std::string &tenant, const std::string &policy);
	Attachment(const Attachment &) = delete;
	Attachment &operator=(const Attachment &) = delete;
	~Attachment();

	[[nodiscard]] uint64_t sandbox() const noexcept { return sandbox_; }

private:
	std::string admin_;
	uint64_t sandbox_ = 0;
};

} // namespace vaccel::vm
