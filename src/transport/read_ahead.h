// SPDX-License-Identifier: Apache-2.0
// A stream's read-ahead buffer (Stream::set_read_ahead), private to the
// transport sources.
#pragma once

#include "transport/transport.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace vaccel::transport
{

// Bytes received ahead of the reads that will take them: [begin, end) of
// buf, the first of them at stream offset `position`.
struct Stream::ReadAhead {
	// Descriptors that came with one receive, which took stream bytes
	// [from, to): they wait for the frame they belong to.
	struct Held {
		uint64_t from = 0, to = 0;
		std::vector<UniqueFd> fds;
	};

	std::vector<uint8_t> buf;
	size_t begin = 0, end = 0;
	uint64_t position = 0;
	bool descriptors = false;
	std::vector<Held> held;
	// A receive's control message was cut short: its descriptors are
	// lost, and so is the stream.
	bool truncated = false;
	// receive(): whether the fd is a socket (unknown until first asked),
	// whether it was switched to blocking mode, and the SO_RCVTIMEO last
	// set in ms (0: none; -1: never set).
	int is_socket = -1;
	bool blocking = false;
	int64_t rcvtimeo_ms = -1;

	[[nodiscard]] size_t buffered() const noexcept { return end - begin; }

	[[nodiscard]] size_t held_count() const noexcept
	{
		size_t n = 0;
		for (const auto &h : held)
			n += h.fds.size();
		return n;
	}

	// Copies what is buffered into the front of @p data; how much.
	size_t take(std::span<uint8_t> data) noexcept
	{
		const size_t n = std::min(data.size(), buffered());
		if (n == 0) // an empty read may come with no buffer at all
			return 0;
		std::memcpy(data.data(), buf.data() + begin, n);
		begin += n;
		position += n;
		return n;
	}

	// After a receive of @p n bytes into the empty buffer.
	void filled(size_t n, std::vector<UniqueFd> fds)
	{
		begin = 0;
		end = n;
		if (!fds.empty())
			held.push_back(
			    {position, position + n, std::move(fds)});
	}
};

} // namespace vaccel::transport
