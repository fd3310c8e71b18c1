// SPDX-License-Identifier: Apache-2.0
#include "config.h"

#include <vaccel/log.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string_view>
#include <thread>

namespace vaccel::rpc_plugin
{
namespace
{

// The value of @p name parsed as an unsigned number in [lo, hi], or
// @p fallback (with a warning) when it is set but unusable.
uint64_t env_number(const char *name, uint64_t fallback, uint64_t lo,
		    uint64_t hi)
{
	const char *v = std::getenv(name);
	if (v == nullptr || *v == '\0')
		return fallback;
	std::string_view s(v);
	uint64_t n = 0;
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
	if (ec != std::errc() || end != s.data() + s.size() || n < lo ||
	    n > hi) {
		vaccel_warn("[rpc] %s=%s is not a number in %llu..%llu; using "
			    "%llu",
			    name, v, static_cast<unsigned long long>(lo),
			    static_cast<unsigned long long>(hi),
			    static_cast<unsigned long long>(fallback));
		return fallback;
	}
	return n;
}

std::string env_text(const char *name)
{
	const char *v = std::getenv(name);
	return v != nullptr ? std::string(v) : std::string();
}

// VACCEL_RPC_TLS_*: the TLS context, or none when no file is named.
core::Status tls_from_env(Config *cfg)
{
	const transport::TlsFiles files{env_text("VACCEL_RPC_TLS_CERT"),
					env_text("VACCEL_RPC_TLS_KEY"),
					env_text("VACCEL_RPC_TLS_CA")};
	if (files.cert.empty() && files.key.empty() && files.ca.empty())
		return core::Status::ok();
	const bool any_tcp = std::any_of(
	    cfg->endpoints.begin(), cfg->endpoints.end(), [](const auto &e) {
		    return e.address.kind == transport::Address::Kind::Tcp;
	    });
	if (!any_tcp)
		return core::Status::error(VACCEL_EINVAL,
					   "[rpc] VACCEL_RPC_TLS_* apply to "
					   "tcp:// addresses, not '%s'",
					   cfg->address_text.c_str());
	auto ctx = transport::TlsContext::client(files);
	if (!ctx)
		return core::Status::error(VACCEL_EINVAL, "[rpc] %s",
					   ctx.status().message().c_str());
	cfg->tls = std::move(ctx).value();
	cfg->tls_server_name = env_text("VACCEL_RPC_TLS_SERVER_NAME");
	return core::Status::ok();
}

PlacementPolicy placement_from_env()
{
	const std::string v = env_text("VACCEL_RPC_PLACEMENT");
	if (v.empty() || v == "least-loaded")
		return PlacementPolicy::LeastLoaded;
	if (v == "round-robin")
		return PlacementPolicy::RoundRobin;
	vaccel_warn("[rpc] VACCEL_RPC_PLACEMENT=%s is neither least-loaded "
		    "nor round-robin; using least-loaded",
		    v.c_str());
	return PlacementPolicy::LeastLoaded;
}

std::chrono::milliseconds env_ms(const char *name,
				 std::chrono::milliseconds fallback)
{
	constexpr uint64_t kDay = 24ull * 3600 * 1000;
	return std::chrono::milliseconds(
	    env_number(name, static_cast<uint64_t>(fallback.count()), 0, kDay));
}

} // namespace

bool Config::any_local() const noexcept
{
	using K = transport::Address::Kind;
	return std::any_of(endpoints.begin(), endpoints.end(),
			   [](const auto &e) {
				   return e.address.kind == K::Unix ||
					  e.address.kind == K::UnixAbstract;
			   });
}

std::chrono::microseconds Config::default_poll()
{
	return std::chrono::microseconds(
	    std::thread::hardware_concurrency() >= 4 ? 2000 : 0);
}

bool Config::default_start_ahead()
{
	return std::thread::hardware_concurrency() >= 4;
}

unsigned Config::default_copy_threads()
{
	return std::thread::hardware_concurrency() >= 8 ? 3 : 0;
}

core::Result<Config> config_from_env()
{
	Config cfg;
	const char *addr = std::getenv("VACCEL_RPC_ADDRESS");
	if (addr == nullptr || *addr == '\0')
		addr = std::getenv("VACCEL_RPC_ADDR");
	if (addr != nullptr && *addr != '\0')
		cfg.address_text = addr;
	auto parsed = parse_endpoints(cfg.address_text);
	if (!parsed)
		return core::Status::error(VACCEL_EINVAL,
					   "[rpc] VACCEL_RPC_ADDRESS '%s': %s",
					   cfg.address_text.c_str(),
					   parsed.status().message().c_str());
	cfg.endpoints = std::move(parsed).value();
	cfg.placement = placement_from_env();
	cfg.resolve_period =
	    env_ms("VACCEL_RPC_RESOLVE_MS", cfg.resolve_period);
	cfg.load_period = env_ms("VACCEL_RPC_LOAD_MS", cfg.load_period);
	cfg.backoff_first = env_ms("VACCEL_RPC_BACKOFF_MS", cfg.backoff_first);
	cfg.backoff_max = env_ms("VACCEL_RPC_BACKOFF_MAX_MS", cfg.backoff_max);

	constexpr uint64_t kDay = 24ull * 3600 * 1000;
	cfg.call_timeout = std::chrono::milliseconds(env_number(
	    "VACCEL_RPC_TIMEOUT_MS",
	    static_cast<uint64_t>(kDefaultCallTimeout.count()), 0, kDay));
	const uint64_t connect = env_number(
	    "VACCEL_RPC_CONNECT_TIMEOUT_MS",
	    static_cast<uint64_t>(kDefaultConnectTimeout.count()), 0, kDay);
	cfg.connect_timeout = connect == 0 ? kDefaultConnectTimeout
					   : std::chrono::milliseconds(connect);
	cfg.max_frame = static_cast<uint32_t>(
	    env_number("VACCEL_RPC_MAX_FRAME", transport::kDefaultMaxFrame,
		       1024, transport::kMaxFrameLimit));
	cfg.max_message = env_number("VACCEL_RPC_MAX_MESSAGE", cfg.max_message,
				     cfg.max_frame, uint64_t{1} << 40);
	cfg.shm = env_number("VACCEL_RPC_SHM", 1, 0, 1) != 0;
	cfg.shm_threshold = env_number("VACCEL_RPC_SHM_THRESHOLD",
				       cfg.shm_threshold, 0, uint64_t{1} << 40);
	cfg.start_ahead = env_number("VACCEL_RPC_START_AHEAD",
				     cfg.start_ahead ? 1 : 0, 0, 1) != 0;
	cfg.shm_prewarm = env_number("VACCEL_RPC_SHM_PREWARM", cfg.shm_prewarm,
				     0, uint64_t{64} << 20);
	if (const char *d = std::getenv("VACCEL_RPC_IVSHMEM_DEVICES");
	    d != nullptr)
		cfg.ivshmem_devices = d;
	cfg.reply_slots = env_number("VACCEL_RPC_REPLY_SLOTS", 1, 0, 1) != 0;
	cfg.model_cache = env_number("VACCEL_RPC_MODEL_CACHE", 1, 0, 1) != 0;
	cfg.connect_early =
	    env_number("VACCEL_RPC_CONNECT_EARLY", 1, 0, 1) != 0;
	if (const char *d = std::getenv("VACCEL_RPC_MODEL_DIGESTS");
	    d != nullptr && *d != '\0') {
		auto index = transport::DigestIndex::load(d);
		if (!index)
			return core::Status::error(
			    index.status().code(),
			    "VACCEL_RPC_MODEL_DIGESTS: %s",
			    index.status().message().c_str());
		cfg.model_digests = std::make_shared<transport::DigestIndex>(
		    std::move(index.value()));
	}
	cfg.request_slots =
	    env_number("VACCEL_RPC_REQUEST_SLOTS", 1, 0, 1) != 0;
	cfg.copy_threads = static_cast<unsigned>(
	    env_number("VACCEL_RPC_COPY_THREADS", cfg.copy_threads, 0, 16));
	cfg.copy_min =
	    env_number("VACCEL_RPC_COPY_MIN", cfg.copy_min,
		       transport::CopyCrew::kChunk, uint64_t{1} << 40);
	cfg.poll = std::chrono::microseconds(
	    env_number("VACCEL_RPC_POLL_US",
		       static_cast<uint64_t>(cfg.poll.count()), 0, 1000000));
	cfg.poll_busy_host = env_number("VACCEL_POLL_BUSY_HOST", 0, 0, 1) != 0;
	if (const char *t = std::getenv("VACCEL_RPC_TRACE"); t != nullptr)
		cfg.trace_path = t;
	VACCEL_RETURN_IF_ERROR(tls_from_env(&cfg));
	return cfg;
}

} // namespace vaccel::rpc_plugin
