// SPDX-License-Identifier: Apache-2.0
// The policy in-process: the file's parsing (strict), inheritance from
// [default], what a Service refuses under it, quotas and their charges, and
// the URL checks. The same rules against a real agent process are in
// test_attacks.cpp.
#include "agent_test.h"
#include "policy.h"
#include "tenant.h"
#include "url_fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace
{

using namespace vaccel::agent;
using agent_test::add_arg;
using agent_test::add_op;
using agent_test::add_string;
using agent_test::call;
namespace rpc = vaccel::rpc;

Policy parse_ok(const std::string &text)
{
	auto p = parse_policy(text, "test.toml");
	EXPECT_TRUE(p) << p.status().message();
	return p ? std::move(p.value()) : Policy{};
}

std::string parse_error(const std::string &text)
{
	auto p = parse_policy(text, "test.toml");
	EXPECT_FALSE(p) << "accepted: " << text;
	return p ? std::string() : p.status().message();
}

TEST(PolicyFile, DefaultsAreSafe)
{
	const Policy p;
	EXPECT_FALSE(p.defaults.allows(OpClass::Exec));
	// Models that are programs (TorchScript, TF graphs) need consent.
	EXPECT_FALSE(p.defaults.allows(OpClass::Torch));
	EXPECT_FALSE(p.defaults.allows(OpClass::Tf));
	EXPECT_TRUE(p.defaults.allows(OpClass::Image));
	EXPECT_TRUE(p.defaults.allows(OpClass::Blas));
	EXPECT_TRUE(p.defaults.exec.empty());
	EXPECT_FALSE(p.defaults.url.enabled);
	EXPECT_FALSE(p.defaults.url.allow_private);
	EXPECT_GT(p.defaults.quotas.sessions, 0U);
	EXPECT_LT(p.defaults.quotas.sessions, 100000U);
	EXPECT_LE(p.max_connections, 4096U);
	// An empty file is the same as none.
	const Policy e = parse_ok("");
	EXPECT_EQ(e.defaults.ops, p.defaults.ops);
}

TEST(PolicyFile, TenantsInheritTheDefaultsAndOverrideKeys)
{
	const Policy p = parse_ok(R"(
[agent]
max_connections = 10
[default]
ops = ["torch", "image"]
[default.quotas]
sessions = 7
[tenant.alice]
exec = [{ library = "/usr/lib/libfoo.so", symbol = "run" }]
ops = ["torch", "exec"]
[tenant.alice.quotas]
connections = 3
[identity]
allow_uids = [1000, 1001]
uid_tenants = { "1000" = "alice" }
)");
	EXPECT_EQ(p.max_connections, 10U);
	const TenantPolicy &alice = p.tenant("alice");
	EXPECT_EQ(alice.quotas.sessions, 7U);    // from [default]
	EXPECT_EQ(alice.quotas.connections, 3U); // its own
	EXPECT_TRUE(alice.allows(OpClass::Exec));
	EXPECT_FALSE(alice.allows(OpClass::Image));
	EXPECT_NE(alice.exec_rule("/usr/lib/libfoo.so", "run"), nullptr);
	EXPECT_EQ(alice.exec_rule("/usr/lib/libfoo.so", "system"), nullptr);
	EXPECT_EQ(alice.exec_rule("/usr/lib/libfoo.so.1", "run"), nullptr);
	const TenantPolicy &bob = p.tenant("bob"); // no table: the defaults
	EXPECT_FALSE(bob.allows(OpClass::Exec));
	EXPECT_TRUE(bob.allows(OpClass::Image));
	EXPECT_EQ(p.identity.uid_tenants.at(1000), "alice");
	EXPECT_EQ(p.identity.allow_uids, (std::vector<uint32_t>{1000, 1001}));
}

TEST(PolicyFile, MistakesAreErrorsNamingTheKey)
{
	EXPECT_NE(parse_error("[default]\nopz = []\n").find("default.opz"),
		  std::string::npos);
	EXPECT_NE(parse_error("[default]\nops = [\"gpu\"]\n").find("gpu"),
		  std::string::npos);
	EXPECT_NE(parse_error("[default.quotas]\nsessions = -1\n")
		      .find("default.quotas.sessions"),
		  std::string::npos);
	EXPECT_NE(parse_error("[default]\nexec = [{ library = \"libc.so.6\", "
			      "symbol = \"system\" }]\n")
		      .find("absolute path"),
		  std::string::npos);
	EXPECT_NE(parse_error("[default]\nexec = [{ library = \"sha256:abc\", "
			      "symbol = \"f\" }]\n")
		      .find("exec"),
		  std::string::npos);
	EXPECT_NE(
	    parse_error("[default.url]\nschemes = [\"ftp\"]\n").find("schemes"),
	    std::string::npos);
	EXPECT_NE(parse_error("[identity]\nuid_tenants = { \"x\" = \"a\" }\n")
		      .find("uid_tenants"),
		  std::string::npos);
	EXPECT_NE(parse_error("[agnet]\n").find("agnet"), std::string::npos);
	// A table key given a value of another type is a mistake, never a
	// silent default (tenant bob's URL downloads stayed on).
	for (const char *text :
	     {"identity = 3\n", "agent = \"x\"\n", "default = []\n",
	      "[default]\nquotas = 5\n", "[tenant.bob]\nurl = false\n",
	      "[identity]\nuid_tenants = 7\n"})
		EXPECT_NE(parse_error(text).find("must be a table"),
			  std::string::npos)
		    << text;
	// A uid beyond 32 bits must not wrap to root's.
	EXPECT_NE(parse_error("[identity]\nuid_tenants = { \"4294967296\" = "
			      "\"alice\" }\n")
		      .find("uid_tenants"),
		  std::string::npos);
	uint32_t id = 0;
	EXPECT_TRUE(parse_id("4294967295", &id));
	EXPECT_FALSE(parse_id("4294967296", &id));
	EXPECT_FALSE(parse_id("99999999999999999999999", &id));
	EXPECT_FALSE(parse_id("-1", &id));
	EXPECT_NE(parse_error("[default\n").find("test.toml"),
		  std::string::npos);
}

// The accelerator cap is off unless a table sets it; the agent needs to
// know which (it is enforced per worker process, tests/security/
// test_isolation.cpp).
TEST(PolicyFile, AcceleratorCapIsPerTenantAndOffByDefault)
{
	EXPECT_EQ(Policy().defaults.quotas.accelerator_bytes, 0U);
	EXPECT_EQ(Policy().accelerator_capped(), "");
	const Policy p =
	    parse_ok("[tenant.gpu.quotas]\naccelerator_bytes = 1073741824\n");
	EXPECT_EQ(p.tenant("gpu").quotas.accelerator_bytes, uint64_t{1} << 30);
	EXPECT_EQ(p.tenant("other").quotas.accelerator_bytes, 0U);
	EXPECT_EQ(p.accelerator_capped(), "tenant.gpu");
	EXPECT_EQ(parse_ok("[default.quotas]\naccelerator_bytes = 5\n")
		      .accelerator_capped(),
		  "default");
	EXPECT_NE(parse_error("[default.quotas]\naccelerator_bytes = -1\n")
		      .find("default.quotas.accelerator_bytes"),
		  std::string::npos);
}

// The model cache: on by default with a per-tenant share; public models
// are named by digest only, and a malformed digest is refused (it would
// never match, silently).
TEST(PolicyFile, ModelCacheKeys)
{
	const Policy d;
	EXPECT_GT(d.model_cache_bytes, 0U);
	EXPECT_GT(d.defaults.quotas.model_cache_bytes, 0U);
	EXPECT_LE(d.defaults.quotas.model_cache_bytes, d.model_cache_bytes);
	EXPECT_TRUE(d.public_models.empty());
	const std::string digest(64, 'A');
	const Policy p = parse_ok("[agent]\nmodel_cache_bytes = 1000\n"
				  "public_models = [\"" +
				  digest +
				  "\"]\n[tenant.t.quotas]\n"
				  "model_cache_bytes = 10\n");
	EXPECT_EQ(p.model_cache_bytes, 1000U);
	EXPECT_EQ(p.public_models, std::set<std::string>{std::string(64, 'a')});
	EXPECT_EQ(p.tenant("t").quotas.model_cache_bytes, 10U);
	for (const char *bad :
	     {"abc", "g000000000000000000000000000000000000000"
		     "000000000000000000000000"})
		EXPECT_NE(parse_error("[agent]\npublic_models = [\"" +
				      std::string(bad) + "\"]\n")
			      .find("agent.public_models"),
			  std::string::npos)
		    << bad;
	EXPECT_NE(parse_error("[agent]\nmodel_cache_bytes = -1\n")
		      .find("agent.model_cache_bytes"),
		  std::string::npos);
}

TEST(PolicyFile, DescribeIsAPolicyThatParsesToTheSame)
{
	const Policy p = parse_ok(R"(
[default]
ops = ["noop", "exec"]
exec = [{ library = "sha256:)" + std::string(64, 'a') +
				  R"(", symbol = "*" }]
[default.url]
enabled = true
hosts = ["Models.Example.com"]
[tenant."a b"]
ops = ["torch"]
[identity]
uid_tenants = { "5" = "a b" }
[agent]
public_models = [")" + std::string(64, 'b') +
				  R"("]
)");
	const auto body = [](const std::string &t) {
		return t.substr(t.find('\n')); // after the "# from ..." line
	};
	const std::string text = describe(p);
	auto again = parse_policy(body(text), "again");
	ASSERT_TRUE(again) << again.status().message() << "\n" << text;
	EXPECT_EQ(body(describe(again.value())), body(text));
	EXPECT_EQ(again->defaults.url.hosts,
		  std::vector<std::string>{"models.example.com"});
	EXPECT_TRUE(again->tenant("a b").allows(OpClass::Torch));
	EXPECT_FALSE(again->tenant("a b").allows(OpClass::Noop));
}

TEST(Quotas, ChargesAreGivenBackAndNeverPassTheCap)
{
	TenantPolicy tp;
	tp.quotas.sessions = 2;
	Tenant t("t", tp, "default");
	Charge a, b, c;
	EXPECT_TRUE(Charge::take(t, Limit::Sessions, 1, "x", 1, &a).is_ok());
	EXPECT_TRUE(Charge::take(t, Limit::Sessions, 1, "x", 1, &b).is_ok());
	RpcStatus st = Charge::take(t, Limit::Sessions, 1, "x", 1, &c);
	EXPECT_EQ(st.code(), RpcCode::ResourceExhausted);
	EXPECT_NE(st.message().find("sessions (2)"), std::string::npos)
	    << st.message();
	a.reset();
	EXPECT_EQ(t.used(Limit::Sessions), 1U);
	EXPECT_TRUE(Charge::take(t, Limit::Sessions, 1, "x", 1, &c).is_ok());
	{
		Charge moved = std::move(c);
	}
	EXPECT_EQ(t.used(Limit::Sessions), 1U);
	EXPECT_FALSE(t.try_take(Limit::Sessions, UINT64_MAX));
}

TEST(Quotas, ManyThreadsNeverOvershoot)
{
	TenantPolicy tp;
	tp.quotas.concurrent_calls = 10;
	Tenant t("t", tp, "default");
	std::atomic<int> max_seen{0}, held{0};
	std::vector<std::thread> threads;
	for (int i = 0; i < 8; ++i)
		threads.emplace_back([&] {
			for (int n = 0; n < 2000; ++n) {
				if (!t.try_take(Limit::Calls, 3))
					continue;
				const int h = held += 3;
				int m = max_seen.load();
				while (h > m &&
				       !max_seen.compare_exchange_weak(m, h)) {
				}
				held -= 3;
				t.give_back(Limit::Calls, 3);
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_LE(max_seen.load(), 9);
	EXPECT_EQ(t.used(Limit::Calls), 0U);
}

sockaddr_storage v4(const char *ip)
{
	sockaddr_storage ss{};
	auto *in = reinterpret_cast<sockaddr_in *>(&ss);
	in->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &in->sin_addr);
	return ss;
}

sockaddr_storage v6(const char *ip)
{
	sockaddr_storage ss{};
	auto *in = reinterpret_cast<sockaddr_in6 *>(&ss);
	in->sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &in->sin6_addr);
	return ss;
}

TEST(UrlPolicy, InternalAddressesAreRefused)
{
	for (const char *ip :
	     {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255",
	      "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
	      "224.0.0.1", "255.255.255.255"}) {
		auto a = v4(ip);
		EXPECT_FALSE(
		    address_allowed(reinterpret_cast<sockaddr *>(&a), false))
		    << ip;
		EXPECT_TRUE(
		    address_allowed(reinterpret_cast<sockaddr *>(&a), true))
		    << ip;
	}
	for (const char *ip :
	     {"::1", "::", "fe80::1", "fd00::1", "fc00::5", "::ffff:127.0.0.1",
	      "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "ff02::1"}) {
		auto a = v6(ip);
		EXPECT_FALSE(
		    address_allowed(reinterpret_cast<sockaddr *>(&a), false))
		    << ip;
	}
	// Documentation ranges stand in for public addresses: nothing is
	// ever sent to them, this only classifies them.
	for (const char *ip : {"198.51.100.7", "203.0.113.9", "172.32.0.1"}) {
		auto a = v4(ip);
		EXPECT_TRUE(
		    address_allowed(reinterpret_cast<sockaddr *>(&a), false))
		    << ip;
	}
	auto a = v6("2001:db8::1");
	EXPECT_TRUE(address_allowed(reinterpret_cast<sockaddr *>(&a), false));
}

TEST(UrlPolicy, SchemesAndHostsAreChecked)
{
	UrlPolicy u;
	EXPECT_EQ(
	    check_url(u, "https://models.example.com/m.pt", "default").code(),
	    RpcCode::PermissionDenied); // off by default
	u.enabled = true;
	u.hosts = {"models.example.com"};
	EXPECT_TRUE(
	    check_url(u, "https://MODELS.example.com/m.pt", "default").is_ok());
	RpcStatus st = check_url(u, "http://models.example.com/m", "default");
	EXPECT_EQ(st.code(), RpcCode::PermissionDenied);
	EXPECT_NE(st.message().find("default.url.schemes"), std::string::npos);
	st = check_url(u, "https://evil.example.com/m", "tenant.x");
	EXPECT_NE(st.message().find("tenant.x.url.hosts"), std::string::npos);
	EXPECT_EQ(check_url(u, "https://models.example.com@evil.example.com/",
			    "default")
		      .code(),
		  RpcCode::PermissionDenied);
	EXPECT_EQ(check_url(u, "not a url", "default").code(),
		  RpcCode::InvalidArgument);
}

// ---- a Service under the default policy
// -----------------------------------------------------

class DefaultPolicy : public ::testing::Test
{
protected:
	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(agent_test::restart_runtime());
		svc_.open_connection(1);
	}
	void TearDown() override
	{
		svc_.clear();
		EXPECT_EQ(vaccel_session_count(), 0U);
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	}
	int64_t session()
	{
		rpc::session::CreateResponse r;
		EXPECT_EQ(call(svc_, 1, "CreateSession",
			       rpc::session::CreateRequest(), &r),
			  agent_test::RpcCode::Ok);
		return r.session_id();
	}
	rpc::ttrpc::Response genop(const rpc::genop::Request &g)
	{
		return svc_.handle(
		    1, agent_test::envelope("Genop", g.SerializeAsString()));
	}
	Service svc_;
};

TEST_F(DefaultPolicy, ExecIsRefusedNamingTheRule)
{
	rpc::genop::Request g;
	g.set_session_id(session());
	add_op(&g, VACCEL_OP_EXEC);
	add_string(&g, "/lib/x86_64-linux-gnu/libc.so.6");
	add_string(&g, "system");
	auto resp = genop(g);
	EXPECT_EQ(resp.status().code(),
		  static_cast<int>(RpcCode::PermissionDenied));
	// Exec is not among the default op classes at all.
	EXPECT_NE(resp.status().message().find("policy rule default.ops"),
		  std::string::npos)
	    << resp.status().message();
	// Other ops are served.
	rpc::genop::Request noop;
	noop.set_session_id(g.session_id());
	add_op(&noop, VACCEL_OP_NOOP);
	EXPECT_EQ(genop(noop).status().code(), 0);
}

// VACCEL_OP_EXEC names a host path: a "sha256:" name (an upload's rule)
// never matches, or dlopen() would search its library path for that name.
TEST(ExecRules, HostExecNeverMatchesAnUploadsHashRule)
{
	ASSERT_NO_FATAL_FAILURE(agent_test::restart_runtime());
	const std::string lib = "sha256:" + std::string(64, 'b');
	Policy p;
	p.defaults.ops.set();
	p.defaults.exec = {{lib, "*"}};
	{
		Service svc(Limits{}, p);
		svc.open_connection(1);
		rpc::session::CreateResponse r;
		ASSERT_EQ(call(svc, 1, "CreateSession",
			       rpc::session::CreateRequest(), &r),
			  agent_test::RpcCode::Ok);
		rpc::genop::Request g;
		g.set_session_id(r.session_id());
		add_op(&g, VACCEL_OP_EXEC);
		add_string(&g, lib.c_str());
		add_string(&g, "f");
		auto resp = svc.handle(
		    1, agent_test::envelope("Genop", g.SerializeAsString()));
		EXPECT_EQ(resp.status().code(),
			  static_cast<int>(RpcCode::PermissionDenied));
		EXPECT_NE(resp.status().message().find("default.exec"),
			  std::string::npos)
		    << resp.status().message();
		svc.clear();
	}
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

TEST_F(DefaultPolicy, RandomIdsNeverSequential)
{
	std::vector<int64_t> ids;
	for (int i = 0; i < 20; ++i)
		ids.push_back(session());
	int sequential = 0;
	for (size_t i = 1; i < ids.size(); ++i) {
		EXPECT_GT(ids[i], 0);
		EXPECT_LT(ids[i], int64_t{1} << 53);
		sequential += ids[i] == ids[i - 1] + 1 ? 1 : 0;
	}
	EXPECT_LT(sequential, 2);
}

TEST(OpClasses, PolicyRestrictsAClassPerTenant)
{
	ASSERT_NO_FATAL_FAILURE(agent_test::restart_runtime());
	Policy p;
	p.defaults.ops.reset();
	p.defaults.ops.set(static_cast<size_t>(OpClass::Torch));
	{
		Service svc(Limits{}, p);
		svc.open_connection(1);
		rpc::session::CreateResponse r;
		ASSERT_EQ(call(svc, 1, "CreateSession",
			       rpc::session::CreateRequest(), &r),
			  agent_test::RpcCode::Ok);
		rpc::image::Request img;
		img.set_session_id(r.session_id());
		img.set_image("x");
		auto resp = svc.handle(
		    1, agent_test::envelope("ImageClassification",
					    img.SerializeAsString()));
		EXPECT_EQ(resp.status().code(),
			  static_cast<int>(RpcCode::PermissionDenied));
		EXPECT_NE(resp.status().message().find("image"),
			  std::string::npos);
		rpc::genop::Request g;
		g.set_session_id(r.session_id());
		add_op(&g, VACCEL_OP_NOOP);
		resp = svc.handle(
		    1, agent_test::envelope("Genop", g.SerializeAsString()));
		EXPECT_EQ(resp.status().code(),
			  static_cast<int>(RpcCode::PermissionDenied));
		svc.clear();
	}
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

} // namespace
