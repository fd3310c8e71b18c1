// SPDX-License-Identifier: Apache-2.0
// The method handlers, one file per op family. Each takes its decoded
// request (mutable: handlers point vAccel at the request's own buffers
// instead of copying them) and fills its response; the service
// (service.cpp) decodes, dispatches and encodes.
#pragma once

#include "../service.h"

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

#include <span>
#include <string>
#include <vector>

namespace vaccel::agent::handlers
{

using rpc::Empty;

// session.cpp
RpcStatus create_session(Context &, rpc::session::CreateRequest &,
			 rpc::session::CreateResponse &);
RpcStatus update_session(Context &, rpc::session::UpdateRequest &, Empty &);
RpcStatus destroy_session(Context &, rpc::session::DestroyRequest &, Empty &);

// resource.cpp
RpcStatus register_resource(Context &, rpc::resource::RegisterRequest &,
			    rpc::resource::RegisterResponse &);
RpcStatus unregister_resource(Context &, rpc::resource::UnregisterRequest &,
			      Empty &);
RpcStatus sync_resource(Context &, rpc::resource::SyncRequest &,
			rpc::resource::SyncResponse &);

// genop.cpp
RpcStatus genop(Context &, rpc::genop::Request &, rpc::genop::Response &);
// Zero-filled room for a write arg of @p size bytes in @p out. Nothing is
// allocated for a session this connection does not own: it is looked up at
// the first write arg that needs room (*@p session_known, false at first).
RpcStatus zeroed_write_arg(Context &ctx, int64_t session_id, size_t size,
			   bool *session_known, std::string *out);
// Runs vaccel_genop() on session @p session_id with args the caller built
// (pointing at request bytes or mapped shared memory). Checks counts and,
// for EXEC_WITH_RESOURCE, that the resource belongs to this connection.
RpcStatus run_genop(Context &ctx, int64_t session_id,
		    std::vector<vaccel_arg> &read,
		    std::vector<vaccel_arg> &write);

// data.cpp (our extensions: negotiation and the shared-memory plane)
RpcStatus hello(Context &, rpc::ext::Hello &, rpc::ext::Hello &);
RpcStatus map_region(Context &, rpc::ext::MapRegion &, Empty &);
RpcStatus unmap_region(Context &, rpc::ext::UnmapRegion &, Empty &);
RpcStatus map_sandbox_memory(Context &, rpc::ext::MapSandboxMemory &, Empty &);
RpcStatus genop_shm(Context &, rpc::ext::ShmGenopRequest &,
		    rpc::genop::Response &);

// image.cpp
RpcStatus image_classification(Context &, rpc::image::Request &,
			       rpc::image::Response &);

// tf.cpp
RpcStatus tf_model_load(Context &, rpc::tf::ModelLoadRequest &,
			rpc::tf::ModelLoadResponse &);
RpcStatus tf_model_unload(Context &, rpc::tf::ModelUnloadRequest &,
			  rpc::tf::ModelUnloadResponse &);
RpcStatus tf_model_run(Context &, rpc::tf::ModelRunRequest &,
		       rpc::tf::ModelRunResponse &);

// tflite.cpp
RpcStatus tflite_model_load(Context &, rpc::tflite::ModelLoadRequest &,
			    Empty &);
RpcStatus tflite_model_unload(Context &, rpc::tflite::ModelUnloadRequest &,
			      Empty &);
RpcStatus tflite_model_run(Context &, rpc::tflite::ModelRunRequest &,
			   rpc::tflite::ModelRunResponse &);

// torch.cpp
RpcStatus torch_model_load(Context &, rpc::torch::ModelLoadRequest &, Empty &);
// The torch runs decode and encode their messages by hand
// (transport/codec.h): they are the hot path of model serving.
RpcStatus torch_model_run(Context &, std::span<const uint8_t> request,
			  std::string *response);
RpcStatus torch_model_run_shm(Context &, std::span<const uint8_t> request,
			      std::string *response);

// admin.cpp
RpcStatus get_profiler(Context &, rpc::profiling::Request &,
		       rpc::profiling::Response &);
RpcStatus agent_stats(Context &, Empty &, rpc::ext::AgentStats &);
RpcStatus register_cached(Context &, rpc::ext::CachedResource &,
			  rpc::resource::RegisterResponse &);
RpcStatus agent_plugins(Context &, Empty &, rpc::ext::AgentPlugins &);

// Shared by the model handlers (models.cpp): the session and model a
// request names, both owned by the connection, and a vAccel failure.
struct SessionAndModel {
	std::shared_ptr<AgentSession> sess;
	std::shared_ptr<AgentResource> model;
};
RpcStatus session_and_model(Context &ctx, int64_t session_id, int64_t model_id,
			    SessionAndModel *out);
// Times a vAccel op call, from here to the end of the scope: into the
// request's op time when the request is traced (CallInfo::op_time), and
// into @p sess's profiling region @p op when profiling is enabled
// (session_profile.h). Two clock reads then, nothing otherwise.
class OpTimer
{
public:
	OpTimer(const Context &ctx, AgentSession &sess,
		std::string_view op) noexcept
	    : out_(ctx.call.op_time),
	      profile_(vaccel_prof_enabled() ? &sess.profile() : nullptr),
	      op_(op),
	      start_(out_ != nullptr ? Clock::now() : Clock::time_point{}),
	      profile_start_(profile_ != nullptr ? SessionProfile::now_ns() : 0)
	{
		if (out_ != nullptr && out_->total.count() == 0)
			out_->first = start_;
	}
	OpTimer(const OpTimer &) = delete;
	OpTimer &operator=(const OpTimer &) = delete;
	~OpTimer()
	{
		if (profile_ != nullptr)
			profile_->add(op_, profile_start_,
				      SessionProfile::now_ns() -
					  profile_start_);
		if (out_ == nullptr)
			return;
		out_->last = Clock::now();
		out_->total += out_->last - start_;
	}

private:
	using Clock = OpTiming::Clock;
	OpTiming *out_;
	SessionProfile *profile_;
	std::string_view op_;
	Clock::time_point start_;
	uint64_t profile_start_;
};

// Counts @p bytes an op reads from (In) or writes to (Out) @p region
// (metrics.h): shared memory the client copied them into, or, for a region
// of the client program's own memory, moved with no copy at all.
void count_shm(Context &ctx, const ShmRegion &region, metrics::Direction d,
	       uint64_t bytes);

// The status for a vAccel call that returned @p rc (OK stays OK).
RpcStatus vaccel_call(int rc, const char *what, int64_t session_id);

} // namespace vaccel::agent::handlers
