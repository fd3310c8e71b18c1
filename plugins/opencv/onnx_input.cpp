// SPDX-License-Identifier: Apache-2.0
// A minimal protobuf wire-format walker, enough to read
// ModelProto.graph.input[*].type.tensor_type.{elem_type,shape} and the
// initializer names (older exporters list weights among the inputs). Every
// length is checked against the bytes left, so malformed or hostile input
// yields nullopt, never a read out of bounds.
#include "onnx_input.h"

#include <set>

namespace ocv
{
namespace
{

// Field numbers from onnx.proto.
constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphInitializer = 5;
constexpr uint32_t kGraphInput = 11;
constexpr uint32_t kTensorName = 8;
constexpr uint32_t kValueInfoName = 1;
constexpr uint32_t kValueInfoType = 2;
constexpr uint32_t kTypeTensor = 1;
constexpr uint32_t kTensorTypeElem = 1;
constexpr uint32_t kTensorTypeShape = 2;
constexpr uint32_t kShapeDim = 1;
constexpr uint32_t kDimValue = 1;
constexpr uint32_t kDimParam = 2;

enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

struct Field {
	uint32_t number = 0;
	uint32_t wire = 0;
	uint64_t value = 0;                  // varint fields
	const unsigned char *data = nullptr; // length-delimited fields
	size_t size = 0;
};

class Reader
{
public:
	Reader(const unsigned char *p, size_t n) : p_(p), end_(p + n) {}

	[[nodiscard]] bool done() const { return p_ == end_; }

	// The next field, or false if the bytes are malformed.
	bool next(Field &f)
	{
		uint64_t tag = 0;
		if (!varint(tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
			return false;
		f = Field{};
		f.number = static_cast<uint32_t>(tag >> 3);
		f.wire = static_cast<uint32_t>(tag & 7);
		switch (f.wire) {
		case kVarint:
			return varint(f.value);
		case kFixed64:
			return skip(8);
		case kFixed32:
			return skip(4);
		case kLen: {
			uint64_t len = 0;
			if (!varint(len) ||
			    len > static_cast<uint64_t>(end_ - p_))
				return false;
			f.data = p_;
			f.size = static_cast<size_t>(len);
			p_ += len;
			return true;
		}
		default: // groups (3, 4) are not used by ONNX
			return false;
		}
	}

private:
	bool varint(uint64_t &out)
	{
		out = 0;
		for (int shift = 0; shift < 64; shift += 7) {
			if (p_ == end_)
				return false;
			const unsigned char b = *p_++;
			out |= static_cast<uint64_t>(b & 0x7f) << shift;
			if ((b & 0x80) == 0)
				return true;
		}
		return false;
	}

	bool skip(size_t n)
	{
		if (n > static_cast<size_t>(end_ - p_))
			return false;
		p_ += n;
		return true;
	}

	const unsigned char *p_;
	const unsigned char *end_;
};

// Calls fn(field) for each field of a message; false if malformed or if fn
// returns false.
template <typename Fn>
bool each_field(const unsigned char *data, size_t size, Fn &&fn)
{
	Reader r(data, size);
	while (!r.done()) {
		Field f;
		if (!r.next(f) || !fn(f))
			return false;
	}
	return true;
}

std::string as_string(const Field &f)
{
	return {reinterpret_cast<const char *>(f.data), f.size};
}

bool parse_dim(const Field &dim, std::vector<int64_t> &dims)
{
	int64_t v = -1;
	bool ok = each_field(dim.data, dim.size, [&](const Field &f) {
		if (f.number == kDimValue && f.wire == kVarint)
			v = static_cast<int64_t>(f.value);
		else if (f.number == kDimParam)
			v = -1;
		return true;
	});
	if (v < 0)
		v = -1;
	dims.push_back(v);
	return ok;
}

bool parse_tensor_type(const Field &t, OnnxInput &in)
{
	return each_field(t.data, t.size, [&](const Field &f) {
		if (f.number == kTensorTypeElem && f.wire == kVarint) {
			in.elem_type = static_cast<int32_t>(f.value);
		} else if (f.number == kTensorTypeShape && f.wire == kLen) {
			in.dims.clear();
			return each_field(f.data, f.size, [&](const Field &d) {
				if (d.number == kShapeDim && d.wire == kLen)
					return parse_dim(d, in.dims);
				return true;
			});
		}
		return true;
	});
}

bool parse_value_info(const Field &vi, OnnxInput &in)
{
	return each_field(vi.data, vi.size, [&](const Field &f) {
		if (f.number == kValueInfoName && f.wire == kLen) {
			in.name = as_string(f);
		} else if (f.number == kValueInfoType && f.wire == kLen) {
			return each_field(f.data, f.size, [&](const Field &t) {
				if (t.number == kTypeTensor && t.wire == kLen)
					return parse_tensor_type(t, in);
				return true;
			});
		}
		return true;
	});
}

} // namespace

std::optional<OnnxInput> read_onnx_input(const unsigned char *data, size_t size)
{
	if (data == nullptr || size == 0)
		return std::nullopt;
	Field graph;
	bool have_graph = false;
	if (!each_field(data, size,
			[&](const Field &f) {
				if (f.number == kModelGraph && f.wire == kLen) {
					graph = f;
					have_graph = true;
				}
				return true;
			}) ||
	    !have_graph)
		return std::nullopt;

	std::vector<OnnxInput> inputs;
	std::set<std::string> weights;
	if (!each_field(graph.data, graph.size, [&](const Field &f) {
		    if (f.wire != kLen)
			    return true;
		    if (f.number == kGraphInput) {
			    OnnxInput in;
			    if (!parse_value_info(f, in))
				    return false;
			    inputs.push_back(std::move(in));
		    } else if (f.number == kGraphInitializer) {
			    return each_field(
				f.data, f.size, [&](const Field &t) {
					if (t.number == kTensorName &&
					    t.wire == kLen)
						weights.insert(as_string(t));
					return true;
				});
		    }
		    return true;
	    }))
		return std::nullopt;

	for (auto &in : inputs)
		if (weights.count(in.name) == 0)
			return std::move(in);
	return std::nullopt;
}

} // namespace ocv
