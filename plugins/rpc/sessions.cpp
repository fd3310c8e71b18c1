// SPDX-License-Identifier: Apache-2.0
#include "sessions.h"

#include "ops.h"
#include "pool.h"
#include "resources.h"

#include "rpc/session.pb.h"

#include <vaccel/log.h>

#include <algorithm>

namespace vaccel::rpc_plugin
{

namespace
{

bool same(const ModelLoad &a, const ModelLoad &b)
{
	return a.model == b.model && a.op == b.op;
}

} // namespace

Result<SessionRecord *> Sessions::record(const vaccel_session *sess)
{
	if (sess == nullptr)
		return Status(VACCEL_EINVAL, "session is NULL");
	if (sess->priv == nullptr)
		return Status::error(VACCEL_EINVAL,
				     "session %lld has no agent session (not "
				     "created through the rpc plugin)",
				     static_cast<long long>(sess->id));
	return static_cast<SessionRecord *>(sess->priv);
}

Result<Remote> Sessions::remote(const vaccel_session *sess)
{
	auto rec = record(sess);
	if (!rec)
		return rec.status();
	std::lock_guard lock(rec.value()->mu);
	return rec.value()->remote;
}

Result<Remote> Sessions::create_remote(uint32_t flags, uint64_t leaving)
{
	rpc::session::CreateRequest req;
	req.set_flags(flags);
	Status last;
	// Each agent at most once: one that drains or vanishes between
	// placement and the call is left for the next.
	const size_t tries = std::max<size_t>(1, client_.pool().size());
	for (size_t i = 0; i < tries; ++i) {
		auto conn = client_.pool().place(leaving);
		if (!conn) {
			vaccel_error("[rpc] CreateSession: %s",
				     conn.status().message().c_str());
			return conn.status();
		}
		const uint64_t gen = conn.value()->generation();
		rpc::session::CreateResponse resp;
		LostCall::current() = {};
		last = client_.call(
		    {.method = "CreateSession", .generation = gen}, req, &resp);
		if (last)
			return Remote{resp.session_id(), gen};
		const LostCall lost = LostCall::current();
		if (lost.kind == LostCall::Kind::None)
			return last;
		client_.pool().lost(gen, lost.draining);
	}
	return last;
}

Status Sessions::create(vaccel_session *sess, uint32_t flags)
{
	auto remote = create_remote(flags, 0);
	if (!remote)
		return remote.status();
	auto rec = std::make_unique<SessionRecord>(sess, flags);
	rec->remote = remote.value();
	if (Endpoint *e = client_.pool().endpoint(remote->generation))
		e->session_added();
	sess->remote_id = remote->id;
	sess->priv = rec.get();
	std::lock_guard lock(mu_);
	live_.emplace(rec.get(), std::move(rec));
	return Status::ok();
}

Status Sessions::release(vaccel_session *sess)
{
	auto rec = record(sess);
	if (!rec)
		return Status::ok(); // nothing on an agent
	Remote remote;
	{
		std::lock_guard lock(rec.value()->mu);
		remote = rec.value()->remote;
	}
	rpc::session::DestroyRequest req;
	req.set_session_id(remote.id);
	// Whatever happens the local session goes: if its connection is
	// gone, so is the agent's session.
	Status st = client_.call(
	    {.method = "DestroySession", .generation = remote.generation}, req,
	    nullptr);
	if (Endpoint *e = client_.pool().endpoint(remote.generation))
		e->session_removed();
	sess->remote_id = 0;
	sess->priv = nullptr;
	std::lock_guard lock(mu_);
	live_.erase(rec.value());
	return st;
}

Status Sessions::restore(SessionRecord &rec, const Remote &to, size_t *added)
{
	*added = 0;
	for (vaccel_resource *res : rec.resources) {
		Status st = resources_.add(res, to);
		if (!st)
			return Status::error(st.code(),
					     "cannot register resource %lld "
					     "again: %s",
					     static_cast<long long>(res->id),
					     st.message().c_str());
		++*added;
	}
	for (const ModelLoad &load : rec.loads) {
		auto model = Resources::find(load.model, to.generation);
		if (!model)
			return model.status();
		Status st = load_model_again(load.op, to, model.value());
		if (!st)
			return Status::error(
			    st.code(), "cannot load model %lld again: %s",
			    static_cast<long long>(load.model->id),
			    st.message().c_str());
	}
	return Status::ok();
}

void Sessions::undo(SessionRecord &rec, const Remote &to, size_t added)
{
	rpc::session::DestroyRequest req;
	req.set_session_id(to.id);
	(void)client_.call(
	    {.method = "DestroySession", .generation = to.generation}, req,
	    nullptr);
	for (size_t i = 0; i < added; ++i)
		resources_.left(rec.resources[i], to.generation);
}

Status Sessions::move(SessionRecord &rec, const LostCall &lost)
{
	std::lock_guard lock(rec.mu);
	const Remote from = rec.remote;
	if (from.generation != lost.generation)
		return Status::ok(); // another caller moved it already
	Pool &pool = client_.pool();
	pool.lost(from.generation, lost.draining);
	if (pool.size() < 2 && !lost.draining)
		return Status(VACCEL_EIO,
			      "the agent connection this object was created "
			      "on is gone (agent restarted or connection "
			      "lost); create a new session");
	const std::string old_name = pool.name_of(from.generation);
	Status why;
	// The agent it moves to may go away or start draining meanwhile:
	// then the next one.
	for (size_t attempt = 0; attempt < pool.size(); ++attempt) {
		auto to = create_remote(rec.flags, from.generation);
		if (!to) {
			why = to.status();
			break;
		}
		LostCall::current() = {};
		size_t added = 0;
		why = restore(rec, to.value(), &added);
		if (why) {
			commit(rec, from, to.value(), old_name, lost);
			return Status::ok();
		}
		// Not half-moved: the new agent's session goes (its
		// resources with it), and the session stays where it was.
		const LostCall again = LostCall::current();
		undo(rec, to.value(), added);
		if (again.kind == LostCall::Kind::None)
			break;
		pool.lost(to->generation, again.draining);
	}
	return Status::error(
	    VACCEL_EIO,
	    "session %lld: its agent %s %s and it cannot "
	    "move to another agent: %s",
	    static_cast<long long>(rec.sess->id), old_name.c_str(),
	    lost.draining ? "drains" : "is gone", why.message().c_str());
}

void Sessions::commit(SessionRecord &rec, const Remote &from, const Remote &to,
		      const std::string &old_name, const LostCall &lost)
{
	Pool &pool = client_.pool();
	if (lost.draining) {
		// A draining agent still runs releases, and waits for its
		// clients' sessions to go before it exits: this one goes now.
		rpc::session::DestroyRequest req;
		req.set_session_id(from.id);
		(void)client_.call(
		    {.method = "DestroySession", .generation = from.generation},
		    req, nullptr);
	}
	for (vaccel_resource *res : rec.resources)
		resources_.left(res, from.generation);
	if (Endpoint *e = pool.endpoint(from.generation))
		e->session_removed();
	if (Endpoint *e = pool.endpoint(to.generation))
		e->session_added();
	rec.remote = to;
	rec.sess->remote_id = to.id;
	vaccel_info("[rpc] session %lld moved from agent %s (%s) to %s with "
		    "%zu resources and %zu loaded models",
		    static_cast<long long>(rec.sess->id), old_name.c_str(),
		    lost.draining ? "draining" : "gone",
		    pool.name_of(to.generation).c_str(), rec.resources.size(),
		    rec.loads.size());
}

void Sessions::note_load(SessionRecord &rec, ModelLoad load)
{
	if (std::none_of(rec.loads.begin(), rec.loads.end(),
			 [&](const auto &l) { return same(l, load); }))
		rec.loads.push_back(load);
}

void Sessions::note_unload(SessionRecord &rec, ModelLoad load)
{
	std::erase_if(rec.loads, [&](const auto &l) { return same(l, load); });
}

} // namespace vaccel::rpc_plugin
