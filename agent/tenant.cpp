// SPDX-License-Identifier: Apache-2.0
#include "tenant.h"

#include "audit.h"

#include <array>

namespace vaccel::agent
{

std::string_view limit_name(Limit l) noexcept
{
	static constexpr std::array<std::string_view,
				    static_cast<size_t>(Limit::Count)>
	    names = {"connections",        "sessions",
		     "resources",          "disk_bytes",
		     "buffered_bytes",     "concurrent_calls",
		     "url.max_concurrent", "model_cache_bytes"};
	const auto i = static_cast<size_t>(l);
	return i < names.size() ? names[i] : "unknown";
}

uint64_t Tenant::cap(Limit l) const noexcept
{
	const Quotas &q = policy_.quotas;
	switch (l) {
	case Limit::Connections:
		return q.connections;
	case Limit::Sessions:
		return q.sessions;
	case Limit::Resources:
		return q.resources;
	case Limit::DiskBytes:
		return q.disk_bytes;
	case Limit::BufferedBytes:
		return q.buffered_bytes;
	case Limit::Calls:
		return q.concurrent_calls;
	case Limit::UrlFetches:
		return policy_.url.max_concurrent;
	case Limit::ModelCacheBytes:
		return q.model_cache_bytes;
	default:
		return 0;
	}
}

bool Tenant::try_take(Limit l, uint64_t n) noexcept
{
	auto &used = used_[index(l)];
	const uint64_t max = cap(l);
	uint64_t cur = used.load(std::memory_order_relaxed);
	do {
		if (n > max || cur > max - n)
			return false;
	} while (!used.compare_exchange_weak(cur, cur + n,
					     std::memory_order_relaxed));
	return true;
}

void Tenant::give_back(Limit l, uint64_t n) noexcept
{
	used_[index(l)].fetch_sub(n, std::memory_order_relaxed);
}

RpcStatus Tenant::allow(OpClass c, std::string_view op, uint64_t conn) const
{
	if (policy_.allows(c))
		return RpcStatus::ok();
	const std::string_view cls = op_class_name(c);
	RpcStatus st = RpcStatus::denied(
	    "tenant %s may not run %.*s ops (policy rule %s.ops)",
	    name_.c_str(), static_cast<int>(cls.size()), cls.data(),
	    table_.c_str());
	audit::refused(name_, conn, op, table_ + ".ops", st.message());
	return st;
}

bool Charge::try_take(Tenant &t, Limit l, uint64_t n, Charge *out) noexcept
{
	out->reset();
	if (!t.try_take(l, n))
		return false;
	out->tenant_ = &t;
	out->limit_ = l;
	out->n_ = n;
	return true;
}

RpcStatus Charge::take(Tenant &t, Limit l, uint64_t n, std::string_view op,
		       uint64_t conn, Charge *out)
{
	if (!try_take(t, l, n, out)) {
		const std::string_view name = limit_name(l);
		RpcStatus st = RpcStatus::exhausted(
		    "tenant %s: quota %.*s (%llu) reached", t.name().c_str(),
		    static_cast<int>(name.size()), name.data(),
		    static_cast<unsigned long long>(t.cap(l)));
		audit::refused(t.name(), conn, op,
			       std::string("quotas.") + std::string(name),
			       st.message());
		return st;
	}
	return RpcStatus::ok();
}

bool Charge::grow(uint64_t n) noexcept
{
	if (tenant_ == nullptr || !tenant_->try_take(limit_, n))
		return false;
	n_ += n;
	return true;
}

void Charge::reset() noexcept
{
	if (tenant_ != nullptr && n_ > 0)
		tenant_->give_back(limit_, n_);
	tenant_ = nullptr;
	n_ = 0;
}

Tenant &TenantRegistry::get(const std::string &name)
{
	std::lock_guard lock(mu_);
	auto it = tenants_.find(name);
	if (it == tenants_.end()) {
		std::unique_ptr<Tenant> t;
		if (auto d = defined_.find(name); d != defined_.end())
			t = std::make_unique<Tenant>(name, d->second,
						     defined_from_[name]);
		else if (policy_.tenants.contains(name))
			t = std::make_unique<Tenant>(name, policy_.tenant(name),
						     "tenant." + name);
		else
			t = std::make_unique<Tenant>(name, policy_.defaults,
						     "default");
		it = tenants_.emplace(name, std::move(t)).first;
	}
	return *it->second;
}

void TenantRegistry::for_each(const std::function<void(const Tenant &)> &fn)
{
	std::lock_guard lock(mu_);
	for (const auto &[name, t] : tenants_)
		fn(*t);
}

core::Status TenantRegistry::define(const std::string &name,
				    TenantPolicy policy,
				    const std::string &source)
{
	std::lock_guard lock(mu_);
	const std::string text = describe_tenant_policy(policy);
	if (auto d = defined_.find(name); d != defined_.end()) {
		if (describe_tenant_policy(d->second) == text)
			return core::Status::ok(); // the same again
		return core::Status::error(VACCEL_EEXIST,
					   "tenant %s already has another "
					   "policy (%s)",
					   name.c_str(),
					   defined_from_[name].c_str());
	}
	if (policy_.tenants.contains(name) || tenants_.contains(name))
		return core::Status::error(
		    VACCEL_EEXIST,
		    "tenant %s already exists with the policy file's rules",
		    name.c_str());
	defined_.emplace(name, std::move(policy));
	defined_from_.emplace(name, source);
	return core::Status::ok();
}

bool TenantRegistry::take_connection() noexcept
{
	uint32_t cur = connections_.load(std::memory_order_relaxed);
	do {
		if (cur >= policy_.max_connections)
			return false;
	} while (!connections_.compare_exchange_weak(
	    cur, cur + 1, std::memory_order_relaxed));
	return true;
}

} // namespace vaccel::agent
