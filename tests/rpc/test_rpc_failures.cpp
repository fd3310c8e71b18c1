// SPDX-License-Identifier: Apache-2.0
// The rpc plugin when things go wrong: an agent that is not there, one that
// restarts, one that is slow, a client killed mid-call, and raw connections
// sending bad frames. No call may hang; the agent must keep serving.
#include "rpc_test.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <cstring>
#include <sstream>
#include <thread>
#include <vector>

namespace rpc_test
{
namespace
{

long long ms_since(Clock::time_point t0)
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
		   Clock::now() - t0)
	    .count();
}

bool is_transport_error(int rc)
{
	return rc == VACCEL_EIO || rc == VACCEL_EREMOTEIO;
}

class RpcFailures : public ::testing::Test
{
protected:
	void TearDown() override { EXPECT_EQ(vaccel_cleanup(), VACCEL_OK); }
	TempDir dir_;
};

TEST_F(RpcFailures, UnreachableAgent)
{
	ASSERT_NO_FATAL_FAILURE(restart_runtime(
	    TEST_RPC_PLUGIN, "unix://" + dir_.file("nobody.sock")));
	for (int i = 0; i < 3; ++i) {
		vaccel_session s{};
		const auto t0 = Clock::now();
		EXPECT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE),
			  VACCEL_EIO);
		EXPECT_LT(ms_since(t0), 1000);
	}
}

// An agent that accepts (the kernel does, into the listen backlog) and
// never answers: the connect timeout fires during the handshake, and the
// message names it, its variable and its value, not the call timeout.
TEST_F(RpcFailures, SilentAgentNamesTheConnectTimeout)
{
	const std::string sock = dir_.file("silent.sock");
	const int fd = unix_listen(sock);
	ASSERT_GE(fd, 0);

	::setenv("VACCEL_RPC_ADDRESS", ("unix://" + sock).c_str(), 1);
	::setenv("VACCEL_RPC_TIMEOUT_MS", "300000", 1);
	::setenv("VACCEL_RPC_CONNECT_TIMEOUT_MS", "400", 1);
	const std::string log = dir_.file("vaccel.log");
	ASSERT_NO_FATAL_FAILURE(restart_runtime_logging_to(log));

	vaccel_session s{};
	const auto t0 = Clock::now();
	EXPECT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_EIO);
	const auto took = ms_since(t0);
	EXPECT_GE(took, 350);
	EXPECT_LT(took, 5000);
	const std::string text = slurp(log);
	EXPECT_NE(text.find("the handshake (Hello) took longer than 400 ms "
			    "(VACCEL_RPC_CONNECT_TIMEOUT_MS=400)"),
		  std::string::npos)
	    << text;
	EXPECT_EQ(text.find("VACCEL_RPC_TIMEOUT_MS"), std::string::npos)
	    << text;
	::close(fd);
}

TEST_F(RpcFailures, BadAddressFailsThePluginLoad)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	::setenv("VACCEL_RPC_ADDRESS", "carrier-pigeon://x", 1);
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init(&cfg, TEST_RPC_PLUGIN, VACCEL_LOG_ERROR,
				     nullptr, false, false),
		  VACCEL_OK);
	vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	EXPECT_EQ(vaccel_plugin_count(), 0U);
}

TEST_F(RpcFailures, AgentRestart)
{
	Agent agent(dir_.path(), "restart");
	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN)) << agent.log();
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	vaccel_session old{};
	ASSERT_EQ(vaccel_session_init(&old, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	ASSERT_EQ(vaccel_noop(&old), VACCEL_OK);

	agent.stop(SIGKILL);
	// While it is down: quick transport errors, never a hang.
	for (int i = 0; i < 3; ++i) {
		auto t0 = Clock::now();
		EXPECT_TRUE(is_transport_error(vaccel_noop(&old)));
		EXPECT_LT(ms_since(t0), 2000);
		vaccel_session s{};
		t0 = Clock::now();
		EXPECT_TRUE(is_transport_error(
		    vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE)));
		EXPECT_LT(ms_since(t0), 2000);
	}

	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN)) << agent.log();
	// The next call reconnects.
	vaccel_session fresh{};
	ASSERT_EQ(vaccel_session_init(&fresh, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&fresh), VACCEL_OK);
	// The old session died with the old agent: it fails cleanly rather
	// than reaching whatever now has its id, and can still be released.
	EXPECT_EQ(vaccel_noop(&old), VACCEL_EIO);
	EXPECT_EQ(vaccel_noop(&fresh), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&old), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&fresh), VACCEL_OK);
	EXPECT_TRUE(wait_agent_idle(agent.address(), 5000ms));
}

// The agent's open connections once they are @p n, waiting (bounded) for
// that: the agent accepts, and notices a closed connection, on threads of
// its own. The count then. Each look counts its own connection, which is
// left out.
uint64_t connections_reach(const std::string &address, uint64_t n)
{
	uint64_t now = UINT64_MAX;
	const auto until = Clock::now() + 5s;
	do {
		auto s = agent_stats(address);
		now = s ? s->connections() - 1 : UINT64_MAX;
		if (now == n)
			break;
		std::this_thread::sleep_for(20ms);
	} while (Clock::now() < until);
	return now;
}

// The handshakes an agent answered: its debug log says so for each Hello
// (agent_stats() asks for Stats, not Hello). Agents started with
// kDebugLog log at that level.
const std::vector<std::string> kDebugLog = {"--vaccel-config", "log_level=4"};
size_t hellos(const Agent &agent)
{
	const std::string log = agent.log();
	const std::string key = "peer speaks protocol";
	size_t n = 0;
	for (size_t at = log.find(key); at != std::string::npos;
	     at = log.find(key, at + key.size()))
		++n;
	return n;
}

// Waits (bounded) until @p agent answered @p n handshakes; their count
// then.
size_t wait_hellos(const Agent &agent, size_t n)
{
	const auto until = Clock::now() + 5s;
	while (hellos(agent) < n && Clock::now() < until)
		std::this_thread::sleep_for(10ms);
	return hellos(agent);
}

// With one agent, the plugin connects and sends its Hello when it loads,
// so that a sandbox's first session pays one round trip, not three; the
// session then uses that connection, with no second handshake.
// VACCEL_RPC_CONNECT_EARLY=0 leaves connecting to the first session.
TEST_F(RpcFailures, ThePluginConnectsWhenItLoads)
{
	Agent agent(dir_.path(), "early");
	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN, kDebugLog)) << agent.log();
	::unsetenv("VACCEL_RPC_CONNECT_EARLY");
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	EXPECT_EQ(wait_hellos(agent, 1), 1U) << "no handshake at load";
	EXPECT_EQ(connections_reach(agent.address(), 1), 1U);
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	EXPECT_EQ(hellos(agent), 1U) << "the session connected again";
	EXPECT_EQ(connections_reach(agent.address(), 1), 1U);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);

	::setenv("VACCEL_RPC_CONNECT_EARLY", "0", 1);
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	::unsetenv("VACCEL_RPC_CONNECT_EARLY");
	EXPECT_EQ(connections_reach(agent.address(), 0), 0U);
	EXPECT_EQ(hellos(agent), 1U);
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(hellos(agent), 2U);
	EXPECT_EQ(connections_reach(agent.address(), 1), 1U);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
}

// The early connection is a head start, never a requirement: an agent
// that starts after the plugin loaded, restarts after answering, or
// hangs up without answering, is reached at the first session as if the
// plugin had waited, and nothing is logged as an error for it.
TEST_F(RpcFailures, AnAgentStartedOrRestartedAfterThePluginLoadsIsReached)
{
	Agent agent(dir_.path(), "late");
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN)) << agent.log();
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);

	// Restarted after it answered the early Hello.
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	ASSERT_EQ(connections_reach(agent.address(), 1), 1U);
	agent.stop(SIGKILL);
	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN)) << agent.log();
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	agent.stop(SIGKILL);

	// Hung up before answering: a listener that takes the connection and
	// closes it, then the real agent in its place.
	const std::string sock = dir_.file("late.sock");
	::unlink(sock.c_str());
	const int fd = unix_listen(sock);
	ASSERT_GE(fd, 0);
	const std::string log = dir_.file("client.log");
	ASSERT_NO_FATAL_FAILURE(restart_runtime_logging_to(log));
	const int taken = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
	ASSERT_GE(taken, 0) << "the plugin did not connect at load";
	::close(taken);
	::close(fd);
	::unlink(sock.c_str());
	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN)) << agent.log();
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	EXPECT_EQ(slurp(log).find("<error>"), std::string::npos) << slurp(log);
}

// A child forked after the plugin loaded must not read the answer to its
// parent's early Hello: it opens its own connection (a second handshake),
// and the parent keeps its own (no third).
TEST_F(RpcFailures, AForkedChildLeavesTheEarlyConnectionToItsParent)
{
#ifdef __SANITIZE_THREAD__
	GTEST_SKIP() << "fork of a process that has run threads: not "
			"supported under ThreadSanitizer";
#endif
	Agent agent(dir_.path(), "forked");
	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN, kDebugLog)) << agent.log();
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	ASSERT_EQ(wait_hellos(agent, 1), 1U);
	pid_t child = ::fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		vaccel_session s{};
		if (vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE) !=
			VACCEL_OK ||
		    vaccel_noop(&s) != VACCEL_OK ||
		    vaccel_session_release(&s) != VACCEL_OK)
			::_exit(1);
		::_exit(0);
	}
	int status = 0;
	ASSERT_EQ(::waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	EXPECT_EQ(hellos(agent), 2U);
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	EXPECT_EQ(hellos(agent), 2U) << "the parent connected again";
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	EXPECT_TRUE(wait_agent_idle(agent.address(), 5000ms));
}

// The agent knows a unix client by the credentials of its connect(): a
// program that drops root after the plugin loaded must not reach the
// agent as root through the connection made at load.
TEST_F(RpcFailures, DroppingPrivilegesAfterTheLoadLeavesTheEarlyConnection)
{
#ifdef __SANITIZE_THREAD__
	GTEST_SKIP() << "fork of a process that has run threads: not "
			"supported under ThreadSanitizer";
#endif
	if (::geteuid() != 0)
		GTEST_SKIP() << "needs root to drop to a second uid";
	Agent agent(dir_.path(), "setuid");
	// The default identity rule: the agent's own uid (root) only.
	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN, kDebugLog)) << agent.log();
	// The child's run directory must stay usable after it drops root,
	// so that only the agent can refuse its session.
	const std::string tmp = dir_.file("tmp");
	ASSERT_EQ(::mkdir(tmp.c_str(), 0700), 0);
	ASSERT_EQ(::chmod(tmp.c_str(), 01777), 0); // as /tmp
	ASSERT_EQ(::chmod(dir_.path().c_str(), 0711), 0);
	// Reachable by anyone: the agent's identity rule is what refuses.
	ASSERT_EQ(::chmod(dir_.file("setuid.sock").c_str(), 0666), 0);
	pid_t child = ::fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		::setenv("TMPDIR", tmp.c_str(), 1);
		restart_runtime(TEST_RPC_PLUGIN, agent.address(), "5000");
		if (wait_hellos(agent, 1) != 1)
			::_exit(2); // no early connection: nothing tested
		const std::string run = vaccel_rundir();
		const std::string base = run.substr(0, run.rfind('/'));
		if (::chown(base.c_str(), 65534, 65534) != 0 ||
		    ::chown(run.c_str(), 65534, 65534) != 0 ||
		    ::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 ||
		    ::setuid(65534) != 0)
			::_exit(3);
		vaccel_session s{};
		const int rc = vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE);
		::_exit(rc == VACCEL_OK ? 1 : 0);
	}
	int status = 0;
	ASSERT_EQ(::waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0)
	    << "1: the session was made as root after setuid; 2: no early "
	       "connection; 3: could not drop root";
	// Refused by the agent, for the uid the child had become.
	EXPECT_NE(agent.log().find("uid 65534"), std::string::npos)
	    << agent.log();
}

// Agent with mbench first (exec spins) and noop for the rest.
class SlowAgent : public RpcFailures
{
protected:
	void SetUp() override
	{
		agent_ = std::make_unique<Agent>(dir_.path(), "slow");
		ASSERT_TRUE(agent_->start(std::string(TEST_MBENCH_PLUGIN) +
					      ":" + TEST_NOOP_PLUGIN,
					  {"--workers", "4"}))
		    << agent_->log();
	}
	void TearDown() override
	{
		RpcFailures::TearDown();
		agent_.reset();
	}

	static int spin(vaccel_session *s, int ms)
	{
		std::string t = std::to_string(ms);
		char payload[16] = "payload";
		vaccel_arg r[2] = {};
		r[0] = {t.data(), t.size(), VACCEL_ARG_RAW, 0, false};
		r[1] = {payload, sizeof(payload), VACCEL_ARG_RAW, 0, false};
		return vaccel_exec(s, "mbench", "mbench", r, 2, nullptr, 0);
	}

	std::unique_ptr<Agent> agent_;
};

TEST_F(SlowAgent, CallTimeout)
{
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent_->address(), "300"));
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(spin(&s, 50), VACCEL_OK);
	const auto t0 = Clock::now();
	EXPECT_EQ(spin(&s, 3000), VACCEL_EIO);
	const auto took = ms_since(t0);
	EXPECT_GE(took, 250);
	EXPECT_LT(took, 2000);
	// Only that call failed: the connection (and the session) live on.
	EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	// Wait out the spin so that release finds the session idle.
	std::this_thread::sleep_for(3000ms);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	EXPECT_TRUE(wait_agent_idle(agent_->address(), 5000ms));
}

// Calls of one process share a connection, read by one waiting caller at
// a time: a short call must be answered while a long one reads (the reader
// routes the other reply), and the long one must still get its reply after
// the short one has left (the reading is handed over), whichever started
// reading first.
TEST_F(SlowAgent, ShortCallsPassALongOneOnTheSharedConnection)
{
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent_->address()));
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	for (int round = 0; round < 2; ++round) {
		std::atomic<int> order{0};
		int long_done = -1;
		int long_rc = -1;
		std::thread slow([&] {
			long_rc = spin(&s, 600);
			long_done = order.fetch_add(1);
		});
		// Round 0: the long call is reading when the short ones
		// come; round 1: the short ones may take the reading first.
		if (round == 0)
			std::this_thread::sleep_for(100ms);
		std::vector<int> rcs;
		for (int i = 0; i < 5; ++i)
			rcs.push_back(i % 2 ? vaccel_noop(&s) : spin(&s, 20));
		const int short_done = order.fetch_add(1);
		slow.join();
		for (int rc : rcs)
			EXPECT_EQ(rc, VACCEL_OK);
		EXPECT_EQ(long_rc, VACCEL_OK) << "round " << round;
		EXPECT_LT(short_done, long_done) << "round " << round;
	}
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	EXPECT_TRUE(wait_agent_idle(agent_->address(), 5000ms));
}

TEST_F(SlowAgent, ClientKilledMidCall)
{
#ifdef __SANITIZE_THREAD__
	// The child uses the plugin after a fork of a process that has run
	// threads, which TSan does not support.
	GTEST_SKIP() << "not supported under ThreadSanitizer";
#endif
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent_->address()));
	// The parent is connected when it forks: the child must leave that
	// connection alone and open its own.
	vaccel_session mine{};
	ASSERT_EQ(vaccel_session_init(&mine, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	const std::string model = dir_.file("model.bin");
	write_file(model, "weights");
	int ready[2];
	ASSERT_EQ(::pipe(ready), 0);
	pid_t child = ::fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		::close(ready[0]);
		vaccel_session s{};
		vaccel_resource r{};
		// The parent's session is not usable here.
		if (vaccel_noop(&mine) != VACCEL_EIO)
			::_exit(3);
		if (vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE) !=
			VACCEL_OK ||
		    vaccel_resource_init(&r, model.c_str(),
					 VACCEL_RESOURCE_MODEL) != VACCEL_OK ||
		    vaccel_resource_register(&r, &s) != VACCEL_OK)
			::_exit(1);
		char c = 'x';
		if (::write(ready[1], &c, 1) != 1)
			::_exit(1);
		spin(&s, 1500); // killed during this
		::_exit(2);
	}
	::close(ready[1]);
	char c = 0;
	ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child failed early";
	::close(ready[0]);
	auto stats = agent_stats(agent_->address());
	ASSERT_TRUE(stats);
	EXPECT_EQ(stats->sessions(), 2U);
	EXPECT_EQ(stats->resources(), 1U);
	EXPECT_EQ(vaccel_noop(&mine), VACCEL_OK);
	std::this_thread::sleep_for(200ms); // the spin is under way
	::kill(child, SIGKILL);
	int status = 0;
	ASSERT_EQ(::waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFSIGNALED(status));
	// This process's own connection is unaffected.
	EXPECT_EQ(vaccel_noop(&mine), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&mine), VACCEL_OK);
	// The agent releases everything the dead client owned.
	EXPECT_TRUE(wait_agent_idle(agent_->address(), 10000ms));
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
}

// Beyond VACCEL_RPC_MAX_MESSAGE even a chunked call is refused before
// anything is sent.
TEST_F(SlowAgent, OversizedRequestIsRefusedLocally)
{
	::setenv("VACCEL_RPC_MAX_MESSAGE", "4096", 1);
	ASSERT_NO_FATAL_FAILURE(restart_runtime(
	    TEST_RPC_PLUGIN, agent_->address(), "20000", "4096"));
	::unsetenv("VACCEL_RPC_MAX_MESSAGE");
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	std::vector<char> big(8192, 'b');
	vaccel_arg r{big.data(), big.size(), VACCEL_ARG_RAW, 0, false};
	EXPECT_EQ(vaccel_exec(&s, "x", "y", &r, 1, nullptr, 0), VACCEL_EINVAL);
	// Nothing reached the wire: the session still works.
	EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
}

// Raw connections that send garbage: each is closed by the agent, which
// keeps serving a well-behaved client throughout.
TEST_F(SlowAgent, MalformedFramesCloseOnlyTheirConnection)
{
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent_->address()));
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);

	auto header = [](uint32_t len, uint32_t id, uint8_t type) {
		std::string h(10, '\0');
		vaccel::transport::FrameHeader fh;
		fh.length = len;
		fh.stream_id = id;
		fh.type = static_cast<vaccel::transport::MsgType>(type);
		vaccel::transport::encode_header(
		    fh, reinterpret_cast<uint8_t *>(h.data()));
		return h;
	};
	struct Case {
		const char *name;
		std::string bytes;
		bool half_close; // then end our side mid-frame
	};
	const std::vector<Case> cases = {
	    {"unknown type", header(4, 1, 9) + "abcd", false},
	    {"oversized", header(512u << 20, 1, 1), false},
	    {"truncated", header(100, 1, 1) + "only ten b", true},
	    {"garbage envelope", header(6, 1, 1) + "\xff\xff\xff\xff\xff\xff",
	     false},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE(c.name);
		RawConn raw;
		ASSERT_TRUE(raw.connect(agent_->address()));
		ASSERT_TRUE(raw.send_raw(c.bytes));
		if (c.half_close)
			::shutdown(raw.stream().fd(), SHUT_WR);
		// The agent either answers with an error status or closes;
		// for framing errors it must close.
		if (std::string(c.name) != "garbage envelope") {
			EXPECT_TRUE(raw.closed_by_peer(3000ms));
		}
		EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	}
	// A response-type frame from a client is not ours to judge (ttrpc
	// servers ignore it or close): either way others are still served.
	{
		RawConn raw;
		ASSERT_TRUE(raw.connect(agent_->address()));
		ASSERT_TRUE(raw.send_raw(header(2, 1, 2) + "\x08\x01"));
		EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	}
	// A garbage payload inside a valid frame gets an error reply.
	{
		RawConn raw;
		ASSERT_TRUE(raw.connect(agent_->address()));
		auto resp =
		    raw.call(std::string(vaccel::transport::kServiceSync),
			     "CreateSession", "\xff\xff\xff");
		if (resp) { // a reply, or a closed connection: never a hang
			EXPECT_NE(resp->status().code(), 0);
		}
		auto unknown = RawConn();
		ASSERT_TRUE(unknown.connect(agent_->address()));
		auto r2 = unknown.call("no.such.Service", "Nope", "");
		ASSERT_TRUE(r2);
		EXPECT_EQ(r2->status().code(), 12); // UNIMPLEMENTED
	}
	EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
	EXPECT_FALSE(agent_->log().empty()); // the agent said why it closed
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
}

} // namespace
} // namespace rpc_test
