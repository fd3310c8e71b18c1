// SPDX-License-Identifier: Apache-2.0
// The protobuf wire format by hand, for the few messages on the hot path of
// every call (the ttrpc envelopes, the torch run; codec.h). The generated
// classes parse into owned strings and nested objects through a large,
// table-driven parser: next to a model that has just flushed the caches,
// that code and its allocations cost tens of microseconds per call, most
// of it cache misses. These readers look at the bytes where they lie and
// these writers append to one buffer; both are a few dozen instructions.
//
// Reader follows protobuf's parser: varints of at most 10 bytes, tags and
// lengths of at most 5 (a length below 2^31 and within the buffer), field
// number 0 and wire types 6/7 refused. It does not skip
// groups (wire types 3/4, deprecated since proto2 and never produced for
// these messages): a message holding one is malformed here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vaccel::transport::wire
{

enum class WireType : uint8_t {
	Varint = 0,
	Fixed64 = 1,
	Len = 2,
	Fixed32 = 5,
};

// One field of a message: its number and wire type, and either its value
// (varint and fixed types) or its bytes (length-delimited), which point
// into the message.
struct Field {
	uint32_t number = 0;
	WireType type = WireType::Varint;
	uint64_t value = 0;
	std::span<const uint8_t> bytes;

	[[nodiscard]] bool is(uint32_t n, WireType t) const noexcept
	{
		return number == n && type == t;
	}
	[[nodiscard]] std::string_view str() const noexcept
	{
		return {reinterpret_cast<const char *>(bytes.data()),
			bytes.size()};
	}
};

// Reads a varint from the front of @p in, advancing it; false if @p in
// ends first or the varint is longer than @p max_bytes (10: any 64-bit
// value; bits beyond 64 are dropped, as protobuf drops them).
inline bool read_varint(std::span<const uint8_t> &in, uint64_t *v,
			size_t max_bytes = 10) noexcept
{
	uint64_t x = 0;
	const size_t n = in.size() < max_bytes ? in.size() : max_bytes;
	for (size_t i = 0; i < n; ++i) {
		const uint8_t b = in[i];
		x |= uint64_t{b & 0x7fu} << (7 * i);
		if ((b & 0x80) == 0) {
			*v = x;
			in = in.subspan(i + 1);
			return true;
		}
	}
	return false;
}

// The fields of one serialized message, in order:
//
//   Reader r(bytes);
//   for (Field f; r.next(&f);) { ... }
//   if (r.failed()) ... malformed
class Reader
{
public:
	explicit Reader(std::span<const uint8_t> msg) noexcept : in_(msg) {}
	explicit Reader(std::string_view msg) noexcept
	    : in_(reinterpret_cast<const uint8_t *>(msg.data()), msg.size())
	{
	}

	// The next field; false at the end of the message or when it is
	// malformed (failed() then says which).
	bool next(Field *f) noexcept
	{
		if (in_.empty() || failed_)
			return false;
		// A tag is a 32-bit varint of at most 5 bytes (higher bits of
		// the fifth dropped), as protobuf reads it.
		uint64_t wide = 0;
		if (!read_varint(in_, &wide, 5))
			return fail();
		const auto tag = static_cast<uint32_t>(wide);
		if ((tag >> 3) == 0)
			return fail();
		f->number = static_cast<uint32_t>(tag >> 3);
		f->bytes = {};
		f->value = 0;
		switch (tag & 7) {
		case 0:
			f->type = WireType::Varint;
			return read_varint(in_, &f->value) || fail();
		case 1:
			f->type = WireType::Fixed64;
			return fixed(8, f);
		case 5:
			f->type = WireType::Fixed32;
			return fixed(4, f);
		case 2: {
			f->type = WireType::Len;
			// A length is at most 5 bytes and below 2^31, as
			// protobuf reads it.
			uint64_t n = 0;
			if (!read_varint(in_, &n, 5) || n > 0x7fffffff ||
			    n > in_.size())
				return fail();
			f->bytes = in_.first(static_cast<size_t>(n));
			in_ = in_.subspan(static_cast<size_t>(n));
			return true;
		}
		default:
			return fail();
		}
	}

	[[nodiscard]] bool failed() const noexcept { return failed_; }

private:
	bool fail() noexcept
	{
		failed_ = true;
		return false;
	}
	bool fixed(size_t n, Field *f) noexcept
	{
		if (in_.size() < n)
			return fail();
		uint64_t v = 0;
		for (size_t i = 0; i < n; ++i)
			v |= uint64_t{in_[i]} << (8 * i);
		f->value = v;
		in_ = in_.subspan(n);
		return true;
	}

	std::span<const uint8_t> in_;
	bool failed_ = false;
};

// Calls @p fn(int64_t) for each element of a repeated int64 field, which
// may arrive packed (one length-delimited field) or one varint per field,
// as protobuf accepts either; false if a packed run is malformed.
template <class Fn> bool for_each_int64(const Field &f, Fn &&fn)
{
	if (f.type == WireType::Varint) {
		fn(static_cast<int64_t>(f.value));
		return true;
	}
	if (f.type != WireType::Len)
		return true; // not this field's type: skipped, as protobuf does
	std::span<const uint8_t> in = f.bytes;
	while (!in.empty()) {
		uint64_t v = 0;
		if (!read_varint(in, &v))
			return false;
		fn(static_cast<int64_t>(v));
	}
	return true;
}

// ---- writing --------------------------------------------------------------

[[nodiscard]] constexpr size_t varint_size(uint64_t v) noexcept
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		++n;
	}
	return n;
}

// Bytes a length-delimited field of @p len bytes takes, header included.
[[nodiscard]] constexpr size_t len_field_size(uint32_t field,
					      size_t len) noexcept
{
	return varint_size(uint64_t{field} << 3) + varint_size(len) + len;
}

// Appends fields to a string, in the order called. Like protobuf's
// serializer, the *_nonzero / *_nonempty forms leave out proto3 default
// values, so a message written field by field in number order comes out
// byte for byte as SerializeToString() writes it.
class Writer
{
public:
	explicit Writer(std::string *out) noexcept : out_(out) {}

	void raw_varint(uint64_t v)
	{
		if (v < 0x80) { // tags and short lengths: most of a head
			out_->push_back(static_cast<char>(v));
			return;
		}
		char buf[10];
		size_t n = 0;
		while (v >= 0x80) {
			buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
			v >>= 7;
		}
		buf[n++] = static_cast<char>(v);
		out_->append(buf, n);
	}
	void tag(uint32_t field, WireType t)
	{
		raw_varint((uint64_t{field} << 3) | static_cast<uint64_t>(t));
	}
	void varint(uint32_t field, uint64_t v)
	{
		tag(field, WireType::Varint);
		raw_varint(v);
	}
	void varint_nonzero(uint32_t field, uint64_t v)
	{
		if (v != 0)
			varint(field, v);
	}
	// The header of a length-delimited field whose @p len bytes the
	// caller appends next (a nested message, or bytes sent separately).
	void len_header(uint32_t field, size_t len)
	{
		tag(field, WireType::Len);
		raw_varint(len);
	}
	void bytes(uint32_t field, std::span<const uint8_t> b)
	{
		len_header(field, b.size());
		out_->append(reinterpret_cast<const char *>(b.data()),
			     b.size());
	}
	void bytes(uint32_t field, std::string_view s)
	{
		len_header(field, s.size());
		out_->append(s);
	}
	void bytes_nonempty(uint32_t field, std::string_view s)
	{
		if (!s.empty())
			bytes(field, s);
	}
	// A packed repeated int64 field (proto3's default for scalars).
	void packed_int64(uint32_t field, std::span<const int64_t> v)
	{
		if (v.empty())
			return;
		size_t n = 0;
		for (int64_t x : v)
			n += varint_size(static_cast<uint64_t>(x));
		len_header(field, n);
		for (int64_t x : v)
			raw_varint(static_cast<uint64_t>(x));
	}

	[[nodiscard]] std::string &out() noexcept { return *out_; }

private:
	std::string *out_;
};

[[nodiscard]] inline size_t packed_int64_size(uint32_t field,
					      std::span<const int64_t> v)
{
	if (v.empty())
		return 0;
	size_t n = 0;
	for (int64_t x : v)
		n += varint_size(static_cast<uint64_t>(x));
	return len_field_size(field, n);
}

} // namespace vaccel::transport::wire
