// SPDX-License-Identifier: Apache-2.0
#include "transport/codec.h"

namespace vaccel::transport::codec
{

using wire::Field;
using wire::Reader;
using wire::WireType;

// ---- ttrpc envelopes -------------------------------------------------------

namespace
{

// ttrpc.proto field numbers.
enum : uint32_t {
	kReqService = 1,
	kReqMethod = 2,
	kReqPayload = 3,
	kReqTimeout = 4,
	kReqMetadata = 5,
	kKvKey = 1,
	kKvValue = 2,
	kRespStatus = 1,
	kRespPayload = 2,
	kStatusCode = 1,
};

} // namespace

bool valid_utf8(std::string_view s) noexcept
{
	const auto *p = reinterpret_cast<const unsigned char *>(s.data());
	const auto *end = p + s.size();
	while (p < end) {
		const unsigned c = *p;
		if (c < 0x80) {
			++p;
			continue;
		}
		size_t n = 0;
		unsigned lo = 0x80, hi = 0xbf; // bounds of the second byte
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0; // overlong
			else if (c == 0xed)
				hi = 0x9f; // surrogates
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90; // overlong
			else if (c == 0xf4)
				hi = 0x8f; // beyond U+10FFFF
		} else {
			return false;
		}
		if (static_cast<size_t>(end - p) <= n || p[1] < lo || p[1] > hi)
			return false;
		for (size_t i = 2; i <= n; ++i)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n + 1;
	}
	return true;
}

bool parse_request(std::span<const uint8_t> bytes, RequestView *out)
{
	*out = RequestView{};
	out->raw = bytes;
	Reader r(bytes);
	for (Field f; r.next(&f);) {
		// Strings must be UTF-8, as protobuf's parser insists.
		if (f.is(kReqService, WireType::Len)) {
			out->service = f.str();
			if (!valid_utf8(out->service))
				return false;
		} else if (f.is(kReqMethod, WireType::Len)) {
			out->method = f.str();
			if (!valid_utf8(out->method))
				return false;
		} else if (f.is(kReqPayload, WireType::Len))
			out->payload = f.bytes;
		else if (f.is(kReqTimeout, WireType::Varint))
			out->timeout_nano = static_cast<int64_t>(f.value);
		else if (f.is(kReqMetadata, WireType::Len)) {
			out->has_metadata = true;
			// Checked here so that metadata() never meets a
			// malformed entry.
			Reader kv(f.bytes);
			for (Field g; kv.next(&g);)
				if ((g.number == kKvKey ||
				     g.number == kKvValue) &&
				    g.type == WireType::Len &&
				    !valid_utf8(g.str()))
					return false;
			if (kv.failed())
				return false;
		}
	}
	return !r.failed();
}

bool RequestView::metadata(std::string_view key, std::string_view *value) const
{
	if (!has_metadata)
		return false;
	Reader r(raw);
	for (Field f; r.next(&f);) {
		if (!f.is(kReqMetadata, WireType::Len))
			continue;
		std::string_view k, v("", 0);
		Reader kv(f.bytes);
		for (Field g; kv.next(&g);) {
			if (g.is(kKvKey, WireType::Len))
				k = g.str();
			else if (g.is(kKvValue, WireType::Len))
				v = g.str();
		}
		if (k == key) {
			*value = v;
			return true;
		}
	}
	return false;
}

void put_request_head(std::string *out, std::string_view service,
		      std::string_view method, int64_t timeout_nano,
		      std::span<const KeyValue> metadata, size_t payload_size)
{
	// Room for every field at once: grown field by field, the head
	// would be reallocated on most calls.
	constexpr size_t kFieldOverhead = 1 + 10; // tag, length or varint
	size_t room = service.size() + method.size() + 4 * kFieldOverhead;
	for (const KeyValue &kv : metadata)
		room += kv.key.size() + kv.value.size() + 3 * kFieldOverhead;
	out->reserve(out->size() + room);
	wire::Writer w(out);
	w.bytes_nonempty(kReqService, service);
	w.bytes_nonempty(kReqMethod, method);
	w.varint_nonzero(kReqTimeout, static_cast<uint64_t>(timeout_nano));
	for (const KeyValue &kv : metadata) {
		const size_t n =
		    (kv.key.empty()
			 ? 0
			 : wire::len_field_size(kKvKey, kv.key.size())) +
		    (kv.value.empty()
			 ? 0
			 : wire::len_field_size(kKvValue, kv.value.size()));
		w.len_header(kReqMetadata, n);
		w.bytes_nonempty(kKvKey, kv.key);
		w.bytes_nonempty(kKvValue, kv.value);
	}
	if (payload_size > 0)
		w.len_header(kReqPayload, payload_size);
}

bool parse_response(std::span<const uint8_t> bytes, ResponseView *out)
{
	*out = ResponseView{};
	Reader r(bytes);
	for (Field f; r.next(&f);) {
		if (f.is(kRespPayload, WireType::Len)) {
			out->payload = f.bytes;
		} else if (f.is(kRespStatus, WireType::Len)) {
			// Repeats of a message field merge: a later code
			// replaces an earlier one.
			out->status = f.bytes;
			Reader s(f.bytes);
			for (Field g; s.next(&g);)
				if (g.is(kStatusCode, WireType::Varint))
					out->code =
					    static_cast<int32_t>(g.value);
			if (s.failed())
				return false;
		}
	}
	return !r.failed();
}

void put_ok_response_head(std::string *out, size_t payload_size)
{
	wire::Writer w(out);
	w.len_header(kRespStatus, 0);
	if (payload_size > 0)
		w.len_header(kRespPayload, payload_size);
}

// ---- torch runs ------------------------------------------------------------

namespace
{

enum : uint32_t {
	kTensorData = 1,
	kTensorDims = 2,
	kTensorType = 3,
};

bool parse_tensor(std::span<const uint8_t> bytes, Tensors *list)
{
	TensorView t;
	t.dims_at = static_cast<uint32_t>(list->dims.size());
	bool ok = true;
	Reader r(bytes);
	for (Field f; ok && r.next(&f);) {
		if (f.is(kTensorData, WireType::Len))
			t.data = f.bytes;
		else if (f.number == kTensorDims)
			ok = wire::for_each_int64(
			    f, [&](int64_t d) { list->dims.push_back(d); });
		else if (f.is(kTensorType, WireType::Varint))
			t.type = static_cast<int32_t>(f.value);
	}
	// The views index dims with 32 bits: more would need a 32 GiB
	// message.
	if (!ok || r.failed() || list->dims.size() > UINT32_MAX)
		return false;
	t.nr_dims = static_cast<uint32_t>(list->dims.size() - t.dims_at);
	list->tensors.push_back(t);
	return true;
}

} // namespace

bool parse_torch_run(std::span<const uint8_t> bytes, TorchRunView *out)
{
	out->session_id = out->model_id = 0;
	out->has_run_options = false;
	out->run_options = {};
	out->in.clear();
	out->nr_out = 0;
	Reader r(bytes);
	for (Field f; r.next(&f);) {
		if (f.is(kTorchRunSession, WireType::Varint)) {
			out->session_id = static_cast<int64_t>(f.value);
		} else if (f.is(kTorchRunModel, WireType::Varint)) {
			out->model_id = static_cast<int64_t>(f.value);
		} else if (f.is(kTorchRunOptions, WireType::Len)) {
			out->has_run_options = true;
			out->run_options = f.bytes;
		} else if (f.is(kTorchRunInputs, WireType::Len)) {
			if (!parse_tensor(f.bytes, &out->in))
				return false;
		} else if (f.is(kTorchRunNrOut, WireType::Varint)) {
			out->nr_out = f.value;
		}
	}
	return !r.failed();
}

bool parse_shm_torch_run(std::span<const uint8_t> bytes,
			 std::span<const uint8_t> *run,
			 std::vector<ShmPlace> *places)
{
	*run = {};
	places->clear();
	Reader r(bytes);
	for (Field f; r.next(&f);) {
		if (f.is(kShmTorchRun, WireType::Len)) {
			*run = f.bytes;
		} else if (f.is(kShmTorchData, WireType::Len)) {
			ShmPlace p;
			Reader a(f.bytes);
			for (Field g; a.next(&g);) {
				if (g.is(kShmArgRegion, WireType::Varint))
					p.region =
					    static_cast<uint32_t>(g.value);
				else if (g.is(kShmArgOffset, WireType::Varint))
					p.offset = g.value;
				else if (g.is(kShmArgSize, WireType::Varint))
					p.size = g.value;
			}
			if (a.failed())
				return false;
			places->push_back(p);
		}
	}
	return !r.failed();
}

bool parse_torch_run_response(std::span<const uint8_t> bytes, Tensors *out)
{
	out->clear();
	Reader r(bytes);
	for (Field f; r.next(&f);)
		if (f.is(kTorchResponseOutputs, WireType::Len) &&
		    !parse_tensor(f.bytes, out))
			return false;
	return !r.failed();
}

size_t torch_tensor_size(size_t data_size, std::span<const int64_t> dims,
			 int32_t type)
{
	size_t n =
	    data_size > 0 ? wire::len_field_size(kTensorData, data_size) : 0;
	n += wire::packed_int64_size(kTensorDims, dims);
	if (type != 0)
		n += 1 + wire::varint_size(
			     static_cast<uint64_t>(static_cast<int64_t>(type)));
	return n;
}

void put_torch_tensor(wire::Writer &w, uint32_t field,
		      std::span<const uint8_t> data,
		      std::span<const int64_t> dims, int32_t type)
{
	w.len_header(field, torch_tensor_size(data.size(), dims, type));
	if (!data.empty())
		w.bytes(kTensorData, data);
	w.packed_int64(kTensorDims, dims);
	// An enum is an int32 varint: a negative one takes 10 bytes.
	w.varint_nonzero(kTensorType,
			 static_cast<uint64_t>(static_cast<int64_t>(type)));
}

// genop.Arg: buf 1, size 2, arg_type 3, custom_type_id 4.
namespace
{

// An enum is an int32 varint: a negative one takes 10 bytes.
uint64_t enum_varint(int32_t v)
{
	return static_cast<uint64_t>(static_cast<int64_t>(v));
}

} // namespace

size_t genop_arg_size(const GenopArg &a)
{
	size_t n = a.buf.empty() ? 0 : wire::len_field_size(1, a.buf.size());
	for (const uint64_t v : {uint64_t{a.size}, enum_varint(a.type),
				 uint64_t{a.custom_type_id}})
		if (v != 0)
			n += 1 + wire::varint_size(v);
	return n;
}

void put_genop_arg_head(wire::Writer &w, uint32_t field, const GenopArg &a)
{
	w.len_header(field, genop_arg_size(a));
	w.varint_nonzero(2, a.size);
	w.varint_nonzero(3, enum_varint(a.type));
	w.varint_nonzero(4, a.custom_type_id);
	if (!a.buf.empty())
		w.len_header(1, a.buf.size());
}

void put_genop_arg(wire::Writer &w, uint32_t field, const GenopArg &a)
{
	put_genop_arg_head(w, field, a);
	w.out().append(reinterpret_cast<const char *>(a.buf.data()),
		       a.buf.size());
}

} // namespace vaccel::transport::codec
