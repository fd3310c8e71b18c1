// SPDX-License-Identifier: Apache-2.0
#include "model_cache.h"

#include <algorithm>
#include <utility>

namespace vaccel::agent
{

using core::Status;

ModelCache::~ModelCache()
{
	clear();
}

void ModelCache::clear()
{
	std::lock_guard releasing(release_mu_);
	Victims all;
	vaccel_session *sess = nullptr;
	{
		std::lock_guard lock(mu_);
		for (auto &[key, e] : entries_)
			all.push_back(std::move(e.res));
		entries_.clear(); // charges go back to their tenants
		used_ = 0;
		sess = std::exchange(session_, nullptr);
	}
	release(all, sess);
	if (sess != nullptr)
		vaccel_session_delete(sess);
}

std::shared_ptr<HostResource> ModelCache::find(const Tenant &tenant,
					       const std::string &digest)
{
	std::lock_guard lock(mu_);
	auto it = entries_.find(Key{tenant.name(), digest});
	if (it == entries_.end())
		it = entries_.find(Key{std::string(), digest});
	if (it == entries_.end()) {
		++counts_.misses;
		return nullptr;
	}
	++counts_.hits;
	it->second.last_use = ++clock_;
	return it->second.res;
}

std::shared_ptr<HostResource>
ModelCache::adopt(Tenant &tenant, std::shared_ptr<HostResource> res)
{
	std::lock_guard releasing(release_mu_);
	Victims victims;
	vaccel_session *sess = nullptr;
	{
		std::lock_guard lock(mu_);
		const Key key = key_for(tenant.name(), res->digest);
		auto it = entries_.find(key);
		if (it == entries_.end()) // preloaded, not listed public
			it = entries_.find(Key{std::string(), res->digest});
		if (it != entries_.end()) {
			// Two uploads of one model raced, or the client did
			// not ask by digest first: one copy serves both.
			++counts_.dedups;
			it->second.last_use = ++clock_;
			return it->second.res;
		}
		++counts_.uploads;
		Tenant *owner = key.first.empty() ? nullptr : &tenant;
		Charge charge;
		if (enabled() &&
		    make_room(owner, key.first, res->bytes, &charge, victims) &&
		    hold(res).is_ok()) {
			res->public_model = key.first.empty();
			res->release_disk(); // model_cache_bytes counts it now
			used_ += res->bytes;
			entries_.emplace(key, Entry{res, std::move(charge),
						    ++clock_, false});
		}
		sess = session_;
	}
	release(victims, sess);
	return res;
}

Status ModelCache::preload(std::shared_ptr<HostResource> res)
{
	std::lock_guard lock(mu_);
	if (used_ + res->bytes > capacity_)
		return Status::error(
		    VACCEL_ENOMEM,
		    "preloading %llu bytes would pass the "
		    "model cache's capacity (%llu bytes; "
		    "[agent] model_cache_bytes)",
		    static_cast<unsigned long long>(res->bytes),
		    static_cast<unsigned long long>(capacity_));
	Key key{std::string(), res->digest};
	if (entries_.contains(key))
		return Status::ok(); // named twice
	VACCEL_RETURN_IF_ERROR(hold(res));
	res->public_model = true;
	used_ += res->bytes;
	entries_.emplace(key, Entry{std::move(res), Charge{}, ++clock_, true});
	return Status::ok();
}

ModelCacheStats ModelCache::stats()
{
	std::lock_guard lock(mu_);
	ModelCacheStats s = counts_;
	s.entries = entries_.size();
	s.bytes = used_;
	return s;
}

bool ModelCache::make_room(Tenant *tenant, const std::string &scope,
			   uint64_t bytes, Charge *charge, Victims &victims)
{
	// Evict nothing for a model that would not fit even then.
	const uint64_t evictable = evictable_bytes(scope);
	if (bytes > capacity_ || used_ - evictable > capacity_ - bytes)
		return false;
	if (tenant != nullptr) {
		const uint64_t cap = tenant->cap(Limit::ModelCacheBytes);
		const uint64_t held = tenant->used(Limit::ModelCacheBytes);
		if (bytes > cap ||
		    held - std::min(held, evictable) > cap - bytes)
			return false;
	}
	while (
	    tenant != nullptr &&
	    !Charge::try_take(*tenant, Limit::ModelCacheBytes, bytes, charge))
		if (!evict_one(scope, victims))
			return false;
	while (used_ + bytes > capacity_)
		if (!evict_one(scope, victims)) {
			charge->reset();
			return false;
		}
	return true;
}

uint64_t ModelCache::evictable_bytes(const std::string &scope) const
{
	uint64_t n = 0;
	for (auto it = entries_.lower_bound(Key{scope, std::string()});
	     it != entries_.end() && it->first.first == scope; ++it)
		if (!it->second.pinned)
			n += it->second.res->bytes;
	return n;
}

// The scope's least recently used model that is not pinned.
bool ModelCache::evict_one(const std::string &scope, Victims &victims)
{
	auto victim = entries_.end();
	for (auto it = entries_.lower_bound(Key{scope, std::string()});
	     it != entries_.end() && it->first.first == scope; ++it)
		if (!it->second.pinned &&
		    (victim == entries_.end() ||
		     it->second.last_use < victim->second.last_use))
			victim = it;
	if (victim == entries_.end())
		return false;
	used_ -= victim->second.res->bytes;
	victims.push_back(std::move(victim->second.res));
	entries_.erase(victim); // gives the owner's charge back
	++counts_.evictions;
	return true;
}

Status ModelCache::hold(const std::shared_ptr<HostResource> &res)
{
	if (session_ == nullptr) {
		if (int rc = vaccel_session_new(&session_, 0);
		    rc != VACCEL_OK) {
			session_ = nullptr;
			return Status::error(rc, "model cache: cannot create "
						 "its session");
		}
	}
	if (int rc = vaccel_resource_register(res->get(), session_);
	    rc != VACCEL_OK)
		return Status::error(rc,
				     "model cache: cannot hold resource "
				     "%lld",
				     static_cast<long long>(res->get()->id));
	return Status::ok();
}

// Outside mu_: the last unregistration makes backends free their loaded
// copies, which can take a while.
void ModelCache::release(Victims &victims, vaccel_session *sess)
{
	for (auto &res : victims) {
		if (int rc = vaccel_resource_unregister(res->get(), sess);
		    rc != VACCEL_OK)
			vaccel_warn("model cache: unregistering resource %lld "
				    "failed (%d)",
				    static_cast<long long>(res->get()->id), rc);
		res.reset(); // released here unless a session still uses it
	}
}

} // namespace vaccel::agent
