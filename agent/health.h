// SPDX-License-Identifier: Apache-2.0
// Liveness and readiness of the agent, for probes (/healthz and /readyz,
// metrics_http.h) and the ready gauge. Live: the process answers and its
// data listener takes connections. Ready: live, and taking new sessions;
// draining (an agent refusing new sessions while its calls finish,
// drain.h) sets it to false without the agent being unhealthy, so that a
// load balancer stops sending new work while the running work ends. Not
// ready either while the plugins load (plugin_gate.h).
#pragma once

#include "drain.h"
#include "plugin_gate.h"
#include "server.h"

#include <atomic>

namespace vaccel::agent
{

class Health
{
public:
	explicit Health(const Server &server,
			const PluginGate *plugins = nullptr,
			const Drain *drain = nullptr)
	    : server_(server), plugins_(plugins), drain_(drain)
	{
	}
	Health(const Health &) = delete;
	Health &operator=(const Health &) = delete;

	[[nodiscard]] bool live() const { return server_.accepting(); }
	[[nodiscard]] bool ready() const
	{
		return live() && !draining() &&
		       (plugins_ == nullptr || plugins_->is_open());
	}

	// Not ready from now on: the agent stops (at once, or draining).
	void set_draining(bool on) noexcept
	{
		draining_.store(on, std::memory_order_relaxed);
	}
	[[nodiscard]] bool draining() const noexcept
	{
		return draining_.load(std::memory_order_relaxed) ||
		       (drain_ != nullptr && drain_->active());
	}

private:
	const Server &server_;
	const PluginGate *plugins_;
	const Drain *drain_;
	std::atomic<bool> draining_{false};
};

} // namespace vaccel::agent
