// SPDX-License-Identifier: Apache-2.0
// The sessions the plugin mirrors on agents: where each lives now (the
// agent's id and the generation of the connection, plugin.h's Remote), and
// what it takes to make it again elsewhere: its flags, the resources
// registered with it and the models loaded. Moving a session (failover.h
// decides when) re-creates it on another agent of the pool, registers its
// resources there and loads its models again; the program keeps its
// vaccel_session and never sees the move.
//
// What is kept is small: pointers to the program's own resources, which
// hold their files' paths or their buffers, so re-registering reads the
// files again (or asks the agent's model cache by digest) rather than
// keeping a second copy of every model in memory. The price: a file changed
// or removed after registration cannot be registered the same again, and
// the move fails with that reason.
#pragma once

#include "client.h"

#include <vaccel.h>

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace vaccel::rpc_plugin
{

// The agent's id of an object and the generation of the connection it
// lives on.
struct Remote {
	int64_t id = 0;
	uint64_t generation = 0;
};

// A model loaded on a session (tf, tflite and torch model loads), loaded
// again when the session moves.
struct ModelLoad {
	vaccel_op_type_t op;
	vaccel_resource *model;
};

// One session of ours; sess->priv points at it.
struct SessionRecord {
	SessionRecord(vaccel_session *s, uint32_t f) : sess(s), flags(f) {}

	vaccel_session *const sess;
	mutable std::mutex mu; // guards everything below
	uint32_t flags;
	Remote remote;
	std::vector<vaccel_resource *> resources; // in registration order
	std::vector<ModelLoad> loads;
};

class Resources;

class Sessions
{
public:
	Sessions(Client &client, Resources &resources)
	    : client_(client), resources_(resources)
	{
	}
	Sessions(const Sessions &) = delete;
	Sessions &operator=(const Sessions &) = delete;

	// The record behind @p sess; VACCEL_EINVAL for a session the plugin
	// did not create.
	static Result<SessionRecord *> record(const vaccel_session *sess);
	// Where @p sess lives now.
	static Result<Remote> remote(const vaccel_session *sess);

	// Creates @p sess on the agent placement picks (another one when
	// that one drains or cannot be reached).
	Status create(vaccel_session *sess, uint32_t flags);
	// Destroys it on its agent when that is still up, and forgets it.
	Status release(vaccel_session *sess);
	// Moves @p rec off connection @p lost (which failed, or whose agent
	// drains) to another agent; nothing to do when it has moved already.
	// VACCEL_EIO naming the reason when no other agent takes it.
	Status move(SessionRecord &rec, const LostCall &lost);

	// Bookkeeping of the model ops, under rec.mu: @p load (its load op)
	// is to be repeated after a move, or no longer.
	static void note_load(SessionRecord &rec, ModelLoad load);
	static void note_unload(SessionRecord &rec, ModelLoad load);

private:
	// CreateSession with @p flags on the connection placement gives;
	// tries further agents for one that drains or cannot be reached.
	Result<Remote> create_remote(uint32_t flags, uint64_t leaving);
	// Registers @p rec's resources and loads its models on @p to;
	// *@p added: how many resources it registered.
	Status restore(SessionRecord &rec, const Remote &to, size_t *added);
	// Takes back a restore() that failed: the new session goes.
	void undo(SessionRecord &rec, const Remote &to, size_t added);
	// @p rec lives on @p to from now on.
	void commit(SessionRecord &rec, const Remote &from, const Remote &to,
		    const std::string &old_name, const LostCall &lost);

	Client &client_;
	Resources &resources_;
	std::mutex mu_; // guards live_
	std::unordered_map<SessionRecord *, std::unique_ptr<SessionRecord>>
	    live_;
};

} // namespace vaccel::rpc_plugin
