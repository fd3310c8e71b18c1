// SPDX-License-Identifier: Apache-2.0
// One plain HTTP request to an agent's --metrics listener on loopback, and
// the port the agent printed for it: shared by the tests that read
// /metrics, /healthz and /readyz of a real agent process.
#pragma once

#include "transport/transport.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <span>
#include <string>

namespace agent_test
{

struct Http {
	int status = 0;   // 0: no answer
	std::string head; // status line and headers
	std::string body;
};

// One request to 127.0.0.1:@p port, read until the server closes.
inline Http http_get(uint32_t port, const std::string &path,
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

// The port of the "metrics on http://127.0.0.1:PORT/metrics" line in an
// agent's standard output @p out; 0 when there is none.
inline uint32_t metrics_port(const std::string &out)
{
	static const std::regex line("metrics on http://127\\.0\\.0\\.1:(\\d+)"
				     "/metrics");
	std::smatch m;
	return std::regex_search(out, m, line) ? std::stoul(m[1].str()) : 0;
}

} // namespace agent_test
