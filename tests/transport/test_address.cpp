// SPDX-License-Identifier: Apache-2.0
#include "transport/transport.h"

#include <gtest/gtest.h>

using namespace vaccel::transport;
using Kind = Address::Kind;

namespace
{

Address ok(std::string_view text)
{
	auto r = parse_address(text);
	EXPECT_TRUE(r.is_ok()) << text << ": " << r.status().message();
	return r ? r.value() : Address{};
}

void bad(std::string_view text, std::string_view expect_in_message)
{
	auto r = parse_address(text);
	ASSERT_FALSE(r.is_ok()) << text;
	EXPECT_EQ(r.status().code(), VACCEL_EINVAL) << text;
	EXPECT_NE(r.status().message().find(expect_in_message),
		  std::string::npos)
	    << text << ": " << r.status().message();
}

} // namespace

TEST(Address, Unix)
{
	Address a = ok("unix:///run/vaccel/agent.sock");
	EXPECT_EQ(a.kind, Kind::Unix);
	EXPECT_EQ(a.path, "/run/vaccel/agent.sock");
	EXPECT_EQ(to_string(a), "unix:///run/vaccel/agent.sock");
}

TEST(Address, UnixAbstract)
{
	Address a = ok("unix://@vaccel-agent");
	EXPECT_EQ(a.kind, Kind::UnixAbstract);
	EXPECT_EQ(a.path, "vaccel-agent");
	EXPECT_EQ(to_string(a), "unix://@vaccel-agent");
}

TEST(Address, TcpV4AndName)
{
	Address a = ok("tcp://127.0.0.1:65500");
	EXPECT_EQ(a.kind, Kind::Tcp);
	EXPECT_EQ(a.host, "127.0.0.1");
	EXPECT_EQ(a.port, 65500u);
	EXPECT_EQ(to_string(a), "tcp://127.0.0.1:65500");
	Address b = ok("tcp://localhost:0");
	EXPECT_EQ(b.host, "localhost");
	EXPECT_EQ(b.port, 0u);
}

TEST(Address, TcpV6)
{
	Address a = ok("tcp://[::1]:8080");
	EXPECT_EQ(a.kind, Kind::Tcp);
	EXPECT_EQ(a.host, "::1");
	EXPECT_EQ(a.port, 8080u);
	EXPECT_EQ(to_string(a), "tcp://[::1]:8080");
}

TEST(Address, Vsock)
{
	Address a = ok("vsock://2:2048");
	EXPECT_EQ(a.kind, Kind::Vsock);
	EXPECT_EQ(a.cid, 2u);
	EXPECT_EQ(a.port, 2048u);
	EXPECT_EQ(to_string(a), "vsock://2:2048");
	Address any = ok("vsock://any:1234");
	EXPECT_EQ(any.cid, UINT32_MAX);
	EXPECT_EQ(to_string(any), "vsock://any:1234");
}

TEST(Address, HybridVsock)
{
	Address a = ok("hvsock:///tmp/fc/vsock.sock:2048");
	EXPECT_EQ(a.kind, Kind::HybridVsock);
	EXPECT_EQ(a.path, "/tmp/fc/vsock.sock");
	EXPECT_EQ(a.port, 2048u);
	EXPECT_EQ(to_string(a), "hvsock:///tmp/fc/vsock.sock:2048");
}

TEST(Address, Serial)
{
	Address a = ok("virtio-serial:///dev/virtio-ports/vaccel");
	EXPECT_EQ(a.kind, Kind::Serial);
	EXPECT_EQ(a.path, "/dev/virtio-ports/vaccel");
	EXPECT_EQ(to_string(a), "virtio-serial:///dev/virtio-ports/vaccel");
}

TEST(Address, RoundTripsThroughToString)
{
	for (const char *t :
	     {"unix:///a/b", "unix://@x", "tcp://10.0.0.1:1",
	      "tcp://[fe80::1]:2", "vsock://3:4", "hvsock:///v.sock:5",
	      "virtio-serial:///dev/vport0p1"}) {
		Address a = ok(t);
		EXPECT_EQ(to_string(a), t);
	}
}

TEST(Address, Invalid)
{
	bad("", "unknown scheme");
	bad("http://x:1", "unknown scheme");
	bad("unix://relative/path", "absolute");
	bad("unix://", "absolute");
	bad("unix://@", "empty abstract");
	bad("unix:///" + std::string(200, 'a'), "too long");
	bad("tcp://127.0.0.1", "missing ':port'");
	bad("tcp://:80", "empty host");
	bad("tcp://host:", "port");
	bad("tcp://host:65536", "port");
	bad("tcp://host:-1", "port");
	bad("tcp://host:80x", "port");
	bad("tcp://host: 80", "port");
	bad("tcp://::1:80", "bracketed");
	bad("tcp://[::1:80", "']'");
	bad("tcp://[::1]80", "':port'");
	bad("tcp://[]:80", "empty host");
	bad("vsock://2", "cid:port");
	bad("vsock://x:1", "cid");
	bad("vsock://2:", "port");
	bad("vsock://2:4294967296", "port");
	bad("hvsock:///v.sock", "port");
	bad("hvsock://v.sock:1", "absolute");
	bad("hvsock:///v.sock:p", "port");
	bad("virtio-serial://dev/x", "absolute");
}
