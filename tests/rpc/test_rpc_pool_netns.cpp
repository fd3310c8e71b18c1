// SPDX-License-Identifier: Apache-2.0
// A pool of three agents across "hosts": each agent in a network namespace
// of its own, the client in a fourth, joined by veth pairs whose addresses
// (10.77.K.1 and 10.77.K.2) exist only inside those namespaces, and mutual
// TLS on every connection. Four threads call continuously, two a pure op
// (mbench sgemm, result checked) and two an op that may act beyond its
// outputs (mbench "sleep" exec); one agent is killed with SIGKILL. Every
// call must return the right result, or, for an exec in flight on the
// killed agent, VACCEL_EIO saying so, counted exactly; the sessions and
// their resources end up on the survivors. The latency percentiles during
// the failover are printed, not asserted. Then a rolling restart: each
// agent in turn drains (SIGTERM) and starts again while the threads call,
// and no call may fail at all. Where namespaces cannot be made
// (not root, no ip command) the same test runs over loopback with distinct
// ports, and says so (VACCEL_TEST_NO_NETNS=1 makes it do that here).
#include "pool_test.h"
#include "tls_test.h"

#include <vaccel/ext.h>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

namespace rpc_test
{
namespace
{

constexpr size_t kAgents = 3;

// The namespaces and veth pairs of one test, removed with it.
class Netns
{
public:
	Netns() : tag_("vp" + std::to_string(::getpid())) {}
	~Netns() { remove(); }
	Netns(const Netns &) = delete;
	Netns &operator=(const Netns &) = delete;

	// Makes the client namespace and one per agent, each agent's joined
	// to the client's by a veth pair; false (having removed what was
	// made) when any step fails.
	bool make()
	{
		// VACCEL_TEST_NO_NETNS=1 tries the loopback fallback here.
		const char *off = std::getenv("VACCEL_TEST_NO_NETNS");
		if ((off != nullptr && std::string(off) == "1") ||
		    ::geteuid() != 0 || !sh("ip -V"))
			return false;
		made_ = true;
		if (!ip("netns add " + client()))
			return false;
		if (!ip("-n " + client() + " link set lo up"))
			return false;
		for (size_t k = 0; k < kAgents; ++k) {
			const std::string a = agent(k);
			const std::string net = "10.77." + std::to_string(k);
			const std::string c_end =
			    tag_ + "c" + std::to_string(k);
			const std::string a_end =
			    tag_ + "a" + std::to_string(k);
			// Created in the client's namespace with its peer in
			// the agent's: neither end ever exists outside them.
			if (!ip("netns add " + a) ||
			    !ip("-n " + a + " link set lo up") ||
			    !ip("-n " + client() + " link add " + c_end +
				" type veth peer name " + a_end + " netns " +
				a) ||
			    !ip("-n " + client() + " addr add " + net +
				".1/24 dev " + c_end) ||
			    !ip("-n " + a + " addr add " + net + ".2/24 dev " +
				a_end) ||
			    !ip("-n " + client() + " link set " + c_end +
				" up") ||
			    !ip("-n " + a + " link set " + a_end + " up"))
				return false;
		}
		return true;
	}

	// The calling thread (and the threads it starts afterwards) enters
	// the client's namespace; leave() goes back.
	bool enter()
	{
		home_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		const int fd = ::open(("/run/netns/" + client()).c_str(),
				      O_RDONLY | O_CLOEXEC);
		const bool ok =
		    home_ >= 0 && fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0;
		if (fd >= 0)
			::close(fd);
		return ok;
	}
	void leave()
	{
		if (home_ < 0)
			return;
		EXPECT_EQ(::setns(home_, CLONE_NEWNET), 0);
		::close(home_);
		home_ = -1;
	}

	void remove()
	{
		leave();
		if (!made_)
			return;
		made_ = false;
		// Deleting a namespace deletes the veth ends in it.
		(void)ip("netns del " + client());
		for (size_t k = 0; k < kAgents; ++k)
			(void)ip("netns del " + agent(k));
	}

	[[nodiscard]] std::string client() const { return tag_ + "c"; }
	[[nodiscard]] std::string agent(size_t k) const
	{
		return tag_ + "a" + std::to_string(k);
	}
	static std::string listen(size_t k)
	{
		return "tcp://10.77." + std::to_string(k) + ".2:7000";
	}

private:
	static bool ip(const std::string &args) { return sh("ip " + args); }

	const std::string tag_;
	bool made_ = false;
	int home_ = -1;
};

// One call's outcome, as a thread saw it.
struct Outcome {
	std::chrono::microseconds took;
	Clock::time_point end;
	int rc;
	bool right;          // pure: the product was right
	bool said_in_flight; // exec failed: the error says it was in flight
};

class RpcPoolNetns : public ::testing::Test
{
protected:
	void SetUp() override
	{
		ASSERT_TRUE(sh("openssl version")) << "no openssl command";
		ASSERT_TRUE(ca_.make());
		ASSERT_TRUE(ca_.issue(
		    "server", "agent",
		    "subjectAltName=IP:10.77.0.2,IP:10.77.1.2,IP:10.77.2.2,"
		    "IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"));
		ASSERT_TRUE(ca_.issue("client", "client-a", kClientExt));
		write_file(policy_, "[identity.tls_tenants]\n"
				    "\"client-a\" = \"alpha\"\n"
				    "[tenant.alpha]\nops = [\"all\"]\n"
				    "exec = [{ library = \"*\", symbol = \"*\" "
				    "}]\n");
		isolated_ = netns_.make();
		if (!isolated_) {
			netns_.remove();
			std::printf("[ pool    ] network namespaces cannot be "
				    "made here: the agents run over loopback "
				    "with distinct ports instead\n");
		}
		std::vector<std::string> listen;
		for (size_t k = 0; k < kAgents; ++k)
			listen.push_back(isolated_ ? Netns::listen(k)
						   : "tcp://127.0.0.1:0");
		agents_ = std::make_unique<Agents>(dir_.path(), "ns", kAgents,
						   listen);
		for (size_t k = 0; k < kAgents; ++k)
			ASSERT_NO_FATAL_FAILURE(start_agent((*agents_)[k], k));
		if (isolated_) {
			ASSERT_TRUE(netns_.enter());
		}
		::setenv("VACCEL_RPC_TLS_CERT", ca_.cert("client").c_str(), 1);
		::setenv("VACCEL_RPC_TLS_KEY", ca_.key("client").c_str(), 1);
		::setenv("VACCEL_RPC_TLS_CA", ca_.ca().c_str(), 1);
		auto ctx = vaccel::transport::TlsContext::client(
		    {ca_.cert("client"), ca_.key("client"), ca_.ca()});
		ASSERT_TRUE(ctx) << ctx.status().message();
		RawConn::use_tls(ctx.value());
		ASSERT_NO_FATAL_FAILURE(
		    restart_runtime(TEST_RPC_PLUGIN, agents_->list()));
		std::printf("[ pool    ] agents %s (%s, TLS)\n",
			    agents_->list().c_str(),
			    isolated_ ? "one network namespace each"
				      : "loopback");
	}

	void TearDown() override
	{
		for (auto &s : sessions_)
			if (s.id > 0) {
				EXPECT_EQ(vaccel_session_release(&s),
					  VACCEL_OK);
			}
		for (auto &r : resources_)
			if (r.id > 0) {
				EXPECT_EQ(vaccel_resource_release(&r),
					  VACCEL_OK);
			}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		RawConn::use_tls(nullptr);
		for (const char *v :
		     {"VACCEL_RPC_TLS_CERT", "VACCEL_RPC_TLS_KEY",
		      "VACCEL_RPC_TLS_CA"})
			::unsetenv(v);
		agents_.reset();
		netns_.remove();
	}

	void start_agent(Agent &a, size_t k)
	{
		if (isolated_)
			a.set_netns(netns_.agent(k));
		ASSERT_TRUE(a.start(
		    pool_plugins(),
		    {"--workers", "4", "--tls-cert", ca_.cert("server"),
		     "--tls-key", ca_.key("server"), "--tls-client-ca",
		     ca_.ca(), "--policy", policy_, "--drain-grace", "10"},
		    {"VACCEL_MBENCH_SGEMM_MS=5"}))
		    << a.log();
	}

	// Four sessions, each with a data resource; where each landed.
	std::vector<int> make_sessions()
	{
		std::vector<int> where;
		for (size_t i = 0; i < sessions_.size(); ++i) {
			const auto before = agents_->sessions();
			EXPECT_EQ(vaccel_session_init(&sessions_[i],
						      VACCEL_PLUGIN_REMOTE),
				  VACCEL_OK);
			where.push_back(agents_->grown(before));
			const std::string f =
			    dir_.file("data" + std::to_string(i));
			write_file(f, "data of session " + std::to_string(i));
			EXPECT_EQ(vaccel_resource_init(&resources_[i],
						       f.c_str(),
						       VACCEL_RESOURCE_DATA),
				  VACCEL_OK);
			EXPECT_EQ(vaccel_resource_register(&resources_[i],
							   &sessions_[i]),
				  VACCEL_OK);
		}
		return where;
	}

	TempDir dir_;
	Ca ca_{dir_.path(), "ca"};
	std::string policy_ = dir_.file("policy.toml");
	Netns netns_;
	bool isolated_ = false;
	std::unique_ptr<Agents> agents_;
	std::array<vaccel_session, 4> sessions_{};
	std::array<vaccel_resource, 4> resources_{};
};

// Thread i calls a pure op when i < 2, the exec otherwise.
bool pure(size_t i)
{
	return i < 2;
}

std::chrono::microseconds percentile(std::vector<std::chrono::microseconds> v,
				     double p)
{
	if (v.empty())
		return {};
	std::sort(v.begin(), v.end());
	return v[std::min(
	    v.size() - 1,
	    static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Four threads calling on the four sessions until stopped (bounded in
// count and time), each outcome kept.
class Callers
{
public:
	explicit Callers(std::array<vaccel_session, 4> &sessions)
	{
		for (size_t i = 0; i < 4; ++i)
			threads_.emplace_back(
			    [this, i, s = &sessions[i]] { run(i, s); });
	}
	~Callers() { stop(); }
	Callers(const Callers &) = delete;
	Callers &operator=(const Callers &) = delete;

	// Waits (bounded) until every thread made @p n more calls.
	bool made_more(size_t n)
	{
		std::array<size_t, 4> from{};
		for (size_t i = 0; i < 4; ++i)
			from[i] = calls(i);
		const auto until = Clock::now() + 10s;
		while (Clock::now() < until) {
			size_t behind = 0;
			for (size_t i = 0; i < 4; ++i)
				behind += calls(i) < from[i] + n ? 1 : 0;
			if (behind == 0)
				return true;
			std::this_thread::sleep_for(5ms);
		}
		return false;
	}
	void stop()
	{
		stop_ = true;
		for (auto &t : threads_)
			if (t.joinable())
				t.join();
	}
	// After stop().
	[[nodiscard]] const std::vector<Outcome> &seen(size_t i) const
	{
		return seen_[i];
	}

private:
	size_t calls(size_t i)
	{
		std::lock_guard lock(mu_);
		return seen_[i].size();
	}

	void run(size_t i, vaccel_session *s)
	{
		const auto until = Clock::now() + 20s; // a bound only
		for (int n = 0; n < 4000 && !stop_ && Clock::now() < until;
		     ++n) {
			Outcome o{};
			const auto t0 = Clock::now();
			if (pure(i)) {
				const SgemmCheck c = checked_sgemm(s, n);
				o.rc = c.rc;
				o.right = c.right;
			} else {
				o.rc = device_sleep(s, 5);
				o.right = o.rc == VACCEL_OK;
				const std::string why =
				    o.rc != VACCEL_OK ? vaccel_last_error()
						      : "";
				o.said_in_flight =
				    why.find("in flight") != std::string::npos;
			}
			o.end = Clock::now();
			o.took = std::chrono::duration_cast<
			    std::chrono::microseconds>(o.end - t0);
			std::lock_guard lock(mu_);
			seen_[i].push_back(o);
		}
	}

	std::mutex mu_; // guards seen_ while the threads run
	std::array<std::vector<Outcome>, 4> seen_;
	std::atomic<bool> stop_{false};
	std::vector<std::thread> threads_;
};

TEST_F(RpcPoolNetns, KillingAnAgentLosesNoCall)
{
	const std::vector<int> where = make_sessions();
	ASSERT_EQ(where.size(), 4U);
	for (int w : where)
		ASSERT_GE(w, 0);
	// The victim hosts thread 2, an exec: an exec may be in flight there.
	const auto victim = static_cast<size_t>(where[2]);

	Callers callers(sessions_);
	EXPECT_TRUE(callers.made_more(20));
	EXPECT_TRUE(wait_load((*agents_)[victim].address(), 1, 5000ms));
	const auto killed = Clock::now();
	(*agents_)[victim].stop(SIGKILL);
	std::this_thread::sleep_for(1s);
	callers.stop();
	// Every outcome, counted.
	size_t ok = 0, lost_in_flight = 0, other = 0;
	std::vector<std::chrono::microseconds> during, all;
	for (size_t i = 0; i < 4; ++i) {
		size_t failed_here = 0, after_kill = 0;
		for (const Outcome &o : callers.seen(i)) {
			all.push_back(o.took);
			if (o.end >= killed && o.end - o.took <= killed + 1s)
				during.push_back(o.took);
			after_kill += o.end > killed ? 1 : 0;
			if (o.rc == VACCEL_OK && o.right) {
				++ok;
			} else if (!pure(i) && o.rc == VACCEL_EIO &&
				   o.said_in_flight) {
				++lost_in_flight;
				++failed_here;
			} else {
				++other;
				ADD_FAILURE() << "thread " << i << ": rc "
					      << o.rc << " right " << o.right;
			}
		}
		// A thread has one call in flight at a time, and only the
		// killed agent's sessions lose one.
		EXPECT_LE(failed_here,
			  static_cast<size_t>(where[i]) == victim ? 1U : 0U)
		    << "thread " << i;
		EXPECT_GT(after_kill, 0U) << "thread " << i << " stalled";
	}
	size_t total = 0;
	for (size_t i = 0; i < 4; ++i)
		total += callers.seen(i).size();
	EXPECT_EQ(ok + lost_in_flight, total);
	EXPECT_EQ(other, 0U);

	// All four sessions and their resources live on the survivors.
	int64_t sessions = 0, resources = 0;
	for (size_t k = 0; k < kAgents; ++k) {
		if (k == victim)
			continue;
		sessions += sessions_on((*agents_)[k].address());
		resources += resources_on((*agents_)[k].address());
	}
	EXPECT_EQ(sessions, 4);
	EXPECT_EQ(resources, 4);

	std::printf("[ pool    ] %zu calls: %zu right, %zu exec lost in "
		    "flight (VACCEL_EIO), %zu other; latency p50 %lld us, "
		    "p99 %lld us; in the second after the kill: %zu calls, "
		    "p99 %lld us, max %lld us\n",
		    total, ok, lost_in_flight, other,
		    static_cast<long long>(percentile(all, 0.50).count()),
		    static_cast<long long>(percentile(all, 0.99).count()),
		    during.size(),
		    static_cast<long long>(percentile(during, 0.99).count()),
		    static_cast<long long>(percentile(during, 1.0).count()));
}

// Each agent in turn drains (SIGTERM: it refuses new work, its sessions
// move, it exits) and starts again on its address, while the threads call:
// no call fails, pure or not, and every session ends up on an agent.
TEST_F(RpcPoolNetns, RollingRestartFailsNoCall)
{
	const std::vector<int> where = make_sessions();
	for (int w : where)
		ASSERT_GE(w, 0);
	Callers callers(sessions_);
	EXPECT_TRUE(callers.made_more(10));
	for (size_t k = 0; k < kAgents; ++k) {
		// Its sessions move and leave it, so it exits well before its
		// grace period (10 s) ends.
		const int status = (*agents_)[k].stop_within(SIGTERM, 5s);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		    << "agent " << k << " status " << status;
		ASSERT_NO_FATAL_FAILURE(
		    start_agent(agents_->renew(k, dir_.path(), "ns"), k));
		EXPECT_TRUE(callers.made_more(10)) << "after agent " << k;
	}
	callers.stop();

	size_t total = 0, failed = 0;
	std::vector<std::chrono::microseconds> all;
	for (size_t i = 0; i < 4; ++i)
		for (const Outcome &o : callers.seen(i)) {
			++total;
			all.push_back(o.took);
			if (o.rc != VACCEL_OK || !o.right) {
				++failed;
				ADD_FAILURE() << "thread " << i << ": rc "
					      << o.rc << " right " << o.right;
			}
		}
	EXPECT_EQ(failed, 0U);
	int64_t sessions = 0;
	for (size_t k = 0; k < kAgents; ++k)
		sessions += sessions_on((*agents_)[k].address());
	EXPECT_EQ(sessions, 4);
	std::printf("[ pool    ] rolling restart of %zu agents: %zu calls, %zu "
		    "failed; latency p50 %lld us, p99 %lld us, max %lld us\n",
		    kAgents, total, failed,
		    static_cast<long long>(percentile(all, 0.50).count()),
		    static_cast<long long>(percentile(all, 0.99).count()),
		    static_cast<long long>(percentile(all, 1.0).count()));
}

} // namespace
} // namespace rpc_test
