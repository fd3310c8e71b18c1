// SPDX-License-Identifier: Apache-2.0
// Transport addresses: parsing and printing.
#include "transport/transport.h"

#include <sys/un.h>

#include <charconv>
#include <climits>

namespace vaccel::transport
{
namespace
{

// sun_path holds 108 bytes; a pathname needs its terminating NUL, an
// abstract name its leading NUL.
constexpr size_t kMaxUnixPath = sizeof(sockaddr_un::sun_path) - 1;

Status bad(std::string_view text, const char *why)
{
	return Status::error(VACCEL_EINVAL, "address '%.*s': %s",
			     static_cast<int>(text.size()), text.data(), why);
}

// Decimal, no sign, no leading/trailing junk, at most `max`.
bool parse_u32(std::string_view s, uint32_t max, uint32_t &out)
{
	if (s.empty())
		return false;
	uint64_t v = 0;
	const char *end = s.data() + s.size();
	auto [p, ec] = std::from_chars(s.data(), end, v);
	if (ec != std::errc() || p != end || v > max)
		return false;
	out = static_cast<uint32_t>(v);
	return true;
}

bool consume_prefix(std::string_view &s, std::string_view prefix)
{
	if (!s.starts_with(prefix))
		return false;
	s.remove_prefix(prefix.size());
	return true;
}

Result<Address> parse_unix(std::string_view text, std::string_view rest)
{
	Address a;
	if (rest.starts_with('@')) {
		rest.remove_prefix(1);
		if (rest.empty())
			return bad(text, "empty abstract socket name");
		if (rest.size() > kMaxUnixPath)
			return bad(text, "abstract socket name too long");
		a.kind = Address::Kind::UnixAbstract;
		a.path = std::string(rest);
		return a;
	}
	if (!rest.starts_with('/'))
		return bad(text, "unix socket path must be absolute "
				 "(unix:///path or unix://@name)");
	if (rest.size() > kMaxUnixPath)
		return bad(text, "unix socket path too long");
	a.kind = Address::Kind::Unix;
	a.path = std::string(rest);
	return a;
}

Result<Address> parse_tcp(std::string_view text, std::string_view rest)
{
	Address a;
	a.kind = Address::Kind::Tcp;
	std::string_view host;
	std::string_view port;
	if (rest.starts_with('[')) {
		size_t close = rest.find(']');
		if (close == std::string_view::npos)
			return bad(text, "missing ']' after IPv6 address");
		host = rest.substr(1, close - 1);
		rest.remove_prefix(close + 1);
		if (!rest.starts_with(':'))
			return bad(text, "missing ':port' after ']'");
		port = rest.substr(1);
	} else {
		size_t colon = rest.rfind(':');
		if (colon == std::string_view::npos)
			return bad(text, "missing ':port'");
		host = rest.substr(0, colon);
		port = rest.substr(colon + 1);
		if (host.find(':') != std::string_view::npos)
			return bad(text, "IPv6 addresses must be bracketed "
					 "(tcp://[::1]:port)");
	}
	if (host.empty())
		return bad(text, "empty host");
	if (!parse_u32(port, 65535, a.port))
		return bad(text, "port must be a number in 0..65535");
	a.host = std::string(host);
	return a;
}

Result<Address> parse_vsock(std::string_view text, std::string_view rest)
{
	Address a;
	a.kind = Address::Kind::Vsock;
	size_t colon = rest.find(':');
	if (colon == std::string_view::npos)
		return bad(text, "expected vsock://cid:port");
	std::string_view cid = rest.substr(0, colon);
	// "any" is VMADDR_CID_ANY, for listeners.
	if (cid == "any")
		a.cid = UINT32_MAX;
	else if (!parse_u32(cid, UINT32_MAX, a.cid))
		return bad(text, "cid must be a number (or 'any')");
	if (!parse_u32(rest.substr(colon + 1), UINT32_MAX, a.port))
		return bad(text, "port must be a 32-bit number");
	return a;
}

Result<Address> parse_hvsock(std::string_view text, std::string_view rest)
{
	Address a;
	a.kind = Address::Kind::HybridVsock;
	size_t colon = rest.rfind(':');
	if (colon == std::string_view::npos)
		return bad(text, "expected hvsock:///path/to/vsock.sock:port");
	std::string_view path = rest.substr(0, colon);
	if (!path.starts_with('/'))
		return bad(text, "hybrid vsock path must be absolute");
	// The listener binds path + "_" + port: leave room for it.
	if (path.size() + 11 > kMaxUnixPath)
		return bad(text, "hybrid vsock path too long");
	if (!parse_u32(rest.substr(colon + 1), UINT32_MAX, a.port))
		return bad(text, "port must be a 32-bit number");
	a.path = std::string(path);
	return a;
}

Result<Address> parse_serial(std::string_view text, std::string_view rest)
{
	if (!rest.starts_with('/'))
		return bad(text, "device path must be absolute "
				 "(virtio-serial:///dev/virtio-ports/NAME)");
	if (rest.size() > PATH_MAX)
		return bad(text, "device path too long");
	Address a;
	a.kind = Address::Kind::Serial;
	a.path = std::string(rest);
	return a;
}

} // namespace

Result<Address> parse_address(std::string_view text)
{
	std::string_view rest = text;
	if (consume_prefix(rest, "unix://"))
		return parse_unix(text, rest);
	if (consume_prefix(rest, "tcp://"))
		return parse_tcp(text, rest);
	if (consume_prefix(rest, "vsock://"))
		return parse_vsock(text, rest);
	if (consume_prefix(rest, "hvsock://"))
		return parse_hvsock(text, rest);
	if (consume_prefix(rest, "virtio-serial://"))
		return parse_serial(text, rest);
	return bad(text, "unknown scheme (expected unix://, tcp://, vsock://, "
			 "hvsock:// or virtio-serial://)");
}

std::string to_string(const Address &addr)
{
	switch (addr.kind) {
	case Address::Kind::Unix:
		return "unix://" + addr.path;
	case Address::Kind::UnixAbstract:
		return "unix://@" + addr.path;
	case Address::Kind::Tcp:
		if (addr.host.find(':') != std::string::npos)
			return "tcp://[" + addr.host +
			       "]:" + std::to_string(addr.port);
		return "tcp://" + addr.host + ":" + std::to_string(addr.port);
	case Address::Kind::Vsock:
		return "vsock://" +
		       (addr.cid == UINT32_MAX ? std::string("any")
					       : std::to_string(addr.cid)) +
		       ":" + std::to_string(addr.port);
	case Address::Kind::HybridVsock:
		return "hvsock://" + addr.path + ":" +
		       std::to_string(addr.port);
	case Address::Kind::Serial:
		return "virtio-serial://" + addr.path;
	}
	return "?";
}

} // namespace vaccel::transport
