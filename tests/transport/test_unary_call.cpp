// SPDX-License-Identifier: Apache-2.0
// UnaryClient, the launcher's and the CLI's client, against a peer written
// here with plain socket calls and its own framing (big-endian length and
// stream id, type, flags): replies at once, late (past the client's short
// poll for its reply), split across writes, refused, or never.
#include "rpc/ttrpc.pb.h"
#include "test_helpers.h"
#include "transport/spare_cores.h"
#include "transport/unary_call.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

namespace vaccel::transport::test
{
namespace
{

using namespace std::chrono_literals;

struct RawFrame {
	uint32_t stream = 0;
	uint8_t type = 0;
	std::string payload;
};

bool read_all(int fd, void *buf, size_t n)
{
	auto *p = static_cast<char *>(buf);
	while (n > 0) {
		const ssize_t r = ::read(fd, p, n);
		if (r <= 0)
			return false;
		p += r;
		n -= static_cast<size_t>(r);
	}
	return true;
}

bool read_raw(int fd, RawFrame *f)
{
	unsigned char h[10];
	if (!read_all(fd, h, sizeof(h)))
		return false;
	const uint32_t len = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) |
			     (uint32_t{h[2]} << 8) | h[3];
	f->stream = (uint32_t{h[4]} << 24) | (uint32_t{h[5]} << 16) |
		    (uint32_t{h[6]} << 8) | h[7];
	f->type = h[8];
	f->payload.resize(len);
	return read_all(fd, f->payload.data(), len);
}

std::string raw_header(uint32_t len, uint32_t stream, uint8_t type)
{
	std::string h(10, '\0');
	for (int i = 0; i < 4; ++i) {
		h[i] = static_cast<char>(len >> (24 - 8 * i));
		h[4 + i] = static_cast<char>(stream >> (24 - 8 * i));
	}
	h[8] = static_cast<char>(type);
	return h;
}

std::string response(int32_t code, const std::string &payload)
{
	rpc::ttrpc::Response r;
	r.mutable_status()->set_code(code);
	r.set_payload(payload);
	return r.SerializeAsString();
}

void write_str(int fd, const std::string &s)
{
	ASSERT_EQ(::write(fd, s.data(), s.size()),
		  static_cast<ssize_t>(s.size()));
}

// A peer on a unix socket in a private directory: accepts one connection
// and runs @p serve on it.
class Peer
{
public:
	explicit Peer(std::function<void(int)> serve)
	{
		path_ = dir_.path() + "/peer.sock";
		lfd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_un sa{};
		sa.sun_family = AF_UNIX;
		std::strncpy(sa.sun_path, path_.c_str(),
			     sizeof(sa.sun_path) - 1);
		EXPECT_EQ(
		    ::bind(lfd_, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)),
		    0);
		EXPECT_EQ(::listen(lfd_, 4), 0);
		thread_ = std::thread([this, serve = std::move(serve)] {
			const int c = ::accept(lfd_, nullptr, nullptr);
			if (c < 0)
				return;
			serve(c);
			::close(c);
		});
	}
	~Peer()
	{
		::shutdown(lfd_, SHUT_RDWR);
		thread_.join();
		::close(lfd_);
	}
	[[nodiscard]] Address address() const
	{
		auto a = parse_address("unix://" + path_);
		EXPECT_TRUE(a.is_ok());
		return a.value();
	}

private:
	TempDir dir_;
	std::string path_;
	int lfd_ = -1;
	std::thread thread_;
};

UnaryCall hello(std::string_view payload)
{
	return {.service = "test.Svc", .method = "Hello", .payload = payload};
}

// Answers every request with its own payload reversed, after @p delay.
std::function<void(int)> echo_reversed(std::chrono::microseconds delay)
{
	return [delay](int fd) {
		RawFrame f;
		while (read_raw(fd, &f)) {
			rpc::ttrpc::Request req;
			ASSERT_TRUE(req.ParseFromString(f.payload));
			EXPECT_EQ(req.service(), "test.Svc");
			std::string p(req.payload().rbegin(),
				      req.payload().rend());
			std::this_thread::sleep_for(delay);
			const std::string body = response(0, p);
			write_str(fd,
				  raw_header(static_cast<uint32_t>(body.size()),
					     f.stream, 2) +
				      body);
		}
	};
}

TEST(UnaryClient, CallsOnOneConnectionGetTheirOwnReplies)
{
	Peer peer(echo_reversed(0us));
	auto c = UnaryClient::connect(peer.address(), 5s);
	ASSERT_TRUE(c.is_ok()) << c.status().message();
	const std::string calls[] = {"abc", "", std::string(3000, 'x') + "y"};
	for (const std::string &s : calls) {
		auto r = c->call(hello(s));
		ASSERT_TRUE(r.is_ok()) << r.status().message();
		EXPECT_EQ(r.value(), std::string(s.rbegin(), s.rend()));
	}
}

TEST(UnaryClient, AReplyLaterThanItsPollIsStillRead)
{
	// Longer than the client polls for: it then waits in a blocking read.
	Peer peer(echo_reversed(30ms));
	auto c = UnaryClient::connect(peer.address(), 5s);
	ASSERT_TRUE(c.is_ok());
	for (int i = 0; i < 2; ++i) {
		auto r = c->call(hello("late"));
		ASSERT_TRUE(r.is_ok()) << r.status().message();
		EXPECT_EQ(r.value(), "etal");
	}
}

// The client polls for its reply for a short while only, then sleeps in
// its read: a reply that takes long costs it next to no CPU, even where
// polling is forced on a busy host.
TEST(UnaryClient, ALongWaitIsSpentAsleep)
{
	poll_on_busy_host(true);
	Peer peer(echo_reversed(200ms));
	auto c = UnaryClient::connect(peer.address(), 5s);
	ASSERT_TRUE(c.is_ok());
	timespec t0{}, t1{};
	::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	auto r = c->call(hello("slow"));
	::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	poll_on_busy_host(false);
	ASSERT_TRUE(r.is_ok()) << r.status().message();
	EXPECT_EQ(r.value(), "wols");
	const auto cpu = std::chrono::seconds(t1.tv_sec - t0.tv_sec) +
			 std::chrono::nanoseconds(t1.tv_nsec - t0.tv_nsec);
	// Polling through the whole wait would take about 200 ms.
	EXPECT_LT(cpu, 100ms);
}

// Descriptors passed with a request reach the peer (the launcher passes a
// sandbox's listening socket so), read-ahead or not on the client.
TEST(UnaryClient, DescriptorsGoWithTheRequest)
{
	Peer peer([](int fd) {
		char buf[512];
		iovec iov{buf, sizeof(buf)};
		alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
		msghdr msg{};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		ASSERT_GT(::recvmsg(fd, &msg, 0), 10);
		cmsghdr *c = CMSG_FIRSTHDR(&msg);
		ASSERT_NE(c, nullptr);
		ASSERT_EQ(c->cmsg_type, SCM_RIGHTS);
		int passed = -1;
		std::memcpy(&passed, CMSG_DATA(c), sizeof(int));
		write_str(passed, "through");
		::close(passed);
		const uint32_t stream =
		    (uint32_t{static_cast<uint8_t>(buf[4])} << 24) |
		    (uint32_t{static_cast<uint8_t>(buf[5])} << 16) |
		    (uint32_t{static_cast<uint8_t>(buf[6])} << 8) |
		    static_cast<uint8_t>(buf[7]);
		const std::string body = response(0, "ok");
		write_str(fd, raw_header(static_cast<uint32_t>(body.size()),
					 stream, 2) +
				  body);
	});
	int p[2];
	ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
	auto c = UnaryClient::connect(peer.address(), 5s);
	ASSERT_TRUE(c.is_ok());
	const int fds[1] = {p[1]};
	UnaryCall call = hello("fd");
	call.fds = fds;
	auto r = c->call(call);
	::close(p[1]);
	ASSERT_TRUE(r.is_ok()) << r.status().message();
	EXPECT_EQ(r.value(), "ok");
	char got[16] = {};
	EXPECT_EQ(::read(p[0], got, sizeof(got)), 7);
	EXPECT_STREQ(got, "through");
	::close(p[0]);
}

TEST(UnaryClient, AReplySplitAcrossWritesIsReassembled)
{
	Peer peer([](int fd) {
		RawFrame f;
		ASSERT_TRUE(read_raw(fd, &f));
		const std::string body = response(0, std::string(5000, 'z'));
		const std::string all =
		    raw_header(static_cast<uint32_t>(body.size()), f.stream,
			       2) +
		    body;
		// Half a header, then the rest of it with some payload,
		// then the remainder, each after a pause.
		for (auto [at, n] : {std::pair<size_t, size_t>{0, 5},
				     {5, 100},
				     {105, all.size() - 105}}) {
			write_str(fd, all.substr(at, n));
			std::this_thread::sleep_for(2ms);
		}
	});
	auto c = UnaryClient::connect(peer.address(), 5s);
	ASSERT_TRUE(c.is_ok());
	auto r = c->call(hello("x"));
	ASSERT_TRUE(r.is_ok()) << r.status().message();
	EXPECT_EQ(r.value(), std::string(5000, 'z'));
}

TEST(UnaryClient, RefusalsAndUnknownMethodsSaySo)
{
	Peer peer([](int fd) {
		RawFrame f;
		for (int32_t code : {12 /* unimplemented */, 7}) {
			ASSERT_TRUE(read_raw(fd, &f));
			rpc::ttrpc::Response r;
			r.mutable_status()->set_code(code);
			r.mutable_status()->set_message("no way");
			const std::string body = r.SerializeAsString();
			write_str(fd,
				  raw_header(static_cast<uint32_t>(body.size()),
					     f.stream, 2) +
				      body);
		}
	});
	auto c = UnaryClient::connect(peer.address(), 5s);
	ASSERT_TRUE(c.is_ok());
	auto r = c->call(hello("a"));
	ASSERT_FALSE(r.is_ok());
	EXPECT_EQ(r.status().code(), VACCEL_ENOTSUP);
	r = c->call(hello("b"));
	ASSERT_FALSE(r.is_ok());
	EXPECT_EQ(r.status().code(), VACCEL_EREMOTEIO);
	EXPECT_NE(r.status().message().find("no way"), std::string::npos);
}

TEST(UnaryClient, APeerThatHangsUpFailsTheCallAndTheConnection)
{
	Peer peer([](int fd) {
		RawFrame f;
		ASSERT_TRUE(read_raw(fd, &f));
		// Half a header, then gone.
		write_str(fd, raw_header(100, f.stream, 2).substr(0, 4));
	});
	auto c = UnaryClient::connect(peer.address(), 5s);
	ASSERT_TRUE(c.is_ok());
	auto r = c->call(hello("a"));
	ASSERT_FALSE(r.is_ok());
	EXPECT_EQ(r.status().code(), VACCEL_EIO);
	r = c->call(hello("b"));
	ASSERT_FALSE(r.is_ok());
	EXPECT_EQ(r.status().code(), VACCEL_EIO);
}

} // namespace
} // namespace vaccel::transport::test
