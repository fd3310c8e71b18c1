// SPDX-License-Identifier: Apache-2.0
// What happens to an op whose agent goes away. Every op and session hook
// runs through run_on_session(): when a call of it lost its agent
// (client.h, LostCall), the session moves to another agent of the pool
// (sessions.h) and the op runs again there, from the start, so that it
// names the session and resources by their new ids.
//
// - A request that never reached the agent, or that a draining agent
//   refused unrun, runs again whatever the op.
// - A request in flight when the connection failed may have run. It runs
//   again, once, only when the op is Pure: running it twice gives the
//   program the same outputs and nothing else. Otherwise the op fails with
//   VACCEL_EIO saying so (the session has moved: the next op runs).
// - When no other agent takes the session, the op fails with VACCEL_EIO
//   naming why; a pool of one agent behaves as the plugin always did.
//
// The program sees each op's result once, from the one run it returned.
#pragma once

#include "fn_ref.h"

#include <vaccel.h>

#include <cstdint>

namespace vaccel::rpc_plugin
{

// Whether an op may run twice.
enum class Replay : uint8_t {
	// Its only effect is its outputs (model runs, classification,
	// sgemm...): safe to run again elsewhere.
	Pure,
	// It may act outside its outputs (exec runs arbitrary code): never
	// run twice.
	Effects,
};

// The table: every op type is Pure except EXEC and EXEC_WITH_RESOURCE.
// Session and resource hooks count as Pure: what they change lives on the
// agent's connection, which died with it.
Replay replay_of(vaccel_op_type_t op) noexcept;

// Runs @p body (an op or hook of session @p sess; it returns a vAccel code)
// as described above. A session the plugin did not make runs @p body once.
int run_on_session(const char *what, const vaccel_session *sess, Replay replay,
		   FnRef<int()> body);

} // namespace vaccel::rpc_plugin
