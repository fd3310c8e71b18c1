// SPDX-License-Identifier: Apache-2.0
// Streams and listeners over every transport this host can run: unix,
// abstract unix, TCP v4/v6, hybrid vsock (against a fake VMM), a pty as a
// serial port; vsock is only bound, never connected.
#include "test_helpers.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <numeric>
#include <thread>

using namespace vaccel::transport;
using namespace vaccel::transport::test;
using namespace std::chrono_literals;

namespace
{

Address parse(const std::string &text)
{
	auto r = parse_address(text);
	EXPECT_TRUE(r.is_ok()) << r.status().message();
	return r.value();
}

// Connects to the listener, exchanges a few messages both ways (including
// one much larger than any socket buffer) and checks them.
void round_trip(Listener &l, const Address &target)
{
	std::vector<uint8_t> big(8u << 20);
	std::iota(big.begin(), big.end(), uint8_t{7});

	std::thread server([&] {
		auto s = l.accept();
		ASSERT_TRUE(s.is_ok()) << s.status().message();
		uint8_t hello[5];
		ASSERT_TRUE(s->read_exact(hello, deadline_in(5s)));
		EXPECT_EQ(std::memcmp(hello, "hello", 5), 0);
		std::vector<uint8_t> got(big.size());
		auto st = s->read_exact(got, deadline_in(20s));
		ASSERT_TRUE(st) << st.message();
		EXPECT_EQ(got, big);
		// Echo back as three parts in one gathered write.
		std::span<const uint8_t> parts[] = {
		    bytes("wor"), std::span<const uint8_t>(), bytes("ld")};
		ASSERT_TRUE(s->write_all(parts, deadline_in(5s)));
	});

	auto c = connect(target, 5000ms);
	ASSERT_TRUE(c.is_ok()) << c.status().message();
	EXPECT_TRUE(c->valid());
	ASSERT_TRUE(c->write_all(bytes("hello"), deadline_in(5s)));
	auto st = c->write_all(big, deadline_in(20s));
	EXPECT_TRUE(st) << st.message();
	uint8_t world[5];
	st = c->read_exact(world, deadline_in(5s));
	EXPECT_TRUE(st) << st.message();
	EXPECT_EQ(std::memcmp(world, "world", 5), 0);
	server.join();
}

} // namespace

TEST(Stream, UnixRoundTrip)
{
	TempDir dir;
	Address a = parse("unix://" + dir.path() + "/agent.sock");
	auto l = Listener::bind(a);
	ASSERT_TRUE(l.is_ok()) << l.status().message();
	round_trip(*l, a);
	l->close();
	struct stat st {
	};
	EXPECT_NE(::lstat(a.path.c_str(), &st), 0) << "socket not unlinked";
}

TEST(Stream, AbstractUnixRoundTrip)
{
	Address a = parse("unix://@vaccel-transport-test-" +
			  std::to_string(::getpid()));
	auto l = Listener::bind(a);
	ASSERT_TRUE(l.is_ok()) << l.status().message();
	round_trip(*l, a);
}

TEST(Stream, TcpV4RoundTrip)
{
	auto l = Listener::bind(parse("tcp://127.0.0.1:0"));
	ASSERT_TRUE(l.is_ok()) << l.status().message();
	ASSERT_NE(l->address().port, 0u);
	round_trip(*l, l->address());
}

TEST(Stream, TcpLocalhostResolves)
{
	// localhost may resolve to ::1 first: connect falls through to the
	// v4 address the listener has.
	auto l = Listener::bind(parse("tcp://127.0.0.1:0"));
	ASSERT_TRUE(l.is_ok()) << l.status().message();
	Address target =
	    parse("tcp://localhost:" + std::to_string(l->address().port));
	round_trip(*l, target);
}

TEST(Stream, TcpV6RoundTrip)
{
	auto l = Listener::bind(parse("tcp://[::1]:0"));
	if (!l)
		GTEST_SKIP()
		    << "IPv6 loopback unavailable: " << l.status().message();
	round_trip(*l, l->address());
}

TEST(Stream, TcpConnectRefused)
{
	// Bind then close to find a port nobody listens on.
	auto l = Listener::bind(parse("tcp://127.0.0.1:0"));
	ASSERT_TRUE(l.is_ok());
	Address a = l->address();
	l->close();
	auto c = connect(a, 2000ms);
	ASSERT_FALSE(c.is_ok());
	EXPECT_EQ(c.status().code(), VACCEL_EIO);
	EXPECT_NE(c.status().message().find("refused"), std::string::npos)
	    << c.status().message();
}

TEST(Stream, TcpUnresolvableHost)
{
	auto c = connect(parse("tcp://no-such-host.invalid:1"), 2000ms);
	ASSERT_FALSE(c.is_ok());
	EXPECT_EQ(c.status().code(), VACCEL_EIO);
	EXPECT_NE(c.status().message().find("resolve"), std::string::npos)
	    << c.status().message();
}

TEST(Stream, UnixConnectMissing)
{
	TempDir dir;
	auto c = connect(parse("unix://" + dir.path() + "/none.sock"), 1000ms);
	ASSERT_FALSE(c.is_ok());
	EXPECT_EQ(c.status().code(), VACCEL_EIO);
}

TEST(Listener, ReplacesStaleSocketOnly)
{
	TempDir dir;
	std::string path = dir.path() + "/agent.sock";
	// A socket file whose listener died: replaced.
	{
		int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
		sockaddr_un sun{};
		sun.sun_family = AF_UNIX;
		std::strcpy(sun.sun_path, path.c_str());
		ASSERT_EQ(
		    ::bind(fd, reinterpret_cast<sockaddr *>(&sun), sizeof(sun)),
		    0);
		::close(fd);
	}
	auto l = Listener::bind(parse("unix://" + path));
	ASSERT_TRUE(l.is_ok()) << l.status().message();
	// A live listener: refused.
	auto l2 = Listener::bind(parse("unix://" + path));
	ASSERT_FALSE(l2.is_ok());
	EXPECT_EQ(l2.status().code(), VACCEL_EBUSY) << l2.status().message();
	l->close();
	// Not a socket: refused and left alone.
	std::string file = dir.path() + "/file";
	int fd = ::open(file.c_str(), O_CREAT | O_WRONLY, 0600);
	ASSERT_GE(fd, 0);
	::close(fd);
	auto l3 = Listener::bind(parse("unix://" + file));
	ASSERT_FALSE(l3.is_ok());
	EXPECT_EQ(l3.status().code(), VACCEL_EEXIST) << l3.status().message();
	EXPECT_EQ(::access(file.c_str(), F_OK), 0);
}

TEST(Listener, NonBlockingAcceptSaysAgain)
{
	auto l = Listener::bind(parse("tcp://127.0.0.1:0"));
	ASSERT_TRUE(l.is_ok());
	int flags = ::fcntl(l->fd(), F_GETFL);
	ASSERT_EQ(::fcntl(l->fd(), F_SETFL, flags | O_NONBLOCK), 0);
	auto s = l->accept();
	ASSERT_FALSE(s.is_ok());
	EXPECT_EQ(s.status().code(), VACCEL_EAGAIN);
}

TEST(Listener, ShutdownWakesAccept)
{
	auto l = Listener::bind(parse("tcp://127.0.0.1:0"));
	ASSERT_TRUE(l.is_ok());
	std::thread t([&] {
		auto s = l->accept();
		EXPECT_FALSE(s.is_ok());
	});
	std::this_thread::sleep_for(50ms);
	l->shutdown();
	t.join();
}

TEST(Listener, SerialCannotListen)
{
	auto l = Listener::bind(parse("virtio-serial:///dev/null"));
	ASSERT_FALSE(l.is_ok());
	EXPECT_EQ(l.status().code(), VACCEL_ENOTSUP);
}

// Only bind: connecting over vsock is off limits on test hosts.
TEST(Listener, VsockBindOnly)
{
	int probe = ::socket(AF_VSOCK, SOCK_STREAM, 0);
	if (probe < 0)
		GTEST_SKIP()
		    << "AF_VSOCK unsupported here: " << std::strerror(errno);
	::close(probe);
	auto l = Listener::bind(parse("vsock://any:4294967295"));
	if (!l)
		GTEST_SKIP() << "no vsock transport to bind on: "
			     << l.status().message();
	EXPECT_GE(l->fd(), 0);
	EXPECT_NE(l->address().port, UINT32_MAX) << "bound port not reported";
}

// ---- hybrid vsock -----------------------------------------------------------

namespace
{

// Plays the VMM side of the hybrid vsock handshake on one connection and
// then echoes 4 bytes; `reply` is what it answers to CONNECT.
void fake_vmm(Listener &l, std::string reply, std::string *seen)
{
	auto s = l.accept();
	ASSERT_TRUE(s.is_ok()) << s.status().message();
	std::string line;
	for (;;) {
		uint8_t c;
		if (!s->read_exact(std::span(&c, 1), deadline_in(5s)))
			return;
		if (c == '\n')
			break;
		line.push_back(static_cast<char>(c));
	}
	*seen = line;
	if (!s->write_all(bytes(reply), deadline_in(5s)))
		return;
	uint8_t buf[4];
	if (s->read_exact(buf, deadline_in(5s)))
		(void)s->write_all(buf, deadline_in(5s));
}

} // namespace

TEST(HybridVsock, HandshakeThenData)
{
	TempDir dir;
	std::string path = dir.path() + "/vsock.sock";
	auto vmm = Listener::bind(parse("unix://" + path));
	ASSERT_TRUE(vmm.is_ok()) << vmm.status().message();
	std::string seen;
	std::thread t(fake_vmm, std::ref(*vmm), "OK 1073741824\n", &seen);
	auto c = connect(parse("hvsock://" + path + ":2048"), 5000ms);
	ASSERT_TRUE(c.is_ok()) << c.status().message();
	ASSERT_TRUE(c->write_all(bytes("ping"), deadline_in(5s)));
	uint8_t buf[4];
	auto st = c->read_exact(buf, deadline_in(5s));
	EXPECT_TRUE(st) << st.message();
	EXPECT_EQ(std::memcmp(buf, "ping", 4), 0);
	t.join();
	EXPECT_EQ(seen, "CONNECT 2048");
}

TEST(HybridVsock, RefusedHandshake)
{
	TempDir dir;
	std::string path = dir.path() + "/vsock.sock";
	auto vmm = Listener::bind(parse("unix://" + path));
	ASSERT_TRUE(vmm.is_ok());
	std::string seen;
	std::thread t(fake_vmm, std::ref(*vmm), "ERR no listener\n", &seen);
	auto c = connect(parse("hvsock://" + path + ":7"), 5000ms);
	ASSERT_FALSE(c.is_ok());
	EXPECT_EQ(c.status().code(), VACCEL_EIO);
	EXPECT_NE(c.status().message().find("refused"), std::string::npos)
	    << c.status().message();
	t.join();
}

TEST(HybridVsock, OverlongReplyRefused)
{
	TempDir dir;
	std::string path = dir.path() + "/vsock.sock";
	auto vmm = Listener::bind(parse("unix://" + path));
	ASSERT_TRUE(vmm.is_ok());
	std::string seen;
	std::thread t(fake_vmm, std::ref(*vmm), std::string(4096, 'O'), &seen);
	auto c = connect(parse("hvsock://" + path + ":7"), 5000ms);
	ASSERT_FALSE(c.is_ok());
	EXPECT_NE(c.status().message().find("longer"), std::string::npos)
	    << c.status().message();
	t.join();
}

TEST(HybridVsock, ListenerBindsPathUnderscorePort)
{
	TempDir dir;
	std::string base = dir.path() + "/vsock.sock";
	auto l = Listener::bind(parse("hvsock://" + base + ":2048"));
	ASSERT_TRUE(l.is_ok()) << l.status().message();
	// The VMM connects guest port 2048 to <base>_2048.
	round_trip(*l, parse("unix://" + base + "_2048"));
}

// ---- serial ----

TEST(Serial, PtyIsRawAndCarriesBytes)
{
	int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_GE(master, 0);
	Stream m(master);
	ASSERT_EQ(::grantpt(master), 0);
	ASSERT_EQ(::unlockpt(master), 0);
	const char *name = ::ptsname(master);
	ASSERT_NE(name, nullptr);
	auto s = connect(parse(std::string("virtio-serial://") + name), 1000ms);
	ASSERT_TRUE(s.is_ok()) << s.status().message();

	// Raw mode: CR/LF, ^C and ^D pass through untouched and unechoed.
	termios t{};
	ASSERT_EQ(::tcgetattr(s->fd(), &t), 0);
	EXPECT_EQ(t.c_lflag & (ICANON | ECHO | ISIG), 0u);
	const std::string payload("a\r\nb\x03\x04\n", 7);
	ASSERT_TRUE(m.write_all(bytes(payload), deadline_in(2s)));
	std::string got(payload.size(), '\0');
	auto st = s->read_exact(
	    std::span(reinterpret_cast<uint8_t *>(got.data()), got.size()),
	    deadline_in(2s));
	ASSERT_TRUE(st) << st.message();
	EXPECT_EQ(got, payload);

	ASSERT_TRUE(s->write_all(bytes(payload), deadline_in(2s)));
	std::fill(got.begin(), got.end(), '\0');
	st = m.read_exact(
	    std::span(reinterpret_cast<uint8_t *>(got.data()), got.size()),
	    deadline_in(2s));
	ASSERT_TRUE(st) << st.message();
	EXPECT_EQ(got, payload);
}

TEST(Serial, RefusesNonDevices)
{
	TempDir dir;
	std::string file = dir.path() + "/plain";
	int fd = ::open(file.c_str(), O_CREAT | O_WRONLY, 0600);
	ASSERT_GE(fd, 0);
	::close(fd);
	auto s = connect(parse("virtio-serial://" + file), 1000ms);
	ASSERT_FALSE(s.is_ok());
	EXPECT_EQ(s.status().code(), VACCEL_EIO);
	EXPECT_NE(s.status().message().find("not a character device"),
		  std::string::npos);
	auto missing =
	    connect(parse("virtio-serial://" + dir.path() + "/none"), 1000ms);
	ASSERT_FALSE(missing.is_ok());
	EXPECT_EQ(missing.status().code(), VACCEL_EIO);
}

// ---- failures ----

TEST(Stream, ReadDeadlineExpires)
{
	auto [a, b] = stream_pair();
	uint8_t buf[1];
	auto st = a.read_exact(buf, deadline_in(50ms));
	ASSERT_FALSE(st);
	EXPECT_EQ(st.code(), VACCEL_EIO);
	EXPECT_NE(st.message().find("timed out"), std::string::npos)
	    << st.message();
	EXPECT_EQ(st.cause(), Cause::TimedOut);
}

TEST(Stream, WriteDeadlineExpires)
{
	// Nobody reads: the socket buffer fills and the deadline hits.
	auto [a, b] = stream_pair();
	std::vector<uint8_t> big(64u << 20);
	auto st = a.write_all(big, deadline_in(100ms));
	ASSERT_FALSE(st);
	EXPECT_EQ(st.code(), VACCEL_EIO);
	EXPECT_NE(st.message().find("timed out"), std::string::npos)
	    << st.message();
}

TEST(Stream, PeerCloseIsAnError)
{
	auto [a, b] = stream_pair();
	ASSERT_TRUE(b.write_all(bytes("ab"), std::nullopt));
	b.close();
	uint8_t buf[4];
	auto st = a.read_exact(buf, deadline_in(2s));
	ASSERT_FALSE(st);
	EXPECT_EQ(st.code(), VACCEL_EIO);
	EXPECT_NE(st.message().find("peer closed"), std::string::npos)
	    << st.message();
	// Cut short in the middle of the read: not an orderly close.
	EXPECT_EQ(st.cause(), Cause::None);
	// Writing to a closed peer fails instead of raising SIGPIPE.
	st = a.write_all(bytes("x"), deadline_in(2s));
	ASSERT_FALSE(st);
	EXPECT_EQ(st.code(), VACCEL_EIO);
}

TEST(Stream, CloseBetweenReadsIsPeerClosed)
{
	auto [a, b] = stream_pair();
	ASSERT_TRUE(b.write_all(bytes("ab"), std::nullopt));
	b.close();
	uint8_t buf[2];
	ASSERT_TRUE(a.read_exact(buf, deadline_in(2s)));
	auto st = a.read_exact(buf, deadline_in(2s));
	ASSERT_FALSE(st);
	EXPECT_EQ(st.code(), VACCEL_EIO);
	EXPECT_EQ(st.cause(), Cause::PeerClosed) << st.message();
}

TEST(Stream, ShutdownWakesBlockedReader)
{
	auto [a, b] = stream_pair();
	std::thread t([&a = a] {
		uint8_t buf[1];
		EXPECT_FALSE(a.read_exact(buf, std::nullopt));
	});
	std::this_thread::sleep_for(50ms);
	a.shutdown();
	t.join();
}

TEST(Stream, ClosedStreamRefusesIo)
{
	Stream s;
	EXPECT_FALSE(s.valid());
	uint8_t buf[1];
	EXPECT_EQ(s.read_exact(buf, std::nullopt).code(), VACCEL_EIO);
	EXPECT_EQ(s.write_all(bytes("x"), std::nullopt).code(), VACCEL_EIO);
}

TEST(Stream, MoveTransfersOwnership)
{
	auto [a, b] = stream_pair();
	int fd = a.fd();
	Stream moved(std::move(a));
	EXPECT_EQ(moved.fd(), fd);
	EXPECT_FALSE(a.valid()); // NOLINT(bugprone-use-after-move)
	Stream other;
	other = std::move(moved);
	EXPECT_EQ(other.fd(), fd);
	ASSERT_TRUE(other.write_all(bytes("z"), std::nullopt));
	uint8_t c;
	ASSERT_TRUE(b.read_exact(std::span(&c, 1), deadline_in(1s)));
	EXPECT_EQ(c, 'z');
}
