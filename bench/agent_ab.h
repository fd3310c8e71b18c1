// SPDX-License-Identifier: Apache-2.0
// Two agent command lines compared on the same noop round trip: a raw
// ttrpc Genop noop (no rpc plugin: only the agent's side differs) on a
// unix socket to a vaccel-agent child (noop plugin), the two agents
// alternated so that a shared machine's drift hits both alike. Used by
// bench_isolation (--isolate-tenants) and bench_metrics (--metrics).
#pragma once

#include "bench_net.h"

#include "transport/transport.h"

#include "rpc/genop.pb.h"
#include "rpc/session.pb.h"
#include "rpc/ttrpc.pb.h"

#include <vaccel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace agent_ab
{

namespace tr = vaccel::transport;
namespace rpc = vaccel::rpc;
using Clock = std::chrono::steady_clock;

inline std::string envelope(const char *method, const std::string &payload)
{
	rpc::ttrpc::Request req;
	req.set_service(std::string(tr::kServiceSync));
	req.set_method(method);
	req.set_payload(payload);
	return req.SerializeAsString();
}

// One call; its reply's payload, or nothing on an error.
inline bool call(tr::Stream &s, uint32_t id, const std::string &env,
		 std::string *payload = nullptr)
{
	tr::FrameHeader h;
	h.stream_id = id;
	h.type = tr::MsgType::Request;
	if (!tr::write_frame(
		s, h,
		std::span(reinterpret_cast<const uint8_t *>(env.data()),
			  env.size()),
		tr::deadline_in(std::chrono::seconds(5))))
		return false;
	auto f = tr::read_frame(s, 1u << 20,
				tr::deadline_in(std::chrono::seconds(5)));
	if (!f)
		return false;
	rpc::ttrpc::Response resp;
	resp.ParseFromArray(f->payload.data(),
			    static_cast<int>(f->payload.size()));
	if (resp.status().code() != 0)
		return false;
	if (payload != nullptr)
		*payload = resp.payload();
	return true;
}

// A fresh agent (noop plugin) with its connection and session, and the
// noop request it is timed with.
class Peer
{
public:
	// Starts an agent with @p args added; ok() says whether it is
	// reachable and gave a session.
	explicit Peer(const char *args)
	{
		::setenv("VACCEL_BENCH_AGENT_ARGS", args, 1);
		agent_ = std::make_unique<bench_net::AgentProcess>(
		    "libvaccel-noop.so");
		if (!agent_->ok())
			return;
		const auto t0 = Clock::now();
		auto s =
		    tr::connect(tr::parse_address(agent_->address()).value(),
				std::chrono::seconds(2));
		std::string created;
		if (!s || !call(*s, 1,
				envelope("CreateSession",
					 rpc::session::CreateRequest()
					     .SerializeAsString()),
				&created))
			return;
		s_ = std::move(s.value());
		connect_us_ =
		    std::chrono::duration<double, std::micro>(Clock::now() - t0)
			.count();
		rpc::session::CreateResponse cr;
		cr.ParseFromString(created);
		rpc::genop::Request g;
		g.set_session_id(cr.session_id());
		auto *a = g.add_read_args();
		a->set_arg_type(rpc::genop::UINT8);
		const auto op = static_cast<uint8_t>(VACCEL_OP_NOOP);
		a->set_buf(std::string(1, static_cast<char>(op)));
		a->set_size(1);
		env_ = envelope("Genop", g.SerializeAsString());
		ok_ = true;
	}

	[[nodiscard]] bool ok() const { return ok_; }
	// connect + CreateSession, the agent's first connection.
	[[nodiscard]] double connect_us() const { return connect_us_; }

	// The mean noop round trip over @p n calls, in us; negative on an
	// error.
	double time(int n)
	{
		const auto start = Clock::now();
		for (int i = 0; i < n; ++i, id_ += 2)
			if (!call(s_, id_, env_))
				return -1;
		return std::chrono::duration<double, std::micro>(Clock::now() -
								 start)
			   .count() /
		       n;
	}

private:
	std::unique_ptr<bench_net::AgentProcess> agent_;
	tr::Stream s_;
	std::string env_;
	uint32_t id_ = 3;
	double connect_us_ = 0;
	bool ok_ = false;
};

inline double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v[v.size() / 2];
}

struct Result {
	double connect_us = 0; // connect + CreateSession, first connection
	double noop_us = 0;    // median of the batches' means
};

// Connects to a fresh agent (@p args added) and times noop round trips.
inline bool measure(const char *args, int per_batch, Result *out)
{
	Peer p(args);
	if (!p.ok() || p.time(per_batch) < 0) // the first batch warms up
		return false;
	out->connect_us = p.connect_us();
	std::vector<double> batches;
	for (int b = 0; b < 7; ++b) {
		batches.push_back(p.time(per_batch));
		if (batches.back() < 0)
			return false;
	}
	out->noop_us = median(batches);
	return true;
}

// Medians of @p rounds agents of each kind, alternated.
struct Comparison {
	double a_us = 0, b_us = 0; // median noop round trip
	std::vector<double> a, b;  // each agent's median
	double connect_us = 0;     // the last b agent's first connection
};

// Measures @p rounds agents with @p a_args and as many with @p b_args,
// alternated, printing each round; false when an agent was unreachable.
inline bool compare(const char *a_name, const char *a_args, const char *b_name,
		    const char *b_args, int per_batch, int rounds,
		    Comparison *out)
{
	Result r;
	for (int round = 0; round < rounds; ++round) {
		if (!measure(a_args, per_batch, &r))
			return false;
		out->a.push_back(r.noop_us);
		if (!measure(b_args, per_batch, &r))
			return false;
		out->b.push_back(r.noop_us);
		out->connect_us = r.connect_us;
		std::printf("round %d: %s %.2f us, %s %.2f us (first "
			    "connection of the second: %.0f us)\n",
			    round, a_name, out->a.back(), b_name, out->b.back(),
			    r.connect_us);
	}
	out->a_us = median(out->a);
	out->b_us = median(out->b);
	return true;
}

// Two agents running side by side, timed in alternating blocks of
// @p per_block calls (A B B A ...: neither always goes first), @p blocks
// of each: a loaded machine's changes, which outlast a block, hit both
// alike, where agents run one after the other can land in different
// conditions altogether. The medians of the blocks' means.
inline bool interleave(const char *a_args, const char *b_args, int blocks,
		       int per_block, Comparison *out)
{
	Peer a(a_args), b(b_args);
	if (!a.ok() || !b.ok() || a.time(per_block) < 0 ||
	    b.time(per_block) < 0)
		return false;
	for (int i = 0; i < blocks; ++i) {
		Peer &first = i % 2 == 0 ? a : b;
		Peer &second = i % 2 == 0 ? b : a;
		const double f = first.time(per_block);
		const double s = second.time(per_block);
		if (f < 0 || s < 0)
			return false;
		out->a.push_back(i % 2 == 0 ? f : s);
		out->b.push_back(i % 2 == 0 ? s : f);
	}
	out->a_us = median(out->a);
	out->b_us = median(out->b);
	return true;
}

} // namespace agent_ab
