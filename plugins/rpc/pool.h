// SPDX-License-Identifier: Apache-2.0
// The agents of VACCEL_RPC_ADDRESS (endpoints.h) and the choice among them:
// a new session is placed on an agent (placement.h) and its calls then go to
// that agent's connection, named by the session's generation (link.h). A
// single address is a pool of one, which behaves as the plugin always did:
// one lazily made connection, reopened after a failure.
//
// Health: an agent whose connection cannot be made, or drops, waits out a
// backoff (backoff.h) before new sessions try it again; one that says it
// drains takes no new sessions until a later connection finds a serving
// agent. When no agent is usable the ones waiting out a failure are tried
// anyway (a lone agent that came back must not wait).
//
// Names in the list are resolved again every VACCEL_RPC_RESOLVE_MS, when a
// session is placed: new addresses join, those no longer listed take no new
// sessions (their sessions stay until their connection ends).
//
// Load: with two or more usable agents, placement asks each idle connection
// for its agent's load (AgentAdmin/Hello answers it) at most every
// VACCEL_RPC_LOAD_MS. Only idle ones: the agent answers a Hello at once only
// when nothing else of that connection is in flight, and for busy ones this
// process's own calls in flight are known anyway.
#pragma once

#include "endpoint.h"
#include "placement.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace vaccel::rpc_plugin
{

class Pool
{
public:
	using Clock = std::chrono::steady_clock;

	// @p cfg and @p device (the VM's sandbox memory, offered to every
	// agent; may be null) outlive the pool. Names are resolved here
	// first; one that cannot be is tried again when a session is placed.
	explicit Pool(const Config &cfg, const SandboxDevice *device = nullptr,
		      Resolver resolve = system_resolver());
	Pool(const Pool &) = delete;
	Pool &operator=(const Pool &) = delete;

	// A connection for a new session, on the agent placement picks among
	// the usable ones, connecting as needed; an agent that cannot be
	// reached is marked failed and the next one tried. @p leaving: the
	// generation of a session that moves, whose agent is not chosen (0:
	// none). The failure of the last agent tried when none works.
	Result<std::shared_ptr<Connection>> place(uint64_t leaving = 0);
	// The connection of @p generation, or VACCEL_EIO (Cause::NotSent)
	// when it is gone.
	Result<std::shared_ptr<Connection>> get(uint64_t generation);
	// Whether the connection of @p generation is up, asking its socket
	// (a hang-up since the last call counts).
	bool alive(uint64_t generation);
	// The agent of @p generation (null for a generation no agent made).
	// Agents are never removed: the pointer stays valid.
	Endpoint *endpoint(uint64_t generation);
	// A session lost its agent's connection @p generation: the agent
	// drains, or went away (marked failed, once per connection).
	void lost(uint64_t generation, bool draining);
	// The agent's name, for messages.
	std::string name_of(uint64_t generation);
	// Agents known (listed or not).
	size_t size();
	// The agents known, in order of discovery: name, listed (tests).
	std::vector<std::pair<std::string, bool>> agents();

private:
	std::vector<Endpoint *> snapshot();
	// Resolves the names again when due (or when nothing is known).
	void refresh(Clock::time_point now);
	// Asks idle agents their load when due.
	void probe(const std::vector<Endpoint *> &all, Clock::time_point now);
	void add(const EndpointAddress &where);

	const Config &cfg_;
	const SandboxDevice *const device_;
	const Resolver resolve_;
	Placement placement_;
	const bool named_; // some entry is a name to resolve
	// One agent, for good (set once, in the constructor): nowhere for a
	// session to move to.
	bool alone_ = false;
	// Whether calls on @p e's connections may skip asking the socket
	// (Link::Check::Cached).
	bool cached_check(const Endpoint &e) const noexcept;

	// Guards endpoints_, which only grows, and only after the
	// constructor where some entry is a name (named_).
	std::shared_mutex mu_;
	std::vector<std::unique_ptr<Endpoint>> endpoints_;

	std::mutex refresh_mu_; // one resolution at a time
	Clock::time_point resolved_at_{};
	bool resolved_ = false;

	std::mutex probe_mu_; // one round of load questions at a time
	std::atomic<int64_t> probed_at_ns_{0};
};

} // namespace vaccel::rpc_plugin
