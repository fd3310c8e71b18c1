// SPDX-License-Identifier: Apache-2.0
#include "chunks.h"

#include <algorithm>

namespace vaccel::rpc_plugin
{

std::vector<FrameParts>
cut_frames(std::span<const std::span<const uint8_t>> pieces, size_t max_frame)
{
	std::vector<FrameParts> frames;
	FrameParts cur;
	size_t room = max_frame;
	for (auto p : pieces) {
		while (!p.empty()) {
			if (room == 0 || cur.size() == 8) {
				frames.push_back(std::move(cur));
				cur.clear();
				room = max_frame;
			}
			const size_t n = std::min(room, p.size());
			cur.push_back(p.first(n));
			p = p.subspan(n);
			room -= n;
		}
	}
	if (!cur.empty())
		frames.push_back(std::move(cur));
	return frames;
}

std::vector<std::string> genop_stream_messages(const rpc::genop::Request &req,
					       uint32_t max_frame)
{
	// Room for the envelope fields around each part.
	const size_t budget = max_frame - 256;
	std::vector<std::string> out;
	rpc::genop::Request batch;
	batch.set_session_id(req.session_id());
	auto flush = [&] {
		if (batch.read_args_size() + batch.write_args_size() == 0)
			return;
		out.push_back(batch.SerializeAsString());
		batch.clear_read_args();
		batch.clear_write_args();
	};
	auto add_parts = [&](const rpc::genop::Arg &a, bool is_read) {
		const std::string &buf = a.buf();
		const size_t chunk = budget - 64;
		const size_t parts =
		    std::max<size_t>(1, (buf.size() + chunk - 1) / chunk);
		for (size_t no = 0; no < parts; ++no) {
			rpc::genop::Request one;
			one.set_session_id(req.session_id());
			auto *p = is_read ? one.add_read_args()
					  : one.add_write_args();
			p->set_size(a.size());
			p->set_arg_type(a.arg_type());
			p->set_custom_type_id(a.custom_type_id());
			p->set_parts(static_cast<uint32_t>(parts));
			p->set_part_no(static_cast<uint32_t>(no + 1));
			const size_t off = no * chunk;
			if (off < buf.size())
				p->set_buf(buf.substr(
				    off, std::min(chunk, buf.size() - off)));
			out.push_back(one.SerializeAsString());
		}
	};
	auto add = [&](const rpc::genop::Arg &a, bool is_read) {
		if (batch.ByteSizeLong() + a.ByteSizeLong() + 16 < budget) {
			*(is_read ? batch.add_read_args()
				  : batch.add_write_args()) = a;
			return;
		}
		flush();
		add_parts(a, is_read);
	};
	for (const auto &a : req.read_args())
		add(a, true);
	flush();
	for (const auto &a : req.write_args())
		add(a, false);
	flush();
	return out;
}

} // namespace vaccel::rpc_plugin
