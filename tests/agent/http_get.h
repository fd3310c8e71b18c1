// SPDX-License-Identifier: Apache-2.0
// One HTTP/1.1 request to a server on 127.0.0.1 (the agent's --metrics
// endpoint), read until the server closes: for tests that read the agent's
// counters or probes.
#pragma once

#include "transport/transport.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace agent_test
{

struct Http {
	int status = 0;
	std::string head; // status line and headers
	std::string body;
};

inline Http http(uint32_t port, const std::string &path,
		 const std::string &method = "GET")
{
	namespace tr = vaccel::transport;
	using namespace std::chrono_literals;
	Http h;
	tr::Address a;
	a.kind = tr::Address::Kind::Tcp;
	a.host = "127.0.0.1";
	a.port = port;
	auto s = tr::connect(a, 2000ms);
	if (!s)
		return h;
	const std::string req = method + " " + path +
				" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				"Connection: close\r\n\r\n";
	const auto dl = tr::deadline_in(10000ms);
	if (!s->write_all(
		std::span(reinterpret_cast<const uint8_t *>(req.data()),
			  req.size()),
		dl))
		return h;
	std::string all;
	uint8_t buf[65536];
	for (int i = 0; i < 100000; ++i) { // bounded: 6 GiB at most
		auto n = s->read_available(buf, dl);
		if (!n || *n == 0)
			break;
		all.append(reinterpret_cast<const char *>(buf), *n);
	}
	const size_t end = all.find("\r\n\r\n");
	if (all.rfind("HTTP/1.", 0) != 0 || end == std::string::npos)
		return h;
	h.status = std::atoi(all.c_str() + all.find(' ') + 1);
	h.head = all.substr(0, end);
	h.body = all.substr(end + 4);
	return h;
}

} // namespace agent_test
