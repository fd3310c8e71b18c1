// SPDX-License-Identifier: Apache-2.0
// Streaming calls on the reader thread: our chunked AgentData/Call and
// upstream's client-streaming GenopStream, reassembled against the buffer
// budget and queued as one job when complete.
#include "server_parts.h"

#include "wire_bounds.h"

#include "rpc/ext.pb.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace vaccel::agent
{

namespace
{

// Merges one message of upstream's GenopStream into the call being
// assembled: an arg sent whole is appended as is; an arg split into
// `parts` messages (one arg each, part_no 1..parts) is concatenated.
RpcStatus merge_part(rpc::genop::Arg &part, uint32_t &next,
		     rpc::genop::Arg &&in,
		     google::protobuf::RepeatedPtrField<rpc::genop::Arg> *out)
{
	if (in.part_no() != next || in.part_no() > in.parts())
		return RpcStatus::invalid(
		    "GenopStream: part %u of %u arrived, part %u expected",
		    in.part_no(), in.parts(), next);
	if (next == 1) {
		part.set_arg_type(in.arg_type());
		part.set_custom_type_id(in.custom_type_id());
		// Never reserved at the announced size: a 20-byte part may
		// announce 4 GiB. The buffer grows as parts arrive (each
		// charged to the budget when its frame was read).
		part.set_size(in.size());
	}
	part.mutable_buf()->append(in.buf());
	if (part.buf().size() > part.size())
		return RpcStatus::invalid("GenopStream: arg parts exceed the "
					  "announced %u bytes",
					  part.size());
	if (in.part_no() < in.parts()) {
		++next;
		return RpcStatus::ok();
	}
	if (part.buf().size() != part.size())
		return RpcStatus::invalid(
		    "GenopStream: arg of %u bytes announced, %zu received",
		    part.size(), part.buf().size());
	*out->Add() = std::move(part);
	part.Clear();
	next = 1;
	return RpcStatus::ok();
}

// One message of an upstream GenopStream, parsed after its args were
// counted on the wire (empty args expand when parsed: wire_bounds.h), and
// checked against what the call already holds.
RpcStatus parse_genop_part(const rpc::genop::Request &held,
			   std::span<const uint8_t> bytes, const Limits &limits,
			   uint64_t max_message, rpc::genop::Request *part)
{
	AGENT_RETURN_IF_ERROR(
	    check_repeated(bytes, bounds::genop, limits, "GenopStream"));
	if (!part->ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
		return RpcStatus::malformed("GenopStream: malformed message");
	const auto count = [](int a, int b) {
		return static_cast<size_t>(a) + static_cast<size_t>(b);
	};
	if (count(held.read_args_size(), part->read_args_size()) >
		limits.max_args ||
	    count(held.write_args_size(), part->write_args_size()) >
		limits.max_args)
		return RpcStatus::invalid(
		    "GenopStream: more than %zu read or write args",
		    limits.max_args);
	if (held.ByteSizeLong() + bytes.size() > max_message)
		return RpcStatus::exhausted(
		    "GenopStream: more than %llu bytes",
		    static_cast<unsigned long long>(max_message));
	return RpcStatus::ok();
}

} // namespace

bool Server::open_stream(const std::shared_ptr<Conn> &conn,
			 transport::Frame &frame)
{
	const uint32_t sid = frame.header.stream_id;
	constexpr size_t kMaxOpenStreams = 16;
	rpc::ttrpc::Request req;
	if (!check_repeated(frame.payload, bounds::ttrpc_request,
			    service_.limits(), "ttrpc request")
		 .is_ok() ||
	    !req.ParseFromArray(frame.payload.data(),
				static_cast<int>(frame.payload.size()))) {
		// As a unary request's envelope: refused, the connection
		// goes on (ttrpc servers answer INVALID_ARGUMENT too).
		const RpcStatus st = RpcStatus::invalid(
		    "malformed streaming request on stream %u", sid);
		vaccel_warn("agent: connection %llu: %s",
			    static_cast<unsigned long long>(conn->id),
			    st.message().c_str());
		refuse(*conn, sid, st, metrics::MethodId::Other);
		return true;
	}
	if (conn->inbound.contains(sid)) {
		vaccel_warn("agent: connection %llu: stream %u opened twice; "
			    "closing it",
			    static_cast<unsigned long long>(conn->id), sid);
		return false;
	}
	Inbound in;
	in.held = Reservation(this, conn->tenant, conn->id);
	in.progress = std::chrono::steady_clock::now();
	RpcStatus st;
	// What a refusal is counted under (--metrics).
	metrics::MethodId counted_as = metrics::MethodId::Other;
	const bool upstream_genop =
	    (req.service() == transport::kServiceSync ||
	     req.service() == transport::kServiceAsync) &&
	    req.method() == "GenopStream";
	const bool call = service_.limits().extensions &&
			  req.service() == transport::kServiceData &&
			  req.method() == "Call";
	if (conn->inbound.size() >= kMaxOpenStreams) {
		st = RpcStatus::exhausted("more than %zu streaming calls open "
					  "on one connection",
					  kMaxOpenStreams);
	} else if (upstream_genop) {
		in.kind = Inbound::Kind::Genop;
		counted_as = metrics::MethodId::GenopStream;
	} else if (call) {
		rpc::ext::CallHeader h;
		const bool parsed = h.ParseFromString(req.payload());
		if (parsed)
			counted_as =
			    service_.method_id(h.service(), h.method());
		if (!parsed)
			st = RpcStatus::malformed("malformed CallHeader");
		else if (h.size() > opts_.max_message)
			st = RpcStatus::exhausted(
			    "chunked call of %llu bytes exceeds the limit of "
			    "%llu",
			    static_cast<unsigned long long>(h.size()),
			    static_cast<unsigned long long>(opts_.max_message));
		else if (st = in.held.grow(h.size()); st.is_ok()) {
			in.kind = Inbound::Kind::Call;
			in.service = h.service();
			in.method = h.method();
			in.expected = h.size();
			in.bytes.reset(new (std::nothrow)
					   uint8_t[h.size() + 1]);
			if (!in.bytes)
				st = RpcStatus::exhausted(
				    "chunked call: cannot allocate %llu bytes",
				    static_cast<unsigned long long>(h.size()));
		}
	} else {
		st = RpcStatus::unimplemented("%s/%s is not a streaming method",
					      req.service().c_str(),
					      req.method().c_str());
	}
	if (!st.is_ok()) {
		vaccel_warn("agent: connection %llu: stream %u: %s",
			    static_cast<unsigned long long>(conn->id), sid,
			    st.message().c_str());
		in.held.release();
		in.failed = true;
		refuse(*conn, sid, st, counted_as);
	}
	conn->inbound.emplace(sid, std::move(in));
	return true;
}

bool Server::feed_stream(const std::shared_ptr<Conn> &conn,
			 transport::Frame &frame, bool consumed)
{
	const uint32_t sid = frame.header.stream_id;
	const bool last =
	    (frame.header.flags & transport::kFlagRemoteClosed) != 0;
	auto it = conn->inbound.find(sid);
	if (it == conn->inbound.end()) {
		vaccel_debug("agent: connection %llu: data for unknown stream "
			     "%u; ignored",
			     static_cast<unsigned long long>(conn->id), sid);
		return true;
	}
	Inbound &in = it->second;
	in.progress = std::chrono::steady_clock::now();
	RpcStatus st;
	const bool has_data =
	    (frame.header.flags & transport::kFlagNoData) == 0 &&
	    !frame.payload.empty();
	if (!in.failed && has_data && !consumed) {
		if (in.kind == Inbound::Kind::Call) {
			// The reader put every frame that fits straight into
			// the buffer; one that got here does not fit.
			st = RpcStatus::invalid(
			    "chunked call: more than the announced %llu bytes",
			    static_cast<unsigned long long>(in.expected));
		} else {
			rpc::genop::Request part;
			st = parse_genop_part(in.genop, frame.payload,
					      service_.limits(),
					      opts_.max_message, &part);
			if (st.is_ok())
				st = in.held.grow(frame.payload.size());
			if (st.is_ok()) {
				in.genop.set_session_id(part.session_id());
				const bool split_read =
				    part.read_args_size() == 1 &&
				    part.read_args(0).parts() > 0;
				const bool split_write =
				    part.write_args_size() == 1 &&
				    part.write_args(0).parts() > 0;
				if (split_read)
					st = merge_part(
					    in.read_part, in.read_next,
					    std::move(
						*part.mutable_read_args(0)),
					    in.genop.mutable_read_args());
				else if (split_write)
					st = merge_part(
					    in.write_part, in.write_next,
					    std::move(
						*part.mutable_write_args(0)),
					    in.genop.mutable_write_args());
				else {
					for (auto &a :
					     *part.mutable_read_args())
						*in.genop.add_read_args() =
						    std::move(a);
					for (auto &a :
					     *part.mutable_write_args())
						*in.genop.add_write_args() =
						    std::move(a);
				}
			}
		}
	}
	std::vector<uint8_t>().swap(frame.payload);
	if (!st.is_ok()) {
		vaccel_warn("agent: connection %llu: stream %u: %s",
			    static_cast<unsigned long long>(conn->id), sid,
			    st.message().c_str());
		in.failed = true;
		in.bytes.reset();
		in.genop.Clear();
		in.held.release();
		refuse(*conn, sid, st, method_of(in));
	}
	if (!last)
		return true;

	// Half-closed: the call is complete (or was refused).
	Inbound done = std::move(in);
	conn->inbound.erase(it);
	if (done.failed)
		return true;
	auto job = std::make_shared<Job>();
	job->stream_id = sid;
	job->held = std::move(done.held);
	if (done.kind == Inbound::Kind::Call) {
		if (done.got != done.expected) {
			refuse(
			    *conn, sid,
			    RpcStatus::invalid(
				"chunked call: %llu of %llu bytes received",
				static_cast<unsigned long long>(done.got),
				static_cast<unsigned long long>(done.expected)),
			    method_of(done));
			return true;
		}
		job->kind = Job::Kind::Call;
		job->service = std::move(done.service);
		job->method = std::move(done.method);
		job->bytes = std::move(done.bytes);
		job->size = done.got;
	} else {
		if (done.read_next != 1 || done.write_next != 1) {
			refuse(*conn, sid,
			       RpcStatus::invalid("GenopStream: closed in the "
						  "middle of a split arg"),
			       metrics::MethodId::GenopStream);
			return true;
		}
		job->kind = Job::Kind::Genop;
		job->genop = std::move(done.genop);
	}
	return submit(conn, std::move(job));
}

} // namespace vaccel::agent
