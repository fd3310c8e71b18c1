// SPDX-License-Identifier: Apache-2.0
// Everything a peer controls before any handler runs: the frame header, the
// ttrpc envelope, and each vAccel message the agent or the plugin parses.
// Also the address parser (configuration and command lines are text too).
#include "transport/codec.h"
#include "transport/transport.h"

#include "rpc/common.pb.h"
#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "rpc/image.pb.h"
#include "rpc/profiling.pb.h"
#include "rpc/resource.pb.h"
#include "rpc/session.pb.h"
#include "rpc/tf.pb.h"
#include "rpc/tflite.pb.h"
#include "rpc/torch.pb.h"
#include "rpc/ttrpc.pb.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rpc = vaccel::rpc;
namespace t = vaccel::transport;

namespace
{

template <class M> void parse_as(const std::string &bytes)
{
	M m;
	if (!m.ParseFromString(bytes))
		return;
	// Re-encoding a parsed message must succeed and parse back.
	std::string again;
	if (!m.SerializeToString(&again))
		__builtin_trap();
	M back;
	if (!back.ParseFromString(again))
		__builtin_trap();
}

// Every message that travels as a request or response payload.
void parse_all(const std::string &b)
{
	parse_as<rpc::Empty>(b);
	parse_as<rpc::Error>(b);
	parse_as<rpc::session::CreateRequest>(b);
	parse_as<rpc::session::CreateResponse>(b);
	parse_as<rpc::session::UpdateRequest>(b);
	parse_as<rpc::session::DestroyRequest>(b);
	parse_as<rpc::resource::RegisterRequest>(b);
	parse_as<rpc::resource::RegisterResponse>(b);
	parse_as<rpc::resource::UnregisterRequest>(b);
	parse_as<rpc::resource::SyncRequest>(b);
	parse_as<rpc::resource::SyncResponse>(b);
	parse_as<rpc::image::Request>(b);
	parse_as<rpc::image::Response>(b);
	parse_as<rpc::genop::Request>(b);
	parse_as<rpc::genop::Response>(b);
	parse_as<rpc::tf::ModelLoadRequest>(b);
	parse_as<rpc::tf::ModelLoadResponse>(b);
	parse_as<rpc::tf::ModelUnloadRequest>(b);
	parse_as<rpc::tf::ModelUnloadResponse>(b);
	parse_as<rpc::tf::ModelRunRequest>(b);
	parse_as<rpc::tf::ModelRunResponse>(b);
	parse_as<rpc::tflite::ModelLoadRequest>(b);
	parse_as<rpc::tflite::ModelUnloadRequest>(b);
	parse_as<rpc::tflite::ModelRunRequest>(b);
	parse_as<rpc::tflite::ModelRunResponse>(b);
	parse_as<rpc::torch::ModelLoadRequest>(b);
	parse_as<rpc::torch::ModelRunRequest>(b);
	parse_as<rpc::torch::ModelRunResponse>(b);
	parse_as<rpc::profiling::Request>(b);
	parse_as<rpc::profiling::Response>(b);
	parse_as<rpc::ext::AgentStats>(b);
	parse_as<rpc::ext::Hello>(b);
	parse_as<rpc::ext::CallHeader>(b);
	parse_as<rpc::ext::MapRegion>(b);
	parse_as<rpc::ext::UnmapRegion>(b);
	parse_as<rpc::ext::ShmGenopRequest>(b);
}

// The hand-written wire scanners the plugin uses on replies (ttrpc
// Response envelope, genop write args): every span they return lies inside
// the input, and where both they and protobuf accept a genop reply they
// see the same args. (They refuse some inputs protobuf takes, such as
// groups, which no agent sends: the reply then fails as malformed.)
void scan(const std::string &b)
{
	const std::span<const uint8_t> in(
	    reinterpret_cast<const uint8_t *>(b.data()), b.size());
	std::vector<std::span<const uint8_t>> all;
	const bool ok = t::find_fields(in, 1, &all);
	for (auto s : all)
		if (s.data() < in.data() ||
		    s.data() + s.size() > in.data() + in.size())
			__builtin_trap();
	std::span<const uint8_t> last;
	if (t::find_field(in, 2, &last) != ok)
		__builtin_trap();
	rpc::genop::Response resp;
	if (ok && resp.ParseFromString(b) &&
	    all.size() != static_cast<size_t>(resp.write_args_size()))
		__builtin_trap();
}

void inside(std::span<const uint8_t> in, std::span<const uint8_t> s)
{
	if (!s.empty() && (s.data() < in.data() ||
			   s.data() + s.size() > in.data() + in.size()))
		__builtin_trap();
}

void inside(std::span<const uint8_t> in, const t::codec::Tensors &ts)
{
	for (const auto &x : ts.tensors) {
		inside(in, x.data);
		if (size_t{x.dims_at} + x.nr_dims > ts.dims.size())
			__builtin_trap();
	}
}

// The hand-written codecs of the hot path (transport/codec.h): views stay
// inside the input, and a torch message they accept is one protobuf
// accepts, with the same fields (ttrpc envelopes may differ: protobuf also
// checks that their strings are UTF-8).
void codecs(const std::string &b)
{
	namespace c = t::codec;
	const std::span<const uint8_t> in(
	    reinterpret_cast<const uint8_t *>(b.data()), b.size());
	c::RequestView req;
	if (c::parse_request(in, &req)) {
		inside(in, req.payload);
		std::string_view v;
		(void)req.metadata("vaccel-reply-slot", &v);
	}
	c::ResponseView resp;
	if (c::parse_response(in, &resp)) {
		inside(in, resp.payload);
		inside(in, resp.status);
	}
	c::TorchRunView run;
	if (c::parse_torch_run(in, &run)) {
		inside(in, run.run_options);
		inside(in, run.in);
		rpc::torch::ModelRunRequest p;
		if (!p.ParseFromString(b) ||
		    run.in.tensors.size() !=
			static_cast<size_t>(p.in_tensors_size()) ||
		    run.session_id != p.session_id() ||
		    run.nr_out != p.nr_out_tensors() ||
		    run.has_run_options != p.has_run_options())
			__builtin_trap();
		for (int i = 0; i < p.in_tensors_size(); ++i) {
			const auto &x = run.in.tensors[static_cast<size_t>(i)];
			if (x.nr_dims != static_cast<uint32_t>(
					     p.in_tensors(i).dims_size()) ||
			    x.data.size() != p.in_tensors(i).data().size())
				__builtin_trap();
		}
	}
	std::span<const uint8_t> inner;
	std::vector<c::ShmPlace> places;
	if (c::parse_shm_torch_run(in, &inner, &places))
		inside(in, inner);
	c::Tensors outs;
	if (c::parse_torch_run_response(in, &outs)) {
		inside(in, outs);
		rpc::torch::ModelRunResponse p;
		if (!p.ParseFromString(b) ||
		    outs.tensors.size() !=
			static_cast<size_t>(p.out_tensors_size()))
			__builtin_trap();
	}
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	t::silence_protobuf_logging();
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)t::parse_address(
	    std::string_view(reinterpret_cast<const char *>(data), size));

	if (size < t::kFrameHeaderSize)
		return 0;
	auto h = t::decode_header(data, t::kDefaultMaxFrame);
	if (!h)
		return 0;
	// What read_frame would hand on: exactly `length` bytes, if present.
	size_t avail = size - t::kFrameHeaderSize;
	if (h->length > avail)
		return 0;
	std::string payload(reinterpret_cast<const char *>(data) +
				t::kFrameHeaderSize,
			    h->length);

	if (h->type == t::MsgType::Request) {
		rpc::ttrpc::Request req;
		if (req.ParseFromString(payload))
			parse_all(req.payload());
	} else if (h->type == t::MsgType::Response) {
		rpc::ttrpc::Response resp;
		if (resp.ParseFromString(payload)) {
			parse_all(resp.payload());
			for (const auto &d : resp.status().details())
				parse_as<rpc::Error>(d.value());
		}
	}
	// Handlers also see payloads whatever the envelope said.
	parse_all(payload);
	scan(payload);
	codecs(payload);
	return 0;
}
