// SPDX-License-Identifier: Apache-2.0
// The host model cache: model resources kept on the host after the
// sessions that uploaded them are gone, keyed by their content digest
// (transport::ResourceDigest), so that a new sandbox running the same
// function neither uploads nor reloads its model. A cached resource stays
// registered with the cache's own session, which is what keeps a backend's
// loaded copy alive (plugins drop a model when its last session lets go).
//
// Isolation: a tenant finds only its own models and the public ones (those
// the operator preloads or lists in [agent] public_models). Another
// tenant's model is not there for it, so probing for one answers exactly
// like an unknown model and does the same work: upload, load. Each cached
// model holds a model_cache_bytes charge of the tenant that uploaded it and
// eviction takes only that tenant's own least recently used models, so no
// tenant can push out another's. The whole cache is bounded by the agent's
// model_cache_bytes; a model that fits nowhere is simply not cached.
#pragma once

#include "objects.h"
#include "tenant.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vaccel::agent
{

struct ModelCacheStats {
	uint64_t entries = 0;
	uint64_t bytes = 0;
	uint64_t hits = 0;      // lookups by digest that found a model
	uint64_t misses = 0;    // lookups by digest that did not
	uint64_t uploads = 0;   // models created from uploaded bytes
	uint64_t dedups = 0;    // uploads answered with a cached copy
	uint64_t evictions = 0; // models dropped for room
};

class ModelCache
{
public:
	// @p capacity: bytes of all cached models (0: no cache); models whose
	// digest is in @p public_digests are shared by every tenant.
	ModelCache(uint64_t capacity, std::set<std::string> public_digests)
	    : capacity_(capacity), public_(std::move(public_digests))
	{
	}
	ModelCache(const ModelCache &) = delete;
	ModelCache &operator=(const ModelCache &) = delete;
	~ModelCache();

	[[nodiscard]] bool enabled() const noexcept { return capacity_ != 0; }

	// The cached model of @p digest that @p tenant may use; null when
	// none (counted as a hit or a miss).
	std::shared_ptr<HostResource> find(const Tenant &tenant,
					   const std::string &digest);
	// Offers @p res, just created from @p tenant's upload (its digest
	// set): returns what the upload should use, a cached model with the
	// same content or @p res itself, which is cached when it fits.
	std::shared_ptr<HostResource> adopt(Tenant &tenant,
					    std::shared_ptr<HostResource> res);
	// The operator's model (--preload): public, never evicted, counted
	// against the cache's capacity only.
	core::Status preload(std::shared_ptr<HostResource> res);

	ModelCacheStats stats();
	// Releases every cached model (the agent's shutdown).
	void clear();

private:
	// (scope, digest); scope is the owning tenant's name, or empty for
	// public models.
	using Key = std::pair<std::string, std::string>;
	struct Entry {
		std::shared_ptr<HostResource> res;
		Charge charge; // the owner's model_cache_bytes
		uint64_t last_use = 0;
		bool pinned = false;
	};
	using Victims = std::vector<std::shared_ptr<HostResource>>;

	Key key_for(const std::string &tenant, const std::string &digest) const
	{
		return {public_.contains(digest) ? std::string() : tenant,
			digest};
	}
	// Takes @p tenant's charge for @p bytes (none for public models)
	// and room in the capacity, evicting the scope's own least recently
	// used models into @p victims as needed (mu_ held).
	bool make_room(Tenant *tenant, const std::string &scope, uint64_t bytes,
		       Charge *charge, Victims &victims);
	bool evict_one(const std::string &scope, Victims &victims);
	// Bytes of the scope's models that eviction may take (mu_ held).
	[[nodiscard]] uint64_t evictable_bytes(const std::string &scope) const;
	// Registers @p res with the cache's session (mu_ held; the session
	// has no plugin hooks in an agent, so this reaches no plugin).
	core::Status hold(const std::shared_ptr<HostResource> &res);
	// Unregisters the victims from @p sess (the cache's) and drops them.
	static void release(Victims &victims, vaccel_session *sess);

	const uint64_t capacity_;
	const std::set<std::string> public_;
	// Held around adopt() and clear() whole (before mu_), which release
	// models outside mu_: clear() must not delete the session an
	// adopt() is still unregistering victims from.
	std::mutex release_mu_;
	std::mutex mu_;
	vaccel_session *session_ = nullptr; // created with the first entry
	std::map<Key, Entry> entries_;
	uint64_t used_ = 0;
	uint64_t clock_ = 0;
	ModelCacheStats counts_;
};

} // namespace vaccel::agent
