// SPDX-License-Identifier: Apache-2.0
// The control socket between the agent and a tenant's worker process
// (tenant_workers.h): a SOCK_SEQPACKET socketpair, so that every message
// arrives whole. The agent sends each accepted connection as one message:
// its tag (the agent's connection id) and flags, with the descriptor
// (SCM_RIGHTS), and the memory file of the connection's sandbox after it
// when it has one. The worker answers with the tag alone once it has closed
// that connection, so the agent can give back the connection's place under
// the quotas it keeps. When the agent drains (drain.h) it tells every
// worker so (kDrain, no descriptor), and each answers kDrained once it is
// quiet.
#pragma once

#include "transport/sandbox_memory.h"
#include "transport/transport.h"

#include <cstdint>

namespace vaccel::agent::worker_channel
{

// What a message says about its connection.
enum Flags : uint64_t {
	// The descriptor is the agent's end of a relay (tls_relay.h), not
	// the client's socket: whatever its address family, the client is
	// remote (no shared memory, no descriptor passing).
	kRelayed = 1,
	// Agent to worker: the agent drains; the tag is the grace period
	// left, in milliseconds. No descriptor comes with it.
	kDrain = 2,
	// Worker to agent: nothing in flight and no extension client holds
	// a session any more (Server::quiet()). Tag 0.
	kDrained = 4,
	// A second descriptor follows: the memory of the connection's
	// sandbox (sandbox_memory.h), whose token the message carries.
	kSandboxMemory = 8,
};

struct Message {
	uint64_t tag = 0;
	uint64_t flags = 0;
	transport::SandboxToken token{}; // kSandboxMemory
};

// Both return false on an error (errno set); a worker that died makes
// send_connection fail with EPIPE. @p memory_fd: the sandbox memory's file
// (-1: none; then kSandboxMemory must not be set).
bool send_connection(int ctrl, const Message &m, int fd,
		     int memory_fd = -1) noexcept;
bool send_closed(int ctrl, uint64_t tag) noexcept;
bool send_drain(int ctrl, uint64_t grace_ms) noexcept;
bool send_drained(int ctrl) noexcept;

// One message: 1 with *@p m (and *@p fd, *@p memory when they came), 0 at
// the end of the channel (the other side closed it), -1 on an error (errno
// set).
int receive(int ctrl, Message *m, transport::UniqueFd *fd,
	    transport::UniqueFd *memory = nullptr) noexcept;

} // namespace vaccel::agent::worker_channel
