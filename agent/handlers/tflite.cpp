// SPDX-License-Identifier: Apache-2.0
// TensorflowLiteModelLoad, TensorflowLiteModelUnload, TensorflowLiteModelRun.
#include "tensors.h"

#include <shared_mutex>

namespace vaccel::agent::handlers
{

RpcStatus tflite_model_load(Context &ctx, rpc::tflite::ModelLoadRequest &req,
			    Empty &)
{
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id(), req.model_id(), &sm));
	std::shared_lock lock(sm.sess->op_lock());
	const OpTimer timed(ctx, *sm.sess, "tflite_model_load");
	return vaccel_call(
	    vaccel_tflite_model_load(sm.sess->get(), sm.model->get()),
	    "tflite model load", req.session_id());
}

RpcStatus tflite_model_unload(Context &ctx,
			      rpc::tflite::ModelUnloadRequest &req, Empty &)
{
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id(), req.model_id(), &sm));
	std::shared_lock lock(sm.sess->op_lock());
	const OpTimer timed(ctx, *sm.sess, "tflite_model_unload");
	return vaccel_call(
	    vaccel_tflite_model_unload(sm.sess->get(), sm.model->get()),
	    "tflite model unload", req.session_id());
}

RpcStatus tflite_model_run(Context &ctx, rpc::tflite::ModelRunRequest &req,
			   rpc::tflite::ModelRunResponse &resp)
{
	const auto nr_in = static_cast<size_t>(req.in_tensors_size());
	if (nr_in > ctx.limits.max_tensors ||
	    req.nr_out_tensors() > ctx.limits.max_tensors)
		return RpcStatus::invalid(
		    "tflite: %zu inputs / %llu outputs exceed the limit of %zu",
		    nr_in,
		    static_cast<unsigned long long>(req.nr_out_tensors()),
		    ctx.limits.max_tensors);
	const auto nr_out = static_cast<size_t>(req.nr_out_tensors());
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id(), req.model_id(), &sm));

	TensorList<vaccel_tflite_tensor, vaccel_tflite_tensor_delete> in(nr_in);
	AGENT_RETURN_IF_ERROR(build_inputs(
	    ctx, "tflite", *req.mutable_in_tensors(), tflite_elem_size,
	    [](vaccel_tflite_tensor **out, const auto &t, int type) {
		    return vaccel_tflite_tensor_new(
			out, t.dims_size(), t.dims().data(),
			static_cast<vaccel_tflite_data_type>(type));
	    },
	    vaccel_tflite_tensor_set_data, in));

	TensorList<vaccel_tflite_tensor, vaccel_tflite_tensor_delete> out(
	    nr_out);
	uint8_t status = 0;
	int rc = VACCEL_OK;
	{
		std::shared_lock lock(sm.sess->op_lock());
		const OpTimer timed(ctx, *sm.sess, "tflite_model_run");
		rc = vaccel_tflite_model_run(sm.sess->get(), sm.model->get(),
					     in.data(), static_cast<int>(nr_in),
					     out.data(),
					     static_cast<int>(nr_out), &status);
	}
	resp.mutable_status()->set_code(status);
	AGENT_RETURN_IF_ERROR(
	    vaccel_call(rc, "tflite model run", req.session_id()));
	return copy_outputs<vaccel_tflite_tensor, rpc::tflite::Tensor,
			    rpc::tflite::DataType>(
	    ctx, "tflite", out.data(), nr_out,
	    [&resp] { return resp.add_out_tensors(); });
}

} // namespace vaccel::agent::handlers
