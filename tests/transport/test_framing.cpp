// SPDX-License-Identifier: Apache-2.0
// ttrpc framing and the generated vAccel RPC messages.
#include "test_helpers.h"

#include "rpc/common.pb.h"
#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "rpc/session.pb.h"
#include "rpc/ttrpc.pb.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

using namespace vaccel::transport;
using namespace vaccel::transport::test;
using namespace std::chrono_literals;
namespace rpc = vaccel::rpc;

// ---- allocation probe ----
// While armed, records the largest single operator new request, so a test
// can show an oversized frame is refused before anything is allocated.
namespace
{
std::atomic<bool> g_probe_armed{false};
std::atomic<size_t> g_probe_max{0};
} // namespace

void *operator new(size_t n)
{
	if (g_probe_armed.load(std::memory_order_relaxed)) {
		size_t cur = g_probe_max.load(std::memory_order_relaxed);
		while (n > cur && !g_probe_max.compare_exchange_weak(cur, n)) {
		}
	}
	if (void *p = std::malloc(n == 0 ? 1 : n))
		return p;
	throw std::bad_alloc();
}
void operator delete(void *p) noexcept
{
	std::free(p);
}
void operator delete(void *p, size_t) noexcept
{
	std::free(p);
}

// ---- headers ----

TEST(Framing, HeaderLayoutIsBigEndian)
{
	FrameHeader h{0x01020304u, 0x0a0b0c0du, MsgType::Response, 0x5a};
	uint8_t b[kFrameHeaderSize];
	encode_header(h, b);
	const uint8_t want[] = {1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 2, 0x5a};
	EXPECT_EQ(std::memcmp(b, want, sizeof(want)), 0);
	auto d = decode_header(b, UINT32_MAX);
	ASSERT_TRUE(d.is_ok()) << d.status().message();
	EXPECT_EQ(d->length, h.length);
	EXPECT_EQ(d->stream_id, h.stream_id);
	EXPECT_EQ(d->type, MsgType::Response);
	EXPECT_EQ(d->flags, 0x5a);
}

TEST(Framing, UnknownTypeRefused)
{
	for (uint8_t type : {uint8_t{0}, uint8_t{4}, uint8_t{255}}) {
		uint8_t b[kFrameHeaderSize] = {0, 0, 0, 1, 0, 0, 0, 1, type, 0};
		auto d = decode_header(b, kDefaultMaxFrame);
		ASSERT_FALSE(d.is_ok());
		EXPECT_EQ(d.status().code(), VACCEL_EINVAL);
		EXPECT_NE(d.status().message().find("type"), std::string::npos);
	}
}

TEST(Framing, LengthLimitIsInclusive)
{
	uint8_t b[kFrameHeaderSize];
	encode_header({kDefaultMaxFrame, 1, MsgType::Request, 0}, b);
	EXPECT_TRUE(decode_header(b, kDefaultMaxFrame).is_ok());
	encode_header({kDefaultMaxFrame + 1, 1, MsgType::Request, 0}, b);
	auto d = decode_header(b, kDefaultMaxFrame);
	ASSERT_FALSE(d.is_ok());
	EXPECT_EQ(d.status().code(), VACCEL_EINVAL);
	EXPECT_NE(d.status().message().find("exceeds"), std::string::npos);
}

// ---- frames over a stream ----

TEST(Framing, FrameRoundTrip)
{
	auto [a, b] = stream_pair();
	std::string payload(100000, 'p');
	// h.length is ignored: write_frame uses the payload's size.
	ASSERT_TRUE(write_frame(a, {12345, 7, MsgType::Request, 0},
				bytes(payload), deadline_in(5s)));
	ASSERT_TRUE(
	    write_frame(a, {0, 9, MsgType::Data, 1}, {}, deadline_in(5s)));
	auto f = read_frame(b, kDefaultMaxFrame, deadline_in(5s));
	ASSERT_TRUE(f.is_ok()) << f.status().message();
	EXPECT_EQ(f->header.length, payload.size());
	EXPECT_EQ(f->header.stream_id, 7u);
	EXPECT_EQ(f->header.type, MsgType::Request);
	EXPECT_EQ(std::string(f->payload.begin(), f->payload.end()), payload);
	auto e = read_frame(b, kDefaultMaxFrame, deadline_in(5s));
	ASSERT_TRUE(e.is_ok()) << e.status().message();
	EXPECT_EQ(e->header.stream_id, 9u);
	EXPECT_EQ(e->header.type, MsgType::Data);
	EXPECT_EQ(e->header.flags, 1);
	EXPECT_TRUE(e->payload.empty());
}

TEST(Framing, OversizedFrameRefusedBeforeAllocation)
{
	auto [a, b] = stream_pair();
	uint8_t h[kFrameHeaderSize];
	encode_header({0xfffffff0u, 1, MsgType::Request, 0}, h);
	ASSERT_TRUE(a.write_all(h, deadline_in(1s)));
	g_probe_max = 0;
	g_probe_armed = true;
	auto f = read_frame(b, kDefaultMaxFrame, deadline_in(1s));
	g_probe_armed = false;
	ASSERT_FALSE(f.is_ok());
	EXPECT_EQ(f.status().code(), VACCEL_EINVAL);
	EXPECT_NE(f.status().message().find("exceeds"), std::string::npos)
	    << f.status().message();
	// Only the error message was allocated.
	EXPECT_LT(g_probe_max.load(), 4096u);
}

TEST(Framing, OversizedPayloadNotSent)
{
	auto [a, b] = stream_pair();
	std::vector<uint8_t> big(kMaxFrameLimit + 1);
	auto st = write_frame(a, {}, big, deadline_in(1s));
	ASSERT_FALSE(st);
	EXPECT_EQ(st.code(), VACCEL_EINVAL);
}

TEST(Framing, TruncatedFrameIsAnError)
{
	// Header announces 100 bytes, the peer sends 10 and closes.
	{
		auto [a, b] = stream_pair();
		uint8_t h[kFrameHeaderSize];
		encode_header({100, 1, MsgType::Response, 0}, h);
		ASSERT_TRUE(a.write_all(h, deadline_in(1s)));
		ASSERT_TRUE(a.write_all(bytes("0123456789"), deadline_in(1s)));
		a.close();
		auto f = read_frame(b, kDefaultMaxFrame, deadline_in(2s));
		ASSERT_FALSE(f.is_ok());
		EXPECT_EQ(f.status().code(), VACCEL_EIO);
		EXPECT_NE(f.status().message().find("peer closed"),
			  std::string::npos);
		EXPECT_EQ(f.status().cause(), Cause::None); // mid-frame
	}
	// Half a header, then close.
	{
		auto [a, b] = stream_pair();
		ASSERT_TRUE(a.write_all(bytes("\0\0\0"), deadline_in(1s)));
		a.close();
		auto f = read_frame(b, kDefaultMaxFrame, deadline_in(2s));
		ASSERT_FALSE(f.is_ok());
		EXPECT_EQ(f.status().code(), VACCEL_EIO);
	}
	// Truncated and the peer stays silent: the deadline ends it.
	{
		auto [a, b] = stream_pair();
		uint8_t h[kFrameHeaderSize];
		encode_header({100, 1, MsgType::Response, 0}, h);
		ASSERT_TRUE(a.write_all(h, deadline_in(1s)));
		auto f = read_frame(b, kDefaultMaxFrame, deadline_in(50ms));
		ASSERT_FALSE(f.is_ok());
		EXPECT_EQ(f.status().code(), VACCEL_EIO);
		EXPECT_NE(f.status().message().find("timed out"),
			  std::string::npos);
		EXPECT_EQ(f.status().cause(), Cause::TimedOut);
	}
}

// ---- messages ----

// Field numbers are the wire contract with upstream: pin a few encodings.
TEST(Messages, WireEncodingsMatchUpstreamFieldNumbers)
{
	rpc::session::CreateResponse cr;
	cr.set_session_id(5);
	EXPECT_EQ(cr.SerializeAsString(), std::string("\x08\x05", 2));

	rpc::Error err; // type FFI (0) is the default and not sent
	err.set_ffi_error(22);
	EXPECT_EQ(err.SerializeAsString(), std::string("\x10\x16", 2));

	rpc::Status st;
	st.set_code(3);
	st.set_message("x");
	EXPECT_EQ(st.SerializeAsString(), std::string("\x18\x03\x22\x01x", 5));

	rpc::genop::Arg arg;
	arg.set_arg_type(rpc::genop::UINT8);
	arg.set_size(1);
	EXPECT_EQ(arg.SerializeAsString(), std::string("\x10\x01\x18\x09", 4));

	rpc::ttrpc::Response resp;
	resp.mutable_status()->set_code(13);
	EXPECT_EQ(resp.SerializeAsString(), std::string("\x0a\x02\x08\x0d", 4));
}

TEST(Messages, GenopRequestThroughTtrpcFrame)
{
	rpc::genop::Request req;
	req.set_session_id(42);
	auto *op = req.add_read_args();
	op->set_arg_type(rpc::genop::UINT8);
	op->set_buf(std::string("\x01", 1));
	op->set_size(1);
	auto *in = req.add_read_args();
	in->set_arg_type(rpc::genop::BUFFER);
	in->set_buf(std::string(5000, 'i'));
	in->set_size(5000);
	auto *out = req.add_write_args();
	out->set_arg_type(rpc::genop::FLOAT32_ARRAY);
	out->set_size(64);

	rpc::ttrpc::Request env;
	env.set_service(std::string(kServiceSync));
	env.set_method("Genop");
	env.set_timeout_nano(1'000'000'000);
	auto *md = env.add_metadata();
	md->set_key("k");
	md->set_value("v");
	ASSERT_TRUE(req.SerializeToString(env.mutable_payload()));
	std::string wire;
	ASSERT_TRUE(env.SerializeToString(&wire));

	auto [a, b] = stream_pair();
	ASSERT_TRUE(write_frame(a, {0, 3, MsgType::Request, 0}, bytes(wire),
				deadline_in(5s)));
	auto f = read_frame(b, kDefaultMaxFrame, deadline_in(5s));
	ASSERT_TRUE(f.is_ok()) << f.status().message();
	EXPECT_EQ(f->header.stream_id, 3u);

	rpc::ttrpc::Request got_env;
	ASSERT_TRUE(got_env.ParseFromArray(
	    f->payload.data(), static_cast<int>(f->payload.size())));
	EXPECT_EQ(got_env.service(), kServiceSync);
	EXPECT_EQ(got_env.method(), "Genop");
	EXPECT_EQ(got_env.timeout_nano(), 1'000'000'000);
	ASSERT_EQ(got_env.metadata_size(), 1);
	EXPECT_EQ(got_env.metadata(0).key(), "k");

	rpc::genop::Request got;
	ASSERT_TRUE(got.ParseFromString(got_env.payload()));
	EXPECT_EQ(got.session_id(), 42);
	ASSERT_EQ(got.read_args_size(), 2);
	EXPECT_EQ(got.read_args(0).arg_type(), rpc::genop::UINT8);
	EXPECT_EQ(got.read_args(0).buf(), std::string("\x01", 1));
	EXPECT_EQ(got.read_args(1).buf(), std::string(5000, 'i'));
	ASSERT_EQ(got.write_args_size(), 1);
	EXPECT_EQ(got.write_args(0).arg_type(), rpc::genop::FLOAT32_ARRAY);
	EXPECT_EQ(got.write_args(0).size(), 64u);
	EXPECT_TRUE(got.write_args(0).buf().empty());
}

TEST(Messages, ErrorDetailInResponseStatus)
{
	rpc::Error e;
	e.set_type(rpc::FFI);
	e.set_ffi_error(VACCEL_ENOTSUP);
	rpc::ttrpc::Response resp;
	resp.mutable_status()->set_code(13);
	auto *d = resp.mutable_status()->add_details();
	d->set_type_url(std::string(kVaccelErrorTypeUrl));
	ASSERT_TRUE(e.SerializeToString(d->mutable_value()));
	std::string wire = resp.SerializeAsString();

	rpc::ttrpc::Response got;
	ASSERT_TRUE(got.ParseFromString(wire));
	ASSERT_EQ(got.status().details_size(), 1);
	rpc::Error ge;
	ASSERT_TRUE(ge.ParseFromString(got.status().details(0).value()));
	EXPECT_TRUE(ge.has_ffi_error());
	EXPECT_EQ(ge.ffi_error(), static_cast<uint32_t>(VACCEL_ENOTSUP));
	EXPECT_FALSE(ge.has_status());
}

TEST(Messages, ExtensionMessages)
{
	rpc::ext::AgentStats s;
	s.set_sessions(1);
	s.set_resources(2);
	s.set_connections(3);
	s.set_requests(4);
	rpc::ext::AgentStats back;
	ASSERT_TRUE(back.ParseFromString(s.SerializeAsString()));
	EXPECT_EQ(back.requests(), 4u);
	rpc::ext::Hello h;
	h.set_version(1);
	h.add_features("stats");
	rpc::ext::Hello hb;
	ASSERT_TRUE(hb.ParseFromString(h.SerializeAsString()));
	EXPECT_EQ(hb.features(0), "stats");
}

// The rpc plugin carries its own copy of these messages; loading it into a
// process that has one too (an in-process agent in a test) must not abort.
TEST(Messages, SecondCopyInALoadedModuleCoexists)
{
	rpc::session::CreateResponse mine;
	mine.set_session_id(9);
	void *h = ::dlopen(TRANSPORT_COPY_FIXTURE, RTLD_NOW | RTLD_LOCAL);
	ASSERT_NE(h, nullptr) << ::dlerror();
	using Fn = int (*)(long long, char *, size_t);
	auto fn = reinterpret_cast<Fn>(::dlsym(h, "transport_copy_encode"));
	ASSERT_NE(fn, nullptr) << ::dlerror();
	char buf[32];
	int n = fn(9, buf, sizeof(buf));
	ASSERT_GT(n, 0);
	EXPECT_EQ(std::string(buf, static_cast<size_t>(n)),
		  mine.SerializeAsString());
	::dlclose(h);
}

// proto3 strings must be UTF-8: such a request is refused, and once the
// agent has silenced libprotobuf nothing reaches its log.
TEST(Messages, InvalidUtf8StringRefusedQuietly)
{
	rpc::ttrpc::Request bad;
	bad.set_method("Genop");
	std::string wire = bad.SerializeAsString();
	wire[wire.size() - 1] = '\xff';
	silence_protobuf_logging();
	testing::internal::CaptureStderr();
	rpc::ttrpc::Request got;
	EXPECT_FALSE(got.ParseFromString(wire));
	EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}
