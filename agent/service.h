// SPDX-License-Identifier: Apache-2.0
// The agent's request service: it turns one decoded ttrpc Request into one
// ttrpc Response by running the named method against the vAccel C API. It
// knows nothing of sockets or threads (the server, server.h, feeds it), so
// tests drive it in-process, one call per request.
#pragma once

#include "objects.h"
#include "rpc_status.h"

#include "rpc/ttrpc.pb.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vaccel::agent
{

// Our extension service (docs/protocol.md); never used by upstream peers.
inline constexpr std::string_view kServiceAdmin = "vaccel.ext.AgentAdmin";

// Bounds on what one request may ask for. Byte sizes are further bounded
// by the frame limit, since every payload travels in one frame.
struct Limits {
	uint32_t max_frame = transport::kDefaultMaxFrame;
	size_t max_args = 1024;    // genop read or write args
	size_t max_blobs = 1024;   // blobs or paths of one resource
	size_t max_tensors = 1024; // tensors / nodes in or out
	size_t max_dims = 64;      // dimensions of one tensor
	size_t max_name = 255;     // a blob's file name (NAME_MAX)
};

class Service;

// What a handler sees of the request besides its message.
struct Context {
	Service &service;
	ObjectTable &objects;
	const Limits &limits;
	ConnId conn;
};

class Service
{
public:
	explicit Service(Limits limits = {}) : limits_(limits) {}
	Service(const Service &) = delete;
	Service &operator=(const Service &) = delete;

	// A connection's objects can be created only between these two calls;
	// closing releases everything the connection still owns.
	void open_connection(ConnId conn) { objects_.open_connection(conn); }
	void close_connection(ConnId conn) { objects_.close_connection(conn); }
	// Releases every object of every connection (shutdown).
	void clear() { objects_.clear(); }

	// Runs one request for connection @p conn. Never throws: malformed
	// payloads, unknown methods and failing calls all become a status.
	rpc::ttrpc::Response handle(ConnId conn,
				    const rpc::ttrpc::Request &req) noexcept;

	[[nodiscard]] const Limits &limits() const noexcept { return limits_; }
	[[nodiscard]] uint64_t requests_served() const noexcept
	{
		return requests_.load(std::memory_order_relaxed);
	}
	TableStats stats() { return objects_.stats(); }

private:
	Limits limits_;
	ObjectTable objects_;
	std::atomic<uint64_t> requests_{0};
};

// Fills @p resp.status from @p st (code, message and, for vAccel failures,
// upstream's error detail).
void set_status(rpc::ttrpc::Response &resp, const RpcStatus &st);

} // namespace vaccel::agent
