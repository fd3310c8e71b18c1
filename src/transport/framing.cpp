// SPDX-License-Identifier: Apache-2.0
// ttrpc frame headers and whole frames over a Stream.
#include "transport/transport.h"
#include "transport/wire.h"

#include <google/protobuf/stubs/logging.h>

namespace vaccel::transport
{
namespace
{

void put_be32(uint8_t *p, uint32_t v) noexcept
{
	p[0] = static_cast<uint8_t>(v >> 24);
	p[1] = static_cast<uint8_t>(v >> 16);
	p[2] = static_cast<uint8_t>(v >> 8);
	p[3] = static_cast<uint8_t>(v);
}

uint32_t get_be32(const uint8_t *p) noexcept
{
	return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
	       (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

} // namespace

void encode_header(const FrameHeader &h, uint8_t out[kFrameHeaderSize]) noexcept
{
	put_be32(out, h.length);
	put_be32(out + 4, h.stream_id);
	out[8] = static_cast<uint8_t>(h.type);
	out[9] = h.flags;
}

Result<FrameHeader> decode_header(const uint8_t in[kFrameHeaderSize],
				  uint32_t max_len) noexcept
{
	// Status::error allocates its message; keep the noexcept promise if
	// that throws (the frame is refused either way).
	try {
		FrameHeader h;
		h.length = get_be32(in);
		h.stream_id = get_be32(in + 4);
		uint8_t type = in[8];
		h.flags = in[9];
		if (type < static_cast<uint8_t>(MsgType::Request) ||
		    type > static_cast<uint8_t>(MsgType::Data))
			return Status::error(VACCEL_EINVAL,
					     "frame (stream %u): unknown "
					     "message type %u",
					     h.stream_id, unsigned{type});
		h.type = static_cast<MsgType>(type);
		if (h.length > max_len)
			return Status::error(VACCEL_EINVAL,
					     "frame (stream %u): length %u "
					     "exceeds the limit of %u bytes",
					     h.stream_id, h.length, max_len);
		return h;
	} catch (...) {
		return Status(VACCEL_ENOMEM, {});
	}
}

Status write_frame(Stream &s, const FrameHeader &h,
		   std::span<const uint8_t> payload, Deadline dl,
		   std::span<const int> fds)
{
	if (payload.size() > kMaxFrameLimit)
		return Status::error(VACCEL_EINVAL,
				     "frame (stream %u): payload of %zu bytes "
				     "exceeds the protocol limit of %u",
				     h.stream_id, payload.size(),
				     kMaxFrameLimit);
	FrameHeader hdr = h;
	hdr.length = static_cast<uint32_t>(payload.size());
	uint8_t buf[kFrameHeaderSize];
	encode_header(hdr, buf);
	std::span<const uint8_t> parts[2] = {std::span(buf), payload};
	return s.write_all(std::span<const std::span<const uint8_t>>(parts),
			   fds, dl);
}

Status write_frame_parts(Stream &s, const FrameHeader &h,
			 std::span<const std::span<const uint8_t>> parts,
			 Deadline dl)
{
	size_t total = 0;
	for (auto p : parts)
		total += p.size();
	if (total > kMaxFrameLimit || parts.size() > 8)
		return Status::error(VACCEL_EINVAL,
				     "frame (stream %u): payload of %zu bytes "
				     "in %zu parts exceeds the protocol limit",
				     h.stream_id, total, parts.size());
	FrameHeader hdr = h;
	hdr.length = static_cast<uint32_t>(total);
	uint8_t buf[kFrameHeaderSize];
	encode_header(hdr, buf);
	std::span<const uint8_t> all[9];
	all[0] = std::span(buf);
	for (size_t i = 0; i < parts.size(); ++i)
		all[i + 1] = parts[i];
	return s.write_all(
	    std::span<const std::span<const uint8_t>>(all, parts.size() + 1),
	    dl);
}

Result<FrameHeader> read_header(Stream &s, uint32_t max_len, Deadline dl,
				std::vector<UniqueFd> *fds)
{
	const uint64_t at = s.read_position();
	uint8_t buf[kFrameHeaderSize];
	VACCEL_RETURN_IF_ERROR(s.read_exact(std::span(buf), dl, fds));
	auto h = decode_header(buf, max_len);
	if (h)
		VACCEL_RETURN_IF_ERROR(s.claim_descriptors(
		    at, at + kFrameHeaderSize + h->length, fds));
	return h;
}

std::string field_header(uint32_t field, size_t len)
{
	std::string out;
	wire::Writer(&out).len_header(field, len);
	return out;
}

void put_varint(std::string *out, uint64_t v)
{
	wire::Writer(out).raw_varint(v);
}

bool find_fields(std::span<const uint8_t> msg, uint32_t field,
		 std::vector<std::span<const uint8_t>> *out)
{
	out->clear();
	wire::Reader r(msg);
	for (wire::Field f; r.next(&f);)
		if (f.is(field, wire::WireType::Len))
			out->push_back(f.bytes);
	return !r.failed();
}

bool find_field(std::span<const uint8_t> msg, uint32_t field,
		std::span<const uint8_t> *out)
{
	*out = {};
	wire::Reader r(msg);
	for (wire::Field f; r.next(&f);)
		if (f.is(field, wire::WireType::Len))
			*out = f.bytes;
	return !r.failed();
}

Result<Frame> read_frame(Stream &s, uint32_t max_len, Deadline dl,
			 bool accept_fds)
{
	// Descriptors ride on the bytes of the frame they belong to (the
	// sender attaches them to its header), and a frame is read to its
	// last byte and no further, so whatever arrives here is this frame's.
	std::vector<UniqueFd> fds;
	std::vector<UniqueFd> *sink = accept_fds ? &fds : nullptr;
	uint8_t buf[kFrameHeaderSize];
	VACCEL_RETURN_IF_ERROR(s.read_exact(std::span(buf), dl, sink));
	auto h = decode_header(buf, max_len);
	if (!h)
		return h.status();
	Frame f;
	f.header = *h;
	f.payload.resize(f.header.length);
	VACCEL_RETURN_IF_ERROR(s.read_exact(std::span(f.payload), dl, sink));
	f.fds = std::move(fds);
	return f;
}

void silence_protobuf_logging() noexcept
{
	// A null handler discards messages (FATAL ones still abort).
	google::protobuf::SetLogHandler(nullptr);
}

} // namespace vaccel::transport
