// SPDX-License-Identifier: Apache-2.0
// The client's connection to one agent over time: opened by the first call
// that needs one (socket, TLS, Hello negotiation), reopened after a failure
// with the next generation (client.h says why generations matter), and
// never used by a forked child. Generations are unique in the process, across
// the pool's agents and across loads of the plugin (state kept per
// generation never meets a later connection): the high bits name the agent
// (pool.h finds it from them), the low ones count connections.
#pragma once

#include "config.h"
#include "connection.h"
#include "endpoints.h"

#include "rpc/ext.pb.h"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace vaccel::rpc_plugin
{

class SandboxDevice;

// The process's effective uid, gid and supplementary groups.
struct ProcessIdentity {
	uid_t uid = 0;
	gid_t gid = 0;
	std::vector<gid_t> groups;
	static ProcessIdentity current();
	bool operator==(const ProcessIdentity &) const = default;
};

class Link
{
public:
	// Generations of agent @p index carry it above this bit.
	static constexpr int kAgentShift = 40;

	// @p cfg and @p device (may be null: no sandbox memory) outlive the
	// link.
	Link(const Config &cfg, EndpointAddress where, uint32_t index,
	     const SandboxDevice *device)
	    : cfg_(cfg), where_(std::move(where)), device_(device),
	      agent_bits_(uint64_t{index + 1} << kAgentShift)
	{
	}
	Link(const Link &) = delete;
	Link &operator=(const Link &) = delete;
	// Closes the connection; calls must have returned.
	~Link();

	// How get() tells whether a connection of a given generation is
	// still up: from the socket (a poll that sees an agent gone since the
	// last call, so that the call moves before it is sent), or only from
	// what earlier calls found (a call on a dead connection then fails
	// when it is sent or read: enough where there is nowhere to move).
	enum class Check : uint8_t { Socket, Cached };
	// @p generation 0: the current connection, opening one if there is
	// none or it failed (always asking the socket: a new session must not
	// land on a dead connection). Otherwise the connection of that
	// generation, or VACCEL_EIO when it is gone.
	Result<std::shared_ptr<Connection>> get(uint64_t generation,
						Check check = Check::Socket);
	// The current connection when it is up; null otherwise (nothing is
	// opened).
	std::shared_ptr<Connection> current();
	// Connects now and sends the Hello, whose answer the first get()
	// reads: the handshake's round trip then overlaps whatever the
	// program does before its first call (a sandbox's own start), instead
	// of adding to its first call. Waits at most kEarlyWait: a connection
	// that is not made at once (a full listen backlog, a distant or
	// silent tcp agent) is left to the first call. Failing here changes
	// nothing: get() connects as it would have.
	void open_early();
	static constexpr std::chrono::milliseconds kEarlyWait{2};

	[[nodiscard]] const EndpointAddress &where() const noexcept
	{
		return where_;
	}
	// The agent a generation of any link belongs to: its index in the
	// pool plus one (0: none).
	static uint32_t agent_of(uint64_t generation) noexcept
	{
		return static_cast<uint32_t>(generation >> kAgentShift);
	}

private:
	// The whole of opening: connect() and the Hello round trip.
	Result<std::shared_ptr<Connection>> open();
	// The socket (and TLS) of a new connection, before any Hello, made
	// within @p timeout.
	Result<std::shared_ptr<Connection>>
	connect(std::chrono::milliseconds timeout);
	// @p conn with the features the Hello's @p answer (@p hello_status)
	// gives it, ready to be shared.
	Result<std::shared_ptr<Connection>>
	ready(std::shared_ptr<Connection> conn, const Status &hello_status,
	      const rpc::ext::Hello &answer);
	// Posts on @p conn, after its Hello, what the first calls would
	// otherwise map on a local agent first (ShmPool::post_slot_region(),
	// post_arena_block()).
	void post_maps(Connection &conn) const;
	// Reads the answer to open_early()'s Hello into conn_. When that
	// fails conn_ stays empty (the caller connects again), unless the
	// agent never answered: that is returned. Called with mu_ held.
	Status finish_early();
	// Called with mu_ held.
	void leave_to_parent();

	const Config &cfg_;
	const EndpointAddress where_;
	const SandboxDevice *device_;
	std::mutex mu_; // guards conn_, early_conn_ and early_
	std::shared_ptr<Connection> conn_;
	// open_early()'s connection and its Hello, until get() reads the
	// answer, and who the process was then: a unix agent knows its
	// clients by the credentials of their connect() (SO_PEERCRED,
	// SO_PEERGROUPS), so a program that changes them before its first
	// session (a server dropping root) must not use a connection made
	// under the old ones.
	std::shared_ptr<Connection> early_conn_;
	std::unique_ptr<Connection::Posted> early_;
	ProcessIdentity early_identity_;
	const uint64_t agent_bits_;
};

} // namespace vaccel::rpc_plugin
