// SPDX-License-Identifier: Apache-2.0
// Requests larger than one frame (docs/protocol.md, "Large data"): cut into
// the Data frames of a chunked call, or, for an upstream agent, into
// upstream's GenopStream messages.
#pragma once

#include "connection.h"

#include "rpc/genop.pb.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vaccel::rpc_plugin
{

// @p pieces, sent from where they lie, as frames of at most @p max_frame
// bytes (and at most 8 parts, the gather limit of one frame).
std::vector<FrameParts>
cut_frames(std::span<const std::span<const uint8_t>> pieces, size_t max_frame);

// Upstream's GenopStream messages for @p req: args that fit are batched
// into messages of less than one frame; a larger arg is split into parts
// (`parts`/`part_no`), one message each, as upstream's client does.
std::vector<std::string> genop_stream_messages(const rpc::genop::Request &req,
					       uint32_t max_frame);

} // namespace vaccel::rpc_plugin
