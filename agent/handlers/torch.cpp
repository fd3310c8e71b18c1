// SPDX-License-Identifier: Apache-2.0
// TorchModelLoad, TorchModelRun.
#include "tensors.h"

#include "../shm.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <shared_mutex>
#include <span>
#include <vector>

namespace vaccel::agent::handlers
{

RpcStatus torch_model_load(Context &ctx, rpc::torch::ModelLoadRequest &req,
			   Empty &)
{
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id(), req.model_id(), &sm));
	std::shared_lock lock(sm.sess->op_lock());
	const OpTimer timed(ctx);
	return vaccel_call(
	    vaccel_torch_model_load(sm.sess->get(), sm.model->get()),
	    "torch model load", req.session_id());
}

namespace
{

// TorchModelRun and TorchModelRunShm: @p external, when given, holds the
// bytes of the input tensors that lie in shared memory.
RpcStatus run_model(Context &ctx, rpc::torch::ModelRunRequest &req,
		    rpc::torch::ModelRunResponse &resp,
		    const std::vector<std::span<uint8_t>> *external)
{
	const auto nr_in = static_cast<size_t>(req.in_tensors_size());
	if (nr_in > ctx.limits.max_tensors ||
	    req.nr_out_tensors() > ctx.limits.max_tensors)
		return RpcStatus::invalid(
		    "torch: %zu inputs / %llu outputs exceed the limit of %zu",
		    nr_in,
		    static_cast<unsigned long long>(req.nr_out_tensors()),
		    ctx.limits.max_tensors);
	const auto nr_out = static_cast<size_t>(req.nr_out_tensors());
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id(), req.model_id(), &sm));

	TensorList<vaccel_torch_tensor, vaccel_torch_tensor_delete> in(nr_in);
	AGENT_RETURN_IF_ERROR(build_inputs(
	    ctx, "torch", *req.mutable_in_tensors(), torch_elem_size,
	    [](vaccel_torch_tensor **out, const auto &t, int type) {
		    return vaccel_torch_tensor_new(
			out, t.dims_size(), t.dims().data(),
			static_cast<vaccel_torch_data_type>(type));
	    },
	    vaccel_torch_tensor_set_data, in, external));

	vaccel_torch_buffer run_options{};
	vaccel_torch_buffer *opts = nullptr;
	if (req.has_run_options()) {
		const std::string &o = req.run_options();
		auto *copy = static_cast<char *>(
		    std::malloc(o.size() > 0 ? o.size() : 1));
		if (copy == nullptr)
			return RpcStatus::exhausted("torch: out of memory");
		std::memcpy(copy, o.data(), o.size());
		vaccel_torch_buffer_init(&run_options, copy, o.size());
		opts = &run_options;
	}

	TensorList<vaccel_torch_tensor, vaccel_torch_tensor_delete> out(nr_out);
	int rc = VACCEL_OK;
	{
		std::shared_lock lock(sm.sess->op_lock());
		const OpTimer timed(ctx);
		rc = vaccel_torch_model_run(sm.sess->get(), sm.model->get(),
					    opts, in.data(),
					    static_cast<int>(nr_in), out.data(),
					    static_cast<int>(nr_out));
	}
	if (opts != nullptr)
		vaccel_torch_buffer_release(&run_options);
	AGENT_RETURN_IF_ERROR(
	    vaccel_call(rc, "torch model run", req.session_id()));
	return copy_outputs<vaccel_torch_tensor, rpc::torch::Tensor,
			    rpc::torch::DataType>(
	    ctx, "torch", out.data(), nr_out,
	    [&resp] { return resp.add_out_tensors(); });
}

} // namespace

RpcStatus torch_model_run(Context &ctx, rpc::torch::ModelRunRequest &req,
			  rpc::torch::ModelRunResponse &resp)
{
	return run_model(ctx, req, resp, nullptr);
}

RpcStatus torch_model_run_shm(Context &ctx, rpc::ext::ShmTorchRunRequest &req,
			      rpc::torch::ModelRunResponse &resp)
{
	if (ctx.call.regions == nullptr)
		return RpcStatus::unimplemented(
		    "shared memory is offered on unix sockets only");
	rpc::torch::ModelRunRequest run;
	if (!run.ParseFromString(req.run()))
		return RpcStatus::invalid(
		    "torch: the shared-memory run's request does not parse");
	req.clear_run();
	if (req.data_size() != run.in_tensors_size())
		return RpcStatus::invalid(
		    "torch: %d shared-memory entries for %d input tensors",
		    req.data_size(), run.in_tensors_size());
	// The regions stay mapped until the run is over, whatever the client
	// unmaps meanwhile.
	std::vector<std::shared_ptr<ShmRegion>> held;
	std::vector<std::span<uint8_t>> external(
	    static_cast<size_t>(req.data_size()));
	for (int i = 0; i < req.data_size(); ++i) {
		const auto &d = req.data(i);
		if (d.region() == 0)
			continue;
		if (!run.in_tensors(i).data().empty())
			return RpcStatus::invalid(
			    "torch: input tensor %d has bytes both inline and "
			    "in region %u",
			    i, d.region());
		std::shared_ptr<ShmRegion> region;
		AGENT_RETURN_IF_ERROR(
		    ctx.call.regions->find(d.region(), &region));
		if (d.size() == 0 || !region->contains(d.offset(), d.size()))
			return RpcStatus::invalid(
			    "torch: input tensor %d: [%llu, +%llu) is empty or "
			    "lies outside region %u (%zu bytes)",
			    i, static_cast<unsigned long long>(d.offset()),
			    static_cast<unsigned long long>(d.size()),
			    d.region(), region->size());
		external[static_cast<size_t>(i)] = std::span<uint8_t>(
		    region->data() + d.offset(), static_cast<size_t>(d.size()));
		// A model on a GPU copies its inputs there from the region:
		// page-locked, without the driver's staging copy.
		region->prepare_for_devices();
		held.push_back(std::move(region));
	}
	return run_model(ctx, run, resp, &external);
}

} // namespace vaccel::agent::handlers
