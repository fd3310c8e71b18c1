// SPDX-License-Identifier: Apache-2.0
// The server over a real socket, in-process: framing, several requests in
// flight per connection, and what a misbehaving client costs (its own
// connection only, with everything it owned released).
#include "agent_test.h"
#include "launcher.h"
#include "server.h"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace agent_test
{
namespace
{

namespace tr = vaccel::transport;
using namespace std::chrono_literals;

class ServerTest : public ::testing::Test
{
protected:
	explicit ServerTest(const char *plugins = TEST_NOOP_PLUGIN)
	    : plugins_(plugins)
	{
	}

	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(restart_runtime(plugins_));
		char tmpl[] = "/tmp/vaccel-agent-test-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir_ = tmpl;
		auto addr = tr::parse_address("unix://" + dir_ + "/agent.sock");
		ASSERT_TRUE(addr);
		vaccel::agent::ServerOptions so;
		so.address = addr.value();
		so.workers = 2;
		so.max_frame = 64 * 1024;
		so.trace = trace_;
		so.inline_limit = inline_limit_;
		server_ = std::make_unique<vaccel::agent::Server>(svc_, so);
		auto st = server_->start();
		ASSERT_TRUE(st) << st.message();
	}

	void TearDown() override
	{
		server_->stop();
		EXPECT_EQ(vaccel_session_count(), 0U);
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		std::error_code ec;
		std::filesystem::remove_all(dir_, ec);
	}

	tr::Stream connect()
	{
		auto s = tr::connect(server_->address(), 2000ms);
		EXPECT_TRUE(s) << s.status().message();
		return s ? std::move(s.value()) : tr::Stream();
	}

	static void send(tr::Stream &s, uint32_t id, const std::string &payload)
	{
		tr::FrameHeader h;
		h.length = static_cast<uint32_t>(payload.size());
		h.stream_id = id;
		h.type = tr::MsgType::Request;
		auto st = tr::write_frame(
		    s, h,
		    std::span(reinterpret_cast<const uint8_t *>(payload.data()),
			      payload.size()),
		    tr::deadline_in(2000ms));
		ASSERT_TRUE(st) << st.message();
	}

	template <class Req>
	static void send(tr::Stream &s, uint32_t id, std::string_view method,
			 const Req &req,
			 std::string_view service = tr::kServiceSync)
	{
		send(s, id,
		     envelope(method, req.SerializeAsString(), service)
			 .SerializeAsString());
	}

	static rpc::ttrpc::Response receive(tr::Stream &s, uint32_t *id)
	{
		rpc::ttrpc::Response resp;
		auto f = tr::read_frame(s, 1u << 20, tr::deadline_in(5000ms));
		EXPECT_TRUE(f) << f.status().message();
		if (!f)
			return resp;
		EXPECT_EQ(f->header.type, tr::MsgType::Response);
		*id = f->header.stream_id;
		EXPECT_TRUE(resp.ParseFromArray(
		    f->payload.data(), static_cast<int>(f->payload.size())));
		return resp;
	}

	rpc::ext::AgentStats stats()
	{
		tr::Stream s = connect();
		send(s, 1, "Stats", rpc::Empty(), vaccel::agent::kServiceAdmin);
		uint32_t id = 0;
		auto resp = receive(s, &id);
		rpc::ext::AgentStats st;
		EXPECT_TRUE(st.ParseFromString(resp.payload()));
		return st;
	}

	// Waits until the runtime has @p n sessions (the agent releases a
	// closed connection's objects on its reader thread).
	static bool wait_sessions(size_t n)
	{
		for (int i = 0; i < 200; ++i) {
			if (vaccel_session_count() == n)
				return true;
			std::this_thread::sleep_for(10ms);
		}
		return false;
	}

	const char *plugins_;
	vaccel::agent::RequestTrace *trace_ = nullptr; // set before SetUp
	std::chrono::microseconds inline_limit_ =
	    vaccel::agent::ServerOptions{}.inline_limit;
	std::string dir_;
	Service svc_{vaccel::agent::Limits{}, permissive_policy()};
	std::unique_ptr<vaccel::agent::Server> server_;
};

TEST_F(ServerTest, CreateSessionOverTheWire)
{
	tr::Stream s = connect();
	send(s, 1, "CreateSession", rpc::session::CreateRequest());
	uint32_t id = 0;
	auto resp = receive(s, &id);
	EXPECT_EQ(id, 1U);
	EXPECT_EQ(resp.status().code(), 0);
	rpc::session::CreateResponse cr;
	ASSERT_TRUE(cr.ParseFromString(resp.payload()));
	EXPECT_GT(cr.session_id(), 0);
	auto st = stats();
	EXPECT_EQ(st.sessions(), 1U);
	EXPECT_EQ(st.connections(), 2U); // s and the stats connection

	s.close(); // hang up without destroying: the agent cleans up
	EXPECT_TRUE(wait_sessions(0));
}

TEST_F(ServerTest, SeveralRequestsInFlight)
{
	tr::Stream s = connect();
	for (uint32_t id : {1u, 3u, 5u, 7u})
		send(s, id, "CreateSession", rpc::session::CreateRequest());
	std::set<uint32_t> ids;
	for (int i = 0; i < 4; ++i) {
		uint32_t id = 0;
		auto resp = receive(s, &id);
		EXPECT_EQ(resp.status().code(), 0);
		ids.insert(id);
	}
	EXPECT_EQ(ids, (std::set<uint32_t>{1, 3, 5, 7}));
	EXPECT_EQ(vaccel_session_count(), 4U);
}

TEST_F(ServerTest, MalformedEnvelopeIsAnsweredAndConnectionSurvives)
{
	tr::Stream s = connect();
	send(s, 9, std::string("\xff\xff\xff\xff", 4));
	uint32_t id = 0;
	auto resp = receive(s, &id);
	EXPECT_EQ(id, 9U);
	EXPECT_EQ(resp.status().code(),
		  static_cast<int>(RpcCode::InvalidArgument));
	send(s, 11, "CreateSession", rpc::session::CreateRequest());
	resp = receive(s, &id);
	EXPECT_EQ(id, 11U);
	EXPECT_EQ(resp.status().code(), 0);
}

TEST_F(ServerTest, OversizedFrameClosesOnlyThatConnection)
{
	tr::Stream bad = connect();
	tr::Stream good = connect();
	send(bad, 1, "CreateSession", rpc::session::CreateRequest());
	send(good, 1, "CreateSession", rpc::session::CreateRequest());
	uint32_t id = 0;
	receive(bad, &id);
	receive(good, &id);
	ASSERT_EQ(vaccel_session_count(), 2U);

	// A header announcing more than the agent's 64 KiB limit.
	uint8_t hdr[tr::kFrameHeaderSize];
	tr::FrameHeader h;
	h.length = 1u << 20;
	h.stream_id = 3;
	tr::encode_header(h, hdr);
	ASSERT_TRUE(bad.write_all(std::span<const uint8_t>(hdr, sizeof(hdr)),
				  tr::deadline_in(2000ms)));
	auto f = tr::read_frame(bad, 1u << 20, tr::deadline_in(5000ms));
	EXPECT_FALSE(f); // closed by the agent, no answer
	EXPECT_TRUE(wait_sessions(1));

	send(good, 3, "CreateSession", rpc::session::CreateRequest());
	auto resp = receive(good, &id);
	EXPECT_EQ(resp.status().code(), 0);
	EXPECT_EQ(vaccel_session_count(), 2U);
}

TEST_F(ServerTest, StopReleasesOpenConnections)
{
	tr::Stream s = connect();
	send(s, 1, "CreateSession", rpc::session::CreateRequest());
	uint32_t id = 0;
	receive(s, &id);
	EXPECT_EQ(vaccel_session_count(), 1U);
	server_->stop();
	EXPECT_EQ(vaccel_session_count(), 0U);
	auto f = tr::read_frame(s, 1u << 20, tr::deadline_in(2000ms));
	EXPECT_FALSE(f);
}

// Clients that pipeline requests on their own objects and hang up with
// requests still in flight: nothing crashes, nothing is left behind.
TEST_F(ServerTest, ClientsHangingUpMidFlightLeaveNothingBehind)
{
	auto client = [this](int rounds) {
		for (int r = 0; r < rounds; ++r) {
			tr::Stream s = connect();
			send(s, 1, "CreateSession",
			     rpc::session::CreateRequest());
			uint32_t id = 0;
			auto resp = receive(s, &id);
			rpc::session::CreateResponse cr;
			ASSERT_TRUE(cr.ParseFromString(resp.payload()));
			const int64_t sess = cr.session_id();

			rpc::resource::RegisterRequest reg;
			reg.set_session_id(sess);
			auto *b = reg.add_blobs();
			b->set_name("lib.so");
			b->set_data("bytes");
			rpc::genop::Request g;
			g.set_session_id(sess);
			add_op(&g, VACCEL_OP_NOOP);
			rpc::session::DestroyRequest d;
			d.set_session_id(sess);
			uint32_t sid = 3;
			for (int i = 0; i < 5; ++i) {
				send(s, sid += 2, "RegisterResource", reg);
				send(s, sid += 2, "Genop", g);
			}
			if (r % 2 == 0)
				send(s, sid += 2, "DestroySession", d);
			if (r % 3 == 0) {
				receive(s, &id); // read one, drop the rest
			}
			s.close();
		}
	};
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; ++t)
		threads.emplace_back(client, 10);
	for (auto &t : threads)
		t.join();
	EXPECT_TRUE(wait_sessions(0));
	for (int i = 0; i < 200 && vaccel_resource_count() != 0; ++i)
		std::this_thread::sleep_for(10ms);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	auto st = stats();
	EXPECT_EQ(st.sessions(), 0U);
	EXPECT_EQ(st.resources(), 0U);
}

// With the exec plugin, a genop that sleeps in the backend.
class SlowOpTest : public ServerTest
{
protected:
	SlowOpTest() : ServerTest(TEST_EXEC_PLUGIN) {}

	void SetUp() override
	{
		if (std::string_view(TEST_EXEC_PLUGIN).empty())
			GTEST_SKIP() << "exec plugin not built";
		ServerTest::SetUp();
	}

	static rpc::genop::Request sleep_request(int64_t sess, int32_t ms)
	{
		rpc::genop::Request g;
		g.set_session_id(sess);
		add_op(&g, VACCEL_OP_EXEC);
		add_string(&g, TEST_AGENT_FIXTURE_LIB);
		add_string(&g, "agent_fixture_sleep");
		add_arg(&g, rpc::genop::INT32, &ms, sizeof(ms));
		return g;
	}

	int64_t create(tr::Stream &s)
	{
		send(s, 1, "CreateSession", rpc::session::CreateRequest());
		uint32_t id = 0;
		rpc::session::CreateResponse cr;
		EXPECT_TRUE(cr.ParseFromString(receive(s, &id).payload()));
		return cr.session_id();
	}
};

// A call whose client's timeout (the envelope's timeout_nano) has passed
// when a worker gets to it is not run: both workers are busy sleeping, and
// the waiting call is answered DEADLINE_EXCEEDED instead of run late.
TEST_F(SlowOpTest, CallQueuedPastItsTimeoutIsNotRun)
{
	tr::Stream a = connect();
	const int64_t sess = create(a);
	send(a, 3, "Genop", sleep_request(sess, 600));
	send(a, 5, "Genop", sleep_request(sess, 600));
	rpc::session::CreateRequest cr;
	auto late = envelope("CreateSession", cr.SerializeAsString());
	late.set_timeout_nano(100'000'000); // 100 ms: gone before a worker
	send(a, 7, late.SerializeAsString());
	std::map<uint32_t, int> codes;
	for (int i = 0; i < 3; ++i) {
		uint32_t id = 0;
		auto resp = receive(a, &id);
		codes[id] = resp.status().code();
	}
	EXPECT_EQ(codes[3], 0);
	EXPECT_EQ(codes[5], 0);
	EXPECT_EQ(codes[7], 4);            // DEADLINE_EXCEEDED
	EXPECT_EQ(stats().sessions(), 1U); // the late CreateSession never ran
}

// A slow op holds one worker: later requests on the same connection are
// answered first (responses match by stream id), and other connections
// are not held up either.
TEST_F(SlowOpTest, SlowOpBlocksNeitherItsConnectionNorOthers)
{
	tr::Stream a = connect();
	tr::Stream b = connect();
	const int64_t sess = create(a);
	const auto start = std::chrono::steady_clock::now();
	send(a, 3, "Genop", sleep_request(sess, 1500));
	send(a, 5, "CreateSession", rpc::session::CreateRequest());
	send(b, 7, "CreateSession", rpc::session::CreateRequest());

	uint32_t id = 0;
	auto resp = receive(b, &id);
	EXPECT_EQ(id, 7U);
	EXPECT_EQ(resp.status().code(), 0);
	resp = receive(a, &id);
	EXPECT_EQ(id, 5U); // overtook the slow op on its own connection
	EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);

	resp = receive(a, &id);
	EXPECT_EQ(id, 3U);
	EXPECT_EQ(resp.status().code(), 0);
	EXPECT_GE(std::chrono::steady_clock::now() - start, 1500ms);
}

// Short kinds of calls run on their connection's reader, with no hand-off
// to a worker (call_times.h): with both workers held by slow execs, a noop
// (a short kind once it ran) is answered at once, while an exec (a kind
// that ran long) still waits for a worker, even a quick one.
class InlineTest : public SlowOpTest
{
protected:
	InlineTest()
	{
		plugins_ = TEST_EXEC_PLUGIN ":" TEST_NOOP_PLUGIN;
		// Far above a noop even under a sanitizer, far below the
		// 100 ms exec that makes the exec kind long.
		inline_limit_ = 20ms;
	}

	static rpc::genop::Request noop_request(int64_t sess)
	{
		rpc::genop::Request g;
		g.set_session_id(sess);
		add_op(&g, VACCEL_OP_NOOP);
		return g;
	}

	// Whether a reply waits on @p s (without reading it).
	static bool reply_waiting(tr::Stream &s)
	{
		pollfd p{s.fd(), POLLIN, 0};
		return ::poll(&p, 1, 0) == 1;
	}
};

TEST_F(InlineTest, ShortCallsRunOnTheReaderWhileEveryWorkerIsBusy)
{
	tr::Stream a = connect();
	tr::Stream b = connect();
	tr::Stream c = connect();
	const int64_t sess = create(a);
	const int64_t sess_b = create(b);
	const int64_t sess_c = create(c);
	uint32_t id = 0;
	// First runs: noop learnt short (a process's first call of a kind
	// is slower: a few more make the average), exec long.
	for (uint32_t i = 0; i < 40; ++i) {
		send(b, 101 + 2 * i, "Genop", noop_request(sess_b));
		ASSERT_EQ(receive(b, &id).status().code(), 0);
	}
	send(c, 5, "Genop", sleep_request(sess_c, 100));
	EXPECT_EQ(receive(c, &id).status().code(), 0);

	send(a, 7, "Genop", sleep_request(sess, 1500));
	send(a, 9, "Genop", sleep_request(sess, 1500));
	std::this_thread::sleep_for(100ms); // both workers took theirs

	send(b, 301, "Genop", noop_request(sess_b));
	auto resp = receive(b, &id);
	EXPECT_EQ(id, 301U);
	EXPECT_EQ(resp.status().code(), 0);
	EXPECT_FALSE(reply_waiting(a)); // the slow execs still run

	send(c, 13, "Genop", sleep_request(sess_c, 0));
	resp = receive(c, &id);
	EXPECT_EQ(id, 13U);
	EXPECT_EQ(resp.status().code(), 0);
	// It ran on a worker, once a slow exec gave its worker up (whose
	// reply was sent before that worker took the next job).
	EXPECT_TRUE(reply_waiting(a));
	for (int i = 0; i < 2; ++i)
		EXPECT_EQ(receive(a, &id).status().code(), 0);
}

// Hanging up during a slow op: the op finishes, then its session is
// released; the agent neither crashes nor leaks.
TEST_F(SlowOpTest, HangUpDuringSlowOp)
{
	tr::Stream a = connect();
	const int64_t sess = create(a);
	send(a, 3, "Genop", sleep_request(sess, 300));
	std::this_thread::sleep_for(50ms);
	a.close();
	EXPECT_TRUE(wait_sessions(0));
}

// --trace: one line per request with where its time went. The sleep op's
// line must show the op taking at least its sleep, inside the handler's
// time, inside the total; calls that run no op show none; failures carry
// their status.
class TracedTest : public SlowOpTest
{
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/vaccel-agent-trace-XXXXXX";
		const int fd = mkstemp(tmpl);
		ASSERT_GE(fd, 0);
		::close(fd);
		path_ = tmpl;
		ASSERT_TRUE(trace_file_.open(path_));
		trace_ = &trace_file_;
		SlowOpTest::SetUp();
	}
	void TearDown() override
	{
		SlowOpTest::TearDown();
		std::remove(path_.c_str());
	}

	struct Line {
		std::string method;
		int status = 0;
		double queue = 0, handler = 0, op = 0, reply = 0, total = 0;
		double frame = 0, pre_op = 0, post_op = 0;
		uint64_t req_bytes = 0, reply_bytes = 0;
		int64_t read_ns = 0;
		int cpu = -2, cpu_reply = -2;
	};
	// The trace after the server stopped (every line written).
	std::vector<Line> lines()
	{
		server_->stop();
		trace_file_.close();
		std::vector<Line> out;
		std::ifstream in(path_);
		std::string text;
		EXPECT_TRUE(std::getline(in, text));
		EXPECT_EQ(text.rfind("# conn\tstream\tmethod", 0), 0U) << text;
		while (std::getline(in, text)) {
			std::istringstream f(text);
			Line l;
			uint64_t conn = 0, stream = 0;
			double at = 0;
			std::string method;
			f >> conn >> stream >> l.method >> l.req_bytes >>
			    l.reply_bytes >> l.status >> l.queue >> l.handler >>
			    l.op >> l.reply >> l.total >> at >> l.read_ns >>
			    l.frame >> l.pre_op >> l.post_op >> l.cpu >>
			    l.cpu_reply;
			EXPECT_FALSE(f.fail()) << text;
			out.push_back(l);
		}
		return out;
	}

	std::string path_;
	vaccel::agent::RequestTrace trace_file_;
};

TEST_F(TracedTest, EachRequestIsALineWithItsTimings)
{
	const auto mono_ns = [] {
		return std::chrono::duration_cast<std::chrono::nanoseconds>(
			   std::chrono::steady_clock::now().time_since_epoch())
		    .count();
	};
	const int64_t before = mono_ns();
	tr::Stream a = connect();
	const int64_t sess = create(a);
	send(a, 3, "Genop", sleep_request(sess, 100));
	send(a, 5, "Genop", sleep_request(sess + 1000, 1)); // no such session
	uint32_t id = 0;
	int answered = 0;
	for (; answered < 2; ++answered)
		receive(a, &id);
	const auto all = lines();
	ASSERT_EQ(all.size(), 3U);
	int seen = 0;
	for (const Line &l : all) {
		EXPECT_GT(l.req_bytes, 0U);
		EXPECT_GT(l.reply_bytes, 0U);
		EXPECT_GE(l.total, l.queue + l.handler);
		EXPECT_LE(l.op, l.handler);
		// On the clock a client's trace uses too, within this test.
		EXPECT_GE(l.read_ns, before);
		EXPECT_LE(l.read_ns, mono_ns());
		EXPECT_GE(l.frame, 0.0);
		// Before, during and after the op: within the handler (each
		// rounded to 0.1 us).
		EXPECT_LE(l.pre_op + l.op + l.post_op, l.handler + 0.3);
		EXPECT_GE(l.cpu, 0);
		EXPECT_GE(l.cpu_reply, 0);
		if (l.method == "CreateSession") {
			++seen;
			EXPECT_EQ(l.status, 0);
			EXPECT_EQ(l.op, 0.0); // runs no op
			EXPECT_EQ(l.pre_op, 0.0);
			EXPECT_EQ(l.post_op, 0.0);
		} else if (l.method == "Genop" && l.status == 0) {
			++seen;
			EXPECT_GE(l.op, 100000.0); // the 100 ms sleep
		} else if (l.method == "Genop") {
			++seen;
			EXPECT_NE(l.status, 0); // the unknown session
		}
	}
	EXPECT_EQ(seen, 3);
}

// Sandboxes attached through the launcher share one accept thread
// (accept_set.h): attaching idle sandboxes starts no thread per sandbox,
// each is served on its own socket while others are detached around it,
// and a detached sandbox takes no more connections.
TEST_F(ServerTest, LauncherSandboxesShareOneAcceptThread)
{
	auto threads = [] {
		size_t n = 0;
		for ([[maybe_unused]] const auto &e :
		     std::filesystem::directory_iterator("/proc/self/task"))
			++n;
		return n;
	};
	vaccel::agent::ServerOptions base;
	base.workers = 2;
	vaccel::agent::Launcher launcher(svc_, base);
	constexpr int kSandboxes = 6;
	std::vector<uint64_t> ids;
	std::vector<tr::Address> where;
	const size_t before = threads();
	for (int i = 0; i < kSandboxes; ++i) {
		rpc::ext::AttachRequest req;
		req.set_address("unix://" + dir_ + "/sb" + std::to_string(i) +
				".sock");
		req.set_tenant("sb" + std::to_string(i));
		std::vector<tr::UniqueFd> fds;
		rpc::ext::AttachResponse resp;
		auto st = launcher.attach(req, fds, &resp);
		ASSERT_TRUE(st.is_ok()) << st.message();
		ids.push_back(resp.sandbox());
		where.push_back(tr::parse_address(resp.address()).value());
	}
	// The set's thread, and maybe a spare the fixture's server asked the
	// thread cache for; a thread per sandbox would be four or more.
	EXPECT_LE(threads(), before + 2);

	// Each sandbox serves calls while the first half is detached.
	auto call_noop = [](tr::Stream &s, uint32_t id) {
		rpc::session::CreateRequest cr;
		send(s, id, "CreateSession", cr);
		uint32_t got = 0;
		rpc::ttrpc::Response r = receive(s, &got);
		return got == id && r.status().code() == 0;
	};
	std::vector<std::thread> clients;
	std::atomic<int> served{0};
	for (int i = kSandboxes / 2; i < kSandboxes; ++i)
		clients.emplace_back([&, i] {
			for (uint32_t k = 0; k < 20; ++k) {
				auto s = tr::connect(where[i], 2000ms);
				if (s && call_noop(s.value(), 1))
					++served;
			}
		});
	for (int i = 0; i < kSandboxes / 2; ++i)
		EXPECT_TRUE(launcher.detach(ids[i]).is_ok());
	for (auto &t : clients)
		t.join();
	EXPECT_EQ(served.load(), 20 * (kSandboxes - kSandboxes / 2));
	launcher.detach_all();
	for (int i = 0; i < kSandboxes; ++i)
		EXPECT_FALSE(tr::connect(where[i], 500ms))
		    << "sandbox " << i << " still accepts";
	EXPECT_EQ(launcher.sandboxes(), 0U);
	EXPECT_TRUE(wait_sessions(0));
}

TEST(Trace, UnwritablePathIsAnError)
{
	vaccel::agent::RequestTrace t;
	auto st = t.open("/nonexistent-dir/trace.tsv");
	EXPECT_FALSE(st);
	EXPECT_NE(st.message().find("/nonexistent-dir/trace.tsv"),
		  std::string::npos);
	EXPECT_FALSE(t.enabled());
}

TEST(ServerTcp, PortZeroReportsTheRealPort)
{
	ASSERT_NO_FATAL_FAILURE(restart_runtime());
	Service svc;
	vaccel::agent::ServerOptions so;
	so.address = tr::parse_address("tcp://127.0.0.1:0").value();
	vaccel::agent::Server server(svc, so);
	ASSERT_TRUE(server.start());
	EXPECT_NE(server.address().port, 0U);
	EXPECT_NE(tr::to_string(server.address()).find("127.0.0.1:"),
		  std::string::npos);
	server.stop();
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

} // namespace
} // namespace agent_test
