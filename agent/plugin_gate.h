// SPDX-License-Identifier: Apache-2.0
// The agent listens before its plugins are loaded: a backend such as
// libtorch takes far longer to load than the agent takes to start, and a
// sandbox booting meanwhile should find the socket open. Connections are
// accepted at once and wait here before their first request; readiness
// (health.h) is false until the plugins are in. An agent one of whose
// plugins fails still never serves: the gate fails, waiting connections
// are closed, and the agent exits with the reason (main.cpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace vaccel::agent
{

class PluginGate
{
public:
	enum class State { Loading, Open, Failed };

	PluginGate() = default;
	PluginGate(const PluginGate &) = delete;
	PluginGate &operator=(const PluginGate &) = delete;

	// Lets every waiting and later connection through.
	void open() { settle(State::Open); }
	// Turns every waiting and later connection away (plugin failure,
	// shutdown). A gate that was open stays open.
	void fail() { settle(State::Failed); }

	// Blocks until the gate is settled or @p cancel is set; whether the
	// connection may go on.
	bool wait(const std::atomic<bool> &cancel);

	[[nodiscard]] bool is_open() const noexcept
	{
		return state_.load(std::memory_order_acquire) == State::Open;
	}

private:
	void settle(State to);

	std::atomic<State> state_{State::Loading};
	std::mutex mu_;
	std::condition_variable cv_;
};

} // namespace vaccel::agent
