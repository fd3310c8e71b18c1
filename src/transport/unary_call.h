// SPDX-License-Identifier: Apache-2.0
// One ttrpc call on a connection of its own, for tools that make a single
// call (the vaccel CLI asking an agent what it serves, vaccel-vm attaching
// a sandbox on an admin socket). The rpc plugin, which multiplexes many
// calls on one connection, has its own client.
#pragma once

#include "transport/transport.h"

#include <chrono>
#include <span>
#include <string>
#include <string_view>

namespace vaccel::transport
{

struct UnaryCall {
	std::string_view service{};
	std::string_view method{};
	std::string_view payload{}; // the serialized request message
	std::span<const int> fds{}; // passed with the request (unix sockets)
	std::chrono::milliseconds connect_timeout{5000};
	std::chrono::milliseconds reply_timeout{15000};
};

// Calls one after another on one connection kept open: a launcher that
// attaches many sandboxes pays for connecting once. Not thread-safe.
class UnaryClient
{
public:
	// @p timeout: for connecting (UnaryCall::connect_timeout is unused).
	static Result<UnaryClient> connect(const Address &address,
					   std::chrono::milliseconds timeout);
	// As unary_call(). After an error of the exchange itself (VACCEL_EIO)
	// the connection is closed and every later call fails: connect again.
	Result<std::string> call(const UnaryCall &call);

private:
	explicit UnaryClient(Stream s) : stream_(std::move(s)) {}
	Result<std::string> exchange(const UnaryCall &call);
	// Polls briefly for the reply before the read that blocks: the calls
	// made on a kept connection (a launcher attaching sandboxes) are
	// answered within microseconds, and a caller woken from sleep would
	// pay more than that for its wake-up.
	void await_reply();

	static constexpr size_t kReadAhead = 4096;
	static constexpr std::chrono::microseconds kReplyPoll{100};

	Stream stream_;
	uint32_t next_id_ = 1;
};

// Connects to @p address, sends @p call and returns the reply's payload.
// Errors: VACCEL_EIO (cannot connect or exchange; Cause::TimedOut when a
// timeout fired), VACCEL_ENOTSUP (the peer does not know the method: an
// upstream or older agent), VACCEL_EREMOTEIO (the peer refused the call;
// the message is "the agent refused METHOD: its message").
Result<std::string> unary_call(const Address &address, const UnaryCall &call);

} // namespace vaccel::transport
