// SPDX-License-Identifier: Apache-2.0
// The rpc plugin and a real vaccel-agent over TLS on 127.0.0.1, with a CA
// and certificates made here by the openssl CLI: round trips (small,
// chunked and concurrent), client certificates naming tenants, and the
// clients the agent must refuse without slowing anyone else down: none or
// a foreign certificate, plaintext, and one that never finishes its
// handshake. The client side is checked too: it refuses an agent whose
// certificate does not match the name or CA it expects.
#include "child_pids.h"
#include "rpc_test.h"
#include "tls_test.h"

#include "transport/tls.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>

namespace rpc_test
{
namespace
{

class RpcTls : public ::testing::Test
{
protected:
	void SetUp() override
	{
		if (!sh("openssl version"))
			GTEST_SKIP() << "no openssl command";
		ASSERT_TRUE(ca_.make());
		ASSERT_TRUE(ca_.issue("server", "localhost",
				      "subjectAltName=IP:127.0.0.1,DNS:"
				      "localhost\nextendedKeyUsage="
				      "serverAuth\n"));
		ASSERT_TRUE(ca_.issue("client-a", "client-a", kClientExt));
		ASSERT_TRUE(ca_.issue("client-b", "client-b", kClientExt));
		// The same name as client-a, from a CA the agent does not know.
		ASSERT_TRUE(rogue_.make());
		ASSERT_TRUE(rogue_.issue("rogue-a", "client-a", kClientExt));
		// client-a is tenant alpha, which may run code; client-b is
		// tenant "tls:client-b" with the defaults (no exec).
		write_file(policy_, "[identity.tls_tenants]\n"
				    "\"client-a\" = \"alpha\"\n"
				    "[tenant.alpha]\nops = [\"all\"]\n"
				    "exec = [{ library = \"*\", symbol = \"*\" "
				    "}]\n");
	}

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
		     {"VACCEL_RPC_TLS_CERT", "VACCEL_RPC_TLS_KEY",
		      "VACCEL_RPC_TLS_CA", "VACCEL_RPC_TLS_SERVER_NAME"})
			::unsetenv(v);
	}

	void start_agent(std::vector<std::string> args = {})
	{
		agent_ = std::make_unique<Agent>(dir_.path(), "tls",
						 "tcp://127.0.0.1:0");
		args.insert(args.end(),
			    {"--tls-cert", ca_.cert("server"), "--tls-key",
			     ca_.key("server"), "--tls-client-ca", ca_.ca(),
			     "--policy", policy_});
		ASSERT_TRUE(agent_->start(std::string(TEST_EXEC_PLUGIN) + ":" +
					      TEST_NOOP_PLUGIN,
					  args))
		    << agent_->log();
	}

	// The client runtime with the rpc plugin as @p who (a certificate
	// of ca_), trusting @p trust.
	void become(const std::string &who, const std::string &trust = {})
	{
		::setenv("VACCEL_RPC_TLS_CERT", ca_.cert(who).c_str(), 1);
		::setenv("VACCEL_RPC_TLS_KEY", ca_.key(who).c_str(), 1);
		::setenv("VACCEL_RPC_TLS_CA",
			 (trust.empty() ? ca_.ca() : trust).c_str(), 1);
		ASSERT_NO_FATAL_FAILURE(
		    restart_runtime(TEST_RPC_PLUGIN, agent_->address()));
	}

	// A session on the agent, released at the end of the test.
	vaccel_session *session()
	{
		sessions_.push_back(std::make_unique<vaccel_session>());
		vaccel_session *s = sessions_.back().get();
		if (vaccel_session_init(s, VACCEL_PLUGIN_REMOTE) != VACCEL_OK)
			return nullptr;
		return s;
	}

	// Whether a raw connection with @p files gets an answer to Stats.
	bool answered(const vaccel::transport::TlsFiles &files)
	{
		auto ctx = vaccel::transport::TlsContext::client(files);
		if (!ctx)
			return false;
		RawConn c;
		if (!c.connect(agent_->address()))
			return false;
		if (!vaccel::transport::tls_connect(
			c.stream(), *ctx.value(), "127.0.0.1",
			vaccel::transport::deadline_in(5000ms)))
			return false; // TLS 1.2 refuses here, 1.3 on reading
		return c.call("vaccel.ext.AgentAdmin", "Stats", "").has_value();
	}

	static int transform(vaccel_session *s, std::vector<uint8_t> &in,
			     std::vector<uint8_t> &out)
	{
		out.assign(in.size(), 0);
		vaccel_arg r{in.data(), in.size(), VACCEL_ARG_RAW, 0, false};
		vaccel_arg w{out.data(), out.size(), VACCEL_ARG_RAW, 0, false};
		return vaccel_exec(s, TEST_BULK_LIB, "bulk_transform", &r, 1,
				   &w, 1);
	}
	static bool transformed(const std::vector<uint8_t> &in,
				const std::vector<uint8_t> &out)
	{
		for (size_t i = 0; i < in.size(); ++i)
			if (out[i] != static_cast<uint8_t>(in[i] * 31u + 7u))
				return false;
		return in.size() == out.size();
	}

	TempDir dir_;
	Ca ca_{dir_.path(), "ca"};
	Ca rogue_{dir_.path(), "rogue-ca"};
	std::string policy_ = dir_.file("policy.toml");
	std::unique_ptr<Agent> agent_;
	std::vector<std::unique_ptr<vaccel_session>> sessions_;
};

TEST_F(RpcTls, RoundTrips)
{
	ASSERT_NO_FATAL_FAILURE(start_agent());
	ASSERT_NO_FATAL_FAILURE(become("client-a"));
	vaccel_session *s = session();
	ASSERT_NE(s, nullptr);
	EXPECT_EQ(vaccel_noop(s), VACCEL_OK);

	float a[6] = {1, 2, 3, 4, 5, 6};
	float b[6] = {6, 5, 4, 3, 2, 1};
	float c[4] = {7, 8, 9, 10};
	ASSERT_EQ(vaccel_sgemm(s, 2, 2, 3, 1.0F, a, 3, b, 2, 0.5F, c, 2),
		  VACCEL_OK);

	uint8_t op = VACCEL_OP_NOOP;
	vaccel_arg g{&op, 1, VACCEL_ARG_UINT8, 0, false};
	EXPECT_EQ(vaccel_genop(s, &g, 1, nullptr, 0), VACCEL_OK);

	// Small, one frame, and chunked (over the 4 MiB frame limit): TLS
	// records of every size, in both directions.
	for (size_t size : {size_t{100}, size_t{1} << 20, size_t{9} << 20}) {
		std::vector<uint8_t> in(size);
		for (size_t i = 0; i < size; ++i)
			in[i] = static_cast<uint8_t>(i * 7 + size);
		std::vector<uint8_t> out;
		ASSERT_EQ(transform(s, in, out), VACCEL_OK) << size;
		EXPECT_TRUE(transformed(in, out)) << size;
	}
}

// Threads share the plugin's one connection: one reads while others write,
// which the TLS layer must serialize without stalling either.
TEST_F(RpcTls, ConcurrentCalls)
{
	ASSERT_NO_FATAL_FAILURE(start_agent());
	ASSERT_NO_FATAL_FAILURE(become("client-a"));
	constexpr int kThreads = 4;
	std::vector<vaccel_session *> sess;
	for (int t = 0; t < kThreads; ++t) {
		sess.push_back(session());
		ASSERT_NE(sess.back(), nullptr);
	}
	std::atomic<int> failures{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			std::vector<uint8_t> in(200000 + t * 1000,
						static_cast<uint8_t>(t));
			std::vector<uint8_t> out;
			for (int i = 0; i < 40; ++i) {
				if (vaccel_noop(sess[t]) != VACCEL_OK)
					++failures;
				if (i % 8 == 0 &&
				    (transform(sess[t], in, out) != VACCEL_OK ||
				     !transformed(in, out)))
					++failures;
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(failures.load(), 0);
}

TEST_F(RpcTls, CertificatesNameTenants)
{
	ASSERT_NO_FATAL_FAILURE(start_agent());
	std::vector<uint8_t> in(64, 3);
	std::vector<uint8_t> out;

	ASSERT_NO_FATAL_FAILURE(become("client-a"));
	vaccel_session *s = session();
	ASSERT_NE(s, nullptr);
	EXPECT_EQ(transform(s, in, out), VACCEL_OK) << "tenant alpha";
	EXPECT_TRUE(transformed(in, out));
	EXPECT_EQ(vaccel_session_release(s), VACCEL_OK);
	s->id = 0;

	ASSERT_NO_FATAL_FAILURE(become("client-b"));
	s = session();
	ASSERT_NE(s, nullptr);
	EXPECT_EQ(vaccel_noop(s), VACCEL_OK);
	EXPECT_EQ(transform(s, in, out), VACCEL_EPERM);
	const std::string log = agent_->log();
	EXPECT_NE(log.find("\"tenant\":\"tls:client-b\""), std::string::npos)
	    << log;
	EXPECT_EQ(log.find("\"tenant\":\"alpha\""), std::string::npos) << log;
}

TEST_F(RpcTls, RefusesClientsWithoutAValidCertificate)
{
	ASSERT_NO_FATAL_FAILURE(start_agent());
	using vaccel::transport::TlsFiles;
	EXPECT_TRUE(answered(
	    TlsFiles{ca_.cert("client-b"), ca_.key("client-b"), ca_.ca()}));
	// No certificate; one from another CA (with a known name).
	EXPECT_FALSE(answered(TlsFiles{"", "", ca_.ca()}));
	EXPECT_FALSE(answered(
	    TlsFiles{rogue_.cert("rogue-a"), rogue_.key("rogue-a"), ca_.ca()}));
	// Plaintext ttrpc on the TLS port.
	RawConn plain;
	ASSERT_TRUE(plain.connect(agent_->address()));
	EXPECT_FALSE(
	    plain.call("vaccel.ext.AgentAdmin", "Stats", "").has_value());
	// Each refusal is audited; the agent still serves the others.
	const std::string log = agent_->log();
	EXPECT_NE(log.find("connection-refused"), std::string::npos) << log;
	EXPECT_TRUE(answered(
	    TlsFiles{ca_.cert("client-a"), ca_.key("client-a"), ca_.ca()}));
	ASSERT_NO_FATAL_FAILURE(become("client-a"));
	vaccel_session *s = session();
	ASSERT_NE(s, nullptr);
	EXPECT_EQ(vaccel_noop(s), VACCEL_OK);
}

// The plugin checks the agent: a certificate from a CA it does not trust,
// or for another name, ends the connection before any call.
TEST_F(RpcTls, ClientVerifiesTheAgent)
{
	ASSERT_NO_FATAL_FAILURE(start_agent());
	ASSERT_NO_FATAL_FAILURE(become("client-a", rogue_.ca()));
	vaccel_session s{};
	EXPECT_NE(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);

	::setenv("VACCEL_RPC_TLS_SERVER_NAME", "agent.example", 1);
	ASSERT_NO_FATAL_FAILURE(become("client-a"));
	EXPECT_NE(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);

	// "localhost" is in the agent's certificate too.
	::setenv("VACCEL_RPC_TLS_SERVER_NAME", "localhost", 1);
	ASSERT_NO_FATAL_FAILURE(become("client-a"));
	vaccel_session *ok = session();
	ASSERT_NE(ok, nullptr);
	EXPECT_EQ(vaccel_noop(ok), VACCEL_OK);
}

// Handshakes run on each connection's reader thread with a deadline:
// clients that connect and never finish theirs hold up no one, and are
// dropped when it passes.
TEST_F(RpcTls, StalledHandshakeBlocksNoOne)
{
	ASSERT_NO_FATAL_FAILURE(start_agent({"--tls-handshake-ms", "4000"}));
	std::vector<RawConn> stalled(3);
	for (auto &c : stalled)
		ASSERT_TRUE(c.connect(agent_->address()));
	// Half a record header: the agent waits for the rest.
	ASSERT_TRUE(stalled[0].send_raw(std::string("\x16\x03", 2)));

	const auto t0 = Clock::now();
	ASSERT_NO_FATAL_FAILURE(become("client-a"));
	vaccel_session *s = session();
	ASSERT_NE(s, nullptr);
	EXPECT_EQ(vaccel_noop(s), VACCEL_OK);
	EXPECT_LT(Clock::now() - t0, 3000ms);

	for (auto &c : stalled)
		EXPECT_TRUE(c.closed_by_peer(8000ms));
	EXPECT_EQ(vaccel_noop(s), VACCEL_OK);
}

// Peers that have not finished a handshake proved nothing: they do not
// take places under the agent's connection cap, so they cannot lock out a
// tenant that presents a certificate.
TEST_F(RpcTls, UnfinishedHandshakesDoNotFillTheConnectionCap)
{
	{
		std::ofstream f(policy_, std::ios::app);
		f << "\n[agent]\nmax_connections = 2\n";
	}
	ASSERT_NO_FATAL_FAILURE(start_agent({"--tls-handshake-ms", "4000"}));
	std::vector<RawConn> stalled(5);
	for (auto &c : stalled)
		ASSERT_TRUE(c.connect(agent_->address()));
	ASSERT_NO_FATAL_FAILURE(become("client-a"));
	vaccel_session *s = session();
	ASSERT_NE(s, nullptr);
	EXPECT_EQ(vaccel_noop(s), VACCEL_OK);
}

// Several requests in one TLS record: the bytes TLS has already taken off
// the socket are read before the reader polls it again (poll() does not
// see them), directly and through an isolated worker's relay.
TEST_F(RpcTls, RequestsSharingOneRecordAreAllAnswered)
{
	for (const bool isolate : {false, true}) {
		ASSERT_NO_FATAL_FAILURE(start_agent(
		    isolate ? std::vector<std::string>{"--isolate-tenants"}
			    : std::vector<std::string>{}));
		auto ctx = vaccel::transport::TlsContext::client(
		    {ca_.cert("client-a"), ca_.key("client-a"), ca_.ca()});
		ASSERT_TRUE(ctx) << ctx.status().message();
		RawConn c;
		ASSERT_TRUE(c.connect(agent_->address()));
		ASSERT_TRUE(vaccel::transport::tls_connect(
		    c.stream(), *ctx.value(), "127.0.0.1",
		    vaccel::transport::deadline_in(5000ms)));
		constexpr int kRequests = 20;
		const std::string payload =
		    RawConn::request("vaccel.ext.AgentAdmin", "Stats", "");
		std::vector<
		    std::array<uint8_t, vaccel::transport::kFrameHeaderSize>>
		    headers(kRequests);
		std::vector<std::span<const uint8_t>> parts;
		for (int i = 0; i < kRequests; ++i) {
			vaccel::transport::FrameHeader h;
			h.length = static_cast<uint32_t>(payload.size());
			h.stream_id = static_cast<uint32_t>(2 * i + 1);
			vaccel::transport::encode_header(h, headers[i].data());
			parts.emplace_back(headers[i]);
			parts.emplace_back(
			    reinterpret_cast<const uint8_t *>(payload.data()),
			    payload.size());
		}
		ASSERT_TRUE(c.stream().write_all(
		    parts, vaccel::transport::deadline_in(5000ms)));
		int answered = 0;
		while (answered < kRequests && c.read_response())
			++answered;
		EXPECT_EQ(answered, kRequests) << "isolate " << isolate;
	}
}

// With --isolate-tenants a TLS session stays in the agent process (it
// cannot move) and the agent relays its bytes to the tenant's worker:
// every round trip above still works, each tenant's calls run in a
// process of its own, and a worker that dies ends its tenant's connection
// only.
TEST_F(RpcTls, IsolatedTenantsAreRelayedToTheirWorkers)
{
	ASSERT_NO_FATAL_FAILURE(start_agent({"--isolate-tenants"}));
	ASSERT_NO_FATAL_FAILURE(become("client-a"));
	vaccel_session *s = session();
	ASSERT_NE(s, nullptr);
	EXPECT_EQ(vaccel_noop(s), VACCEL_OK);
	for (size_t size : {size_t{100}, size_t{1} << 20, size_t{9} << 20}) {
		std::vector<uint8_t> in(size);
		for (size_t i = 0; i < size; ++i)
			in[i] = static_cast<uint8_t>(i * 5 + size);
		std::vector<uint8_t> out;
		ASSERT_EQ(transform(s, in, out), VACCEL_OK) << size;
		EXPECT_TRUE(transformed(in, out)) << size;
	}
	const auto alpha = agent_test::child_pids(agent_->pid());
	ASSERT_EQ(alpha.size(), 1U) << agent_->log();
	// The worker runs tenants' code: it is never told where the TLS
	// key is (TLS ends in the agent).
	const std::string cmdline =
	    slurp("/proc/" + std::to_string(alpha[0]) + "/cmdline");
	EXPECT_NE(cmdline.find("--worker-tenant"), std::string::npos);
	EXPECT_EQ(cmdline.find("--tls-"), std::string::npos) << cmdline;
	EXPECT_EQ(cmdline.find(ca_.key("server")), std::string::npos);

	// Tenant tls:client-b gets a worker of its own.
	using vaccel::transport::TlsFiles;
	const TlsFiles b{ca_.cert("client-b"), ca_.key("client-b"), ca_.ca()};
	EXPECT_TRUE(answered(b));
	EXPECT_EQ(agent_test::child_pids(agent_->pid()).size(), 2U);

	// Alpha's worker dies: alpha's connection ends with it, b is served.
	ASSERT_EQ(::kill(alpha[0], SIGKILL), 0);
	const auto until = Clock::now() + 10s;
	while (agent_->log().find("worker-exited") == std::string::npos &&
	       Clock::now() < until)
		std::this_thread::sleep_for(20ms);
	EXPECT_NE(vaccel_noop(s), VACCEL_OK);
	EXPECT_TRUE(answered(b));
	int status = 0;
	EXPECT_EQ(::waitpid(agent_->pid(), &status, WNOHANG), 0)
	    << "the agent itself ended";
}

} // namespace
} // namespace rpc_test
