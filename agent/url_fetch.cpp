// SPDX-License-Identifier: Apache-2.0
#include "url_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace vaccel::agent
{

namespace
{

bool v4_internal(uint32_t a) // host byte order
{
	const auto in = [a](uint32_t net, int bits) {
		return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits));
	};
	return in(0x00000000, 8) ||  // "this" network, 0.0.0.0
	       in(0x0A000000, 8) ||  // 10/8
	       in(0x64400000, 10) || // 100.64/10 CGNAT
	       in(0x7F000000, 8) ||  // loopback
	       in(0xA9FE0000, 16) || // link-local, cloud metadata
	       in(0xAC100000, 12) || // 172.16/12
	       in(0xC0000000, 24) || // IETF protocol assignments
	       in(0xC0A80000, 16) || // 192.168/16
	       in(0xC6120000, 15) || // benchmarking
	       in(0xE0000000, 4) ||  // multicast
	       in(0xF0000000, 4);    // reserved, broadcast
}

bool v6_internal(const in6_addr &a)
{
	const uint8_t *b = a.s6_addr;
	if (IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LOOPBACK(&a) ||
	    IN6_IS_ADDR_LINKLOCAL(&a) || IN6_IS_ADDR_SITELOCAL(&a) ||
	    IN6_IS_ADDR_MULTICAST(&a))
		return true;
	if ((b[0] & 0xfe) == 0xfc) // fc00::/7 unique local
		return true;
	if (IN6_IS_ADDR_V4MAPPED(&a) || IN6_IS_ADDR_V4COMPAT(&a)) {
		uint32_t v4 = 0;
		std::memcpy(&v4, b + 12, 4);
		return v4_internal(ntohl(v4));
	}
	// 64:ff9b::/96 (NAT64) embeds an IPv4 address as well.
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	if (std::memcmp(b, nat64, 12) == 0) {
		uint32_t v4 = 0;
		std::memcpy(&v4, b + 12, 4);
		return v4_internal(ntohl(v4));
	}
	// 6to4 (2002::/16) carries an IPv4 address in bytes 2..5.
	if (b[0] == 0x20 && b[1] == 0x02) {
		uint32_t v4 = 0;
		std::memcpy(&v4, b + 2, 4);
		return v4_internal(ntohl(v4));
	}
	// Local-use NAT64 (64:ff9b:1::/48) and Teredo (2001::/32) reach
	// IPv4 hosts the address does not show plainly: refused whole.
	static const uint8_t nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
	static const uint8_t teredo[4] = {0x20, 0x01, 0, 0};
	return std::memcmp(b, nat64_local, 6) == 0 ||
	       std::memcmp(b, teredo, 4) == 0;
}

struct Transfer {
	int fd = -1;
	uint64_t got = 0;
	uint64_t max = 0;
	bool too_large = false;
	bool write_failed = false;
	bool refused_address = false;
	bool allow_private = false;
};

size_t on_data(char *p, size_t size, size_t n, void *user)
{
	auto *t = static_cast<Transfer *>(user);
	const size_t len = size * n;
	if (len > t->max - t->got) {
		t->too_large = true;
		return 0; // aborts the transfer
	}
	size_t done = 0;
	while (done < len) {
		ssize_t w = ::write(t->fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			t->write_failed = true;
			return 0;
		}
		done += static_cast<size_t>(w);
	}
	t->got += len;
	return len;
}

// Called by curl for every connection it opens, with the resolved address:
// the place where a name resolving to an internal address is caught.
curl_socket_t on_open(void *user, curlsocktype, curl_sockaddr *a)
{
	auto *t = static_cast<Transfer *>(user);
	if (!address_allowed(&a->addr, t->allow_private)) {
		t->refused_address = true;
		return CURL_SOCKET_BAD;
	}
	return ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

std::string lower(std::string s)
{
	std::transform(s.begin(), s.end(), s.begin(), [](char c) {
		return static_cast<char>(
		    std::tolower(static_cast<unsigned char>(c)));
	});
	return s;
}

} // namespace

bool address_allowed(const sockaddr *addr, bool allow_private) noexcept
{
	if (allow_private)
		return addr->sa_family == AF_INET ||
		       addr->sa_family == AF_INET6;
	if (addr->sa_family == AF_INET) {
		const auto *in = reinterpret_cast<const sockaddr_in *>(addr);
		return !v4_internal(ntohl(in->sin_addr.s_addr));
	}
	if (addr->sa_family == AF_INET6) {
		const auto *in = reinterpret_cast<const sockaddr_in6 *>(addr);
		return !v6_internal(in->sin6_addr);
	}
	return false;
}

RpcStatus check_url(const UrlPolicy &policy, const std::string &url,
		    const std::string &rule)
{
	if (!policy.enabled)
		return RpcStatus::denied("URL resources are off (policy rule "
					 "%s.url.enabled)",
					 rule.c_str());
	if (url.size() > 8192 || url.find('\0') != std::string::npos)
		return RpcStatus::invalid("malformed URL");
	CURLU *u = curl_url();
	if (u == nullptr)
		return RpcStatus::exhausted("out of memory");
	char *scheme = nullptr;
	char *host = nullptr;
	RpcStatus st;
	if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		st = RpcStatus::invalid("malformed URL");
	} else {
		const std::string s = lower(scheme);
		const std::string h = lower(host);
		const auto &sc = policy.schemes;
		const auto &hs = policy.hosts;
		if (std::find(sc.begin(), sc.end(), s) == sc.end())
			st = RpcStatus::denied(
			    "URL scheme %s is not allowed (policy rule "
			    "%s.url.schemes)",
			    s.c_str(), rule.c_str());
		else if (!hs.empty() &&
			 std::find(hs.begin(), hs.end(), h) == hs.end())
			st = RpcStatus::denied("URL host %s is not allowed "
					       "(policy rule %s.url.hosts)",
					       h.c_str(), rule.c_str());
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return st;
}

RpcStatus fetch_url(const UrlPolicy &policy, const std::string &url,
		    const std::string &dest, const std::string &rule)
{
	static std::once_flag once;
	std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
	Transfer t;
	t.max = policy.max_bytes;
	t.allow_private = policy.allow_private;
	t.fd =
	    ::open(dest.c_str(),
		   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t.fd < 0)
		return RpcStatus::vaccel(VACCEL_EIO,
					 "cannot store the download");
	CURL *c = curl_easy_init();
	if (c == nullptr) {
		::close(t.fd);
		return RpcStatus::exhausted("out of memory");
	}
	const std::string protocols = [&] {
		std::string p;
		for (const auto &s : policy.schemes)
			p += (p.empty() ? "" : ",") + s;
		return p;
	}();
	curl_easy_setopt(c, CURLOPT_URL, url.c_str());
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols.c_str());
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); // no detour via env proxies
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 static_cast<long>(policy.timeout.count()));
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			 static_cast<curl_off_t>(policy.max_bytes));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &t);
	const CURLcode rc = curl_easy_perform(c);
	long http = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
	curl_easy_cleanup(c);
	const bool closed = ::close(t.fd) == 0;
	if (rc == CURLE_OK && closed && !t.write_failed && http < 300)
		return RpcStatus::ok();
	::unlink(dest.c_str());
	if (rc == CURLE_OK && http >= 300)
		return RpcStatus::vaccel(VACCEL_EIO,
					 "download failed: HTTP status %ld "
					 "(redirects are not followed)",
					 http);
	if (t.refused_address)
		return RpcStatus::denied(
		    "the URL's host resolves to an internal "
		    "address (policy rule "
		    "%s.url.allow_private)",
		    rule.c_str());
	if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED)
		return RpcStatus::exhausted(
		    "download larger than %llu bytes (policy rule "
		    "%s.url.max_bytes)",
		    static_cast<unsigned long long>(policy.max_bytes),
		    rule.c_str());
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return RpcStatus::vaccel(
		    VACCEL_EIO,
		    "download timed out after %lld ms "
		    "(policy rule %s.url.timeout_ms)",
		    static_cast<long long>(policy.timeout.count()),
		    rule.c_str());
	if (rc == CURLE_HTTP_RETURNED_ERROR)
		return RpcStatus::vaccel(
		    VACCEL_EIO, "download failed: HTTP status %ld", http);
	// Deliberately vague: resolver and connection errors would map the
	// host's network for the client.
	return RpcStatus::vaccel(VACCEL_EIO, "download failed");
}

} // namespace vaccel::agent
