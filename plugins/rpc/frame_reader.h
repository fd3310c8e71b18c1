// SPDX-License-Identifier: Apache-2.0
// The reading side of a connection, run by whichever waiting caller leads
// (calls.h): reads frames and routes each reply to the call it belongs to,
// gathering chunked replies straight into place.
#pragma once

#include "calls.h"
#include "config.h"

#include "transport/spin.h"
#include "transport/transport.h"

namespace vaccel::rpc_plugin
{

class FrameReader
{
public:
	FrameReader(transport::Stream &stream, CallTable &calls,
		    const Config &cfg, const transport::SpinPolicy &spin);

	// Reads and routes frames until @p mine is complete, @p dl passes or
	// the connection failed; a write to @p wake_fd ends the wait early.
	// Returns a transport failure (the caller fails the connection).
	Status lead(const Pending &mine, transport::Deadline dl, int wake_fd);

private:
	enum class Wait { Readable, LookAgain, Expired };
	// Waits for the socket until @p dl: polls first for about as long as
	// frames usually take, then sleeps in poll(). A write to @p wake_fd
	// (the connection failed) ends the wait: LookAgain.
	Result<Wait> wait_readable(transport::Deadline dl, int wake_fd);
	Status read_chunk(const transport::FrameHeader &h,
			  transport::Deadline dl);
	void route(transport::Frame frame);

	transport::Stream &stream_;
	CallTable &calls_;
	const uint32_t max_frame_;
	const std::chrono::milliseconds read_timeout_;
	const uint64_t max_message_;
	const transport::SpinPolicy &spin_;
	// Smoothed wait for the next frame, ns (the current reader only).
	int64_t wait_ns_ = 0;
};

} // namespace vaccel::rpc_plugin
