// SPDX-License-Identifier: Apache-2.0
#include "wire_bounds.h"

#include <array>

namespace vaccel::agent
{

namespace
{

// A minimal reader of the protobuf wire format: tags, varints, lengths.
struct Cursor {
	const uint8_t *p, *end;

	// A tag as protobuf and transport/wire.h read it: a varint of at
	// most 5 bytes, cut to 32 bits. Read any other way, a tag with
	// high bits set would name another field here than in the parser.
	bool tag(uint32_t *t)
	{
		uint64_t wide = 0;
		if (!varint(&wide, 5))
			return false;
		*t = static_cast<uint32_t>(wide);
		return (*t >> 3) != 0;
	}
	bool varint(uint64_t *v, int max_bytes = 10)
	{
		*v = 0;
		for (int shift = 0;
		     shift < 7 * max_bytes && shift < 64 && p < end;
		     shift += 7) {
			const uint8_t b = *p++;
			*v |= static_cast<uint64_t>(b & 0x7f) << shift;
			if ((b & 0x80) == 0)
				return true;
		}
		return false;
	}
	// Skips a field of wire type @p wt; *@p body: a length-delimited
	// field's bytes.
	bool skip(uint32_t wt, std::span<const uint8_t> *body)
	{
		uint64_t n = 0;
		switch (wt) {
		case 0:
			return varint(&n);
		case 1:
			n = 8;
			break;
		case 2:
			if (!varint(&n))
				return false;
			break;
		case 5:
			n = 4;
			break;
		default:
			return false; // groups: not in our protos
		}
		if (n > static_cast<uint64_t>(end - p))
			return false;
		*body = {p, static_cast<size_t>(n)};
		p += n;
		return true;
	}
};

// Elements of a packed varint field.
size_t count_varints(std::span<const uint8_t> b)
{
	size_t n = 0;
	for (uint8_t c : b)
		n += (c & 0x80) == 0 ? 1 : 0;
	return n;
}

RpcStatus scan(std::span<const uint8_t> msg,
	       std::span<const RepeatedBound> bounds, const Limits &limits,
	       std::string_view type)
{
	std::array<size_t, 8> counts{};
	Cursor c{msg.data(), msg.data() + msg.size()};
	while (c.p < c.end) {
		uint32_t tag = 0;
		std::span<const uint8_t> body;
		// What cannot be walked here is not let through for the
		// parser to judge: it might read it otherwise.
		if (!c.tag(&tag) || !c.skip(tag & 7, &body))
			return RpcStatus::malformed(
			    "malformed %.*s message",
			    static_cast<int>(type.size()), type.data());
		for (size_t i = 0; i < bounds.size() && i < counts.size();
		     ++i) {
			const RepeatedBound &b = bounds[i];
			if ((tag >> 3) != b.field)
				continue;
			const bool packed = b.packed && (tag & 7) == 2;
			counts[i] += packed ? count_varints(body) : 1;
			const size_t max = limits.*b.max;
			if (counts[i] > max)
				return RpcStatus::invalid(
				    "%.*s: more than %zu elements in repeated "
				    "field %u",
				    static_cast<int>(type.size()), type.data(),
				    max, b.field);
			if (!b.inner.empty() && (tag & 7) == 2)
				AGENT_RETURN_IF_ERROR(
				    scan(body, b.inner, limits, type));
		}
	}
	return RpcStatus::ok();
}

using B = RepeatedBound;
using L = Limits;
constexpr B kArgs[] = {{2, &L::max_args}, {3, &L::max_args}};
constexpr B kRegister[] = {{1, &L::max_blobs}, {2, &L::max_blobs}};
constexpr B kDims[] = {{2, &L::max_dims, true}};
constexpr B kTf[] = {{4, &L::max_tensors},
		     {5, &L::max_tensors},
		     {6, &L::max_tensors, false, kDims}};
constexpr B kTflite[] = {{3, &L::max_tensors, false, kDims}};
constexpr B kTorch[] = {{4, &L::max_tensors, false, kDims}};
constexpr B kEnvelope[] = {{5, &L::max_metadata}};
constexpr B kShmTorch[] = {{1, &L::max_tensors, false, kTorch},
			   {2, &L::max_tensors}};

} // namespace

RpcStatus check_repeated(std::span<const uint8_t> msg,
			 std::span<const RepeatedBound> bounds,
			 const Limits &limits, std::string_view type)
{
	if (bounds.empty())
		return RpcStatus::ok();
	return scan(msg, bounds, limits, type);
}

namespace bounds
{
const std::span<const RepeatedBound> genop = kArgs;
const std::span<const RepeatedBound> shm_genop = kArgs;
const std::span<const RepeatedBound> register_req = kRegister;
const std::span<const RepeatedBound> tf_run = kTf;
const std::span<const RepeatedBound> tflite_run = kTflite;
const std::span<const RepeatedBound> torch_run = kTorch;
const std::span<const RepeatedBound> shm_torch_run = kShmTorch;
const std::span<const RepeatedBound> ttrpc_request = kEnvelope;
} // namespace bounds

} // namespace vaccel::agent
