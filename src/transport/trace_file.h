// SPDX-License-Identifier: Apache-2.0
// A file of timing lines shared by writers on many threads: the agent's
// request trace (vaccel-agent --trace) and the rpc plugin's call trace
// (VACCEL_RPC_TRACE). Block-buffered, so that a line per call does not cost
// a write(2) each; what is buffered reaches the file at close().
#pragma once

#include "base/status.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace vaccel::transport
{

class TraceFile
{
public:
	TraceFile() = default;
	TraceFile(const TraceFile &) = delete;
	TraceFile &operator=(const TraceFile &) = delete;
	~TraceFile() { close(); }

	// Opens @p path for writing ("-": standard error), truncating it, and
	// writes @p header (a "# ..." line). An error names the path.
	base::Status open(const std::string &path, const char *header);
	void close() noexcept;
	[[nodiscard]] bool enabled() const noexcept
	{
		return out_.load(std::memory_order_relaxed) != nullptr;
	}
	// One line, printf-style; nothing when closed.
	void line(const char *fmt, ...) noexcept
	    __attribute__((format(printf, 2, 3)));

private:
	std::mutex mu_;
	std::atomic<std::FILE *> out_{nullptr};
	bool owned_ = false;
};

} // namespace vaccel::transport
