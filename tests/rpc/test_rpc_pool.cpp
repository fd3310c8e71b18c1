// SPDX-License-Identifier: Apache-2.0
// The rpc plugin with several real agents (VACCEL_RPC_ADDRESS a list):
// where sessions go (least-loaded by this process's calls in flight and by
// the load agents report, or round-robin), agents that cannot be reached,
// host names in the list, and failover: a session whose agent is killed
// moves to another agent with its resources, a pure call in flight runs
// again there and gives the right result, a call that may act beyond its
// outputs fails with a clear VACCEL_EIO, and with no agent left the error
// says so. On unix sockets and loopback; test_rpc_pool_netns.cpp runs
// agents in network namespaces with TLS.
#include "pool_test.h"

#include "rpc/genop.pb.h"
#include "rpc/session.pb.h"

#include <vaccel/ext.h>

#include <thread>

namespace rpc_test
{
namespace
{

class RpcPool : public ::testing::Test
{
protected:
	void TearDown() override
	{
		for (auto &s : sessions_)
			if (s->id > 0) {
				EXPECT_EQ(vaccel_session_release(s.get()),
					  VACCEL_OK);
			}
		sessions_.clear();
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		for (const char *v :
		     {"VACCEL_RPC_PLACEMENT", "VACCEL_RPC_LOAD_MS",
		      "VACCEL_RPC_BACKOFF_MS"})
			::unsetenv(v);
	}

	void start(size_t n, const std::vector<std::string> &listen = {},
		   const std::vector<std::string> &env = {})
	{
		agents_ =
		    std::make_unique<Agents>(dir_.path(), "pool", n, listen);
		for (size_t i = 0; i < n; ++i)
			ASSERT_TRUE((*agents_)[i].start(
			    pool_plugins(), {"--workers", "4"}, env))
			    << (*agents_)[i].log();
	}

	// The client runtime on @p address (default: every agent).
	void connect(const std::string &address = {})
	{
		ASSERT_NO_FATAL_FAILURE(restart_runtime(
		    TEST_RPC_PLUGIN,
		    address.empty() ? agents_->list() : address));
	}

	// A new session, released at the end of the test.
	vaccel_session *session()
	{
		sessions_.push_back(std::make_unique<vaccel_session>());
		vaccel_session *s = sessions_.back().get();
		EXPECT_EQ(vaccel_session_init(s, VACCEL_PLUGIN_REMOTE),
			  VACCEL_OK);
		return s;
	}

	// A session on agent @p want (sessions are made until one lands
	// there; the others stay too).
	vaccel_session *session_on(int want)
	{
		for (size_t i = 0; i <= agents_->size(); ++i) {
			const auto before = agents_->sessions();
			vaccel_session *s = session();
			if (agents_->grown(before) == want)
				return s;
		}
		ADD_FAILURE() << "no session landed on agent " << want;
		return nullptr;
	}

	TempDir dir_;
	std::unique_ptr<Agents> agents_;
	std::vector<std::unique_ptr<vaccel_session>> sessions_;
};

TEST_F(RpcPool, SessionsSpreadOverTheListedAgents)
{
	ASSERT_NO_FATAL_FAILURE(start(3));
	ASSERT_NO_FATAL_FAILURE(connect());
	for (int i = 0; i < 6; ++i)
		ASSERT_EQ(vaccel_noop(session()), VACCEL_OK);
	EXPECT_EQ(agents_->sessions(), (std::vector<int64_t>{2, 2, 2}));
	// Each session sticks to its agent.
	for (auto &s : sessions_)
		EXPECT_EQ(checked_sgemm(s.get(), 1).right, true);
	EXPECT_EQ(agents_->sessions(), (std::vector<int64_t>{2, 2, 2}));
}

// The load an agent reports in Hello: every tenant's calls in flight, as
// one number.
TEST_F(RpcPool, TheAgentReportsItsLoad)
{
	ASSERT_NO_FATAL_FAILURE(start(1));
	ASSERT_NO_FATAL_FAILURE(connect());
	const std::string a = (*agents_)[0].address();
	// The plugin's own Hello, sent as it loaded, may still be in flight.
	const auto idle_by = Clock::now() + 5s;
	while (agent_load(a) != 0U && Clock::now() < idle_by)
		std::this_thread::sleep_for(5ms);
	EXPECT_EQ(agent_load(a), 0U);
	vaccel_session *s1 = session();
	vaccel_session *s2 = session();
	int rc1 = -1, rc2 = -1;
	std::thread t1([&] { rc1 = device_sleep(s1, 400); });
	std::thread t2([&] { rc2 = device_sleep(s2, 400); });
	EXPECT_TRUE(wait_load(a, 2, 5000ms));
	t1.join();
	t2.join();
	EXPECT_EQ(rc1, VACCEL_OK);
	EXPECT_EQ(rc2, VACCEL_OK);
	// The calls' charges go once their replies are out.
	const auto until = Clock::now() + 5s;
	while (agent_load(a) != 0U && Clock::now() < until)
		std::this_thread::sleep_for(5ms);
	EXPECT_EQ(agent_load(a), 0U);
}

// Sessions made while agent X runs a long call of ours: least-loaded keeps
// them off X, round-robin does not. How many of them land on X.
class RpcPoolPolicy : public RpcPool
{
protected:
	int64_t placed_on_busy(const char *policy)
	{
		::setenv("VACCEL_RPC_PLACEMENT", policy, 1);
		::setenv("VACCEL_RPC_LOAD_MS", "0", 1); // own calls only
		connect();
		const auto before = agents_->sessions();
		vaccel_session *busy = session();
		const int x = agents_->grown(before);
		EXPECT_GE(x, 0);
		int rc = -1;
		std::thread t([&] { rc = device_sleep(busy, 700); });
		const std::string xa =
		    (*agents_)[static_cast<size_t>(x)].address();
		EXPECT_TRUE(wait_load(xa, 1, 5000ms));
		for (int i = 0; i < 4; ++i)
			session();
		const int64_t on_x = sessions_on(xa) - 1;
		t.join();
		EXPECT_EQ(rc, VACCEL_OK);
		TearDown();
		return on_x;
	}
};

TEST_F(RpcPoolPolicy, LeastLoadedAvoidsTheBusyAgentRoundRobinDoesNot)
{
	ASSERT_NO_FATAL_FAILURE(start(3));
	EXPECT_EQ(placed_on_busy("least-loaded"), 0);
	EXPECT_GE(placed_on_busy("round-robin"), 1);
}

// A Genop exec of mbench "sleep" for @p ms on session @p sess, encoded
// by hand: another client's call, sent on a raw connection.
std::string raw_sleep(int64_t sess, int ms)
{
	namespace g = vaccel::rpc::genop;
	g::Request req;
	req.set_session_id(sess);
	auto arg = [&](const void *p, size_t n, vaccel_arg_type_t t) {
		auto *a = req.add_read_args();
		a->set_buf(std::string(static_cast<const char *>(p), n));
		a->set_size(static_cast<uint32_t>(n));
		a->set_arg_type(static_cast<g::ArgType>(t));
	};
	const uint8_t op = VACCEL_OP_EXEC;
	arg(&op, 1, VACCEL_ARG_UINT8);
	arg("mbench", 7, VACCEL_ARG_STRING);
	arg("sleep", 6, VACCEL_ARG_STRING);
	const std::string t = std::to_string(ms);
	arg(t.data(), t.size(), VACCEL_ARG_RAW);
	arg("payload", 7, VACCEL_ARG_RAW);
	return RawConn::request("vaccel.sync.agent.AgentService", "Genop",
				req.SerializeAsString());
}

// Another client keeps agent X busy: the load X reports keeps new
// sessions of this process away, though this process has no call there.
TEST_F(RpcPool, TheLoadAgentsReportSteersPlacement)
{
	ASSERT_NO_FATAL_FAILURE(start(3));
	::setenv("VACCEL_RPC_LOAD_MS", "1", 1);
	ASSERT_NO_FATAL_FAILURE(connect());
	for (int i = 0; i < 3; ++i) // a connection to each agent
		ASSERT_EQ(vaccel_noop(session()), VACCEL_OK);
	const std::string x = (*agents_)[1].address();
	RawConn other;
	ASSERT_TRUE(other.connect(x));
	vaccel::rpc::session::CreateRequest create;
	auto made = other.call("vaccel.sync.agent.AgentService",
			       "CreateSession", create.SerializeAsString());
	ASSERT_TRUE(made);
	ASSERT_EQ(made->status().code(), 0) << made->status().message();
	vaccel::rpc::session::CreateResponse created;
	ASSERT_TRUE(created.ParseFromString(made->payload()));
	ASSERT_TRUE(other.send_frame(3, vaccel::transport::MsgType::Request, 0,
				     raw_sleep(created.session_id(), 800)));
	ASSERT_TRUE(wait_load(x, 1, 5000ms));
	const int64_t on_x = sessions_on(x);
	for (int i = 0; i < 3; ++i) {
		std::this_thread::sleep_for(2ms); // past VACCEL_RPC_LOAD_MS
		ASSERT_EQ(vaccel_noop(session()), VACCEL_OK);
	}
	EXPECT_EQ(sessions_on(x), on_x);
	EXPECT_TRUE(other.read_response().has_value()); // the sleep ended
}

TEST_F(RpcPool, AnAgentThatCannotBeReachedIsSkipped)
{
	ASSERT_NO_FATAL_FAILURE(start(2));
	const std::string missing = "unix://" + dir_.file("nobody.sock");
	ASSERT_NO_FATAL_FAILURE(connect((*agents_)[0].address() + "," +
					missing + "," +
					(*agents_)[1].address()));
	for (int i = 0; i < 6; ++i)
		ASSERT_EQ(vaccel_noop(session()), VACCEL_OK);
	EXPECT_EQ(agents_->sessions(), (std::vector<int64_t>{3, 3}));
}

// "localhost" stands for what it resolves to (here loopback only).
TEST_F(RpcPool, HostNamesInTheList)
{
	ASSERT_NO_FATAL_FAILURE(
	    start(2, {"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"}));
	const std::string a = (*agents_)[0].address();
	const std::string named =
	    "tcp://localhost:" + a.substr(a.rfind(':') + 1);
	ASSERT_NO_FATAL_FAILURE(connect(named + "," + (*agents_)[1].address()));
	for (int i = 0; i < 4; ++i)
		ASSERT_EQ(vaccel_noop(session()), VACCEL_OK);
	EXPECT_EQ(agents_->sessions(), (std::vector<int64_t>{2, 2}));
}

class RpcFailover : public RpcPool
{
protected:
	// Agent 0 holds the device 5 s per sgemm; agent 1 does not. A
	// session on agent 0 with a data resource registered.
	void SetUp() override
	{
		agents_ = std::make_unique<Agents>(dir_.path(), "fo", 2);
		ASSERT_TRUE(
		    (*agents_)[0].start(pool_plugins(), {"--workers", "4"},
					{"VACCEL_MBENCH_SGEMM_MS=5000"}))
		    << (*agents_)[0].log();
		ASSERT_TRUE(
		    (*agents_)[1].start(pool_plugins(), {"--workers", "4"}))
		    << (*agents_)[1].log();
		ASSERT_NO_FATAL_FAILURE(connect());
		victim_ = session_on(0);
		ASSERT_NE(victim_, nullptr);
		write_file(dir_.file("data.bin"), "some data");
		ASSERT_EQ(vaccel_resource_init(&res_,
					       dir_.file("data.bin").c_str(),
					       VACCEL_RESOURCE_DATA),
			  VACCEL_OK);
		ASSERT_EQ(vaccel_resource_register(&res_, victim_), VACCEL_OK);
		survivor_ = (*agents_)[1].address();
		sessions_before_ = sessions_on(survivor_);
		ASSERT_EQ(resources_on(survivor_), 0);
	}
	void TearDown() override
	{
		for (auto &s : sessions_)
			if (s->id > 0) {
				EXPECT_EQ(vaccel_session_release(s.get()),
					  VACCEL_OK);
			}
		sessions_.clear();
		if (res_.id > 0) {
			EXPECT_EQ(vaccel_resource_release(&res_), VACCEL_OK);
		}
		RpcPool::TearDown();
	}

	// Kills agent 0 once it runs a call.
	void kill_victim_in_call()
	{
		ASSERT_TRUE(wait_load((*agents_)[0].address(), 1, 5000ms));
		(*agents_)[0].stop(SIGKILL);
	}

	// The session and its resource are on the survivor now.
	void expect_moved()
	{
		EXPECT_EQ(sessions_on(survivor_), sessions_before_ + 1);
		EXPECT_EQ(resources_on(survivor_), 1);
	}

	vaccel_session *victim_ = nullptr;
	vaccel_resource res_{};
	std::string survivor_;
	int64_t sessions_before_ = 0;
};

TEST_F(RpcFailover, APureCallInFlightRunsAgainElsewhere)
{
	SgemmCheck got;
	std::thread t([&] { got = checked_sgemm(victim_, 5); });
	ASSERT_NO_FATAL_FAILURE(kill_victim_in_call());
	t.join();
	EXPECT_EQ(got.rc, VACCEL_OK);
	EXPECT_TRUE(got.right);
	expect_moved();
	EXPECT_TRUE(checked_sgemm(victim_, 6).right);
}

TEST_F(RpcFailover, AnEffectfulCallInFlightFailsClearly)
{
	int rc = -1;
	std::string why;
	std::thread t([&] {
		rc = device_sleep(victim_, 5000);
		why = vaccel_last_error();
	});
	ASSERT_NO_FATAL_FAILURE(kill_victim_in_call());
	t.join();
	EXPECT_EQ(rc, VACCEL_EIO);
	EXPECT_NE(why.find("in flight"), std::string::npos) << why;
	EXPECT_NE(why.find("not run again"), std::string::npos) << why;
	// Moved: the next call runs.
	expect_moved();
	EXPECT_EQ(device_sleep(victim_, 1), VACCEL_OK);
}

TEST_F(RpcFailover, AnIdleSessionMovesOnItsNextCall)
{
	(*agents_)[0].stop(SIGKILL);
	EXPECT_EQ(device_sleep(victim_, 1), VACCEL_OK); // never sent there
	expect_moved();
	// Unregistering and releasing reach the new agent.
	EXPECT_EQ(vaccel_resource_unregister(&res_, victim_), VACCEL_OK);
	EXPECT_EQ(resources_on(survivor_), 0);
}

TEST_F(RpcFailover, NoAgentLeftIsAClearError)
{
	(*agents_)[0].stop(SIGKILL);
	(*agents_)[1].stop(SIGKILL);
	EXPECT_EQ(vaccel_noop(victim_), VACCEL_EIO);
	const std::string why = vaccel_last_error();
	EXPECT_NE(why.find("cannot move"), std::string::npos) << why;
}

} // namespace
} // namespace rpc_test
