// SPDX-License-Identifier: Apache-2.0
// The client's connection to the agent over time: opened by the first call
// that needs one (socket, TLS, Hello negotiation), reopened after a failure
// with the next generation (client.h says why generations matter), and
// never used by a forked child.
#pragma once

#include "config.h"
#include "connection.h"

#include <cstdint>
#include <memory>
#include <mutex>

namespace vaccel::rpc_plugin
{

class SandboxDevice;

class Link
{
public:
	// @p cfg and @p device (may be NULL: no sandbox memory) outlive the
	// link.
	Link(const Config &cfg, const SandboxDevice *device)
	    : cfg_(cfg), device_(device)
	{
	}
	Link(const Link &) = delete;
	Link &operator=(const Link &) = delete;
	// Closes the connection; calls must have returned.
	~Link();

	// @p generation 0: the current connection, opening one if there is
	// none or it failed. Otherwise the connection of that generation,
	// or VACCEL_EIO when it is gone.
	Result<std::shared_ptr<Connection>> get(uint64_t generation);

private:
	Result<std::shared_ptr<Connection>> open();
	// Called with mu_ held.
	void leave_to_parent();

	const Config &cfg_;
	const SandboxDevice *device_;
	std::mutex mu_; // guards conn_ and last_generation_
	std::shared_ptr<Connection> conn_;
	uint64_t last_generation_ = 0;
};

} // namespace vaccel::rpc_plugin
