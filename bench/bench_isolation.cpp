// SPDX-License-Identifier: Apache-2.0
// What tenant isolation (--isolate-tenants) costs on the noop round trip:
// the same Genop noop, sent raw over a unix socket to a vaccel-agent child
// (noop plugin) with isolation off and on, in the same run. With isolation
// the connection is served by the tenant's worker process after the agent
// hands it over, so only connecting pays (the first connection of a tenant
// also starts its worker); the ratio is printed.
//
//   build/release/bin/bench_isolation [round trips per batch]
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
#include <string>
#include <vector>

namespace
{

namespace tr = vaccel::transport;
namespace rpc = vaccel::rpc;
using Clock = std::chrono::steady_clock;

std::string envelope(const char *method, const std::string &payload)
{
	rpc::ttrpc::Request req;
	req.set_service(std::string(tr::kServiceSync));
	req.set_method(method);
	req.set_payload(payload);
	return req.SerializeAsString();
}

// One call; its reply's payload, or nothing on an error.
bool call(tr::Stream &s, uint32_t id, const std::string &env,
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

struct Result {
	double connect_us = 0; // connect + CreateSession, first connection
	double noop_us = 0;    // median of the batches' means
};

// Connects to a fresh agent (@p args added) and times noop round trips.
bool measure(const char *args, int per_batch, Result *out)
{
	::setenv("VACCEL_BENCH_AGENT_ARGS", args, 1);
	bench_net::AgentProcess agent("libvaccel-noop.so");
	if (!agent.ok())
		return false;
	const auto t0 = Clock::now();
	auto s = tr::connect(tr::parse_address(agent.address()).value(),
			     std::chrono::seconds(2));
	std::string created;
	if (!s ||
	    !call(*s, 1,
		  envelope("CreateSession",
			   rpc::session::CreateRequest().SerializeAsString()),
		  &created))
		return false;
	out->connect_us =
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
	const std::string env = envelope("Genop", g.SerializeAsString());
	uint32_t id = 3;
	for (int i = 0; i < per_batch; ++i, id += 2) // warm-up
		if (!call(*s, id, env))
			return false;
	std::vector<double> batches;
	for (int b = 0; b < 7; ++b) {
		const auto start = Clock::now();
		for (int i = 0; i < per_batch; ++i, id += 2)
			if (!call(*s, id, env))
				return false;
		batches.push_back(std::chrono::duration<double, std::micro>(
				      Clock::now() - start)
				      .count() /
				  per_batch);
	}
	std::sort(batches.begin(), batches.end());
	out->noop_us = batches[batches.size() / 2];
	return true;
}

} // namespace

int main(int argc, char **argv)
{
	const int per_batch = argc > 1 ? std::atoi(argv[1]) : 5000;
	// Alternating agents, three of each: a shared machine's drift hits
	// both sides alike.
	std::vector<double> off, on;
	Result r;
	for (int round = 0; round < 3; ++round) {
		if (!measure("--workers 2", per_batch, &r))
			return std::fprintf(stderr, "bench_isolation: agent "
						    "not reachable\n"),
			       1;
		off.push_back(r.noop_us);
		if (!measure("--workers 2 --isolate-tenants", per_batch, &r))
			return std::fprintf(stderr, "bench_isolation: agent "
						    "not reachable\n"),
			       1;
		on.push_back(r.noop_us);
		std::printf("round %d: off %.2f us, on %.2f us (first "
			    "connection with its worker's start: %.0f us)\n",
			    round, off.back(), on.back(), r.connect_us);
	}
	std::sort(off.begin(), off.end());
	std::sort(on.begin(), on.end());
	std::printf("noop round trip, unix socket, raw ttrpc (median of 3 "
		    "agents x 7 batches of %d)\n",
		    per_batch);
	std::printf("  isolation off: %8.2f us\n", off[1]);
	std::printf("  isolation on:  %8.2f us\n", on[1]);
	std::printf("  ratio on/off:  %8.3f\n", on[1] / off[1]);
	return 0;
}
