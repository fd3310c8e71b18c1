// SPDX-License-Identifier: Apache-2.0
// The agent's request handlers (agent/service.h), in-process, with the noop
// plugin: an input is a policy choice and a sequence of calls, each a
// method, a connection (one of two) and a payload that is either raw bytes
// or a message built from the input, whose ids are often ones earlier
// replies returned (sessions, resources, mapped regions), so that the
// handlers' deep paths are reached and not only their decoders. One
// connection sometimes belongs to a sandbox with memory of its own (a VM's
// ivshmem file), which it may map with the right token or a wrong one and
// name in its shared-memory calls. Checks:
// nothing crashes, and once both connections close no session, resource,
// region, buffered byte or quota share is left behind.
#include "fuzz_agent.h"

#include "sandbox_memory.h"

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

#include <vaccel/op.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace
{

namespace rpc = vaccel::rpc;
using fuzz::agent::CallInfo;
using fuzz::agent::ConnId;
using fuzz::agent::RegionTable;
using fuzz::agent::SandboxMemory;
using fuzz::agent::Service;

struct MethodName {
	std::string_view service, method;
};

constexpr std::string_view kSync = vaccel::transport::kServiceSync;
constexpr std::string_view kAsync = vaccel::transport::kServiceAsync;
constexpr std::string_view kData = vaccel::transport::kServiceData;
constexpr std::string_view kAdmin = vaccel::transport::kServiceAdmin;

enum M : uint8_t {
	CreateSession,
	UpdateSession,
	DestroySession,
	RegisterResource,
	UnregisterResource,
	SyncResource,
	ImageClassification,
	TfLoad,
	TfUnload,
	TfRun,
	TfliteLoad,
	TfliteUnload,
	TfliteRun,
	TorchLoad,
	TorchRun,
	Genop,
	GetProfiler,
	Stats,
	Hello,
	MapRegion,
	UnmapRegion,
	GenopShm,
	TorchRunShm,
	MapSandbox,
	GenopStream, // Service::handle_genop, as the server calls it
	Unknown,     // a service and method named by the input
	kMethods,
};

constexpr std::array<MethodName, kMethods - 1> kNames = {{
    {kSync, "CreateSession"},
    {kSync, "UpdateSession"},
    {kSync, "DestroySession"},
    {kSync, "RegisterResource"},
    {kSync, "UnregisterResource"},
    {kSync, "SyncResource"},
    {kSync, "ImageClassification"},
    {kSync, "TensorflowModelLoad"},
    {kSync, "TensorflowModelUnload"},
    {kSync, "TensorflowModelRun"},
    {kSync, "TensorflowLiteModelLoad"},
    {kSync, "TensorflowLiteModelUnload"},
    {kSync, "TensorflowLiteModelRun"},
    {kSync, "TorchModelLoad"},
    {kSync, "TorchModelRun"},
    {kSync, "Genop"},
    {kSync, "GetProfiler"},
    {kAdmin, "Stats"},
    {kAdmin, "Hello"},
    {kData, "MapRegion"},
    {kData, "UnmapRegion"},
    {kData, "GenopShm"},
    {kData, "TorchModelRunShm"},
    {kData, "MapSandboxMemory"},
    {kSync, "GenopStream"},
}};

struct Conn {
	ConnId id;
	RegionTable regions;
	// The memory of its sandbox; null: none.
	std::shared_ptr<SandboxMemory> sandbox;
	Conn(ConnId i, Service &svc) : id(i), regions(&svc.regions_mapped()) {}
};

class Driver
{
public:
	// @p sandbox: the memory one connection's sandbox has (may be NULL),
	// whose token the input may send.
	Driver(FuzzedDataProvider &in, Service &svc,
	       const SandboxMemory *sandbox)
	    : in_(in), svc_(svc), sandbox_(sandbox)
	{
	}

	void run(Conn &a, Conn &b)
	{
		for (int calls = 0; calls < 48 && in_.remaining_bytes() > 0;
		     ++calls) {
			Conn &c =
			    in_.ConsumeIntegralInRange<int>(0, 7) == 0 ? b : a;
			call(c);
		}
	}

private:
	// An id: usually one a reply returned (of either connection: the
	// other's must answer like an unknown one), else 0, small or any.
	int64_t pick(const std::vector<int64_t> &pool)
	{
		const auto b = in_.ConsumeIntegral<uint8_t>();
		if (!pool.empty() && b < 200)
			return pool[b % pool.size()];
		if (b < 230)
			return b % 4;
		return in_.ConsumeIntegral<int64_t>();
	}
	uint32_t pick_region()
	{
		const auto b = in_.ConsumeIntegral<uint8_t>();
		if (!regions_.empty() && b < 200)
			return regions_[b % regions_.size()];
		if (b < 240)
			return b % 8;
		return in_.ConsumeIntegral<uint32_t>();
	}
	// Small sizes mostly: large ones only cost time.
	uint32_t small_size()
	{
		const auto b = in_.ConsumeIntegral<uint8_t>();
		if (b < 250)
			return b % 64;
		return in_.ConsumeIntegralInRange<uint32_t>(0, 1 << 16);
	}
	std::string bytes(size_t max = 256)
	{
		return in_.ConsumeRandomLengthString(max);
	}
	std::string sized_bytes(uint32_t n)
	{
		std::string s = in_.ConsumeBytesAsString(n);
		s.resize(n, '\0');
		return s;
	}

	void add_arg(rpc::genop::Arg *a, bool write)
	{
		const auto shape = in_.ConsumeIntegralInRange<int>(0, 15);
		if (!write && shape < 3) {
			// The op byte, or an INT64 id (exec with a
			// resource), or a C string.
			if (shape == 0) {
				uint8_t op = in_.ConsumeIntegral<uint8_t>() %
					     (VACCEL_OP_MAX + 2);
				a->set_arg_type(rpc::genop::UINT8);
				a->set_buf(std::string(
				    reinterpret_cast<char *>(&op), 1));
				a->set_size(1);
			} else if (shape == 1) {
				int64_t id = pick(resources_);
				a->set_arg_type(rpc::genop::INT64);
				a->set_buf(std::string(
				    reinterpret_cast<char *>(&id), sizeof(id)));
				a->set_size(sizeof(id));
			} else {
				std::string s = bytes(32);
				s.push_back('\0');
				a->set_arg_type(rpc::genop::STRING);
				a->set_size(static_cast<uint32_t>(s.size()));
				a->set_buf(std::move(s));
			}
			return;
		}
		a->set_arg_type(static_cast<rpc::genop::ArgType>(
		    in_.ConsumeIntegralInRange<int>(0, 28)));
		const uint32_t n = small_size();
		if (write && in_.ConsumeBool()) {
			a->set_size(n); // our plugin: sizes only
		} else {
			a->set_buf(sized_bytes(n));
			a->set_size(in_.ConsumeIntegralInRange<int>(0, 15) == 0
					? in_.ConsumeIntegral<uint32_t>()
					: n);
		}
		if (in_.ConsumeIntegralInRange<int>(0, 15) == 0) {
			a->set_parts(
			    in_.ConsumeIntegralInRange<uint32_t>(0, 3));
			a->set_part_no(
			    in_.ConsumeIntegralInRange<uint32_t>(0, 3));
		}
		a->set_custom_type_id(
		    in_.ConsumeIntegralInRange<uint32_t>(0, 3));
	}

	rpc::genop::Request genop()
	{
		rpc::genop::Request r;
		r.set_session_id(pick(sessions_));
		const int nr = in_.ConsumeIntegralInRange<int>(0, 8);
		const int nw = in_.ConsumeIntegralInRange<int>(0, 6);
		for (int i = 0; i < nr; ++i)
			add_arg(r.add_read_args(), false);
		for (int i = 0; i < nw; ++i)
			add_arg(r.add_write_args(), true);
		return r;
	}

	void add_shm_arg(rpc::ext::ShmArg *a, bool write)
	{
		a->set_arg_type(in_.ConsumeIntegralInRange<uint32_t>(0, 30));
		if (!write && in_.ConsumeIntegralInRange<int>(0, 3) == 0) {
			// Inline (region 0): the op byte, mostly.
			uint8_t op = in_.ConsumeIntegral<uint8_t>() %
				     (VACCEL_OP_MAX + 2);
			a->set_arg_type(rpc::genop::UINT8);
			a->set_buf(
			    std::string(reinterpret_cast<char *>(&op), 1));
			a->set_size(in_.ConsumeBool() ? 1 : small_size());
			return;
		}
		a->set_region(pick_region());
		if (in_.ConsumeIntegralInRange<int>(0, 7) == 0) {
			a->set_offset(in_.ConsumeIntegral<uint64_t>());
			a->set_size(in_.ConsumeIntegral<uint64_t>());
		} else {
			a->set_offset(
			    in_.ConsumeIntegralInRange<uint64_t>(0, 8192));
			a->set_size(small_size());
		}
		if (in_.ConsumeIntegralInRange<int>(0, 7) == 0)
			a->set_buf(bytes(16));
	}

	void add_tensor_dims(google::protobuf::RepeatedField<int64_t> *dims)
	{
		const int n = in_.ConsumeIntegralInRange<int>(0, 5);
		for (int i = 0; i < n; ++i)
			dims->Add(
			    in_.ConsumeIntegralInRange<int>(0, 15) == 0
				? in_.ConsumeIntegral<int64_t>()
				: in_.ConsumeIntegralInRange<int64_t>(0, 8));
	}

	std::string torch_run()
	{
		rpc::torch::ModelRunRequest r;
		r.set_session_id(pick(sessions_));
		r.set_model_id(pick(resources_));
		if (in_.ConsumeBool())
			r.set_run_options(bytes(16));
		const int n = in_.ConsumeIntegralInRange<int>(0, 4);
		for (int i = 0; i < n; ++i) {
			auto *t = r.add_in_tensors();
			add_tensor_dims(t->mutable_dims());
			t->set_type(static_cast<rpc::torch::DataType>(
			    in_.ConsumeIntegralInRange<int>(0, 8)));
			t->set_data(sized_bytes(small_size()));
		}
		r.set_nr_out_tensors(
		    in_.ConsumeIntegralInRange<int>(0, 15) == 0
			? in_.ConsumeIntegral<uint64_t>()
			: in_.ConsumeIntegralInRange<uint64_t>(0, 4));
		return r.SerializeAsString();
	}

	// A ShmTorchRunRequest: the run message with its tensors' bytes
	// placed in regions.
	std::string torch_run_shm()
	{
		rpc::ext::ShmTorchRunRequest r;
		r.set_run(in_.ConsumeBool() ? torch_run() : bytes(64));
		const int n = in_.ConsumeIntegralInRange<int>(0, 4);
		for (int i = 0; i < n; ++i)
			add_shm_arg(r.add_data(), false);
		return r.SerializeAsString();
	}

	std::string payload(int m,
			    std::vector<vaccel::transport::UniqueFd> *fds)
	{
		switch (m) {
		case CreateSession: {
			rpc::session::CreateRequest r;
			r.set_flags(in_.ConsumeIntegral<uint32_t>());
			return r.SerializeAsString();
		}
		case UpdateSession: {
			rpc::session::UpdateRequest r;
			r.set_session_id(pick(sessions_));
			r.set_flags(in_.ConsumeIntegral<uint32_t>());
			return r.SerializeAsString();
		}
		case DestroySession: {
			rpc::session::DestroyRequest r;
			r.set_session_id(pick(sessions_));
			return r.SerializeAsString();
		}
		case RegisterResource: {
			rpc::resource::RegisterRequest r;
			r.set_session_id(pick(sessions_));
			r.set_resource_type(
			    static_cast<rpc::resource::ResourceType>(
				in_.ConsumeIntegralInRange<int>(0, 4)));
			if (in_.ConsumeIntegralInRange<int>(0, 7) == 0)
				r.set_resource_id(pick(resources_));
			const int n = in_.ConsumeIntegralInRange<int>(0, 4);
			for (int i = 0; i < n; ++i) {
				auto *bl = r.add_blobs();
				bl->set_name(bytes(24));
				bl->set_data(bytes(128));
				bl->set_size(
				    in_.ConsumeIntegralInRange<int>(0, 7) == 0
					? in_.ConsumeIntegral<uint32_t>()
					: static_cast<uint32_t>(
					      bl->data().size()));
				bl->set_type_(
				    static_cast<rpc::resource::BlobType>(
					in_.ConsumeIntegralInRange<int>(0, 3)));
			}
			// Paths (host files) and URLs must be refused.
			if (in_.ConsumeIntegralInRange<int>(0, 7) == 0)
				r.add_paths(bytes(32));
			return r.SerializeAsString();
		}
		case UnregisterResource: {
			rpc::resource::UnregisterRequest r;
			r.set_resource_id(pick(resources_));
			r.set_session_id(pick(sessions_));
			return r.SerializeAsString();
		}
		case SyncResource: {
			rpc::resource::SyncRequest r;
			r.set_resource_id(pick(resources_));
			return r.SerializeAsString();
		}
		case ImageClassification: {
			rpc::image::Request r;
			r.set_session_id(pick(sessions_));
			r.set_image(bytes(64));
			return r.SerializeAsString();
		}
		case TfLoad:
		case TfUnload: {
			rpc::tf::ModelLoadRequest r; // same fields as Unload
			r.set_session_id(pick(sessions_));
			r.set_model_id(pick(resources_));
			return r.SerializeAsString();
		}
		case TfRun: {
			rpc::tf::ModelRunRequest r;
			r.set_session_id(pick(sessions_));
			r.set_model_id(pick(resources_));
			if (in_.ConsumeBool())
				r.set_run_options(bytes(16));
			const int nin = in_.ConsumeIntegralInRange<int>(0, 3);
			for (int i = 0; i < nin; ++i) {
				auto *nd = r.add_in_nodes();
				nd->set_name(bytes(16));
				nd->set_id(in_.ConsumeIntegral<int32_t>());
				auto *t = r.add_in_tensors();
				add_tensor_dims(t->mutable_dims());
				t->set_type(static_cast<rpc::tf::DataType>(
				    in_.ConsumeIntegralInRange<int>(0, 24)));
				t->set_data(sized_bytes(small_size()));
			}
			const int nout = in_.ConsumeIntegralInRange<int>(0, 3);
			for (int i = 0; i < nout; ++i) {
				auto *nd = r.add_out_nodes();
				nd->set_name(bytes(16));
				nd->set_id(in_.ConsumeIntegral<int32_t>());
			}
			return r.SerializeAsString();
		}
		case TfliteLoad:
		case TfliteUnload: {
			rpc::tflite::ModelLoadRequest r;
			r.set_session_id(pick(sessions_));
			r.set_model_id(pick(resources_));
			return r.SerializeAsString();
		}
		case TfliteRun: {
			rpc::tflite::ModelRunRequest r;
			r.set_session_id(pick(sessions_));
			r.set_model_id(pick(resources_));
			const int n = in_.ConsumeIntegralInRange<int>(0, 3);
			for (int i = 0; i < n; ++i) {
				auto *t = r.add_in_tensors();
				const int nd =
				    in_.ConsumeIntegralInRange<int>(0, 4);
				for (int d = 0; d < nd; ++d)
					t->add_dims(
					    in_.ConsumeIntegralInRange<int32_t>(
						-1, 8));
				t->set_type(static_cast<rpc::tflite::DataType>(
				    in_.ConsumeIntegralInRange<int>(0, 12)));
				t->set_data(sized_bytes(small_size()));
			}
			r.set_nr_out_tensors(
			    in_.ConsumeIntegralInRange<uint64_t>(0, 5));
			return r.SerializeAsString();
		}
		case TorchLoad: {
			rpc::torch::ModelLoadRequest r;
			r.set_session_id(pick(sessions_));
			r.set_model_id(pick(resources_));
			return r.SerializeAsString();
		}
		case TorchRun:
			return torch_run();
		case Genop:
			return genop().SerializeAsString();
		case GetProfiler: {
			rpc::profiling::Request r;
			r.set_session_id(pick(sessions_));
			return r.SerializeAsString();
		}
		case Stats:
			return {};
		case Hello: {
			rpc::ext::Hello r;
			r.set_version(in_.ConsumeIntegral<uint32_t>());
			r.add_features(bytes(8));
			return r.SerializeAsString();
		}
		case MapRegion: {
			rpc::ext::MapRegion r;
			const uint32_t id = pick_region();
			r.set_region(id);
			const size_t real =
			    4096 * in_.ConsumeIntegralInRange<size_t>(1, 4);
			const auto how = in_.ConsumeIntegralInRange<int>(0, 7);
			r.set_size(how == 0   ? in_.ConsumeIntegral<uint64_t>()
				   : how == 1 ? real + 1
				   : how == 2 ? 0
					      : real - 64 * (how - 3));
			if (in_.ConsumeBool())
				r.set_slot_size(
				    in_.ConsumeBool()
					? 64 * in_.ConsumeIntegralInRange<
						   uint64_t>(0, 70)
					: in_.ConsumeIntegral<uint64_t>());
			*fds = fuzz::region_fds(in_, real);
			regions_.push_back(id);
			return r.SerializeAsString();
		}
		case MapSandbox: {
			rpc::ext::MapSandboxMemory r;
			const uint32_t id =
			    in_.ConsumeBool()
				? vaccel::transport::kSandboxRegion
				: pick_region();
			r.set_region(id);
			if (sandbox_ != nullptr && in_.ConsumeBool())
				r.set_token(sandbox_->token().data(),
					    sandbox_->token().size());
			else
				r.set_token(bytes(24));
			regions_.push_back(id);
			return r.SerializeAsString();
		}
		case UnmapRegion: {
			rpc::ext::UnmapRegion r;
			r.set_region(pick_region());
			return r.SerializeAsString();
		}
		case GenopShm: {
			rpc::ext::ShmGenopRequest r;
			r.set_session_id(pick(sessions_));
			const int nr = in_.ConsumeIntegralInRange<int>(0, 8);
			const int nw = in_.ConsumeIntegralInRange<int>(0, 6);
			for (int i = 0; i < nr; ++i)
				add_shm_arg(r.add_read_args(), false);
			for (int i = 0; i < nw; ++i)
				add_shm_arg(r.add_write_args(), true);
			return r.SerializeAsString();
		}
		case TorchRunShm:
			return torch_run_shm();
		default:
			return {};
		}
	}

	void call(Conn &c)
	{
		const int m = in_.ConsumeIntegralInRange<int>(0, kMethods - 1);
		const bool raw = in_.ConsumeIntegralInRange<int>(0, 7) == 0;
		CallInfo info;
		// The shared-memory plane only for unix-socket peers: mostly;
		// regions also for a sandbox's peers, over any transport.
		info.local = in_.ConsumeIntegralInRange<int>(0, 15) != 0;
		info.sandbox = c.sandbox.get();
		info.regions = info.local || info.sandbox != nullptr
				   ? &c.regions
				   : nullptr;
		if (in_.ConsumeIntegralInRange<int>(0, 7) == 0)
			info.reply_limit =
			    in_.ConsumeIntegralInRange<uint64_t>(0, 1 << 20);
		std::vector<vaccel::transport::UniqueFd> fds;
		info.fds = &fds;

		if (m == GenopStream) {
			rpc::genop::Request r = genop();
			auto resp = svc_.handle_genop(c.id, r, info);
			(void)resp;
			return;
		}
		std::string service, method;
		if (m == Unknown) {
			service =
			    in_.ConsumeBool() ? std::string(kAsync) : bytes(24);
			method = bytes(24);
		} else {
			service = std::string(kNames[m].service);
			method = std::string(kNames[m].method);
			if (service == kSync && in_.ConsumeBool())
				service = std::string(kAsync);
		}
		std::string body = raw ? bytes(512) : payload(m, &fds);
		if (!raw && !body.empty() &&
		    in_.ConsumeIntegralInRange<int>(0, 15) == 0)
			body.resize(in_.ConsumeIntegralInRange<size_t>(
			    0, body.size() - 1)); // truncated
		auto resp =
		    svc_.handle(c.id, service, method,
				{reinterpret_cast<const uint8_t *>(body.data()),
				 body.size()},
				info);
		if (resp.status().code() != 0)
			return;
		if (resp.payload().size() > svc_.limits().max_message)
			fuzz::fail("reply larger than max_message");
		// Ids for later calls.
		if (m == CreateSession) {
			rpc::session::CreateResponse r;
			if (!r.ParseFromString(resp.payload()))
				fuzz::fail("CreateSession reply");
			sessions_.push_back(r.session_id());
		} else if (m == RegisterResource) {
			rpc::resource::RegisterResponse r;
			if (!r.ParseFromString(resp.payload()))
				fuzz::fail("RegisterResource reply");
			resources_.push_back(r.resource_id());
		}
	}

	FuzzedDataProvider &in_;
	Service &svc_;
	const SandboxMemory *sandbox_;
	std::vector<int64_t> sessions_, resources_;
	std::vector<uint32_t> regions_;
};

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	fuzz::bootstrap_noop();
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzedDataProvider in(data, size);
	fuzz::agent::Limits limits;
	// Small limits sometimes, so that the checks against them are hit.
	if (in.ConsumeBool()) {
		limits.max_args = in.ConsumeIntegralInRange<size_t>(0, 8);
		limits.max_blobs = in.ConsumeIntegralInRange<size_t>(0, 4);
		limits.max_tensors = in.ConsumeIntegralInRange<size_t>(0, 4);
		limits.max_dims = in.ConsumeIntegralInRange<size_t>(0, 4);
		limits.max_name = in.ConsumeIntegralInRange<size_t>(0, 16);
		limits.extensions = in.ConsumeBool();
	}
	Service svc(limits, fuzz::pick_policy(in));
	{
		Conn a(1, svc), b(2, svc);
		if (in.ConsumeBool()) {
			auto m = SandboxMemory::create(
			    fuzz::memfd(64 * 1024, true), nullptr);
			if (!m)
				fuzz::fail("sandbox memory");
			a.sandbox = std::move(m).value();
		}
		svc.open_connection(a.id);
		svc.open_connection(b.id);
		Driver(in, svc, a.sandbox.get()).run(a, b);
		svc.close_connection(a.id);
		svc.close_connection(b.id);
	}
	fuzz::check_released(svc);
	return 0;
}
