// SPDX-License-Identifier: Apache-2.0
// The attacks of issue 15 against a real vaccel-agent process over real
// sockets, each asserting the refusal or the limit, the audit line an
// operator sees, and (where an attack could crowd others out) that a
// well-behaved client is served while it goes on.
#include "agent_process.h"

#include "transport/content_hash.h"

#include "http_server.h"

#include <grp.h>
#include <sys/socket.h>

#include <atomic>

namespace
{

using namespace security_test;
using agent_test::add_arg;
using agent_test::add_op;
using agent_test::add_string;

std::string exec_plugins()
{
	return std::string(TEST_EXEC_PLUGIN) + ":" + TEST_NOOP_PLUGIN;
}

rpc::genop::Request exec_request(int64_t sess, const char *lib, const char *sym)
{
	rpc::genop::Request g;
	g.set_session_id(sess);
	add_op(&g, VACCEL_OP_EXEC);
	add_string(&g, lib);
	add_string(&g, sym);
	return g;
}

rpc::genop::Request exec_resource_request(int64_t sess, int64_t res,
					  const char *sym)
{
	rpc::genop::Request g;
	g.set_session_id(sess);
	add_op(&g, VACCEL_OP_EXEC_WITH_RESOURCE);
	add_arg(&g, rpc::genop::INT64, &res, sizeof(res));
	add_string(&g, sym);
	return g;
}

std::string unix_address(const TempDir &d)
{
	return "unix://" + d.file("agent.sock");
}

// ---- code execution
// --------------------------------------------------------------------

TEST(Exec, RefusedByDefaultAndUploadsNeverLoaded)
{
	TempDir d;
	const std::string marker = d.file("constructor-ran");
	AgentProcess agent(d.path(), {"-a", unix_address(d)}, exec_plugins(),
			   {"VACCEL_TEST_MARKER=" + marker});
	ASSERT_TRUE(agent.start()) << agent.err();
	Client c(agent.address());
	const int64_t sess = c.session();
	ASSERT_NE(sess, 0);

	Reply r = c.call("Genop", exec_request(sess,
					       "/lib/x86_64-linux-gnu/"
					       "libc.so.6",
					       "system"));
	EXPECT_EQ(r.code, RpcCode::PermissionDenied) << r.message;
	EXPECT_NE(r.message.find("may not run exec ops (policy rule "
				 "default.ops)"),
		  std::string::npos)
	    << r.message;

	const int64_t lib = c.upload(sess, "libmark.so", slurp(TEST_CTOR_LIB));
	ASSERT_NE(lib, 0);
	r = c.call("Genop", exec_resource_request(sess, lib, "marked"));
	EXPECT_EQ(r.code, RpcCode::PermissionDenied) << r.message;
	EXPECT_FALSE(std::filesystem::exists(marker))
	    << "the agent dlopen()ed a guest upload";

	// The agent still serves, and told the operator.
	EXPECT_EQ(c.noop(sess).code, RpcCode::Ok);
	const std::string log = agent.err();
	EXPECT_NE(log.find("\"audit\":\"refused\""), std::string::npos) << log;
	EXPECT_NE(log.find("\"rule\":\"default.ops\""), std::string::npos);
	EXPECT_NE(log.find("\"op\":\"Genop/exec\""), std::string::npos);
	EXPECT_NE(log.find("\"op\":\"Genop/exec_with_resource\""),
		  std::string::npos);
}

// A TorchScript model is a program too: a tenant without the torch class
// cannot upload one as a model, whichever op would run it later (image
// classification served by the torch plugin runs the session's model).
// Models that are data (ONNX for OpenCV, TFLite) stay allowed.
TEST(Models, TorchScriptUploadsNeedTheTorchClass)
{
	TempDir d;
	write_text(d.file("torch.toml"),
		   "[tenant.\"uid:" + std::to_string(::geteuid()) +
		       "\"]\nops = [\"image\", \"torch\"]\n");
	const std::string torchscript = slurp(TEST_TORCHSCRIPT_MODEL);
	ASSERT_EQ(torchscript.substr(0, 2), "PK");
	const auto model = rpc::resource::MODEL;

	AgentProcess agent(d.path(), {"-a", unix_address(d)}, TEST_NOOP_PLUGIN);
	ASSERT_TRUE(agent.start()) << agent.err();
	Client c(agent.address());
	const int64_t sess = c.session();
	ASSERT_NE(sess, 0);
	Reply r;
	EXPECT_EQ(c.upload(sess, "model.pt", torchscript, &r, model), 0);
	EXPECT_EQ(r.code, RpcCode::PermissionDenied) << r.message;
	EXPECT_NE(r.message.find("may not run torch ops"), std::string::npos)
	    << r.message;
	// Renaming changes nothing: the bytes decide.
	EXPECT_EQ(c.upload(sess, "labels.txt", torchscript, &r, model), 0);
	EXPECT_EQ(r.code, RpcCode::PermissionDenied) << r.message;
	EXPECT_NE(
	    c.upload(sess, "model.onnx", slurp(TEST_ONNX_MODEL), &r, model), 0)
	    << r.message;
	EXPECT_NE(
	    agent.err().find("\"op\":\"RegisterResource (TorchScript model)\""),
	    std::string::npos)
	    << agent.err();

	AgentProcess granted(d.path(),
			     {"-a", "unix://" + d.file("granted.sock"),
			      "--policy", d.file("torch.toml")},
			     TEST_NOOP_PLUGIN);
	ASSERT_TRUE(granted.start()) << granted.err();
	Client g(granted.address());
	const int64_t gs = g.session();
	ASSERT_NE(gs, 0);
	EXPECT_NE(g.upload(gs, "model.pt", torchscript, &r, model), 0)
	    << r.message;
}

TEST(Exec, AllowListByPathSymbolAndUploadHash)
{
	TempDir d;
	const std::string marker = d.file("constructor-ran");
	const std::string ctor = slurp(TEST_CTOR_LIB);
	write_text(d.file("policy.toml"),
		   "[default]\nops = [\"all\"]\nexec = [\n"
		   "  { library = \"" TEST_MYTESTLIB
		   "\", symbol = \"mytestfunc\" },\n"
		   "  { library = \"sha256:" +
		       vaccel::transport::sha256_hex(ctor) +
		       "\", symbol = \"marked\" },\n]\n");
	AgentProcess agent(
	    d.path(),
	    {"-a", unix_address(d), "--policy", d.file("policy.toml")},
	    exec_plugins(), {"VACCEL_TEST_MARKER=" + marker});
	ASSERT_TRUE(agent.start()) << agent.err();
	Client c(agent.address());
	const int64_t sess = c.session();

	// The named library and symbol run; anything else does not.
	rpc::genop::Request ok =
	    exec_request(sess, TEST_MYTESTLIB, "mytestfunc");
	const int32_t in = 21;
	add_arg(&ok, rpc::genop::INT32, &in, sizeof(in));
	agent_test::add_write(&ok, rpc::genop::INT32, sizeof(int32_t));
	Reply r = c.call("Genop", ok);
	EXPECT_EQ(r.code, RpcCode::Ok) << r.message;
	r = c.call("Genop", exec_request(sess, TEST_MYTESTLIB, "other"));
	EXPECT_EQ(r.code, RpcCode::PermissionDenied);
	EXPECT_NE(r.message.find(std::string(TEST_MYTESTLIB) +
				 ":other (policy rule default.exec)"),
		  std::string::npos)
	    << r.message;
	r = c.call("Genop",
		   exec_request(sess, "/lib/x86_64-linux-gnu/libc.so.6",
				"mytestfunc"));
	EXPECT_EQ(r.code, RpcCode::PermissionDenied);

	// An upload with another hash (one byte changed) is refused, the
	// named one runs: its constructor is the proof.
	std::string altered = ctor;
	altered.back() ^= 1;
	const int64_t bad = c.upload(sess, "libmark.so", altered);
	r = c.call("Genop", exec_resource_request(sess, bad, "marked"));
	EXPECT_EQ(r.code, RpcCode::PermissionDenied) << r.message;
	EXPECT_FALSE(std::filesystem::exists(marker));
	const int64_t good = c.upload(sess, "libmark.so", ctor);
	r = c.call("Genop", exec_resource_request(sess, good, "other"));
	EXPECT_EQ(r.code, RpcCode::PermissionDenied) << r.message;
	EXPECT_FALSE(std::filesystem::exists(marker));
	r = c.call("Genop", exec_resource_request(sess, good, "marked"));
	EXPECT_EQ(r.code, RpcCode::Ok) << r.message;
	EXPECT_TRUE(std::filesystem::exists(marker));
}

TEST(Exec, AnySymbolMeansTheLibrarysOwnNotItsDependencies)
{
	TempDir d;
	write_text(d.file("policy.toml"),
		   "[default]\nops = [\"noop\", \"exec\"]\nexec = [{ library "
		   "= \"" TEST_MYTESTLIB "\", symbol = \"*\" }]\n");
	AgentProcess agent(
	    d.path(),
	    {"-a", unix_address(d), "--policy", d.file("policy.toml")},
	    exec_plugins());
	ASSERT_TRUE(agent.start()) << agent.err();
	Client c(agent.address());
	const int64_t sess = c.session();
	// dlsym() would find these in libc, which mytestlib depends on.
	for (const char *sym : {"getpid", "exit", "system"}) {
		Reply r =
		    c.call("Genop", exec_request(sess, TEST_MYTESTLIB, sym));
		EXPECT_NE(r.code, RpcCode::Ok) << sym;
		EXPECT_FALSE(r.closed) << sym << ": the agent died";
	}
	EXPECT_TRUE(agent.alive());
	EXPECT_NE(agent.err().find("not defined by the library itself"),
		  std::string::npos)
	    << agent.err();
	EXPECT_EQ(c.noop(sess).code, RpcCode::Ok);
}

// ---- the socket and who may connect
// -----------------------------------------------------

TEST(Identity, SocketIsPrivateWhateverTheUmask)
{
	TempDir d;
	AgentProcess agent(d.path(), {"-a", unix_address(d)}, TEST_NOOP_PLUGIN,
			   {}, [] { ::umask(0); });
	ASSERT_TRUE(agent.start()) << agent.err();
	struct stat st {
	};
	ASSERT_EQ(::stat(d.file("agent.sock").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600U);
	agent.stop();

	AgentProcess grp(d.path(),
			 {"-a", unix_address(d), "--socket-mode", "0660",
			  "--socket-group", "65534"},
			 TEST_NOOP_PLUGIN, {}, [] { ::umask(0077); });
	ASSERT_TRUE(grp.start()) << grp.err();
	ASSERT_EQ(::stat(d.file("agent.sock").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0660U);
	EXPECT_EQ(st.st_gid, 65534U);
}

TEST(Identity, AbstractAndRemotePlaintextListenersNeedConsent)
{
	TempDir d;
	const std::string name =
	    "unix://@vaccel-security-" + std::to_string(::getpid());
	AgentProcess abstract(d.path(), {"-a", name});
	EXPECT_FALSE(abstract.start());
	EXPECT_NE(abstract.err().find("--allow-abstract"), std::string::npos)
	    << abstract.err();
	AgentProcess allowed(d.path(), {"-a", name, "--allow-abstract"});
	EXPECT_TRUE(allowed.start()) << allowed.err();
	allowed.stop();

	// Refused before anything is bound: nothing listens anywhere.
	AgentProcess tcp(d.path(), {"-a", "tcp://0.0.0.0:0"});
	EXPECT_FALSE(tcp.start());
	EXPECT_NE(tcp.err().find("--insecure-tcp"), std::string::npos)
	    << tcp.err();
	AgentProcess loopback(d.path(), {"-a", "tcp://127.0.0.1:0"});
	EXPECT_TRUE(loopback.start()) << loopback.err();
}

// Runs @p fn in a child with uid/gid 65534 (nobody/nogroup); its exit code.
int as_nobody(const std::function<int()> &fn)
{
	pid_t pid = ::fork();
	if (pid == 0) {
		if (::setgroups(0, nullptr) != 0 ||
		    ::setresgid(65534, 65534, 65534) != 0 ||
		    ::setresuid(65534, 65534, 65534) != 0)
			::_exit(100);
		::_exit(fn());
	}
	int status = 0;
	::waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

class SecondUid : public ::testing::Test
{
protected:
	void SetUp() override
	{
		if (::geteuid() != 0)
			GTEST_SKIP() << "needs root to act as a second uid";
		// nobody must reach the socket: the directory is traversable,
		// the socket's group is nogroup.
		::chmod(dir_.path().c_str(), 0711);
	}
	TempDir dir_;
};

// What a child sees: 0 served, 1 hung up on, 2 refused otherwise.
int try_session(const tr::Address &a)
{
	Client c(a);
	if (!c.connected())
		return 3;
	Reply r;
	c.session(&r);
	if (r.closed)
		return 1;
	return r.code == RpcCode::Ok ? 0 : 2;
}

TEST_F(SecondUid, PeerCredentialsDecideWhoIsServed)
{
	write_text(dir_.file("policy.toml"), "[identity]\nallow_uids = [0]\n");
	AgentProcess agent(dir_.path(),
			   {"-a", unix_address(dir_), "--socket-mode", "0660",
			    "--socket-group", "65534", "--policy",
			    dir_.file("policy.toml")});
	ASSERT_TRUE(agent.start()) << agent.err();
	const tr::Address a = agent.address();
	EXPECT_EQ(as_nobody([&] { return try_session(a); }), 1);
	EXPECT_NE(agent.err().find("uid 65534 gid 65534"), std::string::npos)
	    << agent.err();
	EXPECT_EQ(try_session(a), 0); // root is on the list
	agent.stop();

	// Without an [identity] table, the socket's group may connect.
	AgentProcess open(dir_.path(),
			  {"-a", unix_address(dir_), "--socket-mode", "0660",
			   "--socket-group", "65534"},
			  TEST_NOOP_PLUGIN, {"VACCEL_LOG_LEVEL=3"});
	ASSERT_TRUE(open.start()) << open.err();
	const tr::Address b = open.address();
	EXPECT_EQ(as_nobody([&] { return try_session(b); }), 0);
	EXPECT_NE(open.err().find("(tenant uid:65534)"), std::string::npos);
}

// ---- quotas and ids
// --------------------------------------------------------------------

TEST_F(SecondUid, QuotasAreNamedAndPerTenant)
{
	write_text(dir_.file("policy.toml"),
		   "[default.quotas]\nsessions = 3\nconnections = 2\n"
		   "resources = 1\ndisk_bytes = 1000\n");
	AgentProcess agent(dir_.path(),
			   {"-a", unix_address(dir_), "--socket-mode", "0660",
			    "--socket-group", "65534", "--policy",
			    dir_.file("policy.toml")});
	ASSERT_TRUE(agent.start()) << agent.err();
	Client c(agent.address());
	int64_t sess = 0;
	for (int i = 0; i < 3; ++i)
		ASSERT_NE(sess = c.session(), 0);
	Reply r;
	EXPECT_EQ(c.session(&r), 0);
	EXPECT_EQ(r.code, RpcCode::ResourceExhausted);
	EXPECT_NE(r.message.find("quota sessions (3)"), std::string::npos)
	    << r.message;

	EXPECT_EQ(c.upload(sess, "big", std::string(1001, 'x'), &r), 0);
	EXPECT_NE(r.message.find("disk_bytes (1000)"), std::string::npos)
	    << r.message;
	EXPECT_NE(c.upload(sess, "small", std::string(10, 'x'), &r), 0)
	    << r.message;
	EXPECT_EQ(c.upload(sess, "second", "y", &r), 0);
	EXPECT_NE(r.message.find("resources (1)"), std::string::npos);

	// A second connection of the tenant is allowed, a third is not.
	Client c2(agent.address());
	EXPECT_EQ(c2.noop(-1).code, RpcCode::NotFound);
	Client c3(agent.address());
	EXPECT_TRUE(c3.noop(-1).closed);
	// Another tenant is untouched by all of it.
	const tr::Address a = agent.address();
	EXPECT_EQ(as_nobody([&] { return try_session(a); }), 0);
	// Nothing was lost: the first connection still works, and
	// destroying a session frees its quota.
	EXPECT_EQ(c.noop(sess).code, RpcCode::Ok);
	rpc::session::DestroyRequest del;
	del.set_session_id(sess);
	EXPECT_EQ(c.call("DestroySession", del).code, RpcCode::Ok);
	EXPECT_NE(c.session(), 0);
	EXPECT_NE(agent.err().find("\"rule\":\"quotas.sessions\""),
		  std::string::npos);
}

TEST(Ids, AnotherConnectionsIdAnswersLikeNoId)
{
	TempDir d;
	AgentProcess agent(d.path(), {"-a", unix_address(d)});
	ASSERT_TRUE(agent.start()) << agent.err();
	Client victim(agent.address()), attacker(agent.address());
	const int64_t theirs = victim.session();
	const int64_t res =
	    victim.upload(theirs, "m", "bytes", nullptr, rpc::resource::MODEL);
	ASSERT_NE(res, 0);
	const int64_t mine = attacker.session();
	EXPECT_GT(std::abs(theirs - mine), 1000) << "ids look sequential";

	auto text = [](Reply r, int64_t id) {
		const std::string n = std::to_string(id);
		auto at = r.message.find(n);
		if (at != std::string::npos)
			r.message.replace(at, n.size(), "ID");
		return std::to_string(static_cast<int>(r.code)) + " " +
		       r.message;
	};
	const int64_t none = theirs ^ 0x5a5a5a5a;
	EXPECT_EQ(text(attacker.noop(theirs), theirs),
		  text(attacker.noop(none), none));
	rpc::resource::SyncRequest sync;
	sync.set_resource_id(res);
	Reply a = attacker.call("SyncResource", sync);
	sync.set_resource_id(res ^ 0x77);
	Reply b = attacker.call("SyncResource", sync);
	EXPECT_EQ(a.code, RpcCode::NotFound);
	EXPECT_EQ(text(a, res), text(b, res ^ 0x77));
	// The victim's objects are intact.
	EXPECT_EQ(victim.noop(theirs).code, RpcCode::Ok);
}

// ---- URL resources
// ---------------------------------------------------------------------

Reply register_url(Client &c, int64_t sess, const std::string &url)
{
	rpc::resource::RegisterRequest req;
	req.set_session_id(sess);
	req.set_resource_type(rpc::resource::MODEL);
	req.add_paths(url);
	return c.call("RegisterResource", req);
}

TEST(Urls, OffByDefaultAndInternalAddressesRefused)
{
	vaccel_test::HttpServer http(vaccel_test::HttpServer::Mode::Ok,
				     "model bytes");
	const std::string port = std::to_string(http.port());
	TempDir d;
	AgentProcess off(d.path(), {"-a", unix_address(d)});
	ASSERT_TRUE(off.start()) << off.err();
	Client c(off.address());
	Reply r =
	    register_url(c, c.session(), "http://127.0.0.1:" + port + "/m");
	EXPECT_EQ(r.code, RpcCode::PermissionDenied);
	EXPECT_NE(r.message.find("url.enabled"), std::string::npos)
	    << r.message;
	off.stop();

	// On, for host "localhost" only: the name is allowed, but it resolves
	// to loopback, which the address check refuses at connect time.
	write_text(d.file("policy.toml"),
		   "[default.url]\nenabled = true\nschemes = [\"http\"]\n"
		   "hosts = [\"localhost\"]\n");
	AgentProcess on(d.path(), {"-a", unix_address(d), "--policy",
				   d.file("policy.toml")});
	ASSERT_TRUE(on.start()) << on.err();
	Client c2(on.address());
	const int64_t sess = c2.session();
	r = register_url(c2, sess, "http://localhost:" + port + "/m");
	EXPECT_EQ(r.code, RpcCode::PermissionDenied);
	EXPECT_NE(r.message.find("allow_private"), std::string::npos)
	    << r.message;
	EXPECT_EQ(http.requests(), 0) << "the agent reached loopback";
	r = register_url(c2, sess, "http://127.0.0.1:" + port + "/m");
	EXPECT_NE(r.message.find("url.hosts"), std::string::npos) << r.message;
	EXPECT_EQ(c2.noop(sess).code, RpcCode::Ok);
}

TEST(Urls, WhenAllowedSizeTimeAndErrorsAreBounded)
{
	vaccel_test::HttpServer ok(vaccel_test::HttpServer::Mode::Ok,
				   std::string(5000, 'm'));
	vaccel_test::HttpServer hang(vaccel_test::HttpServer::Mode::Hang);
	TempDir d;
	write_text(
	    d.file("policy.toml"),
	    "[default.url]\nenabled = true\nschemes = [\"http\"]\n"
	    "allow_private = true\nmax_bytes = 10000\ntimeout_ms = 500\n");
	AgentProcess agent(d.path(), {"-a", unix_address(d), "--policy",
				      d.file("policy.toml")});
	ASSERT_TRUE(agent.start()) << agent.err();
	Client c(agent.address());
	const int64_t sess = c.session();
	const std::string base = "http://127.0.0.1:";
	Reply r =
	    register_url(c, sess, base + std::to_string(ok.port()) + "/m");
	EXPECT_EQ(r.code, RpcCode::Ok) << r.message;

	const auto start = std::chrono::steady_clock::now();
	r = register_url(c, sess, base + std::to_string(hang.port()) + "/m");
	const auto took = std::chrono::steady_clock::now() - start;
	EXPECT_NE(r.message.find("timed out"), std::string::npos) << r.message;
	EXPECT_LT(took, 10s);

	// A port nobody listens on: the client learns nothing of why.
	const int closed = [] {
		int fd = ::socket(AF_INET, SOCK_STREAM, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a));
		socklen_t len = sizeof(a);
		::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
		::close(fd);
		return ntohs(a.sin_port);
	}();
	r = register_url(c, sess, base + std::to_string(closed) + "/m");
	EXPECT_NE(r.code, RpcCode::Ok);
	EXPECT_EQ(r.message.find("refused"), std::string::npos) << r.message;
	EXPECT_EQ(r.message.find("127.0.0.1"), std::string::npos) << r.message;

	TempDir d2;
	write_text(d2.file("policy.toml"),
		   "[default.url]\nenabled = true\nschemes = [\"http\"]\n"
		   "allow_private = true\nmax_bytes = 1000\n");
	AgentProcess small(d2.path(), {"-a", unix_address(d2), "--policy",
				       d2.file("policy.toml")});
	ASSERT_TRUE(small.start()) << small.err();
	Client c2(small.address());
	r = register_url(c2, c2.session(),
			 base + std::to_string(ok.port()) + "/m");
	EXPECT_EQ(r.code, RpcCode::ResourceExhausted) << r.message;
	EXPECT_NE(r.message.find("max_bytes"), std::string::npos);
}

// ---- configuration
// ---------------------------------------------------------------------

TEST(Config, CheckConfigPrintsTheEffectivePolicyOrTheMistake)
{
	TempDir d;
	write_text(d.file("good.toml"), "[tenant.alice]\nops = [\"torch\"]\n");
	write_text(d.file("bad.toml"), "[default]\nexec = \"everything\"\n");
	auto run = [&](const std::string &file, std::string *out) {
		const std::string cmd =
		    std::string(TEST_AGENT_BIN) + " --policy " + file +
		    " --check-config > " + d.file("o") + " 2>&1";
		const int rc = std::system(cmd.c_str());
		*out = slurp(d.file("o"));
		return WEXITSTATUS(rc);
	};
	std::string out;
	EXPECT_EQ(run(d.file("good.toml"), &out), 0) << out;
	EXPECT_NE(out.find("[tenant.\"alice\"]\nops = [\"torch\"]"),
		  std::string::npos)
	    << out;
	EXPECT_NE(out.find("[default]\nops = [\"noop\", \"image\""),
		  std::string::npos)
	    << out;
	EXPECT_EQ(run(d.file("bad.toml"), &out), 2) << out;
	EXPECT_NE(out.find("default.exec"), std::string::npos) << out;
}

// ---- a crowd of sessions does not stall the others
// ---------------------------------------------------

TEST(FairProgress, AQuotaFloodDoesNotStallAnotherConnection)
{
	TempDir d;
	write_text(d.file("policy.toml"), "[default.quotas]\nsessions = 50\n");
	AgentProcess agent(d.path(), {"-a", unix_address(d), "--workers", "2",
				      "--policy", d.file("policy.toml")});
	ASSERT_TRUE(agent.start()) << agent.err();
	Client good(agent.address());
	const int64_t sess = good.session();
	std::atomic<bool> stop{false}, attacker_done{false};
	std::atomic<int> refused{0};
	std::thread attacker([&] {
		Client bad(agent.address());
		const auto until = std::chrono::steady_clock::now() + 60s;
		for (int i = 0; i < 200000 && !stop &&
				std::chrono::steady_clock::now() < until;
		     ++i) {
			Reply r;
			if (bad.session(&r) == 0 &&
			    r.code == RpcCode::ResourceExhausted)
				++refused;
		}
		attacker_done = true;
	});
	// The attack is under way: its quota is spent and it keeps asking.
	for (int i = 0; i < 1000 && refused == 0; ++i)
		std::this_thread::sleep_for(10ms);
	if (refused == 0) {
		stop = true;
		attacker.join();
		FAIL() << "the attacker was never refused a session";
	}
	std::vector<double> us;
	for (int i = 0; i < 200; ++i) {
		const auto t0 = std::chrono::steady_clock::now();
		EXPECT_EQ(good.noop(sess).code, RpcCode::Ok);
		us.push_back(std::chrono::duration<double, std::micro>(
				 std::chrono::steady_clock::now() - t0)
				 .count());
	}
	const bool attack_still_running = !attacker_done;
	stop = true;
	attacker.join();
	EXPECT_TRUE(attack_still_running);
	std::sort(us.begin(), us.end());
	std::printf("well-behaved noop during the flood: p50 %.1f us, p99 "
		    "%.1f us (%d sessions refused to the attacker)\n",
		    us[us.size() / 2], us[us.size() * 99 / 100],
		    refused.load());
}

} // namespace

namespace
{

using namespace security_test;

TEST(FairProgress, SlowDownloadsDoNotOccupyTheWorkers)
{
	vaccel_test::HttpServer hang(vaccel_test::HttpServer::Mode::Hang);
	TempDir d;
	write_text(d.file("policy.toml"),
		   "[default.url]\nenabled = true\nschemes = [\"http\"]\n"
		   "allow_private = true\ntimeout_ms = 3000\n"
		   "max_concurrent = 4\n");
	AgentProcess agent(d.path(),
			   {"-a", "unix://" + d.file("agent.sock"), "--workers",
			    "2", "--policy", d.file("policy.toml")});
	ASSERT_TRUE(agent.start()) << agent.err();
	// Three downloads that never get an answer: more than the workers.
	std::vector<std::thread> downloads;
	std::atomic<int> finished{0};
	for (int i = 0; i < 3; ++i)
		downloads.emplace_back([&] {
			Client c(agent.address());
			rpc::resource::RegisterRequest req;
			req.set_session_id(c.session());
			req.set_resource_type(rpc::resource::MODEL);
			req.add_paths(hang.url("/m"));
			c.call("RegisterResource", req);
			++finished;
		});
	for (int i = 0; i < 500 && hang.requests() < 3; ++i)
		std::this_thread::sleep_for(10ms);
	EXPECT_EQ(hang.requests(), 3);
	Client good(agent.address());
	const auto t0 = std::chrono::steady_clock::now();
	const int64_t sess = good.session();
	for (int i = 0; i < 50; ++i)
		EXPECT_EQ(good.noop(sess).code, RpcCode::Ok);
	const double ms = std::chrono::duration<double, std::milli>(
			      std::chrono::steady_clock::now() - t0)
			      .count();
	EXPECT_EQ(finished.load(), 0) << "the downloads ended first";
	std::printf("50 noops while 3 downloads hang on 2 workers: %.1f ms\n",
		    ms);
	for (auto &t : downloads)
		t.join();
}

} // namespace
