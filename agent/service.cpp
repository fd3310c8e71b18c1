// SPDX-License-Identifier: Apache-2.0
// Method dispatch: a static table from method name to a typed adaptor that
// decodes the request message, runs the handler and encodes the response.
// Both upstream service names (sync and async generated code) share one
// table because their methods are identical on the wire.
#include "service.h"

#include "handlers/handlers.h"
#include "wire_bounds.h"

#include <cstdio>
#include <exception>
#include <new>
#include <optional>
#include <unordered_map>

namespace vaccel::agent
{

// ---- RpcStatus
// ----------------------------------------------------------------

RpcStatus RpcStatus::make(RpcCode code, int ffi, const char *fmt, va_list ap)
{
	char buf[512];
	std::vsnprintf(buf, sizeof(buf), fmt, ap);
	return {code, buf, ffi};
}

#define AGENT_STATUS_BUILDER(NAME, CODE)                                       \
	RpcStatus RpcStatus::NAME(const char *fmt, ...)                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		RpcStatus st = make(CODE, 0, fmt, ap);                         \
		va_end(ap);                                                    \
		return st;                                                     \
	}
AGENT_STATUS_BUILDER(invalid, RpcCode::InvalidArgument)
AGENT_STATUS_BUILDER(not_found, RpcCode::NotFound)
AGENT_STATUS_BUILDER(denied, RpcCode::PermissionDenied)
AGENT_STATUS_BUILDER(exhausted, RpcCode::ResourceExhausted)
AGENT_STATUS_BUILDER(internal, RpcCode::Internal)
AGENT_STATUS_BUILDER(unimplemented, RpcCode::Unimplemented)
AGENT_STATUS_BUILDER(malformed, RpcCode::Internal)
#undef AGENT_STATUS_BUILDER

RpcStatus RpcStatus::vaccel(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	RpcStatus st = make(RpcCode::Internal, code, fmt, ap);
	va_end(ap);
	return st;
}

void set_status(rpc::ttrpc::Response &resp, const RpcStatus &st)
{
	auto *status = resp.mutable_status();
	status->set_code(static_cast<int32_t>(st.code()));
	status->set_message(st.message());
	if (!st.detail_type().empty()) {
		auto *any = status->add_details();
		any->set_type_url(std::string(st.detail_type()));
		any->set_value(st.detail_value());
	}
	if (st.ffi_code() == 0)
		return;
	rpc::Error err;
	err.set_type(rpc::FFI);
	err.set_ffi_error(static_cast<uint32_t>(st.ffi_code()));
	auto *any = status->add_details();
	any->set_type_url(std::string(transport::kVaccelErrorTypeUrl));
	any->set_value(err.SerializeAsString());
}

// ---- dispatch
// -------------------------------------------------------------------

namespace
{

using Adaptor = RpcStatus (*)(Context &, std::span<const uint8_t> in,
			      std::string *out);

// A method and the op class the policy judges it by; none for methods that
// only manage objects or the connection (and for the genops, judged by
// their op byte in run_genop()).
struct Method {
	Method(Adaptor f = nullptr, std::optional<OpClass> c = std::nullopt,
	       metrics::MethodId i = metrics::MethodId::Other)
	    : fn(f), cls(c), id(i)
	{
	}
	Adaptor fn;
	std::optional<OpClass> cls;
	metrics::MethodId id; // what its calls are counted under
};

// The repeated fields of Req counted before it is parsed (wire_bounds.h);
// none for requests without any.
template <class Req> const std::span<const RepeatedBound> kBounds{};
template <>
const std::span<const RepeatedBound> kBounds<rpc::genop::Request> =
    bounds::genop;
template <>
const std::span<const RepeatedBound> kBounds<rpc::ext::ShmGenopRequest> =
    bounds::shm_genop;
template <>
const std::span<const RepeatedBound> kBounds<rpc::resource::RegisterRequest> =
    bounds::register_req;
template <>
const std::span<const RepeatedBound> kBounds<rpc::tf::ModelRunRequest> =
    bounds::tf_run;
template <>
const std::span<const RepeatedBound> kBounds<rpc::tflite::ModelRunRequest> =
    bounds::tflite_run;

// Decodes Req, runs Fn, encodes Resp. A payload protobuf cannot parse is
// INTERNAL (RpcStatus::malformed(): ttrpc's code for it), one with more
// repeated elements than the Limits allow INVALID_ARGUMENT; the handler
// never runs.
// Messages from this size on have their parsed copy charged (adapt()).
constexpr size_t kChargeParsedFrom = size_t{64} << 10;

// A message type's name, made once: GetTypeName() builds a new string on
// every call, and every request names its type to the bounds check. Never
// destroyed, as workers may still run while the process exits.
template <class Msg> const std::string &type_name()
{
	static const std::string *const name =
	    new std::string(Msg::default_instance().GetTypeName());
	return *name;
}

template <class Req, class Resp, RpcStatus (*Fn)(Context &, Req &, Resp &)>
RpcStatus adapt(Context &ctx, std::span<const uint8_t> in, std::string *out)
{
	Req req;
	AGENT_RETURN_IF_ERROR(
	    check_repeated(in, kBounds<Req>, ctx.limits, type_name<Req>()));
	// Parsing copies the message's bytes, held until the handler is
	// done: charged to the tenant's buffer budget like the wire bytes of
	// a large call (small messages are bounded by the call quota).
	Charge parsed;
	if (in.size() >= kChargeParsedFrom)
		AGENT_RETURN_IF_ERROR(
		    Charge::take(ctx.tenant, Limit::BufferedBytes, in.size(),
				 type_name<Req>(), ctx.conn, &parsed));
	if (!req.ParseFromArray(in.data(), static_cast<int>(in.size())))
		return RpcStatus::malformed("malformed %s payload (%zu bytes)",
					    type_name<Req>().c_str(),
					    in.size());
	Resp resp;
	AGENT_RETURN_IF_ERROR(Fn(ctx, req, resp));
	if (!resp.SerializeToString(out))
		return RpcStatus::internal("cannot encode %s",
					   type_name<Resp>().c_str());
	return RpcStatus::ok();
}

namespace h = handlers;
namespace r = rpc;

const std::unordered_map<std::string_view, Method> &agent_methods()
{
	using C = OpClass;
	static const auto m = [] {
		std::unordered_map<std::string_view, Method> t = {
		    {"CreateSession",
		     {adapt<r::session::CreateRequest,
			    r::session::CreateResponse, h::create_session>}},
		    {"UpdateSession",
		     {adapt<r::session::UpdateRequest, r::Empty,
			    h::update_session>}},
		    {"DestroySession",
		     {adapt<r::session::DestroyRequest, r::Empty,
			    h::destroy_session>}},
		    {"RegisterResource",
		     {adapt<r::resource::RegisterRequest,
			    r::resource::RegisterResponse,
			    h::register_resource>}},
		    {"UnregisterResource",
		     {adapt<r::resource::UnregisterRequest, r::Empty,
			    h::unregister_resource>}},
		    {"SyncResource",
		     {adapt<r::resource::SyncRequest, r::resource::SyncResponse,
			    h::sync_resource>}},
		    {"ImageClassification",
		     {adapt<r::image::Request, r::image::Response,
			    h::image_classification>,
		      C::Image}},
		    {"TensorflowModelLoad",
		     {adapt<r::tf::ModelLoadRequest, r::tf::ModelLoadResponse,
			    h::tf_model_load>,
		      C::Tf}},
		    {"TensorflowModelUnload",
		     {adapt<r::tf::ModelUnloadRequest,
			    r::tf::ModelUnloadResponse, h::tf_model_unload>,
		      C::Tf}},
		    {"TensorflowModelRun",
		     {adapt<r::tf::ModelRunRequest, r::tf::ModelRunResponse,
			    h::tf_model_run>,
		      C::Tf}},
		    {"TensorflowLiteModelLoad",
		     {adapt<r::tflite::ModelLoadRequest, r::Empty,
			    h::tflite_model_load>,
		      C::Tflite}},
		    {"TensorflowLiteModelUnload",
		     {adapt<r::tflite::ModelUnloadRequest, r::Empty,
			    h::tflite_model_unload>,
		      C::Tflite}},
		    {"TensorflowLiteModelRun",
		     {adapt<r::tflite::ModelRunRequest,
			    r::tflite::ModelRunResponse, h::tflite_model_run>,
		      C::Tflite}},
		    {"TorchModelLoad",
		     {adapt<r::torch::ModelLoadRequest, r::Empty,
			    h::torch_model_load>,
		      C::Torch}},
		    {"TorchModelRun", {h::torch_model_run, C::Torch}},
		    {"Genop",
		     {adapt<r::genop::Request, r::genop::Response, h::genop>}},
		    {"GetProfiler",
		     {adapt<r::profiling::Request, r::profiling::Response,
			    h::get_profiler>}},
		};
		for (auto &[name, method] : t)
			method.id = metrics::method_id(name);
		return t;
	}();
	return m;
}

Method find_method(std::string_view service, std::string_view method,
		   bool extensions)
{
	if (service == transport::kServiceSync ||
	    service == transport::kServiceAsync) {
		const auto &m = agent_methods();
		auto it = m.find(method);
		return it == m.end() ? Method{} : it->second;
	}
	using Id = metrics::MethodId;
	if (service == kServiceAdmin && method == "Stats")
		return {adapt<r::Empty, r::ext::AgentStats, h::agent_stats>,
			std::nullopt, Id::Stats};
	if (service == kServiceAdmin && method == "Plugins")
		return {adapt<r::Empty, r::ext::AgentPlugins, h::agent_plugins>,
			std::nullopt, Id::Plugins};
	if (!extensions)
		return {};
	if (service == kServiceAdmin && method == "Hello")
		return {adapt<r::ext::Hello, r::ext::Hello, h::hello>,
			std::nullopt, Id::Hello};
	if (service == transport::kServiceData) {
		if (method == "MapRegion")
			return {
			    adapt<r::ext::MapRegion, r::Empty, h::map_region>,
			    std::nullopt, Id::MapRegion};
		if (method == "MapSandboxMemory")
			return {adapt<r::ext::MapSandboxMemory, r::Empty,
				      h::map_sandbox_memory>,
				std::nullopt, Id::MapSandboxMemory};
		if (method == "UnmapRegion")
			return {adapt<r::ext::UnmapRegion, r::Empty,
				      h::unmap_region>,
				std::nullopt, Id::UnmapRegion};
		if (method == "GenopShm")
			return {adapt<r::ext::ShmGenopRequest,
				      r::genop::Response, h::genop_shm>,
				std::nullopt, Id::GenopShm};
		if (method == "RegisterCachedResource")
			return {adapt<r::ext::CachedResource,
				      r::resource::RegisterResponse,
				      h::register_cached>,
				std::nullopt, Id::RegisterCachedResource};
		if (method == "TorchModelRunShm")
			return {h::torch_model_run_shm, OpClass::Torch,
				Id::TorchModelRunShm};
	}
	return {};
}

} // namespace

// Runs @p fn (which fills the response payload and returns the status),
// turning exceptions into statuses, and finishes the response.
template <class Fn>
rpc::ttrpc::Response Service::run(ConnId conn, std::string_view method,
				  Fn &&fn) noexcept
{
	rpc::ttrpc::Response resp;
	RpcStatus st;
	const int mlen = static_cast<int>(method.size());
	try {
		st = fn(resp);
	} catch (const std::bad_alloc &) {
		st = RpcStatus::exhausted("%.*s: out of memory", mlen,
					  method.data());
	} catch (const std::exception &e) {
		st = RpcStatus::internal("%.*s: %s", mlen, method.data(),
					 e.what());
	} catch (...) {
		st = RpcStatus::internal("%.*s: unexpected exception", mlen,
					 method.data());
	}
	requests_.fetch_add(1, std::memory_order_relaxed);
	try {
		if (!st.is_ok()) {
			resp.clear_payload();
			set_status(resp, st);
			vaccel_debug("agent: connection %llu: %.*s: %s",
				     static_cast<unsigned long long>(conn),
				     mlen, method.data(), st.message().c_str());
		} else {
			resp.mutable_status()->set_code(0);
		}
	} catch (...) {
		// Only allocation can fail here; an empty response is still
		// a valid (if uninformative) answer.
		resp.Clear();
	}
	return resp;
}

metrics::MethodId Service::method_id(std::string_view service,
				     std::string_view method) const
{
	return find_method(service, method, limits_.extensions).id;
}

bool Service::reserve(uint64_t bytes) noexcept
{
	uint64_t cur = buffered_.load(std::memory_order_relaxed);
	do {
		if (bytes >
		    limits_.max_buffered - std::min(cur, limits_.max_buffered))
			return false;
	} while (!buffered_.compare_exchange_weak(cur, cur + bytes,
						  std::memory_order_relaxed));
	return true;
}

rpc::ttrpc::Response Service::handle(ConnId conn,
				     const rpc::ttrpc::Request &req,
				     const CallInfo &call) noexcept
{
	const std::string &p = req.payload();
	return handle(conn, req.service(), req.method(),
		      {reinterpret_cast<const uint8_t *>(p.data()), p.size()},
		      call);
}

rpc::ttrpc::Response Service::handle(ConnId conn, std::string_view service,
				     std::string_view method,
				     std::span<const uint8_t> payload,
				     const CallInfo &call) noexcept
{
	// Never a null pointer for %.*s, even for an empty name.
	if (service.empty())
		service = std::string_view("", 0);
	if (method.empty())
		method = std::string_view("", 0);
	return run(conn, method, [&](rpc::ttrpc::Response &resp) {
		const Method m =
		    find_method(service, method, limits_.extensions);
		if (call.sample != nullptr)
			call.sample->method = m.id;
		if (m.fn == nullptr)
			return RpcStatus::unimplemented(
			    "%.*s/%.*s is not implemented",
			    static_cast<int>(service.size()), service.data(),
			    static_cast<int>(method.size()), method.data());
		// The tenant's concurrent-call quota is charged where calls
		// are queued (server.cpp), not here.
		Tenant &tenant = tenant_of(call);
		if (m.cls)
			AGENT_RETURN_IF_ERROR(
			    tenant.allow(*m.cls, method, conn));
		Context ctx{*this, objects_, limits_, conn, call, tenant};
		return m.fn(ctx, payload, resp.mutable_payload());
	});
}

rpc::ttrpc::Response Service::handle_genop(ConnId conn,
					   rpc::genop::Request &req,
					   const CallInfo &call) noexcept
{
	static constexpr std::string_view method = "GenopStream";
	if (call.sample != nullptr)
		call.sample->method = metrics::MethodId::GenopStream;
	return run(conn, method, [&](rpc::ttrpc::Response &resp) {
		Tenant &tenant = tenant_of(call);
		Context ctx{*this, objects_, limits_, conn, call, tenant};
		rpc::genop::Response out;
		AGENT_RETURN_IF_ERROR(handlers::genop(ctx, req, out));
		if (!out.SerializeToString(resp.mutable_payload()))
			return RpcStatus::internal("cannot encode the reply");
		return RpcStatus::ok();
	});
}

} // namespace vaccel::agent
