// SPDX-License-Identifier: Apache-2.0
// Reply slots end to end (transport/reply_slot.h): a real agent puts the
// replies of a polling caller in shared memory; replies larger than a slot,
// callers that do not poll, many threads sharing the slots, a call that
// times out while its slot is armed, slots the agent cannot use, and a host
// too busy for anyone to poll.
#include "rpc_test.h"

#include "busy_host.h"
#include "transport/reply_slot.h"

#include <vaccel.hpp>

#include <sys/mman.h>
#include <sys/sysinfo.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

using namespace rpc_test;
namespace tp = vaccel::transport;

namespace
{

class ReplySlots : public ::testing::Test
{
protected:
	void TearDown() override
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		for (const char *v :
		     {"VACCEL_TEST_REPLY_SLOTS", "VACCEL_RPC_POLL_US",
		      "VACCEL_RPC_REPLY_SLOTS", "VACCEL_RPC_TRACE",
		      "VACCEL_RPC_SHM_THRESHOLD", "VACCEL_POLL_BUSY_HOST",
		      "VACCEL_RPC_CONNECT_EARLY"})
			::unsetenv(v);
	}

	// An agent with the exec plugin; the client with slots on and polling
	// unless @p slots is false. Both poll even on a busy machine (this
	// suite runs beside others) unless @p busy_host_polls is false.
	void start(bool slots = true, const char *timeout_ms = "20000",
		   bool busy_host_polls = true)
	{
		ASSERT_NO_FATAL_FAILURE(
		    load_client(slots, timeout_ms, busy_host_polls));
		ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE),
			  VACCEL_OK);
	}

	// start() up to the plugin's load: no session yet.
	void load_client(bool slots = true, const char *timeout_ms = "20000",
			 bool busy_host_polls = true)
	{
		::setenv("VACCEL_POLL_BUSY_HOST", busy_host_polls ? "1" : "0",
			 1);
		agent_ = std::make_unique<Agent>(dir_.path(), "slots");
		const std::vector<std::string> env = {
		    std::string("VACCEL_POLL_BUSY_HOST=") +
		    (busy_host_polls ? "1" : "0")};
		ASSERT_TRUE(agent_->start(TEST_EXEC_PLUGIN, agent_args_, env))
		    << agent_->log();
		::setenv("VACCEL_TEST_REPLY_SLOTS", slots ? "1" : "0", 1);
		trace_ = dir_.file("client.tsv");
		::setenv("VACCEL_RPC_TRACE", trace_.c_str(), 1);
		ASSERT_NO_FATAL_FAILURE(restart_runtime(
		    TEST_RPC_PLUGIN, agent_->address(), timeout_ms));
	}

	// The agent's regions once they are @p n (bounded wait: the agent
	// maps a region posted at the plugin's load, and unmaps those of a
	// connection that closed, when it gets to it).
	uint64_t regions_become(uint64_t n)
	{
		const auto until =
		    std::chrono::steady_clock::now() + std::chrono::seconds(5);
		uint64_t seen = agent_regions();
		while (seen != n && std::chrono::steady_clock::now() < until) {
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(5));
			seen = agent_regions();
		}
		return seen;
	}

	// bulk_transform of @p size bytes seeded with @p seed; true when the
	// call succeeded and every output byte is right.
	bool transform(size_t size, uint8_t seed)
	{
		return transform_on(&sess_, size, seed);
	}
	static bool transform_on(vaccel_session *s, size_t size, uint8_t seed)
	{
		std::vector<uint8_t> in(size), out(size);
		for (size_t i = 0; i < size; ++i)
			in[i] = static_cast<uint8_t>(seed + i * 13);
		vaccel_arg r{in.data(), size, VACCEL_ARG_RAW, 0, false};
		vaccel_arg w{out.data(), size, VACCEL_ARG_RAW, 0, false};
		if (vaccel_exec(s, TEST_BULK_LIB, "bulk_transform", &r, 1, &w,
				1) != VACCEL_OK)
			return false;
		for (size_t i = 0; i < size; ++i)
			if (out[i] != static_cast<uint8_t>(in[i] * 31u + 7u))
				return false;
		return true;
	}

	// @p n transforms from the first size up, each one right.
	void transforms(int n, size_t first)
	{
		for (int i = 0; i < n; ++i)
			ASSERT_TRUE(transform(first + static_cast<size_t>(i),
					      static_cast<uint8_t>(i)))
			    << "call " << i;
	}

	// The client trace's exec lines (written at cleanup): how many, and
	// how many had their reply through a slot.
	std::pair<int, int> exec_replies()
	{
		EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		sess_.id = 0;
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		std::ifstream in(trace_);
		std::string line;
		std::getline(in, line);
		EXPECT_NE(line.find("\tslot"), std::string::npos) << line;
		int execs = 0, slotted = 0;
		while (std::getline(in, line)) {
			if (line.rfind("exec\t", 0) != 0)
				continue;
			++execs;
			slotted += line.back() == '1' ? 1 : 0;
		}
		return {execs, slotted};
	}

	uint64_t agent_regions()
	{
		auto st = agent_stats(agent_->address());
		EXPECT_TRUE(st);
		return st ? st->regions() : ~uint64_t{0};
	}

	TempDir dir_;
	std::vector<std::string> agent_args_{"--workers", "4"};
	std::unique_ptr<Agent> agent_;
	vaccel_session sess_{};
	std::string trace_;
};

// A polling caller gets its replies through a slot, right, and the slots
// take one region on the agent.
TEST_F(ReplySlots, PollingCallerGetsRepliesThroughTheSlot)
{
	ASSERT_NO_FATAL_FAILURE(start());
	constexpr int kCalls = 200;
	for (int i = 0; i < kCalls; ++i)
		ASSERT_TRUE(transform(4096 + i, static_cast<uint8_t>(i)))
		    << "call " << i;
	EXPECT_EQ(agent_regions(), 1U + kEarlyBlock);
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	const auto [execs, slotted] = exec_replies();
	EXPECT_EQ(execs, kCalls);
	// Delivered with nothing on the socket: at most what the caller
	// found in the slot (it may find one the agent also sent).
	EXPECT_GT(st->slot_replies(), 0U);
	EXPECT_LE(st->slot_replies(), static_cast<uint64_t>(slotted) + 2);
	// Most; a call whose reply took longer than the caller polled got it
	// from the socket (a loaded CI machine).
	EXPECT_GT(slotted, 0);
	// And requests came the same way while the agent's reader watched
	// the slots (the rest on the socket).
	EXPECT_GT(st->slot_requests(), 0U);
	EXPECT_LE(st->slot_requests(), static_cast<uint64_t>(kCalls) + 1);
}

// Threads that fill every core: the caller sleeps on the socket instead of
// polling a slot (transport/spare_cores.h), and every call is still right.
TEST_F(ReplySlots, NoOnePollsWhileTheHostIsBusy)
{
	ASSERT_NO_FATAL_FAILURE(start(true, "20000", false));
	bool right = false;
	{
		const tp::test::BusyHost busy;
		ASSERT_TRUE(busy.seen()) << "busy threads went unseen";
		right = true;
		for (int i = 0; right && i < 20; ++i)
			right = transform(2048 + i, static_cast<uint8_t>(i));
	}
	EXPECT_TRUE(right);
	const auto [execs, slotted] = exec_replies();
	EXPECT_EQ(execs, 20);
	EXPECT_EQ(slotted, 0);
}

// The agent dies while its reader watches the request slots (its flag stays
// up in the shared region): the next call is not posted into a slot nobody
// takes, and fails at once instead of waiting out its timeout.
TEST_F(ReplySlots, AgentDeadWithItsSlotsWatchedFailsTheNextCallAtOnce)
{
	ASSERT_NO_FATAL_FAILURE(start());
	for (int i = 0; i < 50; ++i)
		ASSERT_TRUE(transform(1024 + i, static_cast<uint8_t>(i)));
	agent_->stop(SIGKILL); // right after a call: its reader is watching
	const auto t0 = std::chrono::steady_clock::now();
	EXPECT_FALSE(transform(1024, 7));
	EXPECT_LT(std::chrono::steady_clock::now() - t0,
		  std::chrono::seconds(10))
	    << "the call waited for its 20 s timeout";
	(void)vaccel_session_release(&sess_);
	sess_.id = 0;
}

// VACCEL_RPC_REQUEST_SLOTS=0: replies still through the slots, every
// request on the socket.
TEST_F(ReplySlots, RequestSlotsOffSendsEveryRequestOnTheSocket)
{
	::setenv("VACCEL_RPC_REQUEST_SLOTS", "0", 1);
	ASSERT_NO_FATAL_FAILURE(start());
	for (int i = 0; i < 100; ++i)
		ASSERT_TRUE(transform(1024 + i, static_cast<uint8_t>(i)));
	auto st = agent_stats(agent_->address());
	::unsetenv("VACCEL_RPC_REQUEST_SLOTS");
	ASSERT_TRUE(st);
	EXPECT_EQ(st->slot_requests(), 0U);
	const auto [execs, slotted] = exec_replies();
	EXPECT_EQ(execs, 100);
	EXPECT_GT(slotted, 0);
}

// Calls that take longer than half the polling maximum: the caller
// sleeps through most of the wait, then polls the slot around the usual
// reply time (SpinPolicy::plan); replies still come through the slot.
TEST_F(ReplySlots, SleepThenPollStillGetsRepliesThroughTheSlot)
{
	ASSERT_NO_FATAL_FAILURE(start());
	ASSERT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
	::setenv("VACCEL_RPC_POLL_US", "1500", 1);
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent_->address()));
	sess_ = {};
	ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	const auto slow = [&] {
		int32_t ms = 2; // about 2 ms: more than half of 1.5 ms
		vaccel_arg r{&ms, sizeof(ms), VACCEL_ARG_INT32, 0, false};
		return vaccel_exec(&sess_, TEST_BULK_LIB, "bulk_sleep", &r, 1,
				   nullptr, 0);
	};
	constexpr int kCalls = 40;
	for (int i = 0; i < kCalls; ++i)
		ASSERT_EQ(slow(), VACCEL_OK);
	// Quick calls in between: their replies come while the caller still
	// sleeps (it wakes on the socket), and none may be mistaken for
	// another's.
	for (int i = 0; i < kCalls; ++i) {
		ASSERT_EQ(slow(), VACCEL_OK);
		ASSERT_TRUE(transform(700 + i, static_cast<uint8_t>(i)));
	}
	const auto [execs, slotted] = exec_replies();
	EXPECT_EQ(execs, 3 * kCalls);
	EXPECT_GT(slotted, 0);
}

// A reply larger than a slot comes on the socket, told so by the slot,
// mixed with small ones that still use it.
TEST_F(ReplySlots, RepliesLargerThanASlotComeOnTheSocket)
{
	// Keep 200 KB calls off the shared-memory data plane: plain calls.
	::setenv("VACCEL_RPC_SHM_THRESHOLD", "1000000000", 1);
	ASSERT_NO_FATAL_FAILURE(start());
	for (int i = 0; i < 40; ++i) {
		const size_t size = i % 2 == 0 ? 200 * 1024 : 1024;
		ASSERT_TRUE(transform(size, static_cast<uint8_t>(i)))
		    << "call " << i;
	}
	const auto [execs, slotted] = exec_replies();
	EXPECT_EQ(execs, 40);
	EXPECT_LE(slotted, 20); // never the 200 KB ones
}

// The plugin maps the slot region and the first block of its shared memory
// along with its Hello when it loads, so that a sandbox's first calls do
// not wait for those round trips: the calls use that region (no second
// one) and get their replies through slots, and buffers from that block
// travel by reference with no mapping of their own.
TEST_F(ReplySlots, TheSlotRegionAndFirstBlockAreMappedWhenThePluginLoads)
{
	ASSERT_NO_FATAL_FAILURE(load_client());
	EXPECT_EQ(regions_become(2), 2U) << "not mapped before any session";
	ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	constexpr size_t n = 256 << 10;
	vaccel::Buffer in(n);
	vaccel::Buffer out(n);
	auto *bytes = static_cast<uint8_t *>(in.data());
	for (size_t i = 0; i < n; ++i)
		bytes[i] = static_cast<uint8_t>(i * 7);
	vaccel_arg r{in.data(), n, VACCEL_ARG_RAW, 0, false};
	vaccel_arg w{out.data(), n, VACCEL_ARG_RAW, 0, false};
	ASSERT_EQ(
	    vaccel_exec(&sess_, TEST_BULK_LIB, "bulk_transform", &r, 1, &w, 1),
	    VACCEL_OK);
	const auto *got = static_cast<const uint8_t *>(out.data());
	for (size_t i = 0; i < n; ++i)
		ASSERT_EQ(got[i], static_cast<uint8_t>(bytes[i] * 31u + 7u))
		    << i;
	ASSERT_NO_FATAL_FAILURE(transforms(49, 4096));
	EXPECT_EQ(agent_regions(), 1U + kEarlyBlock)
	    << "a region mapped beyond those made at load";
	const auto [execs, slotted] = exec_replies();
	EXPECT_EQ(execs, 50);
	EXPECT_GT(slotted, 0);
}

// Connecting at the first session instead: that session maps the region.
TEST_F(ReplySlots, WithoutAnEarlyConnectionTheFirstCallMapsTheSlots)
{
	::setenv("VACCEL_RPC_CONNECT_EARLY", "0", 1);
	ASSERT_NO_FATAL_FAILURE(load_client());
	EXPECT_EQ(agent_regions(), 0U);
	ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	ASSERT_NO_FATAL_FAILURE(transforms(50, 4096));
	EXPECT_EQ(agent_regions(), 1U);
	const auto [execs, slotted] = exec_replies();
	EXPECT_EQ(execs, 50);
	EXPECT_GT(slotted, 0);
}

// An agent that offers no shared memory refuses the two mappings posted at
// the load (its trace shows both): the calls go on the socket, right, and
// nothing is logged as an error.
TEST_F(ReplySlots, AnAgentWithoutSharedMemoryRefusesTheEarlySlotsQuietly)
{
	const std::string agent_trace = dir_.file("agent.tsv");
	agent_args_.emplace_back("--no-shm");
	agent_args_.emplace_back("--trace=" + agent_trace);
	const std::string log = dir_.file("client.log");
	ASSERT_NO_FATAL_FAILURE(load_client());
	ASSERT_NO_FATAL_FAILURE(restart_runtime_logging_to(log));
	ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	ASSERT_NO_FATAL_FAILURE(transforms(20, 2048));
	EXPECT_EQ(agent_regions(), 0U);
	const auto [execs, slotted] = exec_replies();
	EXPECT_EQ(execs, 20);
	EXPECT_EQ(slotted, 0);
	EXPECT_EQ(slurp(log).find("<error>"), std::string::npos) << slurp(log);
	agent_->stop(); // writes out its trace
	// On the connection of the session (the runtime was loaded twice:
	// an earlier connection posted its own).
	std::istringstream lines(slurp(agent_trace));
	std::map<std::string, std::pair<int, int>> maps; // refused, mapped
	std::string session_conn;
	for (std::string line; std::getline(lines, line);) {
		std::vector<std::string> f;
		std::istringstream cols(line);
		for (std::string c; std::getline(cols, c, '\t');)
			f.push_back(c);
		if (f.size() <= 5)
			continue;
		if (f[2] == "CreateSession")
			session_conn = f[0];
		if (f[2] == "MapRegion")
			++(f[5] == "0" ? maps[f[0]].second : maps[f[0]].first);
	}
	ASSERT_FALSE(session_conn.empty()) << slurp(agent_trace);
	EXPECT_EQ(maps[session_conn].first, 2) << slurp(agent_trace);
	EXPECT_EQ(maps[session_conn].second, 0);
}

// A caller that never polls has no slots, slots on or not: nothing would
// watch them. (Slots turned off are what every other rpc test runs with;
// their region counts would see a slot region.)
TEST_F(ReplySlots, NoSlotsWithoutPolling)
{
	::setenv("VACCEL_RPC_POLL_US", "0", 1);
	ASSERT_NO_FATAL_FAILURE(start()); // slots on, polling off
	for (int i = 0; i < 20; ++i)
		ASSERT_TRUE(transform(2048, static_cast<uint8_t>(i)));
	EXPECT_EQ(agent_regions(), kEarlyBlock);
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->slot_replies(), 0U);
	const auto [execs, slotted] = exec_replies();
	EXPECT_EQ(execs, 20);
	EXPECT_EQ(slotted, 0);
}

// More threads than slots: some calls wait on the socket, all are right.
TEST_F(ReplySlots, ThreadsBeyondTheSlotCountAllGetTheirOwnReplies)
{
	ASSERT_NO_FATAL_FAILURE(start());
	constexpr int kThreads = 24, kCalls = 40;
	std::atomic<int> wrong{0};
	std::vector<std::thread> ts;
	for (int t = 0; t < kThreads; ++t)
		ts.emplace_back([&, t] {
			for (int i = 0; i < kCalls; ++i)
				if (!transform(1000 + 37 * t + i,
					       static_cast<uint8_t>(t * 7 + i)))
					++wrong;
		});
	for (auto &t : ts)
		t.join();
	EXPECT_EQ(wrong.load(), 0);
	EXPECT_EQ(agent_regions(), 1U + kEarlyBlock);
	const auto [execs, slotted] = exec_replies();
	EXPECT_EQ(execs, kThreads * kCalls);
}

// A call that times out while its slot is armed: the agent's late reply
// must not land in a slot another call uses (its slot is retired), and the
// calls after it are all right.
TEST_F(ReplySlots, TimedOutCallDoesNotCorruptLaterReplies)
{
	ASSERT_NO_FATAL_FAILURE(start(true, "300"));
	int32_t ms = 1000;
	vaccel_arg r{&ms, sizeof(ms), VACCEL_ARG_INT32, 0, false};
	EXPECT_EQ(
	    vaccel_exec(&sess_, TEST_BULK_LIB, "bulk_sleep", &r, 1, nullptr, 0),
	    VACCEL_EIO);
	// Calls all through the time the late reply arrives.
	const auto until = Clock::now() + 1500ms;
	int calls = 0;
	while (Clock::now() < until && calls < 100000) {
		ASSERT_TRUE(
		    transform(512 + calls % 300, static_cast<uint8_t>(calls)))
		    << "call " << calls;
		++calls;
	}
	EXPECT_GT(calls, 0);
}

// Slots the agent cannot use (an unknown region, a misaligned or
// out-of-range one, garbage) are ignored: the reply comes on the socket.
// A usable one gets the reply, and nothing on the socket.
TEST_F(ReplySlots, AgentIgnoresUnusableSlotsAndFillsAGoodOne)
{
	ASSERT_NO_FATAL_FAILURE(start(false));
	RawConn raw;
	ASSERT_TRUE(raw.connect(agent_->address()));
	constexpr size_t kMiB = size_t{1} << 20;
	int fd = ::memfd_create("slots", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(::ftruncate(fd, kMiB), 0);
	ASSERT_EQ(
	    ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
	    0);
	auto *base = static_cast<uint8_t *>(
	    ::mmap(nullptr, kMiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	ASSERT_NE(base, MAP_FAILED);
	vaccel::rpc::ext::MapRegion m;
	m.set_region(5);
	m.set_size(kMiB);
	ASSERT_TRUE(
	    raw.send_frame(1, tp::MsgType::Request, 0,
			   RawConn::request(std::string(tp::kServiceData),
					    "MapRegion", m.SerializeAsString()),
			   std::span(&fd, 1)));
	auto mapped = raw.read_response();
	ASSERT_TRUE(mapped);
	ASSERT_EQ(mapped->status().code(), 0);

	// Hello, naming @p slot; the stream id of the next frame on the
	// socket and its status.
	const auto hello = [&](uint32_t id, const std::string &slot) {
		vaccel::rpc::ttrpc::Request req;
		req.set_service(std::string(tp::kServiceAdmin));
		req.set_method("Hello");
		vaccel::rpc::ext::Hello h;
		h.set_version(1);
		req.set_payload(h.SerializeAsString());
		auto *kv = req.add_metadata();
		kv->set_key(std::string(tp::kReplySlotKey));
		kv->set_value(slot);
		EXPECT_TRUE(raw.send_frame(id, tp::MsgType::Request, 0,
					   req.SerializeAsString()));
	};
	const auto next_frame = [&]() -> std::pair<uint32_t, int> {
		auto f = tp::read_frame(raw.stream(), tp::kDefaultMaxFrame,
					tp::deadline_in(5000ms));
		if (!f)
			return {0, -1};
		vaccel::rpc::ttrpc::Response resp;
		resp.ParseFromArray(f.value().payload.data(),
				    static_cast<int>(f.value().payload.size()));
		return {f.value().header.stream_id, resp.status().code()};
	};
	uint32_t id = 3;
	for (const std::string bad :
	     {"77:0:65536", "5:32:65536", "5:0:64", "5:1015808:65536",
	      "5:0:99999999999", "nonsense"}) {
		tp::ReplySlot(base, 65536).arm(id);
		hello(id, bad);
		const auto [sid, code] = next_frame();
		EXPECT_EQ(sid, id) << bad;
		EXPECT_EQ(code, 0) << bad;
		EXPECT_EQ(tp::ReplySlot(base, 65536).ready().load(), 0U) << bad;
		id += 2;
	}
	// A good slot, polled: the reply is there, and the next frame on the
	// socket is the reply to the call after it.
	const tp::ReplySlot good(base + 65536, 65536);
	good.arm(id);
	hello(id, "5:65536:65536");
	const auto until = Clock::now() + 5s;
	while (good.ready().load() != id && Clock::now() < until)
		std::this_thread::yield();
	ASSERT_EQ(good.ready().load(), id);
	vaccel::rpc::ttrpc::Response resp;
	ASSERT_TRUE(resp.ParseFromArray(
	    good.reply(), static_cast<int>(good.length().load())));
	EXPECT_EQ(resp.status().code(), 0);
	vaccel::rpc::ext::Hello answer;
	ASSERT_TRUE(answer.ParseFromString(resp.payload()));
	EXPECT_NE(std::find(answer.features().begin(), answer.features().end(),
			    "reply-slots"),
		  answer.features().end());
	// Not waiting: the reply goes to the socket as well.
	good.arm(id + 2, false);
	hello(id + 2, "5:65536:65536");
	const auto [sid, code] = next_frame();
	EXPECT_EQ(sid, id + 2);
	EXPECT_EQ(code, 0);
	::munmap(base, kMiB);
	::close(fd);
}

// A raw peer that maps a slot region (MapRegion.slot_size): slot sizes
// the agent cannot use are refused; requests posted while the reader
// watches are taken from the slot and answered; garbage posted in a slot
// (a length beyond it, bytes that do not parse) gets an error reply on the
// socket and harms nothing.
TEST_F(ReplySlots, AgentTakesRequestsPostedInSlotsAndRefusesGarbage)
{
	ASSERT_NO_FATAL_FAILURE(start(false));
	// The raw peer alone: with more connections than may poll (one on a
	// small machine), no reader polls.
	ASSERT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
	sess_.id = 0;
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	// Its regions go once the agent sees the connection close.
	ASSERT_EQ(regions_become(0), 0U);
	RawConn raw;
	ASSERT_TRUE(raw.connect(agent_->address()));
	constexpr size_t kMiB = size_t{1} << 20, kSlot = 65536;
	int fd = ::memfd_create("slots", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(::ftruncate(fd, kMiB), 0);
	ASSERT_EQ(
	    ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
	    0);
	auto *base = static_cast<uint8_t *>(
	    ::mmap(nullptr, kMiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	ASSERT_NE(base, MAP_FAILED);
	uint32_t next_id = 1;
	const auto map = [&](uint32_t region, uint64_t slot_size) {
		vaccel::rpc::ext::MapRegion m;
		m.set_region(region);
		m.set_size(kMiB);
		m.set_slot_size(slot_size);
		EXPECT_TRUE(raw.send_frame(
		    next_id, tp::MsgType::Request, 0,
		    RawConn::request(std::string(tp::kServiceData), "MapRegion",
				     m.SerializeAsString()),
		    std::span(&fd, 1)));
		next_id += 2;
		auto r = raw.read_response();
		return r ? r->status().code() : -1;
	};
	const auto invalid = static_cast<int>(tp::RpcCode::InvalidArgument);
	for (uint64_t bad :
	     {uint64_t{100}, uint64_t{64}, uint64_t{4096}, uint64_t{2} * kMiB})
		EXPECT_EQ(map(7, bad), invalid)
		    << bad;             // 100 is not 64-aligned;
					// 4096: 256 slots
	EXPECT_EQ(agent_regions(), 0U); // refused ones are not kept
	ASSERT_EQ(map(5, kSlot), 0);

	const auto hello_bytes = [&](uint32_t slot_index) {
		vaccel::rpc::ttrpc::Request req;
		req.set_service(std::string(tp::kServiceAdmin));
		req.set_method("Hello");
		vaccel::rpc::ext::Hello h;
		h.set_version(1);
		req.set_payload(h.SerializeAsString());
		auto *kv = req.add_metadata();
		kv->set_key(std::string(tp::kReplySlotKey));
		kv->set_value(
		    tp::format_reply_slot(5, slot_index * kSlot, kSlot));
		return req.SerializeAsString();
	};
	// A socket call, which also sets the reader watching again.
	const auto nudge = [&] {
		auto r = raw.call(std::string(tp::kServiceAdmin), "Stats", "");
		ASSERT_TRUE(r);
		ASSERT_EQ(r->status().code(), 0);
	};
	const auto flag = tp::reader_polling(base);
	const tp::ReplySlot slot(base + kSlot, kSlot);
	// Post while the reader watches (it does, briefly, after each frame
	// of a peer that sends often); the reply comes through the slot.
	int taken = 0;
	for (int attempt = 0; attempt < 2000 && taken < 3; ++attempt) {
		nudge();
		const auto until = Clock::now() + 2ms;
		while (flag.load() == 0 && Clock::now() < until)
			std::this_thread::yield();
		const uint32_t id = 1001 + 2 * static_cast<uint32_t>(attempt);
		slot.arm(id);
		const std::string bytes = hello_bytes(1);
		const std::span<const uint8_t> parts[1] = {
		    std::span(reinterpret_cast<const uint8_t *>(bytes.data()),
			      bytes.size())};
		if (!slot.post(id, parts, flag)) {
			(void)slot.disarm(id);
			continue;
		}
		const auto deadline = Clock::now() + 5s;
		while (slot.ready().load() != id && Clock::now() < deadline)
			std::this_thread::yield();
		ASSERT_EQ(slot.ready().load(), id);
		vaccel::rpc::ttrpc::Response resp;
		ASSERT_TRUE(resp.ParseFromArray(
		    slot.reply(), static_cast<int>(slot.length().load())));
		EXPECT_EQ(resp.status().code(), 0);
		EXPECT_EQ(slot.request().load(), 0U); // taken
		++taken;
	}
	ASSERT_EQ(taken, 3);
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_GE(st->slot_requests(), 3U);

	// Garbage in slot 2: a length beyond the slot, bytes that are no
	// request. Taken the next time the reader looks; its error reply
	// goes on the socket, under the id it was posted with.
	const tp::ReplySlot junk(base + 2 * kSlot, kSlot);
	std::memset(base + 2 * kSlot + tp::kReplySlotHeader, 0xff, 256);
	junk.request_length().store(0xffffffffU);
	junk.request().store(4001);
	int junk_code = -1;
	for (uint32_t sid = 5001; sid < 5201 && junk_code < 0; sid += 2) {
		// Each socket call lets the reader look again.
		ASSERT_TRUE(raw.send_frame(
		    sid, tp::MsgType::Request, 0,
		    RawConn::request(std::string(tp::kServiceAdmin), "Stats",
				     "")));
		for (;;) {
			auto f =
			    tp::read_frame(raw.stream(), tp::kDefaultMaxFrame,
					   tp::deadline_in(5000ms));
			ASSERT_TRUE(f);
			const uint32_t got = f.value().header.stream_id;
			if (got == 4001) {
				vaccel::rpc::ttrpc::Response bad;
				ASSERT_TRUE(bad.ParseFromArray(
				    f.value().payload.data(),
				    static_cast<int>(
					f.value().payload.size())));
				junk_code = bad.status().code();
			}
			if (got == sid)
				break;
		}
	}
	EXPECT_EQ(junk.request().load(), 0U);
	EXPECT_EQ(junk_code, invalid);
	// Still serving.
	nudge();
	::munmap(base, kMiB);
	::close(fd);
}

} // namespace
