// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/plugin_ops.hpp
 * Typed op registration for plugins written in C++.
 *
 * VACCEL_OP_INIT stores any function pointer as `void *`, so a function
 * whose parameters do not match its op compiles and is then called through
 * the wrong type (undefined behaviour). `vaccel::plugin::op<OP>(fn)` builds
 * the same `struct vaccel_op`, but compiles only when @p fn has exactly the
 * type of OP's public function (`vaccel_noop()` for VACCEL_OP_NOOP, ...),
 * which is the type the runtime calls it through:
 *
 * @code
 * static int my_sgemm(vaccel_session *, int64_t, int64_t, int64_t, float,
 *                     float *, int64_t, float *, int64_t, float, float *,
 *                     int64_t);
 * vaccel_op ops[] = {vaccel::plugin::op<VACCEL_OP_BLAS_SGEMM>(my_sgemm)};
 * vaccel_plugin_register_ops(ops, std::size(ops));
 * @endcode
 */
#pragma once

#include <vaccel.h>

#include <type_traits>

namespace vaccel::plugin
{

/** op_signature<OP>::type: the function pointer type a plugin registers for
 *  OP. Not defined for values that are not ops. */
template <vaccel_op_type_t Op> struct op_signature;

#define VACCEL_OP_SIGNATURE_(OP, PUBLIC_FN)                                    \
	template <> struct op_signature<OP> {                                  \
		using type = decltype(&PUBLIC_FN);                             \
	}

// The demo ops' public functions are deprecated; naming their types is not
// a use of them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
VACCEL_OP_SIGNATURE_(VACCEL_OP_NOOP, vaccel_noop);
VACCEL_OP_SIGNATURE_(VACCEL_OP_EXEC, vaccel_exec);
VACCEL_OP_SIGNATURE_(VACCEL_OP_EXEC_WITH_RESOURCE, vaccel_exec_with_resource);
VACCEL_OP_SIGNATURE_(VACCEL_OP_IMAGE_CLASSIFY, vaccel_image_classification);
VACCEL_OP_SIGNATURE_(VACCEL_OP_IMAGE_DETECT, vaccel_image_detection);
VACCEL_OP_SIGNATURE_(VACCEL_OP_IMAGE_SEGMENT, vaccel_image_segmentation);
VACCEL_OP_SIGNATURE_(VACCEL_OP_IMAGE_POSE, vaccel_image_pose);
VACCEL_OP_SIGNATURE_(VACCEL_OP_IMAGE_DEPTH, vaccel_image_depth);
VACCEL_OP_SIGNATURE_(VACCEL_OP_TF_MODEL_LOAD, vaccel_tf_model_load);
VACCEL_OP_SIGNATURE_(VACCEL_OP_TF_MODEL_UNLOAD, vaccel_tf_model_unload);
VACCEL_OP_SIGNATURE_(VACCEL_OP_TF_MODEL_RUN, vaccel_tf_model_run);
VACCEL_OP_SIGNATURE_(VACCEL_OP_TFLITE_MODEL_LOAD, vaccel_tflite_model_load);
VACCEL_OP_SIGNATURE_(VACCEL_OP_TFLITE_MODEL_UNLOAD, vaccel_tflite_model_unload);
VACCEL_OP_SIGNATURE_(VACCEL_OP_TFLITE_MODEL_RUN, vaccel_tflite_model_run);
VACCEL_OP_SIGNATURE_(VACCEL_OP_TORCH_MODEL_LOAD, vaccel_torch_model_load);
VACCEL_OP_SIGNATURE_(VACCEL_OP_TORCH_MODEL_RUN, vaccel_torch_model_run);
VACCEL_OP_SIGNATURE_(VACCEL_OP_TORCH_SGEMM, vaccel_torch_sgemm);
VACCEL_OP_SIGNATURE_(VACCEL_OP_BLAS_SGEMM, vaccel_sgemm);
VACCEL_OP_SIGNATURE_(VACCEL_OP_FPGA_ARRAYCOPY, vaccel_fpga_arraycopy);
VACCEL_OP_SIGNATURE_(VACCEL_OP_FPGA_MMULT, vaccel_fpga_mmult);
VACCEL_OP_SIGNATURE_(VACCEL_OP_FPGA_PARALLEL, vaccel_fpga_parallel);
VACCEL_OP_SIGNATURE_(VACCEL_OP_FPGA_VECTORADD, vaccel_fpga_vadd);
VACCEL_OP_SIGNATURE_(VACCEL_OP_MINMAX, vaccel_minmax);
VACCEL_OP_SIGNATURE_(VACCEL_OP_OPENCV, vaccel_opencv);
#pragma GCC diagnostic pop
#undef VACCEL_OP_SIGNATURE_

/** The function pointer type of @p Op. */
template <vaccel_op_type_t Op> using op_fn = typename op_signature<Op>::type;

/** The `struct vaccel_op` registering @p fn for @p Op, owned by this plugin
 *  (as VACCEL_OP_INIT). A @p fn of any other type does not compile; a
 *  noexcept one is accepted (it is called as the same type). */
template <vaccel_op_type_t Op, class Fn> vaccel_op op(Fn *fn) noexcept
{
	static_assert(std::is_function_v<Fn> &&
			  std::is_convertible_v<Fn *, op_fn<Op>>,
		      "this function's type is not the op's: see the public "
		      "function of that op (vaccel/ops/*.h)");
	const op_fn<Op> typed = fn;
	return {Op, reinterpret_cast<void *>(typed), &vaccel_this_plugin};
}

} // namespace vaccel::plugin
