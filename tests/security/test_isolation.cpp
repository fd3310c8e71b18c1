// SPDX-License-Identifier: Apache-2.0
// Tenant isolation (--isolate-tenants) on a real agent: two sandboxes
// attached as tenants "good" and "evil"; evil's exec runs a hostile
// library (fixtures/hostile.c) that crashes, hangs or starts a program in
// the backend. Good's calls must succeed before, during and after; evil
// gets an error, and a fresh worker when it comes back.
#include "agent_process.h"
#include "child_pids.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>

namespace
{

using namespace security_test;
using agent_test::add_op;
using agent_test::add_string;
using agent_test::child_pids;

rpc::genop::Request hostile(int64_t sess, const char *sym)
{
	rpc::genop::Request g;
	g.set_session_id(sess);
	add_op(&g, VACCEL_OP_EXEC);
	add_string(&g, TEST_HOSTILE_LIB);
	add_string(&g, sym);
	return g;
}

class Isolation : public ::testing::Test
{
protected:
	void SetUp() override
	{
		agent_ = std::make_unique<AgentProcess>(
		    dir_.path(),
		    std::vector<std::string>{
			"-a", "unix://" + dir_.file("main.sock"),
			"--isolate-tenants", "--workers", "2", "--admin-socket",
			"unix://" + dir_.file("admin.sock")},
		    std::string(TEST_EXEC_PLUGIN) + ":" + TEST_NOOP_PLUGIN);
		ASSERT_TRUE(agent_->start()) << agent_->err();
		admin_ = std::make_unique<Client>(
		    tr::parse_address("unix://" + dir_.file("admin.sock"))
			.value());
		ASSERT_TRUE(admin_->connected());
		good_ = attach("good", "");
		evil_ = attach(
		    "evil", "ops = [\"noop\", \"exec\"]\nexec = [{ library "
			    "= \"" TEST_HOSTILE_LIB "\", symbol = \"*\" }]\n");
	}

	// Attaches a sandbox of @p tenant; its address.
	tr::Address attach(const std::string &tenant, const std::string &policy)
	{
		rpc::ext::AttachRequest req;
		req.set_address("unix://" + dir_.file(tenant + ".sock"));
		req.set_tenant(tenant);
		req.set_policy(policy);
		const Reply r = admin_->raw(tr::kServiceLauncher, "Attach",
					    req.SerializeAsString());
		EXPECT_EQ(r.code, RpcCode::Ok) << r.message;
		rpc::ext::AttachResponse resp;
		EXPECT_TRUE(resp.ParseFromString(r.payload));
		sandbox_[tenant] = resp.sandbox();
		return tr::parse_address(req.address()).value();
	}

	// How many audit lines of @p kind mention @p text.
	size_t audited(const std::string &kind, const std::string &text)
	{
		size_t n = 0;
		std::istringstream lines(agent_->err());
		for (std::string l; std::getline(lines, l);)
			n += l.find("\"audit\":\"" + kind + "\"") !=
				 std::string::npos &&
			     l.find(text) != std::string::npos;
		return n;
	}

	TempDir dir_;
	std::unique_ptr<AgentProcess> agent_;
	std::unique_ptr<Client> admin_;
	tr::Address good_, evil_;
	std::map<std::string, uint64_t> sandbox_; // tenant -> its sandbox id
};

TEST_F(Isolation, CrashEndsOnlyTheCrashingTenantsWorker)
{
	Client good(good_);
	const int64_t gs = good.session();
	ASSERT_NE(gs, 0);
	ASSERT_EQ(good.noop(gs).code, RpcCode::Ok);

	// Good keeps calling while evil crashes its backend.
	std::atomic<bool> done{false};
	std::atomic<int> served{0}, failed{0};
	std::thread during([&] {
		Client c(good_);
		const int64_t s = c.session();
		while (!done) {
			const bool ok = s != 0 && c.noop(s).code == RpcCode::Ok;
			(ok ? served : failed)++;
		}
	});
	Client evil(evil_);
	const int64_t es = evil.session();
	ASSERT_NE(es, 0);
	Reply r = evil.call("Genop", hostile(es, "crash"));
	EXPECT_TRUE(r.closed) << r.message; // its connection is lost
	// Only the crashing tenant's worker ended (the agent reaps it).
	for (int i = 0; i < 200 && audited("worker-exited", "evil") == 0; ++i)
		std::this_thread::sleep_for(10ms);
	done = true;
	during.join();
	EXPECT_GT(served.load(), 0);
	EXPECT_EQ(failed.load(), 0);
	EXPECT_EQ(audited("worker-exited", "tenant evil"), 1U) << agent_->err();
	// (killed by signal 11; under ASan its handler exits instead)
	EXPECT_EQ(audited("worker-exited", "tenant good"), 0U);

	// Good's old connection and session still work; evil gets a fresh
	// worker on its next connection.
	EXPECT_EQ(good.noop(gs).code, RpcCode::Ok);
	Client again(evil_);
	const int64_t es2 = again.session();
	ASSERT_NE(es2, 0);
	EXPECT_EQ(again.noop(es2).code, RpcCode::Ok);
	EXPECT_TRUE(agent_->alive());
}

TEST_F(Isolation, HangStallsOnlyTheHangingTenant)
{
	Client evil(evil_);
	const int64_t es = evil.session();
	ASSERT_NE(es, 0);
	std::thread stuck([&] {
		// Never answered: the call waits until the agent stops.
		Reply r = evil.call("Genop", hostile(es, "hang"));
		EXPECT_NE(r.code, RpcCode::Ok);
	});
	std::this_thread::sleep_for(200ms); // the op is running by now
	// A second hanging call would take evil's last worker thread; good
	// has threads and a process of its own.
	Client good(good_);
	const int64_t gs = good.session();
	ASSERT_NE(gs, 0);
	const auto t0 = std::chrono::steady_clock::now();
	for (int i = 0; i < 100; ++i)
		ASSERT_EQ(good.noop(gs).code, RpcCode::Ok);
	const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
	    std::chrono::steady_clock::now() - t0);
	std::printf("100 noops of tenant good while evil hangs: %lld ms\n",
		    static_cast<long long>(ms.count()));
	// Stopping the agent ends the hung worker within its grace period.
	agent_->stop();
	stuck.join();
	EXPECT_TRUE(WIFEXITED(agent_->exit_status()));
	EXPECT_EQ(WEXITSTATUS(agent_->exit_status()), 0);
}

TEST_F(Isolation, WorkersAreFilteredAndCannotStartPrograms)
{
	Client evil(evil_);
	const int64_t es = evil.session();
	ASSERT_NE(es, 0);
	// system() in the backend: clone without CLONE_THREAD is refused.
	Reply r = evil.call("Genop", hostile(es, "spawn"));
	EXPECT_NE(r.code, RpcCode::Ok);
	EXPECT_FALSE(r.closed);
	EXPECT_EQ(evil.noop(es).code, RpcCode::Ok);

	// Nor can it open the agent's memory (the agent is not dumpable and
	// the worker holds no capability, even where the agent runs as root).
	r = evil.call("Genop", hostile(es, "peek"));
	EXPECT_EQ(r.code, RpcCode::Ok) << r.message;

	const auto kids = child_pids(agent_->pid());
	ASSERT_EQ(kids.size(), 1U); // evil's worker; good has not connected
	std::ifstream status("/proc/" + std::to_string(kids[0]) + "/status");
	std::string line, mode;
	while (std::getline(status, line))
		if (line.rfind("Seccomp:", 0) == 0)
			mode = line;
	EXPECT_NE(mode.find('2'), std::string::npos) << mode; // filter
	std::ifstream st2("/proc/" + std::to_string(kids[0]) + "/status");
	std::string eff;
	while (std::getline(st2, line))
		if (line.rfind("CapEff:", 0) == 0)
			eff = line;
	EXPECT_EQ(eff, "CapEff:\t0000000000000000");
}

TEST_F(Isolation, RestartsAreBounded)
{
	for (size_t i = 0; i < 5; ++i) {
		Client evil(evil_);
		Reply r;
		const int64_t es = evil.session(&r);
		ASSERT_NE(es, 0) << "start " << i << ": " << r.message;
		EXPECT_TRUE(evil.call("Genop", hostile(es, "crash")).closed);
		// A connection handed over while the worker dies is lost
		// with it: come back once the agent has reaped it.
		for (int k = 0;
		     k < 200 && audited("worker-exited", "evil") <= i; ++k)
			std::this_thread::sleep_for(10ms);
	}
	// The sixth start within the minute is refused, audited; good is
	// unaffected.
	Client evil(evil_);
	Reply r;
	EXPECT_EQ(evil.session(&r), 0);
	EXPECT_TRUE(r.closed);
	EXPECT_GE(audited("refused", "agent.worker_restarts"), 1U)
	    << agent_->err();
	Client good(good_);
	const int64_t gs = good.session();
	ASSERT_NE(gs, 0);
	EXPECT_EQ(good.noop(gs).code, RpcCode::Ok);
}

TEST_F(Isolation, EachTenantHasAWorkerOfItsOwn)
{
	Client good(good_);
	const int64_t gs = good.session();
	ASSERT_NE(gs, 0);
	ASSERT_EQ(child_pids(agent_->pid()).size(), 1U);
	Client main(
	    tr::parse_address("unix://" + dir_.file("main.sock")).value());
	const int64_t ms = main.session();
	ASSERT_NE(ms, 0);
	EXPECT_EQ(main.noop(ms).code, RpcCode::Ok);
	EXPECT_EQ(child_pids(agent_->pid()).size(), 2U);
}

// The environment of @p pid (NUL-separated entries), one string each.
std::vector<std::string> environment_of(pid_t pid)
{
	std::ifstream f("/proc/" + std::to_string(pid) + "/environ");
	std::vector<std::string> out;
	for (std::string e; std::getline(f, e, '\0');)
		out.push_back(e);
	return out;
}

bool has(const std::vector<std::string> &env, const std::string &entry)
{
	return std::find(env.begin(), env.end(), entry) != env.end();
}

// A tenant's accelerator cap reaches its worker process (and no other) as
// VACCEL_ACCELERATOR_BYTES, which the plugins enforce (the cuda plugin's
// test in tests/cuda, the torch plugin's on the GPU machine:
// scripts/device-test.sh).
TEST_F(Isolation, AcceleratorCapReachesOnlyItsTenantsWorker)
{
	const tr::Address capped =
	    attach("capped", "[quotas]\naccelerator_bytes = 268435456\n");
	Client c(capped);
	const int64_t cs = c.session();
	ASSERT_NE(cs, 0);
	const auto kids = child_pids(agent_->pid());
	ASSERT_EQ(kids.size(), 1U);
	EXPECT_TRUE(
	    has(environment_of(kids[0]), "VACCEL_ACCELERATOR_BYTES=268435456"));

	Client good(good_);
	ASSERT_NE(good.session(), 0);
	auto both = child_pids(agent_->pid());
	ASSERT_EQ(both.size(), 2U);
	const pid_t other = both[0] == kids[0] ? both[1] : both[0];
	for (const auto &e : environment_of(other))
		EXPECT_EQ(e.rfind("VACCEL_ACCELERATOR_BYTES=", 0),
			  std::string::npos)
		    << e;
}

// Detaching a tenant's sandbox ends its worker on purpose: audited as
// retired, not as a worker that died.
TEST_F(Isolation, DetachRetiresTheWorker)
{
	Client good(good_);
	ASSERT_NE(good.session(), 0);
	ASSERT_EQ(child_pids(agent_->pid()).size(), 1U);
	rpc::ext::DetachRequest d;
	d.set_sandbox(sandbox_.at("good"));
	EXPECT_EQ(
	    admin_->raw(tr::kServiceLauncher, "Detach", d.SerializeAsString())
		.code,
	    RpcCode::Ok);
	for (int i = 0; i < 200 && audited("worker-retired", "good") == 0; ++i)
		std::this_thread::sleep_for(10ms);
	EXPECT_EQ(audited("worker-retired", "its sandbox detached"), 1U)
	    << agent_->err();
	EXPECT_EQ(audited("worker-exited", "good"), 0U) << agent_->err();
	EXPECT_TRUE(child_pids(agent_->pid()).empty());
}

// A per-process cap cannot hold tenants that share a process: without
// --isolate-tenants the agent refuses it, at start and at attach.
TEST(AcceleratorCap, NeedsIsolatedTenants)
{
	TempDir d;
	write_text(d.file("policy.toml"),
		   "[tenant.gpu.quotas]\naccelerator_bytes = 1048576\n");
	AgentProcess refused(d.path(),
			     {"-a", "unix://" + d.file("a.sock"), "--policy",
			      d.file("policy.toml")},
			     TEST_NOOP_PLUGIN);
	EXPECT_FALSE(refused.start());
	EXPECT_NE(refused.err().find("--isolate-tenants"), std::string::npos)
	    << refused.err();

	AgentProcess agent(d.path(),
			   {"-a", "unix://" + d.file("b.sock"),
			    "--admin-socket", "unix://" + d.file("admin.sock")},
			   TEST_NOOP_PLUGIN);
	ASSERT_TRUE(agent.start()) << agent.err();
	Client admin(
	    tr::parse_address("unix://" + d.file("admin.sock")).value());
	rpc::ext::AttachRequest req;
	req.set_address("unix://" + d.file("gpu.sock"));
	req.set_tenant("gpu");
	req.set_policy("[quotas]\naccelerator_bytes = 1048576\n");
	const Reply r =
	    admin.raw(tr::kServiceLauncher, "Attach", req.SerializeAsString());
	EXPECT_EQ(r.code, RpcCode::InvalidArgument);
	EXPECT_NE(r.message.find("--isolate-tenants"), std::string::npos)
	    << r.message;
}

// Cancellation, with or without isolation: requests a client left queued
// when it hung up are skipped, not run for nobody.
TEST(Cancellation, DisconnectCancelsQueuedWork)
{
	TempDir d;
	write_text(d.file("policy.toml"),
		   "[default]\nops = [\"noop\", \"exec\"]\nexec = [{ "
		   "library = \"" TEST_HOSTILE_LIB "\", symbol = \"*\" }]\n");
	AgentProcess agent(
	    d.path(),
	    {"-a", "unix://" + d.file("agent.sock"), "--workers", "1",
	     "--policy", d.file("policy.toml"), "--trace", d.file("trace.tsv")},
	    std::string(TEST_EXEC_PLUGIN) + ":" + TEST_NOOP_PLUGIN);
	ASSERT_TRUE(agent.start()) << agent.err();
	{
		Client c(agent.address());
		const int64_t sess = c.session();
		ASSERT_NE(sess, 0);
		// The one worker runs `slow`; 20 noops queue behind it.
		const std::string slow =
		    agent_test::envelope(
			"Genop", hostile(sess, "slow").SerializeAsString(),
			tr::kServiceSync)
			.SerializeAsString();
		rpc::genop::Request g;
		g.set_session_id(sess);
		add_op(&g, VACCEL_OP_NOOP);
		const std::string noop =
		    agent_test::envelope("Genop", g.SerializeAsString(),
					 tr::kServiceSync)
			.SerializeAsString();
		for (uint32_t i = 0; i < 21; ++i) {
			const std::string &p = i == 0 ? slow : noop;
			tr::FrameHeader h;
			h.stream_id = 101 + 2 * i;
			h.type = tr::MsgType::Request;
			h.length = static_cast<uint32_t>(p.size());
			ASSERT_TRUE(tr::write_frame(
			    c.stream(), h,
			    std::span(
				reinterpret_cast<const uint8_t *>(p.data()),
				p.size()),
			    tr::deadline_in(2000ms)));
		}
		std::this_thread::sleep_for(100ms); // all read, slow running
	}                                           // hang up
	std::this_thread::sleep_for(700ms);         // slow is over
	agent.stop(); // the trace is complete once the agent stopped
	const std::string trace = slurp(d.file("trace.tsv"));
	size_t genops = 0;
	for (size_t at = 0; (at = trace.find("Genop", at)) != std::string::npos;
	     ++at)
		++genops;
	EXPECT_EQ(genops, 1U) << trace; // the slow one only
}

} // namespace
