// SPDX-License-Identifier: Apache-2.0
// The control socket between the agent and a tenant's worker process
// (tenant_workers.h): a SOCK_SEQPACKET socketpair, so that every message
// arrives whole. The agent sends each accepted connection as one message:
// its 8-byte tag (the agent's connection id) with the descriptor
// (SCM_RIGHTS). The worker answers with the tag alone once it has closed
// that connection, so the agent can give back the connection's place under
// the quotas it keeps.
#pragma once

#include "transport/transport.h"

#include <cstdint>

namespace vaccel::agent::worker_channel
{

// Both return false on an error (errno set); a worker that died makes
// send_connection fail with EPIPE.
bool send_connection(int ctrl, uint64_t tag, int fd) noexcept;
bool send_closed(int ctrl, uint64_t tag) noexcept;

// One message: 1 with *@p tag (and *@p fd when one came), 0 at the end of
// the channel (the other side closed it), -1 on an error (errno set).
int receive(int ctrl, uint64_t *tag, transport::UniqueFd *fd) noexcept;

} // namespace vaccel::agent::worker_channel
