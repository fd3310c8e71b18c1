// SPDX-License-Identifier: Apache-2.0
// Wire parity with ttrpc's reference server and upstream's agent, against a
// real vaccel-agent process: raw connections that break ttrpc's stream id
// rules or send messages that do not parse get the reference server's
// status on their own stream id and keep their connection; the rpc plugin
// sends increasing ids from many threads, and classifies through an agent
// that has no Genop (a relay in front of a real agent plays one) with
// upstream's ImageClassification method.
#include "rpc_test.h"

#include "rpc/session.pb.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

namespace rpc_test
{
namespace
{

namespace tr = vaccel::transport;
constexpr int kInvalidArgument = 3;
constexpr int kInternal = 13;
constexpr int kUnimplemented = 12;

// A raw connection that reads replies with their stream ids.
class Wire
{
public:
	explicit Wire(const std::string &address)
	{
		EXPECT_TRUE(raw_.connect(address));
	}

	bool send(uint32_t id, tr::MsgType type, const std::string &payload,
		  uint8_t flags = 0)
	{
		return raw_.send_frame(id, type, flags, payload);
	}
	bool request(uint32_t id, const std::string &method,
		     const std::string &payload)
	{
		return send(id, tr::MsgType::Request,
			    RawConn::request(std::string(tr::kServiceSync),
					     method, payload));
	}

	struct Reply {
		uint32_t id = 0;
		int code = -1;
		int details = 0;
	};
	// The next Response frame (nullopt: none came, or the peer closed).
	std::optional<Reply> reply()
	{
		auto f = tr::read_frame(raw_.stream(), tr::kDefaultMaxFrame,
					tr::deadline_in(10000ms));
		if (!f || f->header.type != tr::MsgType::Response)
			return std::nullopt;
		vaccel::rpc::ttrpc::Response r;
		if (!r.ParseFromArray(f->payload.data(),
				      static_cast<int>(f->payload.size())))
			return std::nullopt;
		return Reply{f->header.stream_id, r.status().code(),
			     r.status().details_size()};
	}

	// A CreateSession on @p id works: the connection is still served.
	void expect_served(uint32_t id)
	{
		ASSERT_TRUE(request(id, "CreateSession", create_session_));
		auto r = reply();
		ASSERT_TRUE(r);
		EXPECT_EQ(r->id, id);
		EXPECT_EQ(r->code, 0);
	}

	// Expects the next reply to refuse stream @p id with @p code.
	void expect_refused(uint32_t id, int code)
	{
		auto r = reply();
		ASSERT_TRUE(r) << "no reply for stream " << id;
		EXPECT_EQ(r->id, id);
		EXPECT_EQ(r->code, code);
	}

private:
	RawConn raw_;
	std::string create_session_ =
	    vaccel::rpc::session::CreateRequest().SerializeAsString();
};

class RpcWire : public ::testing::Test
{
protected:
	void SetUp() override
	{
		agent_ = std::make_unique<Agent>(dir_.path(), "agent");
		ASSERT_TRUE(agent_->start(TEST_NOOP_PLUGIN)) << agent_->log();
	}
	void TearDown() override
	{
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		agent_.reset();
	}

	TempDir dir_;
	std::unique_ptr<Agent> agent_;
};

// Even ids are the server's: a client's request or data on one is refused
// INVALID_ARGUMENT on that id, and the connection goes on.
TEST_F(RpcWire, EvenStreamIdsAreRefusedOnTheirStream)
{
	Wire w(agent_->address());
	ASSERT_TRUE(w.request(2, "CreateSession", ""));
	w.expect_refused(2, kInvalidArgument);
	ASSERT_TRUE(w.send(4, tr::MsgType::Data, "x"));
	w.expect_refused(4, kInvalidArgument);
	ASSERT_TRUE(w.request(0, "CreateSession", ""));
	w.expect_refused(0, kInvalidArgument);
	w.expect_served(1);
	// Refused requests ran nothing: only stream 1's session exists.
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->sessions(), 1U);
}

// A request's id must be above every earlier request's on the connection:
// a reused or lower id is refused, and a later higher one still served.
TEST_F(RpcWire, RequestIdsMustIncrease)
{
	Wire w(agent_->address());
	w.expect_served(5);
	ASSERT_TRUE(w.request(5, "CreateSession", ""));
	w.expect_refused(5, kInvalidArgument);
	ASSERT_TRUE(w.request(3, "CreateSession", ""));
	w.expect_refused(3, kInvalidArgument);
	w.expect_served(7);
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->sessions(), 2U);
}

// A virtio-serial port carries the guest's successive clients on one byte
// stream, each starting at id 1 again: id 1 with nothing in flight is a new
// client (and is served); any other lower id is still refused.
TEST_F(RpcWire, IdOneAgainWhenIdleIsTheNextClientOfASharedStream)
{
	Wire w(agent_->address());
	w.expect_served(1);
	w.expect_served(3);
	w.expect_served(1); // the port's next guest process
	w.expect_served(3);
	ASSERT_TRUE(w.request(3, "CreateSession", ""));
	w.expect_refused(3, kInvalidArgument);
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->sessions(), 4U);
}

// Data on a stream that was never opened is refused.
TEST_F(RpcWire, DataOnAStreamNotOpenIsRefused)
{
	Wire w(agent_->address());
	ASSERT_TRUE(w.send(9, tr::MsgType::Data, "abc", tr::kFlagRemoteClosed));
	w.expect_refused(9, kInvalidArgument);
	w.expect_served(11);
}

// What does not parse: a ttrpc envelope is INVALID_ARGUMENT, a method's
// message INTERNAL (containerd's server answers its handlers' unmarshal
// failures so), with no vAccel error attached; the connection goes on.
TEST_F(RpcWire, MalformedMessagesGetTheReferenceCodes)
{
	Wire w(agent_->address());
	ASSERT_TRUE(w.send(1, tr::MsgType::Request, "\xff\xff\xff"));
	w.expect_refused(1, kInvalidArgument);
	ASSERT_TRUE(w.request(3, "CreateSession", "\xff\xff\xff"));
	auto r = w.reply();
	ASSERT_TRUE(r);
	EXPECT_EQ(r->id, 3U);
	EXPECT_EQ(r->code, kInternal);
	EXPECT_EQ(r->details, 0);
	// A streaming request whose envelope does not parse: refused the
	// same way, not a reason to drop the connection.
	ASSERT_TRUE(
	    w.send(5, tr::MsgType::Request, "\xff\xff", tr::kFlagRemoteOpen));
	w.expect_refused(5, kInvalidArgument);
	w.expect_served(7);
}

// Classification's two outputs, marked before each call so that a test
// sees what the call wrote.
struct Marked {
	unsigned char text[64];
	unsigned char name[64];

	int classify(vaccel_session &s, const std::string &img)
	{
		std::memset(text, 'x', sizeof(text));
		std::memset(name, 'y', sizeof(name));
		return vaccel_image_classification(&s, img.data(), text, name,
						   img.size(), sizeof(text),
						   sizeof(name));
	}
	[[nodiscard]] bool untouched() const
	{
		return std::all_of(std::begin(text), std::end(text),
				   [](unsigned char c) { return c == 'x'; }) &&
		       std::all_of(std::begin(name), std::end(name),
				   [](unsigned char c) { return c == 'y'; });
	}
};

// A relay in front of a real agent. With @p no_genop it answers like an
// upstream agent built without Genop: Genop, GenopStream and our Hello are
// UNIMPLEMENTED, everything else is passed through. It counts what it
// refused, what went to ImageClassification, and requests whose stream id
// was not above the one before (what a ttrpc server refuses). With
// @p tamper, the payload of every Genop reply passes through it first (a
// broken or hostile agent).
class Relay
{
public:
	using Tamper = std::function<void(std::string &genop_response)>;

	Relay(const std::string &dir, const std::string &agent, bool no_genop,
	      Tamper tamper = {})
	    : agent_(agent), no_genop_(no_genop), tamper_(std::move(tamper))
	{
		auto addr = tr::parse_address("unix://" + dir + "/relay.sock");
		EXPECT_TRUE(addr);
		auto l = tr::Listener::bind(addr.value());
		EXPECT_TRUE(l) << l.status().message();
		listener_ = std::move(l).value();
		address_ = "unix://" + dir + "/relay.sock";
		acceptor_ = std::thread([this] { accept_loop(); });
	}
	~Relay()
	{
		stopping_ = true;
		listener_.shutdown();
		acceptor_.join();
		std::lock_guard lock(mu_);
		for (auto &p : pipes_) {
			p->client.shutdown();
			p->agent.shutdown();
		}
		for (auto &p : pipes_) {
			p->up.join();
			p->down.join();
		}
	}

	[[nodiscard]] const std::string &address() const { return address_; }
	std::atomic<int> genop_refused{0};
	std::atomic<int> classifications{0};
	std::atomic<int> out_of_order{0};

private:
	struct Pipe {
		tr::Stream client, agent;
		std::mutex write_mu; // replies from both directions' threads
		std::thread up, down;
	};

	void accept_loop()
	{
		while (!stopping_) {
			auto c = listener_.accept();
			if (!c)
				return;
			auto a = tr::connect(tr::parse_address(agent_).value(),
					     2000ms);
			if (!a)
				continue;
			auto p = std::make_unique<Pipe>();
			p->client = std::move(c).value();
			p->agent = std::move(a).value();
			Pipe *raw = p.get();
			p->up = std::thread([this, raw] { up(*raw); });
			p->down = std::thread([this, raw] { down(*raw); });
			std::lock_guard lock(mu_);
			pipes_.push_back(std::move(p));
		}
	}

	bool missing(const vaccel::rpc::ttrpc::Request &req) const
	{
		return no_genop_ && (req.method() == "Genop" ||
				     req.method() == "GenopStream" ||
				     req.method() == "Hello");
	}

	void up(Pipe &p)
	{
		std::set<uint32_t> dropped; // refused streams' data
		uint32_t last_request = 0;
		for (;;) {
			auto f =
			    tr::read_frame(p.client, 64u << 20, std::nullopt);
			if (!f)
				break;
			const auto &h = f->header;
			if (h.type == tr::MsgType::Request) {
				if (h.stream_id <= last_request)
					++out_of_order;
				last_request = h.stream_id;
			}
			vaccel::rpc::ttrpc::Request req;
			if (h.type == tr::MsgType::Request &&
			    req.ParseFromArray(
				f->payload.data(),
				static_cast<int>(f->payload.size()))) {
				if (missing(req)) {
					refuse(p, h.stream_id, req);
					if ((h.flags & tr::kFlagRemoteOpen) !=
					    0)
						dropped.insert(h.stream_id);
					continue;
				}
				if (req.method() == "ImageClassification")
					++classifications;
				if (req.method() == "Genop") {
					std::lock_guard lock(mu_);
					genops_.insert(h.stream_id);
				}
			}
			if (h.type == tr::MsgType::Data &&
			    dropped.contains(h.stream_id))
				continue;
			if (!tr::write_frame(p.agent, h, f->payload,
					     tr::deadline_in(5000ms)))
				break;
		}
		p.agent.shutdown();
	}

	void refuse(Pipe &p, uint32_t id, const vaccel::rpc::ttrpc::Request &r)
	{
		if (r.method() != "Hello")
			++genop_refused;
		vaccel::rpc::ttrpc::Response resp;
		resp.mutable_status()->set_code(kUnimplemented);
		resp.mutable_status()->set_message("method " + r.method());
		const std::string bytes = resp.SerializeAsString();
		tr::FrameHeader h;
		h.stream_id = id;
		h.type = tr::MsgType::Response;
		h.length = static_cast<uint32_t>(bytes.size());
		std::lock_guard lock(p.write_mu);
		(void)tr::write_frame(
		    p.client, h,
		    std::span(reinterpret_cast<const uint8_t *>(bytes.data()),
			      bytes.size()),
		    tr::deadline_in(5000ms));
	}

	void down(Pipe &p)
	{
		for (;;) {
			auto f =
			    tr::read_frame(p.agent, 64u << 20, std::nullopt);
			if (!f)
				break;
			if (tamper_ &&
			    f->header.type == tr::MsgType::Response &&
			    is_genop(f->header.stream_id))
				tamper_reply(*f);
			std::lock_guard lock(p.write_mu);
			if (!tr::write_frame(p.client, f->header, f->payload,
					     tr::deadline_in(5000ms)))
				break;
		}
		p.client.shutdown();
	}

	bool is_genop(uint32_t id)
	{
		std::lock_guard lock(mu_);
		return genops_.erase(id) != 0;
	}

	void tamper_reply(tr::Frame &f)
	{
		vaccel::rpc::ttrpc::Response resp;
		if (!resp.ParseFromArray(f.payload.data(),
					 static_cast<int>(f.payload.size())))
			return;
		std::string payload = resp.payload();
		tamper_(payload);
		resp.set_payload(payload);
		const std::string bytes = resp.SerializeAsString();
		f.payload.assign(bytes.begin(), bytes.end());
		f.header.length = static_cast<uint32_t>(bytes.size());
	}

	std::string agent_;
	const bool no_genop_;
	const Tamper tamper_;
	std::set<uint32_t> genops_; // requests whose reply may be tampered
	std::string address_;
	tr::Listener listener_;
	std::atomic<bool> stopping_{false};
	std::thread acceptor_;
	std::mutex mu_;
	std::vector<std::unique_ptr<Pipe>> pipes_;
};

// Classification through an agent without Genop: the plugin asks Genop
// once, then uses ImageClassification on that connection; the tags are
// the agent-side backend's (noop's), the image name is left as it was.
TEST_F(RpcWire, ClassificationFallsBackToItsOwnMethodWithoutGenop)
{
	Relay relay(dir_.path(), agent_->address(), true);
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, relay.address()));
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	const std::string img = "not really a png";
	for (int i = 0; i < 2; ++i) {
		Marked out;
		ASSERT_EQ(out.classify(s, img), VACCEL_OK);
		EXPECT_STREQ(reinterpret_cast<char *>(out.text),
			     "This is a dummy classification tag!");
		EXPECT_EQ(out.name[0], 'y');
		// A short buffer is cut and terminated, as a local backend
		// does.
		unsigned char small[5];
		ASSERT_EQ(vaccel_image_classification(
			      &s, img.data(), small, out.name, img.size(),
			      sizeof(small), sizeof(out.name)),
			  VACCEL_OK);
		EXPECT_STREQ(reinterpret_cast<char *>(small), "This");
	}
	EXPECT_EQ(relay.genop_refused.load(), 1);
	EXPECT_EQ(relay.classifications.load(), 4);
	// An op with no method of its own has nothing to fall back to.
	EXPECT_EQ(vaccel_noop(&s), VACCEL_ENOTSUP);
	EXPECT_EQ(relay.genop_refused.load(), 2);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
}

// A Genop reply that does not match the call (write args missing, or one of
// them malformed) fails the call with VACCEL_EREMOTEIO and leaves every
// output buffer as it was: none is half written from a reply that is
// refused as a whole.
TEST_F(RpcWire, ABadGenopReplyFailsTheCallAndWritesNothing)
{
	// Classification's write args: the tag, then the image name.
	const std::string good_then_bad = [] {
		std::string tag = "\x0a\x04TAG!"; // Arg{buf: "TAG!"}
		std::string bad = "\x0a\x64Z";    // buf says 100 bytes, has 1
		return "\x0a" + std::string(1, static_cast<char>(tag.size())) +
		       tag + "\x0a" +
		       std::string(1, static_cast<char>(bad.size())) + bad;
	}();
	const std::vector<std::pair<const char *, std::string>> replies = {
	    {"no write args", ""}, {"the second arg malformed", good_then_bad}};
	for (const auto &[what, reply] : replies) {
		SCOPED_TRACE(what);
		// The first Genop's reply only: the noop after it is one too.
		Relay relay(
		    dir_.path(), agent_->address(), false,
		    [&reply, first = true](std::string &payload) mutable {
			    if (first)
				    payload = reply;
			    first = false;
		    });
		ASSERT_NO_FATAL_FAILURE(
		    restart_runtime(TEST_RPC_PLUGIN, relay.address()));
		vaccel_session s{};
		ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE),
			  VACCEL_OK);
		const std::string img = "img";
		Marked out;
		EXPECT_EQ(out.classify(s, img), VACCEL_EREMOTEIO);
		EXPECT_TRUE(out.untouched());
		// The connection is fine: the next call (no write args)
		// goes through.
		EXPECT_EQ(vaccel_noop(&s), VACCEL_OK);
		EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	}
}

// With Genop there, classification is one Genop and never the dedicated
// method (the agent's reply carries the image name too).
TEST_F(RpcWire, ClassificationUsesGenopWhenTheAgentHasIt)
{
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent_->address()));
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	const std::string img = "img";
	unsigned char text[64] = {};
	unsigned char name[64] = {};
	ASSERT_EQ(vaccel_image_classification(&s, img.data(), text, name,
					      img.size(), sizeof(text),
					      sizeof(name)),
		  VACCEL_OK);
	EXPECT_STREQ(reinterpret_cast<char *>(name),
		     "This is a dummy imgname!");
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
}

// Threads sharing one connection: every request reaches the wire with an id
// above the one before it, as ttrpc servers require (the agent, which
// enforces it too, answers all of them).
TEST_F(RpcWire, ConcurrentCallsSendIncreasingStreamIds)
{
	Relay relay(dir_.path(), agent_->address(), false);
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, relay.address()));
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	constexpr int kThreads = 8;
	constexpr int kCalls = 300;
	std::atomic<int> failed{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&] {
			for (int i = 0; i < kCalls; ++i)
				if (vaccel_noop(&s) != VACCEL_OK)
					++failed;
		});
	for (auto &t : threads)
		t.join();
	EXPECT_EQ(failed.load(), 0);
	EXPECT_EQ(relay.out_of_order.load(), 0);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
}

} // namespace
} // namespace rpc_test
