// SPDX-License-Identifier: Apache-2.0
// The rpc plugin's op table. All but the tf/tflite/torch model ops travel as
// a Genop (ops_genop.cpp); the model ops use their own messages
// (ops_models.cpp).
#include "ops.h"

#include <vaccel/plugin_ops.hpp>

#include <iterator>

// The fpga, minmax and torch sgemm ops are deprecated upstream but still
// forwarded.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace vaccel::rpc_plugin
{

int register_ops()
{
	// One entry per op type, in enum order (VACCEL_OP_NOOP..OPENCV).
	static vaccel_op ops[] = {
	    vaccel::plugin::op<VACCEL_OP_NOOP>(rpc_noop),
	    vaccel::plugin::op<VACCEL_OP_EXEC>(rpc_exec),
	    vaccel::plugin::op<VACCEL_OP_EXEC_WITH_RESOURCE>(
		rpc_exec_with_resource),
	    vaccel::plugin::op<VACCEL_OP_IMAGE_CLASSIFY>(rpc_image_classify),
	    vaccel::plugin::op<VACCEL_OP_IMAGE_DETECT>(rpc_image_detect),
	    vaccel::plugin::op<VACCEL_OP_IMAGE_SEGMENT>(rpc_image_segment),
	    vaccel::plugin::op<VACCEL_OP_IMAGE_POSE>(rpc_image_pose),
	    vaccel::plugin::op<VACCEL_OP_IMAGE_DEPTH>(rpc_image_depth),
	    vaccel::plugin::op<VACCEL_OP_TF_MODEL_LOAD>(rpc_tf_model_load),
	    vaccel::plugin::op<VACCEL_OP_TF_MODEL_UNLOAD>(rpc_tf_model_unload),
	    vaccel::plugin::op<VACCEL_OP_TF_MODEL_RUN>(rpc_tf_model_run),
	    vaccel::plugin::op<VACCEL_OP_TFLITE_MODEL_LOAD>(
		rpc_tflite_model_load),
	    vaccel::plugin::op<VACCEL_OP_TFLITE_MODEL_UNLOAD>(
		rpc_tflite_model_unload),
	    vaccel::plugin::op<VACCEL_OP_TFLITE_MODEL_RUN>(
		rpc_tflite_model_run),
	    vaccel::plugin::op<VACCEL_OP_TORCH_MODEL_LOAD>(
		rpc_torch_model_load),
	    vaccel::plugin::op<VACCEL_OP_TORCH_MODEL_RUN>(rpc_torch_model_run),
	    vaccel::plugin::op<VACCEL_OP_TORCH_SGEMM>(rpc_torch_sgemm),
	    vaccel::plugin::op<VACCEL_OP_BLAS_SGEMM>(rpc_sgemm),
	    vaccel::plugin::op<VACCEL_OP_FPGA_ARRAYCOPY>(rpc_fpga_arraycopy),
	    vaccel::plugin::op<VACCEL_OP_FPGA_MMULT>(rpc_fpga_mmult),
	    vaccel::plugin::op<VACCEL_OP_FPGA_PARALLEL>(rpc_fpga_parallel),
	    vaccel::plugin::op<VACCEL_OP_FPGA_VECTORADD>(rpc_fpga_vadd),
	    vaccel::plugin::op<VACCEL_OP_MINMAX>(rpc_minmax),
	    vaccel::plugin::op<VACCEL_OP_OPENCV>(rpc_opencv),
	};
	static_assert(std::size(ops) == VACCEL_OP_MAX,
		      "the rpc plugin forwards every op type");
	return vaccel_plugin_register_ops(ops, std::size(ops));
}

} // namespace vaccel::rpc_plugin
