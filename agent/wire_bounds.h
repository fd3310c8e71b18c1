// SPDX-License-Identifier: Apache-2.0
// Repeated fields counted on the wire, before protobuf parses a request.
// A parsed element costs far more than its bytes on the wire (an empty
// genop arg: 2 bytes sent, a heap object of ~50 bytes parsed; a packed
// int64 dim: 1 byte sent, 8 parsed), so a request made of empty elements
// expands tens of times when parsed. Refusing counts over the Limits
// first bounds what parsing any request can cost, whatever its size.
#pragma once

#include "rpc_status.h"
#include "service.h"

#include <cstdint>
#include <span>
#include <string_view>

namespace vaccel::agent
{

// At most Limits::*max occurrences of field number @p field; @p packed:
// a repeated integer field, counted element by element; @p inner: bounds
// inside each occurrence (a repeated message's own repeated fields).
struct RepeatedBound {
	uint32_t field;
	size_t Limits::*max;
	bool packed = false;
	std::span<const RepeatedBound> inner = {};
};

// INVALID_ARGUMENT naming @p type and the field when a count passes its
// bound; OK otherwise, malformed messages included (the parser that
// follows refuses those).
RpcStatus check_repeated(std::span<const uint8_t> msg,
			 std::span<const RepeatedBound> bounds,
			 const Limits &limits, std::string_view type);

// The bounds of the requests with repeated fields.
namespace bounds
{
extern const std::span<const RepeatedBound> genop;         // genop.Request
extern const std::span<const RepeatedBound> shm_genop;     // ShmGenopRequest
extern const std::span<const RepeatedBound> register_req;  // RegisterRequest
extern const std::span<const RepeatedBound> tf_run;        // tf run
extern const std::span<const RepeatedBound> tflite_run;    // tflite run
extern const std::span<const RepeatedBound> torch_run;     // torch run
extern const std::span<const RepeatedBound> shm_torch_run; // its shm form
extern const std::span<const RepeatedBound> ttrpc_request; // the envelope
} // namespace bounds

} // namespace vaccel::agent
