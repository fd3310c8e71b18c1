// SPDX-License-Identifier: Apache-2.0
// The resources the plugin mirrors on agents. A resource registered with
// several sessions on one agent connection is uploaded once and attached to
// the others; sessions on different agents (a pool) each get a copy on
// their agent. res->plugin_priv points at the list of copies: per
// connection generation, the agent's id and how many of our sessions there
// hold it. res->remote_id shows the copy made last, 0 once none is left.
#pragma once

#include "sessions.h"

#include <vaccel.h>

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace vaccel::rpc_plugin
{

class Resources
{
public:
	explicit Resources(Client &client);
	Resources(const Resources &) = delete;
	Resources &operator=(const Resources &) = delete;
	// Frees the lists of resources still registered (a program that
	// exits without releasing them).
	~Resources();

	// Registers @p res with session @p session: attached to the copy on
	// that connection when there is one, else sent (by digest when the
	// agent's model cache has it, else as its files' bytes).
	Status add(vaccel_resource *res, const Remote &session);
	// Unregisters @p res from @p session; with @p reach_agent false (the
	// connection is gone) only the bookkeeping.
	Status remove(vaccel_resource *res, const Remote &session,
		      bool reach_agent);
	// The session left connection @p generation for another (the
	// connection is lost, or its agent drains): it no longer holds the
	// copy there.
	void left(vaccel_resource *res, uint64_t generation);

	// The copy of @p res on connection @p generation.
	static Result<Remote> find(const vaccel_resource *res,
				   uint64_t generation);

	struct Copies; // resources.cpp

private:
	Result<int64_t> upload(vaccel_resource *res, const Remote &session);

	Client &client_;
	// One registration at a time: whether a copy exists on a connection
	// is decided and updated under it, so two sessions registering one
	// resource at once make one copy. Guards lists_ too.
	std::mutex mu_;
	// Every resource's list of copies (res->plugin_priv points at its).
	std::unordered_map<Copies *, std::unique_ptr<Copies>> lists_;
};

} // namespace vaccel::rpc_plugin
