// SPDX-License-Identifier: Apache-2.0
// The ttrpc envelope around the plugin's messages: request envelopes
// written by hand around a payload that stays where it lies
// (transport/codec.h), and replies read back into a payload or the vAccel
// error their status carries (docs/protocol.md, "Errors").
#pragma once

#include "base/status.h"

#include "rpc/common.pb.h"

#include <google/protobuf/message_lite.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vaccel::rpc_plugin
{

using base::Status;

// The head of a ttrpc Request envelope whose @p payload_size payload bytes
// follow it. @p reply_slot, when not empty, names the reply slot the caller
// will poll (SlotLease::where()).
void encode_head(std::string_view service, std::string_view method,
		 size_t payload_size, std::chrono::milliseconds timeout,
		 std::string *out, std::string_view reply_slot = {});

// A whole ttrpc Request envelope around @p payload.
Status encode(std::string_view service, std::string_view method,
	      std::string_view payload, std::chrono::milliseconds timeout,
	      std::string *out);

// The payload of a serialized ttrpc Response, where it lies in @p bytes, or
// the vAccel error its status carries; for a vAccel error whose detail
// holds a framework status, *@p detail (may be NULL) receives it.
Status reply_payload(std::span<const uint8_t> bytes,
		     std::span<const uint8_t> *payload,
		     std::optional<rpc::Status> *detail);

// reply_payload(), parsed into @p reply (may be NULL).
Status decode(std::span<const uint8_t> bytes,
	      google::protobuf::MessageLite *reply,
	      std::optional<rpc::Status> *detail);

inline std::span<const uint8_t> bytes_of(std::string_view s)
{
	return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

} // namespace vaccel::rpc_plugin
