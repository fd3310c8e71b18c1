// SPDX-License-Identifier: Apache-2.0
// The rpc plugin's pool units on their own: the address list and the
// resolution of names (endpoints.h), placement (placement.h) and backoff
// (backoff.h). The pool with real agents: test_rpc_pool.cpp.
#include "backoff.h"
#include "endpoints.h"
#include "placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace vaccel::rpc_plugin
{
namespace
{

using namespace std::chrono_literals;

TEST(EndpointList, OneAddressIsOneEntry)
{
	auto l = parse_endpoints("unix:///run/vaccel.sock");
	ASSERT_TRUE(l) << l.status().message();
	ASSERT_EQ(l->size(), 1U);
	EXPECT_EQ(l.value()[0].text, "unix:///run/vaccel.sock");
	EXPECT_FALSE(l.value()[0].named);
}

TEST(EndpointList, EntriesOfEveryKindWithSpaces)
{
	auto l = parse_endpoints(" unix:///a.sock, tcp://127.0.0.1:65501 ,"
				 "vsock://3:1234,tcp://[::1]:7,"
				 "tcp://agents.example:65500");
	ASSERT_TRUE(l) << l.status().message();
	ASSERT_EQ(l->size(), 5U);
	const auto &v = l.value();
	EXPECT_EQ(v[0].text, "unix:///a.sock");
	EXPECT_EQ(v[1].text, "tcp://127.0.0.1:65501");
	EXPECT_EQ(v[1].address.port, 65501U);
	EXPECT_EQ(v[2].address.kind, transport::Address::Kind::Vsock);
	// IP literals are agents as given; a host name stands for what it
	// resolves to.
	EXPECT_FALSE(v[1].named);
	EXPECT_FALSE(v[3].named);
	EXPECT_TRUE(v[4].named);
}

TEST(EndpointList, MistakesAreErrorsNamingTheEntry)
{
	auto empty = parse_endpoints("unix:///a.sock,,unix:///b.sock");
	ASSERT_FALSE(empty);
	EXPECT_EQ(empty.status().code(), VACCEL_EINVAL);
	EXPECT_NE(empty.status().message().find("entry 2"), std::string::npos);

	auto trailing = parse_endpoints("unix:///a.sock,");
	EXPECT_FALSE(trailing);

	auto bad = parse_endpoints("unix:///a.sock,tcp://nowhere");
	ASSERT_FALSE(bad);
	EXPECT_NE(bad.status().message().find("tcp://nowhere"),
		  std::string::npos);

	auto twice = parse_endpoints("tcp://127.0.0.1:1, tcp://127.0.0.1:1");
	ASSERT_FALSE(twice);
	EXPECT_NE(twice.status().message().find("twice"), std::string::npos);
}

// A resolver answering from a table, as DNS would.
Resolver table(std::map<std::string, std::vector<std::string>> t)
{
	return
	    [t](const std::string &host) -> Result<std::vector<std::string>> {
		    auto it = t.find(host);
		    if (it == t.end())
			    return Status(VACCEL_EIO, "resolve '" + host +
							  "': unknown host");
		    return it->second;
	    };
}

TEST(EndpointResolve, ANameIsEveryAddressItResolvesTo)
{
	auto spec = parse_endpoints("tcp://agents.ns.svc:65500");
	ASSERT_TRUE(spec);
	auto r = resolve_spec(
	    spec.value()[0],
	    table({{"agents.ns.svc",
		    {"127.0.0.2", "127.0.0.3", "127.0.0.2", "::1"}}}));
	ASSERT_TRUE(r) << r.status().message();
	ASSERT_EQ(r->size(), 3U); // the duplicate once
	const auto &v = r.value();
	EXPECT_EQ(v[0].key, "tcp://127.0.0.2:65500");
	EXPECT_EQ(v[0].address.host, "127.0.0.2");
	EXPECT_EQ(v[0].address.port, 65500U);
	EXPECT_EQ(v[0].name, "tcp://127.0.0.2:65500 (agents.ns.svc)");
	// TLS verifies the name the program gave, not the address.
	EXPECT_EQ(v[0].tls_name, "agents.ns.svc");
	EXPECT_EQ(v[2].key, "tcp://[::1]:65500");
}

TEST(EndpointResolve, AnAddressIsItself)
{
	auto spec = parse_endpoints("tcp://127.0.0.1:9");
	ASSERT_TRUE(spec);
	auto r = resolve_spec(spec.value()[0], table({}));
	ASSERT_TRUE(r);
	ASSERT_EQ(r->size(), 1U);
	EXPECT_EQ(r.value()[0].name, "tcp://127.0.0.1:9");
	EXPECT_EQ(r.value()[0].tls_name, "127.0.0.1");
}

TEST(EndpointResolve, FailuresAreErrors)
{
	auto spec = parse_endpoints("tcp://nowhere.invalid:9");
	ASSERT_TRUE(spec);
	EXPECT_FALSE(resolve_spec(spec.value()[0], table({})));
	EXPECT_FALSE(
	    resolve_spec(spec.value()[0], table({{"nowhere.invalid", {}}})));
}

TEST(EndpointResolve, TheSystemResolvesLocalhostToLoopback)
{
	auto r = system_resolver()("localhost");
	ASSERT_TRUE(r) << r.status().message();
	ASSERT_FALSE(r->empty());
	for (const std::string &h : r.value())
		EXPECT_TRUE(h == "::1" || h.rfind("127.", 0) == 0) << h;
}

TEST(EndpointResolve, ComparingAResolutionWithTheKnownAgents)
{
	auto spec = parse_endpoints("tcp://pool:1");
	ASSERT_TRUE(spec);
	auto seen = resolve_spec(
	    spec.value()[0],
	    table({{"pool", {"127.0.0.1", "127.0.0.3", "127.0.0.4"}}}));
	ASSERT_TRUE(seen);
	// Known: .1 (listed), .2 (listed), .3 (dropped earlier).
	const std::vector<std::string> known = {
	    "tcp://127.0.0.1:1", "tcp://127.0.0.2:1", "tcp://127.0.0.3:1"};
	const EndpointChanges c =
	    compare_endpoints(known, {true, true, false}, seen.value());
	ASSERT_EQ(c.added.size(), 1U);
	EXPECT_EQ(c.added[0].key, "tcp://127.0.0.4:1");
	EXPECT_EQ(c.dropped, std::vector<size_t>{1});
	EXPECT_EQ(c.back, std::vector<size_t>{2});
}

TEST(Placement, LeastLoadedTakesTheFewestCallsInFlight)
{
	Placement p(PlacementPolicy::LeastLoaded);
	// Own calls and reported ones weigh alike.
	const std::vector<Candidate> c = {{.outstanding = 3},
					  {.outstanding = 1, .reported = 1},
					  {.reported = 1},
					  {.outstanding = 2}};
	for (int i = 0; i < 8; ++i)
		EXPECT_EQ(p.pick(c), 2U);
}

TEST(Placement, LeastLoadedTiesGoToFewerSessionsThenInTurn)
{
	Placement p(PlacementPolicy::LeastLoaded);
	const std::vector<Candidate> c = {
	    {.sessions = 2}, {.sessions = 1}, {.sessions = 1}};
	std::map<size_t, int> picks;
	for (int i = 0; i < 10; ++i)
		++picks[p.pick(c)];
	EXPECT_EQ(picks[0], 0);
	EXPECT_EQ(picks[1], 5);
	EXPECT_EQ(picks[2], 5);
}

// Sessions made in a burst, before any call: each goes where fewest are.
TEST(Placement, ABurstOfSessionsSpreadsEvenly)
{
	Placement p(PlacementPolicy::LeastLoaded);
	std::vector<Candidate> c(3);
	for (int i = 0; i < 9; ++i)
		++c[p.pick(c)].sessions;
	for (const Candidate &x : c)
		EXPECT_EQ(x.sessions, 3U);
}

TEST(Placement, RoundRobinIgnoresLoad)
{
	Placement p(PlacementPolicy::RoundRobin);
	const std::vector<Candidate> c = {
	    {.outstanding = 100}, {.outstanding = 0}, {.reported = 50}};
	std::vector<size_t> order;
	for (int i = 0; i < 6; ++i)
		order.push_back(p.pick(c));
	EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(Backoff, DoublesUpToTheCapAndForgetsOnSuccess)
{
	Backoff b(100ms, 350ms);
	const auto t0 = Backoff::Clock::time_point{} + 1h;
	EXPECT_TRUE(b.ready(t0));
	b.failed(t0);
	EXPECT_FALSE(b.ready(t0 + 99ms));
	EXPECT_TRUE(b.ready(t0 + 100ms));
	b.failed(t0 + 100ms); // waits 200
	EXPECT_FALSE(b.ready(t0 + 299ms));
	EXPECT_TRUE(b.ready(t0 + 300ms));
	b.failed(t0 + 300ms); // 350, the cap
	EXPECT_FALSE(b.ready(t0 + 649ms));
	EXPECT_TRUE(b.ready(t0 + 650ms));
	b.failed(t0 + 650ms); // still 350
	EXPECT_TRUE(b.ready(t0 + 1000ms));
	EXPECT_EQ(b.failures(), 4U);
	b.succeeded();
	EXPECT_EQ(b.failures(), 0U);
	EXPECT_TRUE(b.ready(t0 + 1000ms));
	b.failed(t0 + 2s); // back to the first wait
	EXPECT_FALSE(b.ready(t0 + 2s + 99ms));
	EXPECT_TRUE(b.ready(t0 + 2s + 100ms));
}

} // namespace
} // namespace vaccel::rpc_plugin
