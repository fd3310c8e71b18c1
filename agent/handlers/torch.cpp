// SPDX-License-Identifier: Apache-2.0
// TorchModelLoad, TorchModelRun.
#include "tensors.h"

#include <cstdlib>
#include <cstring>
#include <shared_mutex>

namespace vaccel::agent::handlers
{

RpcStatus torch_model_load(Context &ctx, rpc::torch::ModelLoadRequest &req,
			   Empty &)
{
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id(), req.model_id(), &sm));
	std::shared_lock lock(sm.sess->op_lock());
	return vaccel_call(
	    vaccel_torch_model_load(sm.sess->get(), sm.model->get()),
	    "torch model load", req.session_id());
}

RpcStatus torch_model_run(Context &ctx, rpc::torch::ModelRunRequest &req,
			  rpc::torch::ModelRunResponse &resp)
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
	    vaccel_torch_tensor_set_data, in));

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

} // namespace vaccel::agent::handlers
