// SPDX-License-Identifier: Apache-2.0
// Tenants: who a connection acts for, and the quota each tenant draws on.
// Every connection belongs to exactly one tenant, decided by the server
// from what the transport proves (unix peer credentials) or what the
// operator configured for the listener; nothing the client sends changes
// it. All connections of a tenant share its quotas.
#pragma once

#include "call_times.h"
#include "metrics.h"
#include "policy.h"
#include "rpc_status.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace vaccel::agent
{

// What a quota counts.
enum class Limit : uint8_t {
	Connections,
	Sessions,
	Resources,
	DiskBytes,
	BufferedBytes,
	Calls,
	UrlFetches,
	ModelCacheBytes,
	Count,
};
std::string_view limit_name(Limit l) noexcept;

class Tenant
{
public:
	// @p table: where the policy comes from ("tenant.NAME" or "default"),
	// for naming the rule behind a refusal.
	Tenant(std::string name, const TenantPolicy &policy, std::string table)
	    : name_(std::move(name)), table_(std::move(table)), policy_(policy)
	{
	}
	Tenant(const Tenant &) = delete;
	Tenant &operator=(const Tenant &) = delete;

	[[nodiscard]] const std::string &name() const noexcept { return name_; }
	[[nodiscard]] const TenantPolicy &policy() const noexcept
	{
		return policy_;
	}
	[[nodiscard]] const std::string &table() const noexcept
	{
		return table_;
	}
	// OK when the policy allows @p c; otherwise PERMISSION_DENIED naming
	// the rule, audited as a refusal of @p op on connection @p conn.
	RpcStatus allow(OpClass c, std::string_view op, uint64_t conn) const;
	// Adds @p n to what the tenant holds of @p l unless that would pass
	// its quota; false (and nothing taken) then.
	bool try_take(Limit l, uint64_t n) noexcept;
	void give_back(Limit l, uint64_t n) noexcept;
	[[nodiscard]] uint64_t used(Limit l) const noexcept
	{
		return used_[index(l)].load(std::memory_order_relaxed);
	}
	[[nodiscard]] uint64_t cap(Limit l) const noexcept;

	// What the tenant's calls add up to (metrics.h). Counting a call
	// changes nothing the tenant is judged by, hence const.
	[[nodiscard]] metrics::TenantCounters &counters() const noexcept
	{
		return *counters_;
	}
	// Keeps the counters at @p c from now on: a worker process's report,
	// which the agent reads (worker_report.h). Before any call is
	// counted.
	void use_counters(metrics::TenantCounters *c) noexcept
	{
		counters_ = c;
	}
	// How long the tenant's calls of each kind take (call_times.h):
	// which of them its connections' readers run themselves.
	[[nodiscard]] CallTimes &call_times() const noexcept
	{
		return call_times_;
	}

private:
	static size_t index(Limit l) noexcept { return static_cast<size_t>(l); }

	const std::string name_;
	const std::string table_;
	const TenantPolicy &policy_;
	std::array<std::atomic<uint64_t>, static_cast<size_t>(Limit::Count)>
	    used_{};
	std::unique_ptr<metrics::TenantCounters> own_counters_ =
	    std::make_unique<metrics::TenantCounters>();
	metrics::TenantCounters *counters_ = own_counters_.get();
	mutable CallTimes call_times_;
};

// A share of a tenant's quota, given back when destroyed. Move-only.
class Charge
{
public:
	Charge() = default;
	Charge(Charge &&o) noexcept
	    : tenant_(std::exchange(o.tenant_, nullptr)), limit_(o.limit_),
	      n_(std::exchange(o.n_, 0))
	{
	}
	Charge &operator=(Charge &&o) noexcept
	{
		if (this != &o) {
			reset();
			tenant_ = std::exchange(o.tenant_, nullptr);
			limit_ = o.limit_;
			n_ = std::exchange(o.n_, 0);
		}
		return *this;
	}
	Charge(const Charge &) = delete;
	Charge &operator=(const Charge &) = delete;
	~Charge() { reset(); }

	// Takes @p n of @p l from @p t into *@p out; RESOURCE_EXHAUSTED
	// naming the tenant, the limit and its value when over quota (and
	// audited as a refusal of @p op on connection @p conn).
	static RpcStatus take(Tenant &t, Limit l, uint64_t n,
			      std::string_view op, uint64_t conn, Charge *out);
	// The same without a refusal: false (and nothing audited) when over
	// quota, for callers that make room and try again.
	static bool try_take(Tenant &t, Limit l, uint64_t n,
			     Charge *out) noexcept;
	// Grows this charge by @p n (same rules as take()).
	bool grow(uint64_t n) noexcept;
	void reset() noexcept;
	[[nodiscard]] uint64_t amount() const noexcept { return n_; }

private:
	Tenant *tenant_ = nullptr;
	Limit limit_ = Limit::Calls;
	uint64_t n_ = 0;
};

// The tenants of one agent, created on first use; they live as long as the
// registry (objects charged to a tenant hold a plain pointer to it).
class TenantRegistry
{
public:
	explicit TenantRegistry(Policy policy = {}) : policy_(std::move(policy))
	{
	}
	TenantRegistry(const TenantRegistry &) = delete;
	TenantRegistry &operator=(const TenantRegistry &) = delete;

	[[nodiscard]] const Policy &policy() const noexcept { return policy_; }
	Tenant &get(const std::string &name);
	// Gives tenant @p name its own policy (a launcher attaching a
	// sandboxed tenant). Refused for a tenant that already exists with
	// another policy, whether from the file or an earlier definition:
	// a policy never changes under a tenant's live connections.
	core::Status define(const std::string &name, TenantPolicy policy,
			    const std::string &source);
	// The tenant of in-process callers that name none (tests, tools).
	Tenant &local() { return get("local"); }
	// Calls @p fn for every tenant created so far, in name order, under
	// the registry's lock (a scrape; never on a call's path).
	void for_each(const std::function<void(const Tenant &)> &fn);

	// The agent-wide connection cap ([agent] max_connections).
	bool take_connection() noexcept;
	void give_back_connection() noexcept
	{
		connections_.fetch_sub(1, std::memory_order_relaxed);
	}

private:
	const Policy policy_;
	std::mutex mu_;
	// Policies defined after start; nodes never move, so tenants may
	// hold references to them.
	std::map<std::string, TenantPolicy, std::less<>> defined_;
	std::map<std::string, std::string, std::less<>> defined_from_;
	std::map<std::string, std::unique_ptr<Tenant>, std::less<>> tenants_;
	std::atomic<uint32_t> connections_{0};
};

} // namespace vaccel::agent
