// SPDX-License-Identifier: Apache-2.0
// TLS under --isolate-tenants. A TLS session cannot move to another
// process (its keys and sequence numbers live in this one), so the agent
// keeps the client's connection, and hands the tenant's worker the other
// end of a socketpair instead; relay() then pumps the decrypted bytes
// both ways until either side closes. The worker serves the pair like any
// remote connection (worker_channel::kRelayed: no shared memory, no
// descriptors) with its own read and idle deadlines, which end the relay
// by closing their end.
#pragma once

#include "transport/transport.h"

#include <chrono>

namespace vaccel::agent
{

// Pumps bytes between @p client (a TLS stream, already identified) and
// @p worker until one of them closes or fails, then shuts both down.
// Blocks; the caller's thread carries client -> worker, a thread of its
// own worker -> client. Writes to the client wait at most
// @p write_timeout (a client that stops reading its replies is dropped, as
// a direct connection's reply queue would drop it); writes to the worker
// wait as long as the worker does not read, which is how a direct client
// is held back when it has too many calls in flight. Stream::shutdown()
// on @p client from another thread ends it.
void relay(transport::Stream &client, transport::Stream worker,
	   std::chrono::milliseconds write_timeout);

} // namespace vaccel::agent
