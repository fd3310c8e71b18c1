// SPDX-License-Identifier: Apache-2.0
// Draining (agent/drain.h) on a real vaccel-agent process over its unix
// socket: SIGTERM, or Launcher/Drain on the admin socket, then what each
// kind of client gets (raw ttrpc connections: one that sent our Hello, as
// the rpc plugin does, and one that did not, as upstream's client), the
// probes and the metrics while it drains, and when the agent exits. Waits
// are bounded; a wait that runs out is a failure, never a timing.
#include "agent_process.h"
#include "child_pids.h"
#include "drain.h"
#include "http_get.h"
#include "prom_check.h"

#include "rpc/ext.pb.h"

#include <sys/stat.h>

namespace
{

using namespace security_test;
using agent_test::add_arg;
using agent_test::add_op;
using agent_test::add_string;
using agent_test::http_get;

constexpr auto kExitWait = 30s;

// The grace_ms of a refusal's Draining detail; -1 when it has none.
int64_t draining_detail(const Reply &r)
{
	if (r.status.details_size() == 0)
		return -1;
	const auto &any = r.status.details(0);
	rpc::ext::Draining d;
	if (any.type_url() != tr::kDrainingTypeUrl ||
	    !d.ParseFromString(any.value()))
		return -1;
	return d.grace_ms();
}

// Our Hello on @p c: from then on it is an extension client.
Reply hello(Client &c)
{
	rpc::ext::Hello h;
	h.set_version(1);
	return c.raw(tr::kServiceAdmin, "Hello", h.SerializeAsString());
}

// A genop the mbench plugin spins on for @p ms (an exec of "mbench").
rpc::genop::Request spin(int64_t sess, int ms)
{
	rpc::genop::Request g;
	g.set_session_id(sess);
	add_op(&g, VACCEL_OP_EXEC);
	add_string(&g, "mbench");
	add_string(&g, "mbench");
	const std::string t = std::to_string(ms);
	add_arg(&g, rpc::genop::RAW, t.data(), t.size());
	add_arg(&g, rpc::genop::RAW, "x", 1);
	return g;
}

Reply destroy(Client &c, int64_t sess)
{
	rpc::session::DestroyRequest d;
	d.set_session_id(sess);
	return c.call("DestroySession", d);
}

// Polls @p fn (at most 10 s) until it holds.
template <class Fn> bool eventually(Fn fn)
{
	for (int i = 0; i < 1000; ++i) {
		if (fn())
			return true;
		std::this_thread::sleep_for(10ms);
	}
	return false;
}

// The rules alone (agent/drain.h), in-process.
TEST(DrainRules, WhatEachRequestGetsWhileDraining)
{
	vaccel::agent::Drain d(std::chrono::seconds(20));
	const auto sync = tr::kServiceSync;
	EXPECT_FALSE(d.active());
	EXPECT_EQ(d.left_ms(), 20000U);
	EXPECT_TRUE(d.admit(sync, "CreateSession", true).is_ok());
	ASSERT_TRUE(d.begin());
	EXPECT_FALSE(d.begin()); // the grace is not extended
	EXPECT_TRUE(d.active());
	EXPECT_GT(d.left_ms(), 0U);
	EXPECT_LE(d.left_ms(), 20000U);

	// Our clients: anything that adds work, with the detail.
	for (const auto &[service, method] :
	     {std::pair{sync, "Genop"}, std::pair{sync, "CreateSession"},
	      std::pair{tr::kServiceAsync, "TorchModelRun"},
	      std::pair{tr::kServiceData, "GenopShm"},
	      std::pair{tr::kServiceAdmin, "Hello"}}) {
		const auto st = d.admit(service, method, true);
		EXPECT_EQ(st.code(), RpcCode::Unavailable) << method;
		EXPECT_EQ(st.detail_type(), tr::kDrainingTypeUrl) << method;
		rpc::ext::Draining detail;
		ASSERT_TRUE(detail.ParseFromString(st.detail_value()));
		EXPECT_GT(detail.grace_ms(), 0U);
	}
	// ... but not what only gives back.
	EXPECT_TRUE(d.admit(sync, "DestroySession", true).is_ok());
	EXPECT_TRUE(d.admit(sync, "UnregisterResource", true).is_ok());
	EXPECT_TRUE(d.admit(tr::kServiceData, "UnmapRegion", true).is_ok());

	// Upstream clients: no new session (no detail), the rest served.
	const auto refused = d.admit(sync, "CreateSession", false);
	EXPECT_EQ(refused.code(), RpcCode::Unavailable);
	EXPECT_TRUE(refused.detail_type().empty());
	EXPECT_EQ(d.admit(tr::kServiceAsync, "CreateSession", false).code(),
		  RpcCode::Unavailable);
	EXPECT_TRUE(d.admit(sync, "Genop", false).is_ok());
	EXPECT_TRUE(d.admit(sync, "RegisterResource", false).is_ok());
}

class Drain : public ::testing::Test
{
protected:
	// mbench first (exec spins), noop for the rest; every connection is
	// tenant "t"; info logs, which say how the drain ended.
	void start(const std::string &grace, std::vector<std::string> more = {})
	{
		const std::string socket = "unix://" + dir_.file("a.sock");
		std::vector<std::string> args = {
		    "-a",        socket,          "--tenant",
		    "t",         "--policy",      TEST_POLICY_PERMISSIVE,
		    "--metrics", "127.0.0.1:0",   "--workers",
		    "2",         "--drain-grace", grace};
		args.insert(args.end(), more.begin(), more.end());
		agent_ = std::make_unique<AgentProcess>(
		    dir_.path(), args,
		    std::string(TEST_MBENCH_PLUGIN) + ":" + TEST_NOOP_PLUGIN,
		    std::vector<std::string>{"VACCEL_LOG_LEVEL=3"});
		ASSERT_TRUE(agent_->start()) << agent_->err();
		port_ = agent_test::metrics_port(slurp(dir_.file("agent.out")));
		ASSERT_NE(port_, 0U);
		// Once its plugins are loaded.
		ASSERT_TRUE(readyz_is(200));
	}

	void signal(int sig) { ASSERT_EQ(::kill(agent_->pid(), sig), 0); }

	bool readyz_is(int status)
	{
		return eventually([&] {
			return http_get(port_, "/readyz").status == status;
		});
	}

	agent_test::Exposition scrape()
	{
		const auto h = http_get(port_, "/metrics");
		EXPECT_EQ(h.status, 200);
		auto ex = agent_test::parse_exposition(h.body);
		for (const auto &e : ex.errors)
			ADD_FAILURE() << e;
		return ex;
	}

	// The agent ended by itself, cleanly.
	void expect_clean_exit()
	{
		ASSERT_TRUE(agent_->wait_exit(kExitWait)) << "still running";
		EXPECT_TRUE(WIFEXITED(agent_->exit_status()) &&
			    WEXITSTATUS(agent_->exit_status()) == 0)
		    << agent_->exit_status() << "\n"
		    << agent_->err();
	}

	TempDir dir_;
	std::unique_ptr<AgentProcess> agent_;
	uint32_t port_ = 0;
};

TEST_F(Drain, ExtensionClientsAreToldToMoveUpstreamClientsKeepTheirSessions)
{
	start("20");
	Client ext(agent_->address());
	ASSERT_EQ(hello(ext).code, RpcCode::Ok);
	const int64_t es = ext.session();
	ASSERT_NE(es, 0);
	Client up(agent_->address());
	const int64_t us = up.session();
	ASSERT_NE(us, 0);

	signal(SIGTERM);
	ASSERT_TRUE(readyz_is(503));
	EXPECT_EQ(http_get(port_, "/healthz").status, 200);

	// Our client: any call that adds work is refused, not run, and says
	// how long the agent may still take.
	const Reply op = ext.noop(es);
	EXPECT_EQ(op.code, RpcCode::Unavailable) << op.message;
	EXPECT_GT(draining_detail(op), 0);
	EXPECT_LE(draining_detail(op), 20000);
	Reply created;
	EXPECT_EQ(ext.session(&created), 0);
	EXPECT_EQ(created.code, RpcCode::Unavailable);
	EXPECT_GE(draining_detail(created), 0);
	// So is a new one's Hello.
	Client late(agent_->address());
	const Reply late_hello = hello(late);
	EXPECT_EQ(late_hello.code, RpcCode::Unavailable);
	EXPECT_GE(draining_detail(late_hello), 0);

	// Upstream's client: no new session, a plain ttrpc error; its own
	// session is served.
	Reply refused;
	EXPECT_EQ(up.session(&refused), 0);
	EXPECT_EQ(refused.code, RpcCode::Unavailable);
	EXPECT_EQ(refused.status.details_size(), 0);
	EXPECT_EQ(up.noop(us).code, RpcCode::Ok);

	auto ex = scrape();
	EXPECT_EQ(ex["vaccel_agent_draining"], 1);
	EXPECT_EQ(ex["vaccel_agent_ready"], 0);
	const std::string t = "tenant=\"t\",";
	EXPECT_EQ(ex["vaccel_agent_calls_total{" + t +
		     "method=\"Genop\",code=\"UNAVAILABLE\"}"],
		  1);
	EXPECT_EQ(ex["vaccel_agent_calls_total{" + t +
		     "method=\"CreateSession\",code=\"UNAVAILABLE\"}"],
		  2);
	EXPECT_EQ(ex["vaccel_agent_calls_total{" + t +
		     "method=\"Hello\",code=\"UNAVAILABLE\"}"],
		  1);
	EXPECT_EQ(ex["vaccel_agent_calls_total{" + t +
		     "method=\"Genop\",code=\"OK\"}"],
		  1);

	// Our client's session holds the agent; releasing it is allowed,
	// and then nothing does (upstream clients' sessions do not: they
	// cannot move, and get the grace period only while the agent waits
	// for ours).
	EXPECT_TRUE(agent_->alive());
	EXPECT_EQ(destroy(ext, es).code, RpcCode::Ok);
	expect_clean_exit();
	EXPECT_NE(agent_->err().find("drained: clients moved"),
		  std::string::npos)
	    << agent_->err();
	EXPECT_NE(agent_->err().find("\"drain\""), std::string::npos);
}

TEST_F(Drain, InFlightCallsFinish)
{
	start("20");
	auto ext = std::make_unique<Client>(agent_->address());
	ASSERT_EQ(hello(*ext).code, RpcCode::Ok);
	const int64_t sess = ext->session();
	ASSERT_NE(sess, 0);
	Reply slow;
	std::thread caller(
	    [&] { slow = ext->call("Genop", spin(sess, 1500)); });
	const bool running = eventually(
	    [&] { return scrape()["vaccel_agent_calls_in_flight"] == 1; });
	if (running)
		signal(SIGTERM);
	caller.join();
	ASSERT_TRUE(running);
	EXPECT_EQ(slow.code, RpcCode::Ok) << slow.message;
	EXPECT_EQ(http_get(port_, "/readyz").status, 503);
	// Done, but the session is still ours: the agent waits for us to
	// leave, and closing the connection releases it.
	EXPECT_TRUE(agent_->alive());
	ext.reset();
	expect_clean_exit();
	EXPECT_NE(agent_->err().find("drained: clients moved"),
		  std::string::npos);
}

TEST_F(Drain, TheGracePeriodEndsTheWait)
{
	start("1");
	Client ext(agent_->address());
	ASSERT_EQ(hello(ext).code, RpcCode::Ok);
	ASSERT_NE(ext.session(), 0);
	const auto t0 = std::chrono::steady_clock::now();
	signal(SIGTERM);
	// The session is never given back: only the grace period ends it.
	expect_clean_exit();
	const auto took = std::chrono::steady_clock::now() - t0;
	std::printf(
	    "[ report ] --drain-grace 1: exited %lld ms after "
	    "SIGTERM\n",
	    static_cast<long long>(
		std::chrono::duration_cast<std::chrono::milliseconds>(took)
		    .count()));
	EXPECT_NE(agent_->err().find("grace period over"), std::string::npos)
	    << agent_->err();
	EXPECT_TRUE(ext.noop(1).closed);
}

TEST_F(Drain, ASecondSigtermStopsAtOnce)
{
	start("3600");
	Client ext(agent_->address());
	ASSERT_EQ(hello(ext).code, RpcCode::Ok);
	ASSERT_NE(ext.session(), 0);
	signal(SIGTERM);
	ASSERT_TRUE(readyz_is(503));
	signal(SIGTERM);
	// Within the bounded wait, long before the hour of grace.
	expect_clean_exit();
	EXPECT_EQ(agent_->err().find("drained: clients moved"),
		  std::string::npos);
}

TEST_F(Drain, SigintStopsWithoutDraining)
{
	start("3600");
	Client ext(agent_->address());
	ASSERT_EQ(hello(ext).code, RpcCode::Ok);
	ASSERT_NE(ext.session(), 0);
	signal(SIGINT);
	expect_clean_exit();
	EXPECT_EQ(agent_->err().find("draining"), std::string::npos);
}

TEST_F(Drain, WithoutAGracePeriodSigtermStopsAtOnce)
{
	start("0");
	Client ext(agent_->address());
	ASSERT_EQ(hello(ext).code, RpcCode::Ok);
	ASSERT_NE(ext.session(), 0);
	signal(SIGTERM);
	expect_clean_exit();
	EXPECT_EQ(agent_->err().find("draining"), std::string::npos);
}

// Launcher/Drain from a peer that is neither root nor the agent's user,
// with the socket's mode opened to it: the connection is closed unanswered
// (0), answered (1), or could not be made (2). Run in a child process that
// drops to uid/gid 65534.
int drain_as_nobody(const tr::Address &admin)
{
	const pid_t pid = ::fork();
	if (pid == 0) {
		if (::setgid(65534) != 0 || ::setuid(65534) != 0)
			::_exit(3);
		Client c(admin);
		if (!c.connected())
			::_exit(2);
		const Reply r = c.raw(tr::kServiceLauncher, "Drain",
				      rpc::Empty().SerializeAsString(), 5000ms);
		::_exit(r.closed ? 0 : 1);
	}
	int status = 0;
	::waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(Drain, OnlyTheOperatorDrainsThroughTheAdminSocket)
{
	const std::string admin_path = dir_.file("admin.sock");
	start("20", {"--admin-socket", "unix://" + admin_path});
	tr::Address admin;
	admin.kind = tr::Address::Kind::Unix;
	admin.path = admin_path;

	// The data socket serves no Launcher calls, whoever asks.
	Client data(agent_->address());
	EXPECT_EQ(data.raw(tr::kServiceLauncher, "Drain",
			   rpc::Empty().SerializeAsString())
		      .code,
		  RpcCode::Unimplemented);

	// Another user, let through the file permissions on purpose: the
	// agent checks the peer's credentials itself.
	ASSERT_EQ(::chmod(dir_.path().c_str(), 0711), 0);
	ASSERT_EQ(::chmod(admin_path.c_str(), 0666), 0);
	EXPECT_EQ(drain_as_nobody(admin), 0);
	EXPECT_EQ(http_get(port_, "/readyz").status, 200);
	EXPECT_NE(agent_->err().find("admin-refused"), std::string::npos);

	// A client of ours holds the agent while the rest is checked.
	Client ext(agent_->address());
	ASSERT_EQ(hello(ext).code, RpcCode::Ok);
	const int64_t sess = ext.session();
	ASSERT_NE(sess, 0);

	// The operator (this test runs as root): draining begins, and tells
	// the grace left.
	Client op(admin);
	ASSERT_TRUE(op.connected());
	const Reply r = op.raw(tr::kServiceLauncher, "Drain",
			       rpc::Empty().SerializeAsString());
	ASSERT_EQ(r.code, RpcCode::Ok) << r.message;
	rpc::ext::Draining d;
	ASSERT_TRUE(d.ParseFromString(r.payload));
	EXPECT_GT(d.grace_ms(), 0U);
	EXPECT_LE(d.grace_ms(), 20000U);
	EXPECT_EQ(http_get(port_, "/readyz").status, 503) << agent_->err();
	// No new sandboxes either.
	rpc::ext::AttachRequest a;
	a.set_address("unix://" + dir_.file("sandbox.sock"));
	a.set_tenant("late");
	EXPECT_EQ(
	    op.raw(tr::kServiceLauncher, "Attach", a.SerializeAsString()).code,
	    RpcCode::Unavailable);
	EXPECT_EQ(destroy(ext, sess).code, RpcCode::Ok);
	expect_clean_exit();
	EXPECT_NE(agent_->err().find("drained on request"), std::string::npos)
	    << agent_->err();
}

TEST_F(Drain, IsolatedTenantsDrainInTheirWorkers)
{
	start("20", {"--isolate-tenants"});
	Client ext(agent_->address());
	ASSERT_EQ(hello(ext).code, RpcCode::Ok);
	const int64_t sess = ext.session();
	ASSERT_NE(sess, 0);
	ASSERT_EQ(ext.noop(sess).code, RpcCode::Ok);
	ASSERT_EQ(agent_test::child_pids(agent_->pid()).size(), 1U);

	signal(SIGTERM);
	ASSERT_TRUE(readyz_is(503));
	// Refused in the tenant's worker, which drains too once the agent
	// told it (a call made before that still runs).
	Reply op;
	EXPECT_TRUE(eventually([&] {
		op = ext.noop(sess);
		return op.code != RpcCode::Ok;
	}));
	EXPECT_EQ(op.code, RpcCode::Unavailable) << op.message;
	EXPECT_GT(draining_detail(op), 0);
	// A new connection is answered by the agent itself: no new worker.
	Client up(agent_->address());
	Reply refused;
	EXPECT_EQ(up.session(&refused), 0);
	EXPECT_EQ(refused.code, RpcCode::Unavailable);
	EXPECT_EQ(agent_test::child_pids(agent_->pid()).size(), 1U);

	EXPECT_TRUE(agent_->alive());
	EXPECT_EQ(destroy(ext, sess).code, RpcCode::Ok);
	expect_clean_exit();
	EXPECT_NE(agent_->err().find("drained: clients moved"),
		  std::string::npos)
	    << agent_->err();
}

} // namespace
