// SPDX-License-Identifier: Apache-2.0
// The agent's view of the vAccel objects its clients create: RAII owners of
// sessions and resources, and the table that says which connection owns
// which id.
//
// Lifetimes follow shared ownership, and that is what keeps the agent safe
// against a client that races its own requests:
//  - the table owns each session (one shared_ptr per live session);
//  - a session owns the resources registered with it (shared_ptrs), so a
//    resource lives exactly as long as some session uses it, which is
//    upstream's "release the resource once its refcount drops to 0";
//  - the table only *names* resources (weak_ptrs), for lookups;
//  - a handler that uses an object holds its own shared_ptr for the length
//    of the call. Destroying a session (or closing its connection) while an
//    op on it still runs on another worker therefore only drops the table's
//    reference: the vAccel release happens when that op returns, never
//    under it.
// Destructors of these objects call into vAccel (and plugins, which may
// block), so no shared_ptr is ever dropped while the table mutex is held.
#pragma once

#include "rpc_status.h"
#include "session_profile.h"
#include "tenant.h"

#include <vaccel.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace vaccel::agent
{

using ConnId = uint64_t;

class ObjectTable;

// One vaccel_resource on the host and the directory that holds the files
// written from its blobs (removed with it). Connections reach it through
// AgentResource handles; the model cache (model_cache.h) lets handles of
// several connections share one, so that a model loaded once serves them
// all.
class HostResource
{
public:
	HostResource(vaccel_resource *res, std::string dir) noexcept
	    : res_(res), dir_(std::move(dir))
	{
	}
	HostResource(const HostResource &) = delete;
	HostResource &operator=(const HostResource &) = delete;
	~HostResource();

	[[nodiscard]] vaccel_resource *get() const noexcept { return res_; }
	// The disk quota its files hold, given back when it is released, or
	// when the model cache takes it over (its model_cache_bytes charge
	// then counts the files).
	void hold(Charge disk) noexcept { disk_ = std::move(disk); }
	void release_disk() noexcept { disk_.reset(); }
	// SHA-256 (lower-case hex) of each file uploaded as a blob, in blob
	// order; empty for URL resources. What the exec policy names.
	std::vector<std::string> sha256;
	// Its ResourceDigest (model cache key); empty when not computed.
	std::string digest;
	// Bytes of its files.
	uint64_t bytes = 0;
	// A TorchScript archive: registering it needs the torch op class.
	bool torchscript = false;
	// Cached for every tenant (the operator's model; set by the cache
	// before anyone else can find it).
	bool public_model = false;

private:
	vaccel_resource *res_;
	std::string dir_;
	Charge disk_;
};

// A connection's handle on a HostResource: the id the client sees and the
// resource-count quota it holds.
class AgentResource
{
public:
	explicit AgentResource(std::shared_ptr<HostResource> host) noexcept
	    : host_(std::move(host))
	{
	}
	AgentResource(const AgentResource &) = delete;
	AgentResource &operator=(const AgentResource &) = delete;
	~AgentResource();

	[[nodiscard]] vaccel_resource *get() const noexcept
	{
		return host_->get();
	}
	[[nodiscard]] const HostResource &host() const noexcept
	{
		return *host_;
	}
	[[nodiscard]] const std::shared_ptr<HostResource> &
	host_ptr() const noexcept
	{
		return host_;
	}
	// The runtime's id (what plugins see) and the id the client sees
	// (ObjectTable: random, per connection).
	[[nodiscard]] vaccel_id_t id() const noexcept { return get()->id; }
	[[nodiscard]] int64_t wire_id() const noexcept { return wire_id_; }

	// The quota this handle holds, given back when it is released.
	void hold_count(Charge count) noexcept { count_ = std::move(count); }
	// Registered by digest (RegisterCachedResource): the client never
	// sent these files.
	bool by_digest = false;

private:
	friend class ObjectTable;
	std::shared_ptr<HostResource> host_;
	ObjectTable *table_ = nullptr; // set once named in a table
	int64_t wire_id_ = 0;
	Charge count_;
};

// One vaccel_session created for a client, with the resources the agent
// registered to it.
class AgentSession
{
public:
	explicit AgentSession(vaccel_session *sess) noexcept : sess_(sess) {}
	AgentSession(const AgentSession &) = delete;
	AgentSession &operator=(const AgentSession &) = delete;
	// Unregisters every resource still registered, drops them (releasing
	// those no other session uses), then releases the session.
	~AgentSession();

	[[nodiscard]] vaccel_session *get() const noexcept { return sess_; }
	[[nodiscard]] vaccel_id_t id() const noexcept { return sess_->id; }
	[[nodiscard]] int64_t wire_id() const noexcept { return wire_id_; }
	// The session quota it holds, given back when it is released.
	void hold(Charge c) noexcept { charge_ = std::move(c); }

	// Ops take it shared; UpdateSession takes it exclusive, because the
	// runtime forbids vaccel_session_update() concurrently with ops on the
	// same session.
	std::shared_mutex &op_lock() noexcept { return op_mu_; }
	// Held across a vaccel_resource_(un)register on this session and the
	// bookkeeping below, so that the two never disagree even when a
	// client races its own register and unregister requests.
	std::mutex &registration_lock() noexcept { return reg_mu_; }
	// The timings of the ops run for it (GetProfiler).
	SessionProfile &profile() noexcept { return profile_; }

	// Bookkeeping after a successful vaccel_resource_(un)register.
	void add_resource(std::shared_ptr<AgentResource> res);
	// Whether runtime resource @p id is registered here.
	bool holds(vaccel_id_t id);
	std::shared_ptr<AgentResource> take_resource(vaccel_id_t id);

private:
	friend class ObjectTable;
	vaccel_session *sess_;
	int64_t wire_id_ = 0;
	Charge charge_;
	std::shared_mutex op_mu_;
	std::mutex reg_mu_;
	SessionProfile profile_;
	std::mutex mu_;
	std::vector<std::shared_ptr<AgentResource>> resources_;
};

struct TableStats {
	uint64_t sessions = 0;
	uint64_t resources = 0;
	uint64_t connections = 0;
};

// Which connection owns which session and resource. Clients see ids the
// table draws at random (not the runtime's sequential ones), and an id that
// another connection owns answers exactly like one that does not exist:
// a client learns nothing about anybody else's objects.
class ObjectTable
{
public:
	ObjectTable() = default;
	ObjectTable(const ObjectTable &) = delete;
	ObjectTable &operator=(const ObjectTable &) = delete;
	~ObjectTable();

	void open_connection(ConnId conn);
	// Forgets the connection and everything it owns; objects are
	// released once no handler still uses them (at once when idle).
	void close_connection(ConnId conn);
	// Closes every connection (shutdown).
	void clear();

	// Names a new object, giving it its wire id. Fails (and the object is
	// released by the caller dropping it) when @p conn has already
	// closed: a request still in a worker's hands must not leave objects
	// behind its connection.
	RpcStatus add_session(ConnId conn,
			      const std::shared_ptr<AgentSession> &sess);
	RpcStatus add_resource(ConnId conn,
			       const std::shared_ptr<AgentResource> &res);

	// Lookups by wire id: NOT_FOUND for ids unknown to this connection,
	// whoever else may own them.
	RpcStatus session(ConnId conn, int64_t id,
			  std::shared_ptr<AgentSession> *out);
	RpcStatus resource(ConnId conn, int64_t id,
			   std::shared_ptr<AgentResource> *out);
	// Removes the session from the table and hands the caller its
	// reference.
	RpcStatus take_session(ConnId conn, int64_t id,
			       std::shared_ptr<AgentSession> *out);

	TableStats stats();
	// Whether @p conn owns a session (an idle connection that does is
	// kept open).
	bool owns_sessions(ConnId conn);

private:
	friend class AgentResource;
	void forget_resource(int64_t id) noexcept;
	// A fresh random id, unused in @p used (mu_ held).
	template <class Map> static int64_t draw_id(const Map &used);

	struct SessionSlot {
		ConnId owner;
		std::shared_ptr<AgentSession> sess;
	};
	struct ResourceSlot {
		ConnId owner;
		std::weak_ptr<AgentResource> res;
	};

	std::mutex mu_;
	std::unordered_set<ConnId> open_;
	std::unordered_map<int64_t, SessionSlot> sessions_;
	std::unordered_map<int64_t, ResourceSlot> resources_;
};

} // namespace vaccel::agent
