// SPDX-License-Identifier: Apache-2.0
#include "failover.h"

#include "plugin.h"
#include "pool.h"

namespace vaccel::rpc_plugin
{

namespace
{

// Moves in one op: enough for an agent that drains and a second that goes
// away meanwhile, never a loop.
constexpr int kMaxMoves = 3;

// A session whose agent said it drains leaves before its next call, so
// that no new request of it reaches that agent.
Status leave_draining(SessionRecord &rec)
{
	Remote now;
	{
		std::lock_guard lock(rec.mu);
		now = rec.remote;
	}
	Endpoint *e = plugin().client.pool().endpoint(now.generation);
	if (e == nullptr || !e->draining_on(now.generation))
		return Status::ok();
	return plugin().sessions.move(
	    rec, {LostCall::Kind::NotSent, now.generation, true});
}

} // namespace

Replay replay_of(vaccel_op_type_t op) noexcept
{
	switch (op) {
	case VACCEL_OP_EXEC:
	case VACCEL_OP_EXEC_WITH_RESOURCE:
		return Replay::Effects;
	default:
		return Replay::Pure;
	}
}

int run_on_session(const char *what, const vaccel_session *sess, Replay replay,
		   FnRef<int()> body)
{
	auto rec = Sessions::record(sess);
	if (!rec)
		return body(); // the body reports it
	bool ran_again = false;
	for (int moves = 0;; ++moves) {
		if (Status st = leave_draining(*rec.value()); !st)
			return fail(what, st);
		LostCall::current() = {};
		const int rc = body();
		const LostCall lost = LostCall::current();
		if (rc == VACCEL_OK || lost.kind == LostCall::Kind::None ||
		    moves == kMaxMoves)
			return rc;
		const bool in_flight = lost.kind == LostCall::Kind::InFlight;
		const std::string gone =
		    plugin().client.pool().name_of(lost.generation);
		if (Status st = plugin().sessions.move(*rec.value(), lost); !st)
			return fail(what, st);
		if (!in_flight)
			continue;
		if (replay == Replay::Effects)
			return fail(what,
				    Status::error(
					VACCEL_EIO,
					"agent %s went away while this call "
					"was in flight: it may have run there, "
					"and %s is not run again since it may "
					"act beyond its outputs (the session "
					"has moved: later calls run)",
					gone.c_str(), what));
		if (ran_again)
			return rc;
		ran_again = true;
	}
}

} // namespace vaccel::rpc_plugin
