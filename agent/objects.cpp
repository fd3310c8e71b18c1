// SPDX-License-Identifier: Apache-2.0
#include "objects.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <system_error>

namespace vaccel::agent
{

// ---- AgentResource ----------------------------------------------------------

HostResource::~HostResource()
{
	const vaccel_id_t id = res_->id;
	if (int rc = vaccel_resource_delete(res_); rc != VACCEL_OK)
		vaccel_warn("agent: resource %lld: release failed (%d)",
			    static_cast<long long>(id), rc);
	if (!dir_.empty()) {
		std::error_code ec;
		std::filesystem::remove_all(dir_, ec);
		if (ec)
			vaccel_warn(
			    "agent: resource %lld: cannot remove %s: %s",
			    static_cast<long long>(id), dir_.c_str(),
			    ec.message().c_str());
	}
}

AgentResource::~AgentResource()
{
	if (table_ != nullptr)
		table_->forget_resource(wire_id_);
}

// ---- AgentSession -----------------------------------------------------------

AgentSession::~AgentSession()
{
	// No lock: the last reference is gone, nobody else can reach us.
	for (auto &res : resources_) {
		int rc = vaccel_resource_unregister(res->get(), sess_);
		if (rc != VACCEL_OK)
			vaccel_warn("agent: session %lld: unregister resource "
				    "%lld failed (%d)",
				    static_cast<long long>(sess_->id),
				    static_cast<long long>(res->id()), rc);
	}
	resources_.clear(); // releases resources no other session uses
	const vaccel_id_t id = sess_->id;
	if (int rc = vaccel_session_delete(sess_); rc != VACCEL_OK)
		vaccel_warn("agent: session %lld: release failed (%d)",
			    static_cast<long long>(id), rc);
}

void AgentSession::add_resource(std::shared_ptr<AgentResource> res)
{
	std::lock_guard lock(mu_);
	resources_.push_back(std::move(res));
}

bool AgentSession::holds(vaccel_id_t id)
{
	std::lock_guard lock(mu_);
	return std::any_of(resources_.begin(), resources_.end(),
			   [id](const auto &r) { return r->id() == id; });
}

std::shared_ptr<AgentResource> AgentSession::take_resource(vaccel_id_t id)
{
	std::lock_guard lock(mu_);
	auto it = std::find_if(resources_.begin(), resources_.end(),
			       [id](const auto &r) { return r->id() == id; });
	if (it == resources_.end())
		return nullptr;
	auto res = std::move(*it);
	resources_.erase(it);
	return res; // the caller drops it outside our lock
}

// ---- ObjectTable ------------------------------------------------------------

ObjectTable::~ObjectTable()
{
	clear();
}

void ObjectTable::open_connection(ConnId conn)
{
	std::lock_guard lock(mu_);
	open_.insert(conn);
}

void ObjectTable::close_connection(ConnId conn)
{
	std::vector<std::shared_ptr<AgentSession>> doomed;
	{
		std::lock_guard lock(mu_);
		open_.erase(conn);
		for (auto it = sessions_.begin(); it != sessions_.end();) {
			if (it->second.owner != conn) {
				++it;
				continue;
			}
			doomed.push_back(std::move(it->second.sess));
			it = sessions_.erase(it);
		}
		// Resources live on in the sessions that hold them (all of
		// this connection's, now doomed): unnaming them here only
		// makes sure no later request can reach them.
		std::erase_if(resources_, [conn](const auto &kv) {
			return kv.second.owner == conn;
		});
	}
	if (!doomed.empty())
		vaccel_debug("agent: connection %llu: releasing %zu sessions",
			     static_cast<unsigned long long>(conn),
			     doomed.size());
	// `doomed` goes out of scope here, outside the lock.
}

void ObjectTable::clear()
{
	std::vector<ConnId> conns;
	{
		std::lock_guard lock(mu_);
		conns.assign(open_.begin(), open_.end());
		for (const auto &kv : sessions_)
			conns.push_back(kv.second.owner);
	}
	for (ConnId c : conns)
		close_connection(c);
}

// Ids below 2^53: exact in every client language's numbers (JSON, Python
// floats, JavaScript), and too many to guess.
template <class Map> int64_t ObjectTable::draw_id(const Map &used)
{
	for (;;) {
		uint64_t v = 0;
		if (::getrandom(&v, sizeof(v), 0) != sizeof(v)) {
			if (errno == EINTR)
				continue;
			// Never happens on Linux >= 3.17 with 8 bytes; still
			// unpredictable enough from the clock and the address.
			v = static_cast<uint64_t>(
				std::chrono::steady_clock::now()
				    .time_since_epoch()
				    .count()) *
			    0x9E3779B97F4A7C15ULL;
		}
		const auto id = static_cast<int64_t>(v & ((1ULL << 53) - 1));
		if (id != 0 && !used.contains(id))
			return id;
	}
}

RpcStatus ObjectTable::add_session(ConnId conn,
				   const std::shared_ptr<AgentSession> &sess)
{
	std::lock_guard lock(mu_);
	if (!open_.contains(conn))
		return RpcStatus::not_found(
		    "connection %llu is closed",
		    static_cast<unsigned long long>(conn));
	sess->wire_id_ = draw_id(sessions_);
	sessions_[sess->wire_id_] = SessionSlot{conn, sess};
	return RpcStatus::ok();
}

RpcStatus ObjectTable::add_resource(ConnId conn,
				    const std::shared_ptr<AgentResource> &res)
{
	std::lock_guard lock(mu_);
	if (!open_.contains(conn))
		return RpcStatus::not_found(
		    "connection %llu is closed",
		    static_cast<unsigned long long>(conn));
	res->table_ = this;
	res->wire_id_ = draw_id(resources_);
	resources_[res->wire_id_] = ResourceSlot{conn, res};
	return RpcStatus::ok();
}

RpcStatus ObjectTable::session(ConnId conn, int64_t id,
			       std::shared_ptr<AgentSession> *out)
{
	std::lock_guard lock(mu_);
	auto it = sessions_.find(id);
	if (it == sessions_.end() || it->second.owner != conn)
		return RpcStatus::not_found("unknown session %lld",
					    static_cast<long long>(id));
	*out = it->second.sess;
	return RpcStatus::ok();
}

RpcStatus ObjectTable::resource(ConnId conn, int64_t id,
				std::shared_ptr<AgentResource> *out)
{
	std::lock_guard lock(mu_);
	auto it = resources_.find(id);
	if (it == resources_.end() || it->second.owner != conn)
		return RpcStatus::not_found("unknown resource %lld",
					    static_cast<long long>(id));
	auto res = it->second.res.lock();
	if (!res) // its last session let go; the destructor is running
		return RpcStatus::not_found("unknown resource %lld",
					    static_cast<long long>(id));
	*out = std::move(res);
	return RpcStatus::ok();
}

RpcStatus ObjectTable::take_session(ConnId conn, int64_t id,
				    std::shared_ptr<AgentSession> *out)
{
	std::lock_guard lock(mu_);
	auto it = sessions_.find(id);
	if (it == sessions_.end() || it->second.owner != conn)
		return RpcStatus::not_found("unknown session %lld",
					    static_cast<long long>(id));
	*out = std::move(it->second.sess);
	sessions_.erase(it);
	return RpcStatus::ok();
}

TableStats ObjectTable::stats()
{
	std::lock_guard lock(mu_);
	TableStats s;
	s.sessions = sessions_.size();
	for (const auto &kv : resources_)
		s.resources += kv.second.res.expired() ? 0 : 1;
	s.connections = open_.size();
	return s;
}

bool ObjectTable::owns_sessions(ConnId conn)
{
	std::lock_guard lock(mu_);
	return std::any_of(
	    sessions_.begin(), sessions_.end(),
	    [&](const auto &kv) { return kv.second.owner == conn; });
}

void ObjectTable::forget_resource(int64_t id) noexcept
{
	std::lock_guard lock(mu_);
	auto it = resources_.find(id);
	if (it != resources_.end() && it->second.res.expired())
		resources_.erase(it);
}

} // namespace vaccel::agent
