// SPDX-License-Identifier: Apache-2.0
// The metrics listener (vaccel-agent --metrics ADDR): plain HTTP, served by
// libmicrohttpd on a thread of its own, separate from the data listener so
// that a scraper never competes with tenants for the workers, nor a tenant
// reaches it through the agent's RPC socket.
//   GET /metrics  the Prometheus text exposition (metrics_report.h)
//   GET /healthz  200 while the agent is live, else 503 (health.h)
//   GET /readyz   200 while it takes new sessions, else 503
// Anything else is 404 (405 for a method other than GET and HEAD).
//
// The page shows every tenant's activity, so the listener binds loopback
// unless the operator allows otherwise (allow_remote), like plaintext TCP
// on the data listener (server.h). A handful of connections at a time, each
// closed after a few idle seconds: a scraper that stalls costs a slot, not
// a thread.
#pragma once

#include "core/status.h"
#include "transport/transport.h"

#include <functional>
#include <string>
#include <string_view>

struct MHD_Daemon;

namespace vaccel::agent
{

struct MetricsHttpOptions {
	transport::Address address; // tcp
	// A non-loopback address: refused unless set (then warned and
	// audited).
	bool allow_remote = false;
	std::function<std::string()> render; // the /metrics page
	std::function<bool()> live, ready;
};

class MetricsHttp
{
public:
	explicit MetricsHttp(MetricsHttpOptions opts) : opts_(std::move(opts))
	{
	}
	MetricsHttp(const MetricsHttp &) = delete;
	MetricsHttp &operator=(const MetricsHttp &) = delete;
	~MetricsHttp() { stop(); }

	// Binds the address (VACCEL_EPERM for one not allowed) and starts
	// serving.
	core::Status start();
	// Closes the listener and its connections, and joins its thread.
	// Idempotent.
	void stop();
	// The address bound (tcp port 0 -> the real port).
	[[nodiscard]] const transport::Address &address() const noexcept
	{
		return bound_;
	}

	// The answer to @p method on @p path.
	struct Page {
		unsigned status = 404;
		std::string body;
		std::string_view type = "text/plain; charset=utf-8";
	};
	[[nodiscard]] Page page(std::string_view method,
				std::string_view path) const;

private:
	core::Status check_exposure() const;

	MetricsHttpOptions opts_;
	transport::Address bound_;
	MHD_Daemon *daemon_ = nullptr;
};

// The value of --metrics: "HOST:PORT", "[V6]:PORT", "tcp://HOST:PORT", or
// a bare "PORT" (loopback).
core::Result<transport::Address> parse_metrics_address(std::string_view text);

} // namespace vaccel::agent
