// SPDX-License-Identifier: Apache-2.0
// Hand-written codecs (wire.h) for the messages every call, or every torch
// run or small genop, goes through: the ttrpc Request/Response envelopes,
// the torch run's request and response, and the args of a genop request. What
// they write the generated classes read field for field, and the torch messages
// and the Response head byte for byte as SerializeToString() writes them (a
// Request's payload comes last here); what they read is what the generated
// parser accepts (tests/transport/test_codec.cpp checks both ways on random and
// damaged messages). The rest of the protocol keeps the generated classes.
//
// Views point into the buffer they were parsed from, which must outlive
// them.
#pragma once

#include "wire.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vaccel::transport::codec
{

// ---- ttrpc envelopes (rpc/ttrpc.proto) -------------------------------------

// A ttrpc Request.
struct RequestView {
	std::string_view service;
	std::string_view method;
	std::span<const uint8_t> payload;
	int64_t timeout_nano = 0;
	// The whole envelope, for metadata().
	std::span<const uint8_t> raw;
	// Whether parse_request() met a metadata entry: most requests carry
	// none, and metadata() then need not read the envelope again.
	bool has_metadata = false;

	// The value of the first metadata entry named @p key; false if none.
	bool metadata(std::string_view key, std::string_view *value) const;
};

// False if @p bytes is not a well-formed Request (as protobuf, strings that
// are not UTF-8 included).
bool parse_request(std::span<const uint8_t> bytes, RequestView *out);

// One metadata entry to send.
struct KeyValue {
	std::string_view key;
	std::string_view value;
};

// Appends a Request envelope with every field but the payload's bytes:
// when @p payload_size > 0, it ends with the payload field's header and
// the caller sends the payload's bytes right after (from where they are).
void put_request_head(std::string *out, std::string_view service,
		      std::string_view method, int64_t timeout_nano,
		      std::span<const KeyValue> metadata, size_t payload_size);

// A ttrpc Response. @p code is the status code (repeated status fields
// merged); @p status the last serialized Status. A failure's message and
// details are for the generated classes to read, from the whole Response.
struct ResponseView {
	int32_t code = 0;
	std::span<const uint8_t> status;
	std::span<const uint8_t> payload;
};

// False if @p bytes is not a well-formed Response.
bool parse_response(std::span<const uint8_t> bytes, ResponseView *out);

// Appends the head of a successful Response (status code 0) whose payload
// of @p payload_size bytes follows: what the generated class writes for a
// Response with an OK status, without the payload's bytes.
void put_ok_response_head(std::string *out, size_t payload_size);

// Whether @p s is well-formed UTF-8 (no overlong forms, surrogates or code
// points beyond U+10FFFF), which protobuf requires of proto3 strings.
[[nodiscard]] bool valid_utf8(std::string_view s) noexcept;

// ---- torch runs (rpc/torch.proto, rpc/ext.proto) ---------------------------

// A vaccel.torch.Tensor; its dims are dims[dims_at, +nr_dims) of the list
// that holds it.
struct TensorView {
	std::span<const uint8_t> data;
	uint32_t dims_at = 0;
	uint32_t nr_dims = 0;
	int32_t type = 0;
};

// Repeated Tensor fields, their dims in one array.
struct Tensors {
	std::vector<TensorView> tensors;
	std::vector<int64_t> dims;

	[[nodiscard]] std::span<const int64_t>
	dims_of(const TensorView &t) const noexcept
	{
		return std::span(dims).subspan(t.dims_at, t.nr_dims);
	}
	void clear() noexcept
	{
		tensors.clear();
		dims.clear();
	}
};

// A vaccel.torch.ModelRunRequest.
struct TorchRunView {
	int64_t session_id = 0;
	int64_t model_id = 0;
	bool has_run_options = false;
	std::span<const uint8_t> run_options;
	Tensors in;
	uint64_t nr_out = 0;
};

bool parse_torch_run(std::span<const uint8_t> bytes, TorchRunView *out);

// One entry of ShmTorchRunRequest.data (a vaccel.ext.ShmArg; the fields a
// torch run does not use are skipped).
struct ShmPlace {
	uint32_t region = 0;
	uint64_t offset = 0;
	uint64_t size = 0;
};

// A vaccel.ext.ShmTorchRunRequest: its serialized run and its places.
bool parse_shm_torch_run(std::span<const uint8_t> bytes,
			 std::span<const uint8_t> *run,
			 std::vector<ShmPlace> *places);

// A vaccel.torch.ModelRunResponse.
bool parse_torch_run_response(std::span<const uint8_t> bytes, Tensors *out);

// Bytes a Tensor takes as a message (without its field header).
[[nodiscard]] size_t torch_tensor_size(size_t data_size,
				       std::span<const int64_t> dims,
				       int32_t type);
// Appends a Tensor as field @p field of the message being written.
void put_torch_tensor(wire::Writer &w, uint32_t field,
		      std::span<const uint8_t> data,
		      std::span<const int64_t> dims, int32_t type);

// ---- genop (rpc/genop.proto) ------------------------------------------------

// A vaccel.genop.Arg to write: its bytes (empty: none travel; the size still
// says how large the caller's buffer is), its type and custom type id.
struct GenopArg {
	std::span<const uint8_t> buf;
	uint32_t size = 0;
	int32_t type = 0; // an enum: a negative one is sign-extended
	uint32_t custom_type_id = 0;
};

// Bytes an Arg takes as a message (without its field header): what
// ByteSizeLong() says.
[[nodiscard]] size_t genop_arg_size(const GenopArg &a);
// Appends an Arg as field @p field of the message being written, all but
// the bytes of its buf, which the caller sends right after (from where they
// lie, or appended): its scalars come before its buf, which the generated
// parser reads as it reads SerializeToString()'s order.
void put_genop_arg_head(wire::Writer &w, uint32_t field, const GenopArg &a);
// The same with the buf's bytes appended: a whole Arg.
void put_genop_arg(wire::Writer &w, uint32_t field, const GenopArg &a);

// Field numbers of a genop Request.
inline constexpr uint32_t kGenopSession = 1;
inline constexpr uint32_t kGenopReadArgs = 2;
inline constexpr uint32_t kGenopWriteArgs = 3;

// Field numbers the writers of whole torch messages need.
inline constexpr uint32_t kTorchRunSession = 1;
inline constexpr uint32_t kTorchRunModel = 2;
inline constexpr uint32_t kTorchRunOptions = 3;
inline constexpr uint32_t kTorchRunInputs = 4;
inline constexpr uint32_t kTorchRunNrOut = 5;
inline constexpr uint32_t kTorchResponseOutputs = 1;
inline constexpr uint32_t kShmTorchRun = 1;
inline constexpr uint32_t kShmTorchData = 2;
inline constexpr uint32_t kShmArgRegion = 1;
inline constexpr uint32_t kShmArgOffset = 2;
inline constexpr uint32_t kShmArgSize = 3;

} // namespace vaccel::transport::codec
