// SPDX-License-Identifier: Apache-2.0
#include "endpoints.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <unordered_set>

namespace vaccel::rpc_plugin
{

namespace
{

std::string_view trim(std::string_view s)
{
	while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
		s.remove_prefix(1);
	while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
		s.remove_suffix(1);
	return s;
}

bool ip_literal(const std::string &host)
{
	unsigned char buf[sizeof(in6_addr)];
	return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
	       ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string numeric_host(const sockaddr *sa, socklen_t len)
{
	char host[NI_MAXHOST];
	if (::getnameinfo(sa, len, host, sizeof(host), nullptr, 0,
			  NI_NUMERICHOST) != 0)
		return {};
	return host;
}

} // namespace

Result<std::vector<EndpointSpec>> parse_endpoints(std::string_view text)
{
	std::vector<EndpointSpec> out;
	std::unordered_set<std::string> keys;
	size_t n = 0;
	for (;;) {
		const size_t comma = text.find(',');
		const std::string_view entry = trim(text.substr(0, comma));
		++n;
		if (entry.empty())
			return Status::error(VACCEL_EINVAL,
					     "entry %zu of the address list is "
					     "empty",
					     n);
		auto addr = transport::parse_address(entry);
		if (!addr)
			return Status::error(VACCEL_EINVAL, "'%.*s': %s",
					     static_cast<int>(entry.size()),
					     entry.data(),
					     addr.status().message().c_str());
		EndpointSpec spec;
		spec.text = std::string(entry);
		spec.address = std::move(addr).value();
		spec.named =
		    spec.address.kind == transport::Address::Kind::Tcp &&
		    !ip_literal(spec.address.host);
		if (!keys.insert(transport::to_string(spec.address)).second)
			return Status::error(VACCEL_EINVAL,
					     "'%s' is listed twice",
					     spec.text.c_str());
		out.push_back(std::move(spec));
		if (comma == std::string_view::npos)
			break;
		text.remove_prefix(comma + 1);
	}
	return out;
}

Resolver system_resolver()
{
	return [](const std::string &host) -> Result<std::vector<std::string>> {
		addrinfo hints{};
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		addrinfo *res = nullptr;
		if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
		    rc != 0)
			return Status::error(VACCEL_EIO, "resolve '%s': %s",
					     host.c_str(), ::gai_strerror(rc));
		std::vector<std::string> out;
		for (addrinfo *ai = res; ai != nullptr; ai = ai->ai_next) {
			std::string h =
			    numeric_host(ai->ai_addr, ai->ai_addrlen);
			if (!h.empty())
				out.push_back(std::move(h));
		}
		::freeaddrinfo(res);
		return out;
	};
}

Result<std::vector<EndpointAddress>> resolve_spec(const EndpointSpec &spec,
						  const Resolver &resolve)
{
	const std::string host =
	    spec.address.kind == transport::Address::Kind::Tcp
		? spec.address.host
		: std::string();
	if (!spec.named)
		return std::vector<EndpointAddress>{
		    {spec.text, spec.address, host,
		     transport::to_string(spec.address)}};
	auto hosts = resolve(host);
	if (!hosts)
		return hosts.status();
	std::vector<EndpointAddress> out;
	for (const std::string &h : hosts.value()) {
		EndpointAddress e;
		e.address = spec.address;
		e.address.host = h;
		e.key = transport::to_string(e.address);
		if (std::any_of(out.begin(), out.end(),
				[&](const auto &o) { return o.key == e.key; }))
			continue;
		e.name = e.key + " (" + host + ")";
		e.tls_name = host;
		out.push_back(std::move(e));
	}
	if (out.empty())
		return Status::error(VACCEL_EIO, "'%s' resolves to no address",
				     host.c_str());
	return out;
}

EndpointChanges compare_endpoints(const std::vector<std::string> &known_keys,
				  const std::vector<bool> &listed,
				  const std::vector<EndpointAddress> &seen)
{
	EndpointChanges c;
	std::unordered_set<std::string> seen_keys;
	for (const auto &e : seen) {
		seen_keys.insert(e.key);
		if (std::find(known_keys.begin(), known_keys.end(), e.key) ==
		    known_keys.end())
			c.added.push_back(e);
	}
	for (size_t i = 0; i < known_keys.size(); ++i) {
		const bool now = seen_keys.count(known_keys[i]) != 0;
		if (listed[i] && !now)
			c.dropped.push_back(i);
		else if (!listed[i] && now)
			c.back.push_back(i);
	}
	return c;
}

} // namespace vaccel::rpc_plugin
