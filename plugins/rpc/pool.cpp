// SPDX-License-Identifier: Apache-2.0
#include "pool.h"

#include "rpc/ext.pb.h"

#include <vaccel/log.h>

#include <algorithm>

namespace vaccel::rpc_plugin
{

namespace
{

int64_t ns_of(Pool::Clock::time_point t)
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(
		   t.time_since_epoch())
	    .count();
}

// A load older than this many probe periods is not weighed: the agent has
// not been asked since (it was busy with this process's calls, which count
// instead).
constexpr int kLoadTtlPeriods = 4;

} // namespace

Pool::Pool(const Config &cfg, const SandboxDevice *device, Resolver resolve)
    : cfg_(cfg), device_(device), resolve_(std::move(resolve)),
      placement_(cfg.placement),
      named_(std::any_of(cfg.endpoints.begin(), cfg.endpoints.end(),
			 [](const auto &e) { return e.named; }))
{
	for (const EndpointSpec &spec : cfg_.endpoints)
		if (!spec.named)
			add(resolve_spec(spec, resolve_).value().front());
	if (named_)
		refresh(Clock::now());
	// One agent: every session goes there, so its connection can be made
	// before anything asks for it (Link::open_early()). Not with TLS,
	// whose handshake would hold up the plugin's load, nor on a serial
	// port: a guest's port has one opener at a time, which a child
	// forked before its first session must be able to be.
	alone_ = !named_ && endpoints_.size() == 1;
	if (cfg_.connect_early && cfg_.tls == nullptr && alone_ &&
	    endpoints_.front()->link().where().address.kind !=
		transport::Address::Kind::Serial)
		endpoints_.front()->link().open_early();
}

void Pool::add(const EndpointAddress &where)
{
	std::unique_lock lock(mu_);
	const auto index = static_cast<uint32_t>(endpoints_.size());
	endpoints_.push_back(
	    std::make_unique<Endpoint>(cfg_, where, index, device_));
	if (index > 0 || named_)
		vaccel_debug("[rpc] agent %u: %s", index, where.name.c_str());
}

std::vector<Endpoint *> Pool::snapshot()
{
	std::shared_lock lock(mu_);
	std::vector<Endpoint *> out;
	out.reserve(endpoints_.size());
	for (const auto &e : endpoints_)
		out.push_back(e.get());
	return out;
}

size_t Pool::size()
{
	std::shared_lock lock(mu_);
	return endpoints_.size();
}

std::vector<std::pair<std::string, bool>> Pool::agents()
{
	std::vector<std::pair<std::string, bool>> out;
	for (Endpoint *e : snapshot())
		out.emplace_back(e->name(), e->listed());
	return out;
}

void Pool::refresh(Clock::time_point now)
{
	if (!named_)
		return;
	std::unique_lock lock(refresh_mu_, std::try_to_lock);
	if (!lock.owns_lock())
		return; // another caller resolves right now
	const bool due =
	    !resolved_ || (cfg_.resolve_period.count() > 0 &&
			   now - resolved_at_ >= cfg_.resolve_period);
	if (!due)
		return;
	resolved_at_ = now;
	std::vector<EndpointAddress> seen;
	for (const EndpointSpec &spec : cfg_.endpoints) {
		auto r = resolve_spec(spec, resolve_);
		if (!r) {
			// A failed lookup changes nothing: a DNS hiccup must
			// not empty the pool.
			vaccel_warn("[rpc] VACCEL_RPC_ADDRESS: %s",
				    r.status().message().c_str());
			return;
		}
		seen.insert(seen.end(), r.value().begin(), r.value().end());
	}
	resolved_ = true;
	std::vector<Endpoint *> known = snapshot();
	std::vector<std::string> keys;
	std::vector<bool> listed;
	for (Endpoint *e : known) {
		keys.push_back(e->link().where().key);
		listed.push_back(e->listed());
	}
	const EndpointChanges c = compare_endpoints(keys, listed, seen);
	for (size_t i : c.dropped) {
		known[i]->set_listed(false);
		vaccel_info("[rpc] agent %s is no longer listed: no new "
			    "sessions there",
			    known[i]->name().c_str());
	}
	for (size_t i : c.back)
		known[i]->set_listed(true);
	for (const EndpointAddress &e : c.added)
		add(e);
}

void Pool::probe(const std::vector<Endpoint *> &all, Clock::time_point now)
{
	if (cfg_.load_period.count() == 0)
		return;
	if (now - Clock::time_point(std::chrono::nanoseconds(
		      probed_at_ns_.load(std::memory_order_relaxed))) <
	    cfg_.load_period)
		return;
	std::unique_lock lock(probe_mu_, std::try_to_lock);
	if (!lock.owns_lock())
		return; // another caller asks right now
	probed_at_ns_.store(ns_of(now), std::memory_order_relaxed);
	rpc::ext::Hello hello;
	hello.set_version(1);
	for (Endpoint *e : all) {
		if (e->outstanding() != 0 || !e->usable(now))
			continue;
		auto conn = e->link().current();
		if (!conn)
			continue;
		rpc::ext::Hello answer;
		Status st = conn->call(transport::kServiceAdmin, "Hello", hello,
				       &answer, cfg_.connect_timeout);
		if (st) {
			e->reported(answer.load(), Clock::now());
			continue;
		}
		if (st.cause() == base::Cause::Draining)
			e->draining(conn->generation());
		else if (conn->failed())
			e->dropped(conn->generation(), Clock::now());
	}
}

Result<std::shared_ptr<Connection>> Pool::place(uint64_t leaving)
{
	const auto now = Clock::now();
	refresh(now);
	const std::vector<Endpoint *> all = snapshot();
	Endpoint *const avoid = leaving != 0 ? endpoint(leaving) : nullptr;
	std::vector<Endpoint *> tried;
	auto eligible = [&](Endpoint *e) {
		return e != avoid &&
		       std::find(tried.begin(), tried.end(), e) == tried.end();
	};
	if (std::count_if(all.begin(), all.end(), [&](Endpoint *e) {
		    return eligible(e) && e->usable(now);
	    }) >= 2)
		probe(all, now);

	Status last(VACCEL_EIO, "no agent is available");
	if (all.empty())
		last = Status(VACCEL_EIO, "no agent address could be resolved "
					  "(VACCEL_RPC_ADDRESS=" +
					      cfg_.address_text + ")");
	for (;;) {
		std::vector<Endpoint *> pick;
		for (Endpoint *e : all)
			if (eligible(e) && e->usable(now))
				pick.push_back(e);
		if (pick.empty()) // every agent waits out a failure: try them
			for (Endpoint *e : all)
				if (eligible(e) && e->serving())
					pick.push_back(e);
		if (pick.empty())
			return last;
		std::vector<Candidate> cands;
		const auto ttl = cfg_.load_period * kLoadTtlPeriods;
		for (Endpoint *e : pick) {
			Candidate c = e->candidate();
			if (now - e->reported_at() > ttl)
				c.reported = 0;
			cands.push_back(c);
		}
		Endpoint *e = pick[placement_.pick(cands)];
		auto conn = e->link().get(0);
		if (conn) {
			e->connected(conn.value()->generation());
			return conn;
		}
		e->failed(Clock::now());
		tried.push_back(e);
		last = conn.status();
	}
}

Endpoint *Pool::endpoint(uint64_t generation)
{
	const uint32_t agent = Link::agent_of(generation);
	auto at = [&]() -> Endpoint * {
		if (agent == 0 || agent > endpoints_.size())
			return nullptr;
		return endpoints_[agent - 1].get();
	};
	// Listed agents only: the list was complete when the constructor
	// returned, and every call asks for its agent (twice).
	if (!named_)
		return at();
	std::shared_lock lock(mu_);
	return at();
}

Result<std::shared_ptr<Connection>> Pool::get(uint64_t generation)
{
	Endpoint *e = endpoint(generation);
	if (e == nullptr)
		return Status(VACCEL_EIO, "no agent connection of this "
					  "generation")
		    .with(base::Cause::NotSent);
	// A call for a lost connection fails either way; asking the socket
	// first is worth a system call only where the session could move to
	// another agent (failover.h).
	auto conn =
	    e->link().get(generation, cached_check(*e) ? Link::Check::Cached
						       : Link::Check::Socket);
	if (!conn)
		return conn.status().with(base::Cause::NotSent);
	return conn;
}

bool Pool::cached_check(const Endpoint &) const noexcept
{
	// Alone, a lost connection fails the call either way: a socket's
	// send or receive sees it, and a serial port whose host side is gone
	// blocks the write, whose wait then sees the hang-up (wait_fd).
	return alone_;
}

bool Pool::alive(uint64_t generation)
{
	Endpoint *e = endpoint(generation);
	return e != nullptr && e->link().get(generation, Link::Check::Socket);
}

void Pool::lost(uint64_t generation, bool draining)
{
	Endpoint *e = endpoint(generation);
	if (e == nullptr)
		return;
	if (draining) {
		e->draining(generation);
		return;
	}
	// Unless a newer connection is up already (the agent came back).
	if (!e->link().current())
		e->dropped(generation, Clock::now());
}

std::string Pool::name_of(uint64_t generation)
{
	Endpoint *e = endpoint(generation);
	return e != nullptr ? e->name() : std::string("(unknown agent)");
}

} // namespace vaccel::rpc_plugin
