// SPDX-License-Identifier: Apache-2.0
// What the request trace (CallTrace, client.h) measures of one call: the
// whole call through the Client, and within it the round trip.
#pragma once

#include "client.h"

#include <sched.h>

#include <chrono>
#include <string_view>

namespace vaccel::rpc_plugin
{

// An op's call through the Client, added to the thread's CallTimes when
// tracing.
class CallTimer
{
public:
	CallTimer(const CallTrace &trace, std::string_view method) noexcept
	    : on_(trace.enabled()), method_(method)
	{
		if (on_)
			start_ = std::chrono::steady_clock::now();
	}
	CallTimer(const CallTimer &) = delete;
	CallTimer &operator=(const CallTimer &) = delete;
	~CallTimer()
	{
		if (!on_)
			return;
		CallTimes &t = CallTrace::current();
		++t.calls;
		t.call += std::chrono::steady_clock::now() - start_;
		t.method = method_;
	}
	[[nodiscard]] bool on() const noexcept { return on_; }

private:
	bool on_;
	std::string_view method_;
	std::chrono::steady_clock::time_point start_;
};

// The round trip within a timed call.
class WireTimed
{
public:
	explicit WireTimed(const CallTimer &call) noexcept : on_(call.on())
	{
		if (!on_)
			return;
		CallTimes &t = CallTrace::current();
		t.slot = false;
		t.cpu_start = sched_getcpu();
		t.wire_start = std::chrono::steady_clock::now();
	}
	WireTimed(const WireTimed &) = delete;
	WireTimed &operator=(const WireTimed &) = delete;
	~WireTimed()
	{
		if (!on_)
			return;
		CallTimes &t = CallTrace::current();
		t.wire_end = std::chrono::steady_clock::now();
		t.cpu_end = sched_getcpu();
		t.wire += t.wire_end - t.wire_start;
	}

private:
	bool on_;
};

} // namespace vaccel::rpc_plugin
