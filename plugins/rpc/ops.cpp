// SPDX-License-Identifier: Apache-2.0
// The rpc plugin's op table. All but the tf/tflite/torch model ops travel as
// a Genop (ops_genop.cpp); the model ops use their own messages
// (ops_models.cpp).
#include "ops.h"

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
	    VACCEL_OP_INIT(ops[0], VACCEL_OP_NOOP, rpc_noop),
	    VACCEL_OP_INIT(ops[1], VACCEL_OP_EXEC, rpc_exec),
	    VACCEL_OP_INIT(ops[2], VACCEL_OP_EXEC_WITH_RESOURCE,
			   rpc_exec_with_resource),
	    VACCEL_OP_INIT(ops[3], VACCEL_OP_IMAGE_CLASSIFY,
			   rpc_image_classify),
	    VACCEL_OP_INIT(ops[4], VACCEL_OP_IMAGE_DETECT, rpc_image_detect),
	    VACCEL_OP_INIT(ops[5], VACCEL_OP_IMAGE_SEGMENT, rpc_image_segment),
	    VACCEL_OP_INIT(ops[6], VACCEL_OP_IMAGE_POSE, rpc_image_pose),
	    VACCEL_OP_INIT(ops[7], VACCEL_OP_IMAGE_DEPTH, rpc_image_depth),
	    VACCEL_OP_INIT(ops[8], VACCEL_OP_TF_MODEL_LOAD, rpc_tf_model_load),
	    VACCEL_OP_INIT(ops[9], VACCEL_OP_TF_MODEL_UNLOAD,
			   rpc_tf_model_unload),
	    VACCEL_OP_INIT(ops[10], VACCEL_OP_TF_MODEL_RUN, rpc_tf_model_run),
	    VACCEL_OP_INIT(ops[11], VACCEL_OP_TFLITE_MODEL_LOAD,
			   rpc_tflite_model_load),
	    VACCEL_OP_INIT(ops[12], VACCEL_OP_TFLITE_MODEL_UNLOAD,
			   rpc_tflite_model_unload),
	    VACCEL_OP_INIT(ops[13], VACCEL_OP_TFLITE_MODEL_RUN,
			   rpc_tflite_model_run),
	    VACCEL_OP_INIT(ops[14], VACCEL_OP_TORCH_MODEL_LOAD,
			   rpc_torch_model_load),
	    VACCEL_OP_INIT(ops[15], VACCEL_OP_TORCH_MODEL_RUN,
			   rpc_torch_model_run),
	    VACCEL_OP_INIT(ops[16], VACCEL_OP_TORCH_SGEMM, rpc_torch_sgemm),
	    VACCEL_OP_INIT(ops[17], VACCEL_OP_BLAS_SGEMM, rpc_sgemm),
	    VACCEL_OP_INIT(ops[18], VACCEL_OP_FPGA_ARRAYCOPY,
			   rpc_fpga_arraycopy),
	    VACCEL_OP_INIT(ops[19], VACCEL_OP_FPGA_MMULT, rpc_fpga_mmult),
	    VACCEL_OP_INIT(ops[20], VACCEL_OP_FPGA_PARALLEL, rpc_fpga_parallel),
	    VACCEL_OP_INIT(ops[21], VACCEL_OP_FPGA_VECTORADD, rpc_fpga_vadd),
	    VACCEL_OP_INIT(ops[22], VACCEL_OP_MINMAX, rpc_minmax),
	    VACCEL_OP_INIT(ops[23], VACCEL_OP_OPENCV, rpc_opencv),
	};
	static_assert(std::size(ops) == VACCEL_OP_MAX,
		      "the rpc plugin forwards every op type");
	return vaccel_plugin_register_ops(ops, std::size(ops));
}

} // namespace vaccel::rpc_plugin
