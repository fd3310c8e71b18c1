// SPDX-License-Identifier: Apache-2.0
// Per-request timings (vaccel-agent --trace FILE): where a call's time goes
// inside the agent, one line per request, so that a slow round trip can be
// split into the agent's share (waiting for a worker, decoding, the op
// itself, encoding and sending the reply) and the rest (client and wire).
// Off by default; when on, each request costs two clock reads more and a
// buffered line write under a mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "service.h"
#include "transport/trace_file.h"

namespace vaccel::agent
{

struct TraceRecord {
	using Clock = std::chrono::steady_clock;
	uint64_t conn = 0;
	uint32_t stream = 0;
	std::string_view method;
	uint64_t request_bytes = 0;
	uint64_t reply_bytes = 0;
	int status = 0; // the reply's gRPC code (0: OK)
	// The connection's reader stopped polling (the frame had arrived, or
	// it went on to block for it); the frame was read whole; a worker
	// began; the handler returned; the reply was written.
	Clock::time_point arrived, read, started, handled, replied;
	// Inside the handler, the vAccel op calls alone (total 0: the method
	// runs no op, e.g. session or resource management).
	OpTiming op;
	// The CPUs the worker ran on when it began and after the reply.
	int cpu_started = -1, cpu_replied = -1;
};

class RequestTrace
{
public:
	// Opens @p path for writing ("-": standard error) and writes the
	// column header. Truncates an existing file.
	core::Status open(const std::string &path);
	void close() noexcept { file_.close(); }
	[[nodiscard]] bool enabled() const noexcept { return file_.enabled(); }

	// One line: conn, stream, method, bytes in and out, status, then
	// microseconds queued (read -> started), handler, op, reply (handled
	// -> replied), total (read -> replied), the read time since the
	// trace was opened (ms); then, for lining up with the client's trace:
	// the read time on the monotonic clock (ns), microseconds reading the
	// frame (arrived -> read), before the op (started -> its start),
	// after it (its end -> handled), and the worker's CPUs.
	void record(const TraceRecord &r) noexcept;

private:
	transport::TraceFile file_;
	TraceRecord::Clock::time_point origin_;
};

} // namespace vaccel::agent
