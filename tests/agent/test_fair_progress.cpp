// SPDX-License-Identifier: Apache-2.0
// Fair progress (issue 15, item 5): a slow or hostile connection cannot
// delay the others. Each attack runs against a real server over unix
// sockets while a well-behaved client calls; the well-behaved calls must
// finish while the attacker is still connected (their latency is printed,
// not asserted), and the attacker must lose what it pinned. Every loop is
// bounded in count and time.
#include "agent_test.h"
#include "server.h"
#include "shm.h"
#include "wire_bounds.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace agent_test
{
namespace
{

namespace tr = vaccel::transport;
using namespace std::chrono_literals;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - t)
	    .count();
}

void send_raw(tr::Stream &s, uint32_t id, const std::string &payload,
	      uint8_t flags = 0, tr::MsgType type = tr::MsgType::Request)
{
	tr::FrameHeader h;
	h.stream_id = id;
	h.type = type;
	h.flags = flags;
	auto st = tr::write_frame(
	    s, h,
	    std::span(reinterpret_cast<const uint8_t *>(payload.data()),
		      payload.size()),
	    tr::deadline_in(5000ms));
	ASSERT_TRUE(st) << st.message();
}

template <class Req>
void send(tr::Stream &s, uint32_t id, std::string_view method, const Req &req,
	  std::string_view service = tr::kServiceSync)
{
	send_raw(s, id,
		 envelope(method, req.SerializeAsString(), service)
		     .SerializeAsString());
}

// The next Response frame (Data frames skipped); false on EOF or timeout.
bool receive(tr::Stream &s, rpc::ttrpc::Response *resp, uint32_t *id,
	     std::chrono::milliseconds wait = 10000ms)
{
	const auto dl = tr::deadline_in(wait);
	for (;;) {
		auto f = tr::read_frame(s, 1u << 20, dl);
		if (!f)
			return false;
		if (f->header.type != tr::MsgType::Response)
			continue;
		*id = f->header.stream_id;
		return resp->ParseFromArray(
		    f->payload.data(), static_cast<int>(f->payload.size()));
	}
}

// Whether the agent closed @p s: EOF within @p wait, reading (and
// dropping) whatever replies were still on their way.
bool closed_by_agent(tr::Stream &s, std::chrono::milliseconds wait)
{
	const auto end = Clock::now() + wait;
	uint8_t buf[65536];
	while (Clock::now() < end) {
		auto st =
		    s.read_exact(std::span(buf, 1), tr::deadline_in(200ms));
		if (!st && st.cause() != tr::Cause::TimedOut)
			return true; // closed or reset
		if (st)
			(void)::recv(s.fd(), buf, sizeof(buf), MSG_DONTWAIT);
	}
	return false;
}

// A CreateSession on @p s; its latency in ms, or -1 when it failed.
double timed_create(tr::Stream &s, uint32_t id)
{
	const auto t = Clock::now();
	send(s, id, "CreateSession", rpc::session::CreateRequest());
	rpc::ttrpc::Response resp;
	uint32_t got = 0;
	if (!receive(s, &resp, &got) || got != id || resp.status().code() != 0)
		return -1;
	return ms_since(t);
}

class FairTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(restart_runtime());
		char tmpl[] = "/tmp/vaccel-fair-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir_ = tmpl;
		opts_.workers = 2;
		opts_.max_frame = 64 * 1024;
	}

	void TearDown() override
	{
		for (auto &s : servers_)
			s->stop();
		servers_.clear();
		svc_.reset();
		EXPECT_EQ(vaccel_session_count(), 0U);
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		std::error_code ec;
		std::filesystem::remove_all(dir_, ec);
	}

	// A server on its own socket for tenant @p tenant (empty: from the
	// peer's uid), all sharing one Service.
	vaccel::agent::Server &start(const std::string &tenant = {})
	{
		if (!svc_)
			svc_ = std::make_unique<Service>(limits_, policy_);
		auto o = opts_;
		o.tenant = tenant;
		o.address = tr::parse_address("unix://" + dir_ + "/s" +
					      std::to_string(servers_.size()))
				.value();
		servers_.push_back(
		    std::make_unique<vaccel::agent::Server>(*svc_, o));
		auto st = servers_.back()->start();
		EXPECT_TRUE(st) << st.message();
		return *servers_.back();
	}

	static tr::Stream connect(vaccel::agent::Server &srv)
	{
		auto s = tr::connect(srv.address(), 2000ms);
		EXPECT_TRUE(s) << s.status().message();
		return s ? std::move(s.value()) : tr::Stream();
	}

	int64_t create_session(tr::Stream &s)
	{
		send(s, 1, "CreateSession", rpc::session::CreateRequest());
		rpc::ttrpc::Response resp;
		uint32_t id = 0;
		EXPECT_TRUE(receive(s, &resp, &id));
		rpc::session::CreateResponse cr;
		EXPECT_TRUE(cr.ParseFromString(resp.payload()));
		return cr.session_id();
	}

	uint64_t connections() { return svc_->stats().connections; }

	bool wait_buffered(uint64_t n)
	{
		for (int i = 0; i < 500 && svc_->buffered() != n; ++i)
			std::this_thread::sleep_for(10ms);
		return svc_->buffered() == n;
	}

	bool wait_connections(uint64_t n, std::chrono::milliseconds wait)
	{
		const auto end = Clock::now() + wait;
		while (Clock::now() < end) {
			if (connections() == n)
				return true;
			std::this_thread::sleep_for(20ms);
		}
		return false;
	}

	std::string dir_;
	vaccel::agent::ServerOptions opts_;
	vaccel::agent::Limits limits_;
	vaccel::agent::Policy policy_ = permissive_policy();
	std::unique_ptr<Service> svc_;
	std::vector<std::unique_ptr<vaccel::agent::Server>> servers_;
};

// Floods @p s with @p n requests whose replies (60 KB each: a resource's
// blob read back) it does not read.
void flood(tr::Stream &s, int64_t sess, int n)
{
	rpc::resource::RegisterRequest reg;
	reg.set_session_id(sess);
	reg.set_resource_type(rpc::resource::DATA);
	auto *b = reg.add_blobs();
	b->set_name("blob");
	b->set_data(std::string(60000, 'b'));
	b->set_size(60000);
	send(s, 99, "RegisterResource", reg);
	rpc::ttrpc::Response resp;
	uint32_t id = 0;
	ASSERT_TRUE(receive(s, &resp, &id));
	rpc::resource::RegisterResponse rr;
	ASSERT_TRUE(rr.ParseFromString(resp.payload()));
	rpc::resource::SyncRequest sync;
	sync.set_resource_id(rr.resource_id());
	const std::string payload =
	    envelope("SyncResource", sync.SerializeAsString(), tr::kServiceSync)
		.SerializeAsString();
	for (int i = 0; i < n; ++i) {
		tr::FrameHeader h;
		h.stream_id = 101 + 2 * static_cast<uint32_t>(i);
		h.type = tr::MsgType::Request;
		// The agent may drop the flooder before the flood ends (the
		// point of the tests): a refused write ends the flood.
		if (!tr::write_frame(
			s, h,
			std::span(
			    reinterpret_cast<const uint8_t *>(payload.data()),
			    payload.size()),
			tr::deadline_in(5000ms)))
			return;
	}
}

TEST_F(FairTest, NonReaderDelaysNoOtherConnectionAndIsDroppedAtTheDeadline)
{
	opts_.write_timeout = 6000ms;
	auto &srv = start();
	tr::Stream attacker = connect(srv);
	tr::Stream good = connect(srv);
	const int64_t sess = create_session(attacker);
	ASSERT_GT(sess, 0);
	const auto attack = Clock::now();
	flood(attacker, sess, 200);         // 12 MB of replies, never read
	std::this_thread::sleep_for(300ms); // the workers are done with it

	double worst = 0;
	for (uint32_t i = 0; i < 20; ++i) {
		const double ms = timed_create(good, 1001 + 2 * i);
		ASSERT_GE(ms, 0) << "call " << i << " failed";
		worst = std::max(worst, ms);
	}
	// Served while the attack was on (it ends at the write deadline).
	if (ms_since(attack) < 5500) {
		EXPECT_EQ(connections(), 2U)
		    << "the attacker was dropped early";
	}
	std::printf("[ fair     ] well-behaved CreateSession during a "
		    "non-reader's attack: worst %.2f ms of 20, done %.0f ms "
		    "into the attack\n",
		    worst, ms_since(attack));
	EXPECT_TRUE(wait_connections(1, 15000ms));
	std::printf("[ fair     ] non-reader dropped %.0f ms after its "
		    "flood (write deadline 6000 ms)\n",
		    ms_since(attack));
	EXPECT_GE(timed_create(good, 2001), 0);
}

TEST_F(FairTest, NonReaderIsDroppedWhenItsQueuePassesTheCap)
{
	opts_.write_timeout = 0ms; // the cap alone
	opts_.max_queued_reply = 256 * 1024;
	auto &srv = start();
	tr::Stream attacker = connect(srv);
	tr::Stream good = connect(srv);
	const int64_t sess = create_session(attacker);
	flood(attacker, sess, 60); // 3.6 MB of replies
	EXPECT_TRUE(wait_connections(1, 10000ms));
	EXPECT_TRUE(closed_by_agent(attacker, 5000ms));
	EXPECT_GE(timed_create(good, 3), 0);
}

// A client that reads slowly but steadily is not dropped: the deadline
// counts from the socket's last progress, and a large reply ahead of the
// queue does not count against the cap.
TEST_F(FairTest, SlowReaderKeepsItsReplies)
{
	opts_.write_timeout = 2000ms;
	opts_.max_queued_reply = 256 * 1024;
	auto &srv = start();
	tr::Stream s = connect(srv);
	const int64_t sess = create_session(s);
	flood(s, sess, 4);
	int got = 0;
	for (int i = 0; i < 4; ++i) {
		std::this_thread::sleep_for(300ms);
		rpc::ttrpc::Response resp;
		uint32_t id = 0;
		if (receive(s, &resp, &id) && resp.status().code() == 0)
			++got;
	}
	EXPECT_EQ(got, 4);
	EXPECT_EQ(connections(), 1U);
}

TEST_F(FairTest, HalfSentFrameIsDroppedAfterTheReadDeadline)
{
	opts_.read_timeout = 500ms;
	auto &srv = start();
	tr::Stream stalled = connect(srv);
	tr::Stream good = connect(srv);
	uint8_t hdr[tr::kFrameHeaderSize];
	tr::FrameHeader h;
	h.length = 1000;
	h.stream_id = 1;
	tr::encode_header(h, hdr);
	ASSERT_TRUE(stalled.write_all(std::span<const uint8_t>(hdr),
				      tr::deadline_in(1000ms)));
	const uint8_t some[10] = {};
	ASSERT_TRUE(stalled.write_all(std::span<const uint8_t>(some),
				      tr::deadline_in(1000ms)));
	const auto t = Clock::now();
	EXPECT_GE(timed_create(good, 1), 0);
	EXPECT_TRUE(closed_by_agent(stalled, 10000ms));
	std::printf("[ fair     ] half-sent frame dropped after %.0f ms "
		    "(deadline 500 ms)\n",
		    ms_since(t));
}

TEST_F(FairTest, IdleConnectionWithoutSessionIsClosedOneWithIsNot)
{
	opts_.idle_timeout = 500ms;
	auto &srv = start();
	tr::Stream idle = connect(srv);
	tr::Stream owner = connect(srv);
	ASSERT_GT(create_session(owner), 0);
	EXPECT_TRUE(closed_by_agent(idle, 10000ms));
	std::this_thread::sleep_for(1000ms); // two more idle periods
	EXPECT_GE(timed_create(owner, 3), 0);
	EXPECT_EQ(connections(), 1U);
}

// Opens a chunked call announcing @p size bytes on stream @p id.
void open_chunked(tr::Stream &s, uint32_t id, uint64_t size)
{
	rpc::ext::CallHeader h;
	h.set_service(std::string(tr::kServiceSync));
	h.set_method("CreateSession");
	h.set_size(size);
	send_raw(s, id,
		 envelope("Call", h.SerializeAsString(), tr::kServiceData)
		     .SerializeAsString(),
		 tr::kFlagRemoteOpen);
}

int32_t code_of(tr::Stream &s, uint32_t want,
		std::chrono::milliseconds wait = 10000ms)
{
	rpc::ttrpc::Response resp;
	uint32_t id = 0;
	if (!receive(s, &resp, &id, wait))
		return -1;
	if (want != 0) { // 0: any stream
		EXPECT_EQ(id, want);
	}
	return resp.status().code();
}

TEST_F(FairTest, ChunkedCallsHoldOnlyTheirTenantsShareUntilTheyStall)
{
	constexpr uint64_t kMiB = uint64_t{1} << 20;
	limits_.max_buffered = 1024 * kMiB;
	policy_.defaults.quotas.buffered_bytes = 512 * kMiB;
	opts_.read_timeout = 1000ms;
	auto &a = start("attacker");
	auto &b = start("other");
	tr::Stream sa = connect(a);
	tr::Stream sb = connect(b);
	const auto exhausted = static_cast<int32_t>(RpcCode::ResourceExhausted);

	// The attacker announces 3 x 256 MiB and sends nothing: its tenant's
	// 512 MiB are all it gets.
	open_chunked(sa, 1, 256 * kMiB);
	open_chunked(sa, 3, 256 * kMiB);
	open_chunked(sa, 5, 256 * kMiB);
	EXPECT_EQ(code_of(sa, 5), exhausted);
	const auto t = Clock::now();
	// Another tenant still gets budget, and completes its call.
	rpc::session::CreateRequest cr;
	const std::string body = cr.SerializeAsString(); // empty: 0 bytes
	open_chunked(sb, 7, body.size());
	send_raw(sb, 7, body, tr::kFlagRemoteClosed | tr::kFlagNoData,
		 tr::MsgType::Data);
	EXPECT_EQ(code_of(sb, 7), 0);
	open_chunked(sb, 9, 256 * kMiB);
	EXPECT_TRUE(wait_buffered(768 * kMiB));
	std::printf("[ fair     ] other tenant's chunked call served in "
		    "%.1f ms while 512 MiB were held by stalled calls\n",
		    ms_since(t));

	// No data for the read timeout: failed, budget given back.
	EXPECT_EQ(code_of(sa, 0), exhausted);
	EXPECT_EQ(code_of(sa, 0), exhausted);
	EXPECT_EQ(code_of(sb, 9), exhausted);
	EXPECT_TRUE(wait_buffered(0));
	EXPECT_EQ(connections(), 2U); // the connections stay
	open_chunked(sa, 11, 256 * kMiB);
	EXPECT_TRUE(wait_buffered(256 * kMiB)); // budget is free again
}

TEST_F(FairTest, EmptyRepeatedArgsAreRefusedBeforeParsing)
{
	svc_ = std::make_unique<Service>(limits_, policy_);
	svc_->open_connection(1);
	// 32 MiB of empty args: 16M of them, 2 bytes each on the wire.
	const std::string one = "\x12\x00"s;
	std::string payload;
	payload.reserve(32u << 20);
	while (payload.size() < (32u << 20))
		payload += one;
	const auto t = Clock::now();
	auto resp = svc_->handle(
	    1, tr::kServiceSync, "Genop",
	    std::span(reinterpret_cast<const uint8_t *>(payload.data()),
		      payload.size()));
	EXPECT_EQ(resp.status().code(),
		  static_cast<int>(RpcCode::InvalidArgument));
	EXPECT_NE(resp.status().message().find("repeated field 2"),
		  std::string::npos)
	    << resp.status().message();
	std::printf("[ fair     ] 32 MiB of empty args refused in %.1f ms\n",
		    ms_since(t));

	// Packed dims inside tensors count too.
	rpc::tflite::ModelRunRequest run;
	auto *tensor = run.add_in_tensors();
	for (int i = 0; i < 100; ++i)
		tensor->add_dims(1);
	const std::string bytes = run.SerializeAsString();
	EXPECT_FALSE(
	    vaccel::agent::check_repeated(
		std::span(reinterpret_cast<const uint8_t *>(bytes.data()),
			  bytes.size()),
		vaccel::agent::bounds::tflite_run, limits_, "tflite")
		.is_ok());
	svc_->close_connection(1);
}

// A tag written in 5 bytes with high bits the parsers drop (protobuf and
// transport/wire.h read a tag as 32 bits) names the same field: it is
// counted all the same, and a message the bounds check cannot walk is
// refused rather than left to a parser that might read it otherwise.
TEST_F(FairTest, LongTagEncodingsAreCountedToo)
{
	// Field 2 (read_args), length-delimited, empty: 0x12 as 5 bytes
	// with bits above 32 set.
	const std::string one = "\x92\x80\x80\x80\x10\x00"s;
	std::string payload;
	for (size_t i = 0; i <= limits_.max_args; ++i)
		payload += one;
	const auto check = [&](const std::string &b) {
		return vaccel::agent::check_repeated(
		    std::span(reinterpret_cast<const uint8_t *>(b.data()),
			      b.size()),
		    vaccel::agent::bounds::genop, limits_, "genop");
	};
	const auto st = check(payload);
	EXPECT_FALSE(st.is_ok());
	EXPECT_NE(st.message().find("repeated field 2"), std::string::npos)
	    << st.message();
	// One element too few passes.
	payload.resize(payload.size() - one.size());
	EXPECT_TRUE(check(payload).is_ok());
	// A tag longer than 5 bytes, or field 0, cannot be walked.
	EXPECT_FALSE(check("\x92\x80\x80\x80\x80\x10\x00"s).is_ok());
	EXPECT_FALSE(check("\x02\x00"s).is_ok());
}

// A chunked genop (whose reply may be as large as a message), and its
// shared-memory form, announcing a
// 512 MiB write arg on a session the connection does not have is refused
// before anything is allocated for it.
TEST_F(FairTest, WriteArgsOfAnUnknownSessionAllocateNothing)
{
	svc_ = std::make_unique<Service>(limits_, policy_);
	svc_->open_connection(1);
	rpc::genop::Request req;
	req.set_session_id(424242);
	auto *w = req.add_write_args();
	w->set_arg_type(rpc::genop::ArgType(0));
	w->set_size(512u << 20);
	const std::string bytes = req.SerializeAsString();
	vaccel::agent::CallInfo info;
	info.reply_limit = uint64_t{1} << 30;
	rusage before{}, after{};
	::getrusage(RUSAGE_SELF, &before);
	auto resp = svc_->handle(
	    1, tr::kServiceSync, "Genop",
	    std::span(reinterpret_cast<const uint8_t *>(bytes.data()),
		      bytes.size()),
	    info);
	::getrusage(RUSAGE_SELF, &after);
	EXPECT_EQ(resp.status().code(), static_cast<int>(RpcCode::NotFound))
	    << resp.status().message();
	EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 128 * 1024)
	    << "KiB more at the peak";
	// The shared-memory form, its write arg inline.
	rpc::ext::ShmGenopRequest shm;
	shm.set_session_id(424242);
	shm.add_write_args()->set_size(512u << 20);
	const std::string shm_bytes = shm.SerializeAsString();
	vaccel::agent::RegionTable regions; // none mapped: the arg is inline
	info.local = true; // a unix-socket peer, offered shared memory
	info.regions = &regions;
	resp = svc_->handle(
	    1, tr::kServiceData, "GenopShm",
	    std::span(reinterpret_cast<const uint8_t *>(shm_bytes.data()),
		      shm_bytes.size()),
	    info);
	::getrusage(RUSAGE_SELF, &before);
	EXPECT_EQ(resp.status().code(), static_cast<int>(RpcCode::NotFound))
	    << resp.status().message();
	EXPECT_LT(before.ru_maxrss - after.ru_maxrss, 128 * 1024)
	    << "KiB more at the peak";
	svc_->close_connection(1);
}

// The agent as its own process, for measuring its memory.
class AgentProcess
{
public:
	AgentProcess(const std::string &dir) : sock_(dir + "/agent.sock")
	{
		const std::string policy = dir + "/policy.toml";
		std::ofstream(policy)
		    << "[default.quotas]\nconnections = 1000\n";
		pid_ = ::fork();
		if (pid_ == 0) {
			const std::string addr = "unix://" + sock_;
			const std::string cfg =
			    std::string("plugins=") + TEST_NOOP_PLUGIN;
			::execl(TEST_AGENT_BIN, TEST_AGENT_BIN, "-a",
				addr.c_str(), "--vaccel-config", cfg.c_str(),
				"--policy", policy.c_str(), "--workers", "2",
				"--audit-log", "/dev/null",
				static_cast<char *>(nullptr));
			::_exit(127);
		}
	}
	~AgentProcess()
	{
		if (pid_ <= 0)
			return;
		::kill(pid_, SIGTERM);
		int status = 0;
		::waitpid(pid_, &status, 0);
	}

	tr::Stream connect()
	{
		auto addr = tr::parse_address("unix://" + sock_).value();
		for (int i = 0; i < 200; ++i) {
			if (auto s = tr::connect(addr, 2000ms))
				return std::move(s.value());
			std::this_thread::sleep_for(50ms);
		}
		ADD_FAILURE() << "agent not listening on " << sock_;
		return {};
	}

	// VmRSS in KiB (0 when unreadable).
	[[nodiscard]] uint64_t rss_kib() const
	{
		std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
		std::string line;
		while (std::getline(in, line))
			if (line.rfind("VmRSS:", 0) == 0)
				return std::stoull(line.substr(6));
		return 0;
	}

private:
	std::string sock_;
	pid_t pid_ = -1;
};

TEST_F(FairTest, FrameHeadersAnnouncingMegabytesCostLittleMemory)
{
	rlimit rl{};
	ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	(void)::setrlimit(RLIMIT_NOFILE, &rl);
	AgentProcess agent(dir_);
	tr::Stream good = agent.connect();
	ASSERT_TRUE(good.valid());
	// 500 connections first, silent: their threads and buffers are the
	// baseline (sanitizer builds make threads far heavier), measured in
	// the same run; then each announces a 4 MiB frame and sends 100
	// bytes of it. What the announcements cost is the difference.
	constexpr int kConns = 500;
	std::vector<tr::Stream> conns;
	const auto t = Clock::now();
	for (int i = 0; i < kConns && ms_since(t) < 30000; ++i) {
		tr::Stream s = agent.connect();
		if (!s.valid())
			break;
		conns.push_back(std::move(s));
	}
	ASSERT_EQ(conns.size(), static_cast<size_t>(kConns));
	std::this_thread::sleep_for(500ms);
	const uint64_t before = agent.rss_kib();

	uint8_t hdr[tr::kFrameHeaderSize];
	tr::FrameHeader h;
	h.length = tr::kDefaultMaxFrame; // 4 MiB announced
	h.stream_id = 1;
	tr::encode_header(h, hdr);
	const std::string some(100, 'x');
	for (auto &s : conns) {
		ASSERT_TRUE(s.write_all(std::span<const uint8_t>(hdr),
					tr::deadline_in(2000ms)));
		ASSERT_TRUE(s.write_all(
		    std::span(reinterpret_cast<const uint8_t *>(some.data()),
			      some.size()),
		    tr::deadline_in(2000ms)));
	}
	const double ms = timed_create(good, 3);
	EXPECT_GE(ms, 0);
	std::this_thread::sleep_for(500ms);
	const uint64_t rss = agent.rss_kib();
	std::printf("[ fair     ] agent RSS %.1f MiB with %d silent "
		    "connections, %.1f MiB once each announced a 4 MiB frame "
		    "(well-behaved CreateSession meanwhile: %.2f ms)\n",
		    before / 1024.0, kConns, rss / 1024.0, ms);
	EXPECT_GT(rss, 0U);
	// Up front, the announcements cost 2 GB (500 x 4 MiB zeroed); as
	// bytes arrive, a first 64 KiB each (more in sanitizer builds,
	// whose shadow memory follows the heap).
	EXPECT_LT(rss - std::min(rss, before), 512U * 1024);
}

} // namespace
} // namespace agent_test
