// SPDX-License-Identifier: Apache-2.0
// Helpers of the agent pool tests: several real agents, what each holds
// (its Stats) and how busy it says it is (the load in its Hello answer),
// and the two kinds of op the tests call: mbench's sgemm, a pure op whose
// result is checked, and mbench's "sleep" exec, an op that may act beyond
// its outputs (exec), which is never run twice.
#pragma once

#include "rpc_test.h"

#include <array>
#include <memory>

namespace rpc_test
{

// The load an agent reports (ext.proto, Hello.load): every tenant's calls
// queued or running, asked on a fresh raw connection.
inline std::optional<uint64_t> agent_load(const std::string &address)
{
	RawConn c;
	if (!c.connect(address))
		return std::nullopt;
	vaccel::rpc::ext::Hello hello;
	hello.set_version(1);
	auto resp =
	    c.call("vaccel.ext.AgentAdmin", "Hello", hello.SerializeAsString());
	if (!resp || resp->status().code() != 0)
		return std::nullopt;
	vaccel::rpc::ext::Hello answer;
	if (!answer.ParseFromString(resp->payload()))
		return std::nullopt;
	return answer.load();
}

// Waits (bounded) until the agent reports at least @p n calls.
inline bool wait_load(const std::string &address, uint64_t n,
		      std::chrono::milliseconds bound)
{
	const auto until = Clock::now() + bound;
	while (Clock::now() < until) {
		if (auto l = agent_load(address); l && *l >= n)
			return true;
		std::this_thread::sleep_for(5ms);
	}
	return false;
}

// Sessions and resources an agent holds (-1: it cannot be asked).
inline int64_t sessions_on(const std::string &address)
{
	auto s = agent_stats(address);
	return s ? static_cast<int64_t>(s->sessions()) : -1;
}
inline int64_t resources_on(const std::string &address)
{
	auto s = agent_stats(address);
	return s ? static_cast<int64_t>(s->resources()) : -1;
}

// Agents named NAME0, NAME1... in one directory, on unix sockets unless
// @p listen gives the address of each (tcp://127.0.0.1:0 and the like).
class Agents
{
public:
	Agents(const std::string &dir, const std::string &name, size_t n,
	       const std::vector<std::string> &listen = {})
	{
		for (size_t i = 0; i < n; ++i)
			agents_.push_back(std::make_unique<Agent>(
			    dir, name + std::to_string(i),
			    i < listen.size() ? listen[i] : std::string()));
	}
	[[nodiscard]] size_t size() const { return agents_.size(); }
	Agent &operator[](size_t i) { return *agents_[i]; }

	// Agent @p i, stopped, made anew on the address it had (port 0 as
	// the port the kernel gave it); start() it then.
	Agent &renew(size_t i, const std::string &dir, const std::string &name)
	{
		const std::string at = agents_[i]->address();
		agents_[i] = std::make_unique<Agent>(
		    dir, name + std::to_string(i),
		    at.rfind("unix://", 0) == 0 ? std::string() : at);
		return *agents_[i];
	}

	// The addresses, comma-separated: a VACCEL_RPC_ADDRESS.
	[[nodiscard]] std::string list() const
	{
		std::string out;
		for (const auto &a : agents_)
			out += (out.empty() ? "" : ",") + a->address();
		return out;
	}
	// Sessions on each agent.
	std::vector<int64_t> sessions() const
	{
		std::vector<int64_t> out;
		for (const auto &a : agents_)
			out.push_back(sessions_on(a->address()));
		return out;
	}
	// The agent whose session count grew from @p before (-1: none).
	int grown(const std::vector<int64_t> &before) const
	{
		const auto now = sessions();
		for (size_t i = 0; i < now.size(); ++i)
			if (now[i] > before[i])
				return static_cast<int>(i);
		return -1;
	}

private:
	std::vector<std::unique_ptr<Agent>> agents_;
};

// mbench first (exec "sleep" and sgemm), noop for every other op.
inline std::string pool_plugins()
{
	return std::string(TEST_MBENCH_PLUGIN) + ":" + TEST_NOOP_PLUGIN;
}

// exec of mbench "sleep": holds the agent's device for @p ms.
inline int device_sleep(vaccel_session *s, int ms)
{
	std::string t = std::to_string(ms);
	char payload[8] = "payload";
	vaccel_arg r[2] = {};
	r[0] = {t.data(), t.size(), VACCEL_ARG_RAW, 0, false};
	r[1] = {payload, sizeof(payload), VACCEL_ARG_RAW, 0, false};
	return vaccel_exec(s, "mbench", "sleep", r, 2, nullptr, 0);
}

// A 4x4 sgemm C = A x B with A, B made from @p seed; true when the call
// succeeded and C is exactly the product computed here.
struct SgemmCheck {
	int rc = VACCEL_OK;
	bool right = false;
};
inline SgemmCheck checked_sgemm(vaccel_session *s, int seed)
{
	constexpr int kN = 4;
	std::array<float, kN * kN> a{}, b{}, c{}, want{};
	for (int i = 0; i < kN * kN; ++i) {
		a[i] = static_cast<float>((seed + i) % 7);
		b[i] = static_cast<float>((seed * 3 + i) % 5);
	}
	for (int i = 0; i < kN; ++i)
		for (int j = 0; j < kN; ++j)
			for (int p = 0; p < kN; ++p)
				want[i * kN + j] +=
				    a[i * kN + p] * b[p * kN + j];
	SgemmCheck out;
	out.rc = vaccel_sgemm(s, kN, kN, kN, 1.0F, a.data(), kN, b.data(), kN,
			      0.0F, c.data(), kN);
	out.right = out.rc == VACCEL_OK && c == want;
	return out;
}

} // namespace rpc_test
