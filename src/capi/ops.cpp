// SPDX-License-Identifier: Apache-2.0
// The op entry points. Each checks what the runtime can check (session,
// resource type and registration) and hands the call to the plugin chosen by
// the session's routing table (core/dispatch.h). The function type a plugin
// registers for an op is the type of the public function below.
#include "core/dispatch.h"
#include "core/op_name.h"

#include <cstdarg>
#include <cstdio>
#include <type_traits>
#include <vaccel.h>
#include <vaccel/compat/ops.h>
#include <vaccel/plugin_ops.hpp>

using vaccel::core::call_op;

namespace
{

void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vaccel::core::set_thread_error(buf);
	vaccel_error("%s", buf);
}

// Ops that take a resource: it must be of the expected type and registered
// with the session (as upstream checks).
int check_resource(vaccel_op_type_t op, vaccel_session *sess,
		   vaccel_resource *res, vaccel_resource_type_t type)
{
	if (!vaccel::core::live(sess))
		return vaccel::core::op_bad_session(op);
	if (!vaccel::core::live(res)) {
		fail("%s: resource is NULL or not initialized",
		     vaccel::core::op_name(op));
		return VACCEL_EINVAL;
	}
	if (res->type != type) {
		fail("%s: resource %lld is %s, expected %s",
		     vaccel::core::op_name(op), static_cast<long long>(res->id),
		     vaccel_resource_type_to_str(res->type),
		     vaccel_resource_type_to_str(type));
		return VACCEL_EINVAL;
	}
	if (!vaccel_session_has_resource(sess, res)) {
		fail("%s: resource %lld is not registered with session %lld",
		     vaccel::core::op_name(op), static_cast<long long>(res->id),
		     static_cast<long long>(sess->id));
		return VACCEL_EPERM;
	}
	return VACCEL_OK;
}

using noop_fn = int (*)(vaccel_session *);
using exec_fn = int (*)(vaccel_session *, const char *, const char *,
			vaccel_arg *, size_t, vaccel_arg *, size_t);
using exec_res_fn = int (*)(vaccel_session *, vaccel_resource *, const char *,
			    vaccel_arg *, size_t, vaccel_arg *, size_t);
using image_text_fn = int (*)(vaccel_session *, const void *, unsigned char *,
			      unsigned char *, size_t, size_t, size_t);
using image_fn = int (*)(vaccel_session *, const void *, unsigned char *,
			 size_t, size_t);
using sgemm_fn = int (*)(vaccel_session *, int64_t, int64_t, int64_t, float,
			 float *, int64_t, float *, int64_t, float, float *,
			 int64_t);
using minmax_fn = int (*)(vaccel_session *, const double *, int, int, int,
			  double *, double *, double *);
using arraycopy_fn = int (*)(vaccel_session *, int *, int *, size_t);
using mmult_fn = int (*)(vaccel_session *, float *, float *, float *, size_t);
using parallel_fn = int (*)(vaccel_session *, float *, float *, float *,
			    float *, size_t);
using vadd_fn = int (*)(vaccel_session *, float *, float *, float *, size_t,
			size_t);
using genargs_fn = int (*)(vaccel_session *, vaccel_arg *, int, vaccel_arg *,
			   int);
using tf_load_fn = int (*)(vaccel_session *, vaccel_resource *,
			   vaccel_tf_status *);
using tf_run_fn = int (*)(vaccel_session *, vaccel_resource *,
			  const vaccel_tf_buffer *, const vaccel_tf_node *,
			  vaccel_tf_tensor *const *, int,
			  const vaccel_tf_node *, vaccel_tf_tensor **, int,
			  vaccel_tf_status *);
using tflite_load_fn = int (*)(vaccel_session *, vaccel_resource *);
using tflite_run_fn = int (*)(vaccel_session *, vaccel_resource *,
			      vaccel_tflite_tensor *const *, int,
			      vaccel_tflite_tensor **, int, uint8_t *);
using torch_run_fn = int (*)(vaccel_session *, vaccel_resource *,
			     const vaccel_torch_buffer *,
			     vaccel_torch_tensor *const *, int,
			     vaccel_torch_tensor **, int);
using torch_sgemm_fn = int (*)(vaccel_session *, vaccel_torch_tensor **,
			       vaccel_torch_tensor **, vaccel_torch_tensor **,
			       int, int, int, vaccel_torch_tensor **);

// Each op is called through the type a C++ plugin's registration checks
// against (vaccel/plugin_ops.hpp): the two can never drift apart.
template <vaccel_op_type_t Op, class Called>
constexpr bool kSameType = std::is_same_v<Called, vaccel::plugin::op_fn<Op>>;
static_assert(kSameType<VACCEL_OP_NOOP, noop_fn>);
static_assert(kSameType<VACCEL_OP_EXEC, exec_fn>);
static_assert(kSameType<VACCEL_OP_EXEC_WITH_RESOURCE, exec_res_fn>);
static_assert(kSameType<VACCEL_OP_IMAGE_CLASSIFY, image_text_fn>);
static_assert(kSameType<VACCEL_OP_IMAGE_DETECT, image_fn>);
static_assert(kSameType<VACCEL_OP_IMAGE_SEGMENT, image_fn>);
static_assert(kSameType<VACCEL_OP_IMAGE_POSE, image_fn>);
static_assert(kSameType<VACCEL_OP_IMAGE_DEPTH, image_fn>);
static_assert(kSameType<VACCEL_OP_TF_MODEL_LOAD, tf_load_fn>);
static_assert(kSameType<VACCEL_OP_TF_MODEL_UNLOAD, tf_load_fn>);
static_assert(kSameType<VACCEL_OP_TF_MODEL_RUN, tf_run_fn>);
static_assert(kSameType<VACCEL_OP_TFLITE_MODEL_LOAD, tflite_load_fn>);
static_assert(kSameType<VACCEL_OP_TFLITE_MODEL_UNLOAD, tflite_load_fn>);
static_assert(kSameType<VACCEL_OP_TFLITE_MODEL_RUN, tflite_run_fn>);
static_assert(kSameType<VACCEL_OP_TORCH_MODEL_LOAD, tflite_load_fn>);
static_assert(kSameType<VACCEL_OP_TORCH_MODEL_RUN, torch_run_fn>);
static_assert(kSameType<VACCEL_OP_TORCH_SGEMM, torch_sgemm_fn>);
static_assert(kSameType<VACCEL_OP_BLAS_SGEMM, sgemm_fn>);
static_assert(kSameType<VACCEL_OP_FPGA_ARRAYCOPY, arraycopy_fn>);
static_assert(kSameType<VACCEL_OP_FPGA_MMULT, mmult_fn>);
static_assert(kSameType<VACCEL_OP_FPGA_PARALLEL, parallel_fn>);
static_assert(kSameType<VACCEL_OP_FPGA_VECTORADD, vadd_fn>);
static_assert(kSameType<VACCEL_OP_MINMAX, minmax_fn>);
static_assert(kSameType<VACCEL_OP_OPENCV, genargs_fn>);

} // namespace

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

extern "C" {

int vaccel_noop(struct vaccel_session *sess)
{
	return call_op<noop_fn>(VACCEL_OP_NOOP, sess);
}

int vaccel_exec(struct vaccel_session *sess, const char *library,
		const char *fn_symbol, struct vaccel_arg *read, size_t nr_read,
		struct vaccel_arg *write, size_t nr_write)
{
	return call_op<exec_fn>(VACCEL_OP_EXEC, sess, library, fn_symbol, read,
				nr_read, write, nr_write);
}

int vaccel_exec_with_resource(struct vaccel_session *sess,
			      struct vaccel_resource *resource,
			      const char *fn_symbol, struct vaccel_arg *read,
			      size_t nr_read, struct vaccel_arg *write,
			      size_t nr_write)
{
	int rc = check_resource(VACCEL_OP_EXEC_WITH_RESOURCE, sess, resource,
				VACCEL_RESOURCE_LIB);
	if (rc != VACCEL_OK)
		return rc;
	return call_op<exec_res_fn>(VACCEL_OP_EXEC_WITH_RESOURCE, sess,
				    resource, fn_symbol, read, nr_read, write,
				    nr_write);
}

int vaccel_image_classification(struct vaccel_session *sess, const void *img,
				unsigned char *out_text,
				unsigned char *out_imgname, size_t len_img,
				size_t len_out_text, size_t len_out_imgname)
{
	return call_op<image_text_fn>(VACCEL_OP_IMAGE_CLASSIFY, sess, img,
				      out_text, out_imgname, len_img,
				      len_out_text, len_out_imgname);
}

int vaccel_image_detection(struct vaccel_session *sess, const void *img,
			   unsigned char *out_imgname, size_t len_img,
			   size_t len_out_imgname)
{
	return call_op<image_fn>(VACCEL_OP_IMAGE_DETECT, sess, img, out_imgname,
				 len_img, len_out_imgname);
}

int vaccel_image_segmentation(struct vaccel_session *sess, const void *img,
			      unsigned char *out_imgname, size_t len_img,
			      size_t len_out_imgname)
{
	return call_op<image_fn>(VACCEL_OP_IMAGE_SEGMENT, sess, img,
				 out_imgname, len_img, len_out_imgname);
}

int vaccel_image_pose(struct vaccel_session *sess, const void *img,
		      unsigned char *out_imgname, size_t len_img,
		      size_t len_out_imgname)
{
	return call_op<image_fn>(VACCEL_OP_IMAGE_POSE, sess, img, out_imgname,
				 len_img, len_out_imgname);
}

int vaccel_image_depth(struct vaccel_session *sess, const void *img,
		       unsigned char *out_imgname, size_t len_img,
		       size_t len_out_imgname)
{
	return call_op<image_fn>(VACCEL_OP_IMAGE_DEPTH, sess, img, out_imgname,
				 len_img, len_out_imgname);
}

// Upstream's one entry point for the image ops (exported, used by its
// unpackers): classification takes the text output, the others ignore it.
int vaccel_image_op(vaccel_op_type_t op_type, struct vaccel_session *sess,
		    const void *img, unsigned char *out_text,
		    unsigned char *out_imgname, size_t len_img,
		    size_t len_out_text, size_t len_out_imgname)
{
	switch (op_type) {
	case VACCEL_OP_IMAGE_CLASSIFY:
		return vaccel_image_classification(
		    sess, img, out_text, out_imgname, len_img, len_out_text,
		    len_out_imgname);
	case VACCEL_OP_IMAGE_DETECT:
	case VACCEL_OP_IMAGE_SEGMENT:
	case VACCEL_OP_IMAGE_POSE:
	case VACCEL_OP_IMAGE_DEPTH:
		return call_op<image_fn>(op_type, sess, img, out_imgname,
					 len_img, len_out_imgname);
	default:
		return VACCEL_ENOTSUP;
	}
}

int vaccel_sgemm(struct vaccel_session *sess, int64_t m, int64_t n, int64_t k,
		 float alpha, float *a, int64_t lda, float *b, int64_t ldb,
		 float beta, float *c, int64_t ldc)
{
	return call_op<sgemm_fn>(VACCEL_OP_BLAS_SGEMM, sess, m, n, k, alpha, a,
				 lda, b, ldb, beta, c, ldc);
}

int vaccel_minmax(struct vaccel_session *sess, const double *indata, int ndata,
		  int low_threshold, int high_threshold, double *outdata,
		  double *min, double *max)
{
	return call_op<minmax_fn>(VACCEL_OP_MINMAX, sess, indata, ndata,
				  low_threshold, high_threshold, outdata, min,
				  max);
}

int vaccel_fpga_arraycopy(struct vaccel_session *sess, int a[], int out_a[],
			  size_t len_a)
{
	return call_op<arraycopy_fn>(VACCEL_OP_FPGA_ARRAYCOPY, sess, a, out_a,
				     len_a);
}

int vaccel_fpga_mmult(struct vaccel_session *sess, float a[], float b[],
		      float c[], size_t len_a)
{
	return call_op<mmult_fn>(VACCEL_OP_FPGA_MMULT, sess, a, b, c, len_a);
}

int vaccel_fpga_parallel(struct vaccel_session *sess, float a[], float b[],
			 float add_output[], float mult_output[], size_t len_a)
{
	return call_op<parallel_fn>(VACCEL_OP_FPGA_PARALLEL, sess, a, b,
				    add_output, mult_output, len_a);
}

int vaccel_fpga_vadd(struct vaccel_session *sess, float a[], float b[],
		     float c[], size_t len_a, size_t len_b)
{
	return call_op<vadd_fn>(VACCEL_OP_FPGA_VECTORADD, sess, a, b, c, len_a,
				len_b);
}

int vaccel_opencv(struct vaccel_session *sess, struct vaccel_arg *read,
		  int nr_read, struct vaccel_arg *write, int nr_write)
{
	return call_op<genargs_fn>(VACCEL_OP_OPENCV, sess, read, nr_read, write,
				   nr_write);
}

int vaccel_tf_model_load(struct vaccel_session *sess,
			 struct vaccel_resource *model,
			 struct vaccel_tf_status *status)
{
	int rc = check_resource(VACCEL_OP_TF_MODEL_LOAD, sess, model,
				VACCEL_RESOURCE_MODEL);
	if (rc != VACCEL_OK)
		return rc;
	return call_op<tf_load_fn>(VACCEL_OP_TF_MODEL_LOAD, sess, model,
				   status);
}

int vaccel_tf_model_unload(struct vaccel_session *sess,
			   struct vaccel_resource *model,
			   struct vaccel_tf_status *status)
{
	int rc = check_resource(VACCEL_OP_TF_MODEL_UNLOAD, sess, model,
				VACCEL_RESOURCE_MODEL);
	if (rc != VACCEL_OK)
		return rc;
	return call_op<tf_load_fn>(VACCEL_OP_TF_MODEL_UNLOAD, sess, model,
				   status);
}

int vaccel_tf_model_run(struct vaccel_session *sess,
			struct vaccel_resource *model,
			const struct vaccel_tf_buffer *run_options,
			const struct vaccel_tf_node *in_nodes,
			struct vaccel_tf_tensor *const *in_tensors,
			int nr_inputs, const struct vaccel_tf_node *out_nodes,
			struct vaccel_tf_tensor **out_tensors, int nr_outputs,
			struct vaccel_tf_status *status)
{
	int rc = check_resource(VACCEL_OP_TF_MODEL_RUN, sess, model,
				VACCEL_RESOURCE_MODEL);
	if (rc != VACCEL_OK)
		return rc;
	return call_op<tf_run_fn>(VACCEL_OP_TF_MODEL_RUN, sess, model,
				  run_options, in_nodes, in_tensors, nr_inputs,
				  out_nodes, out_tensors, nr_outputs, status);
}

int vaccel_tflite_model_load(struct vaccel_session *sess,
			     struct vaccel_resource *model)
{
	int rc = check_resource(VACCEL_OP_TFLITE_MODEL_LOAD, sess, model,
				VACCEL_RESOURCE_MODEL);
	if (rc != VACCEL_OK)
		return rc;
	return call_op<tflite_load_fn>(VACCEL_OP_TFLITE_MODEL_LOAD, sess,
				       model);
}

int vaccel_tflite_model_unload(struct vaccel_session *sess,
			       struct vaccel_resource *model)
{
	int rc = check_resource(VACCEL_OP_TFLITE_MODEL_UNLOAD, sess, model,
				VACCEL_RESOURCE_MODEL);
	if (rc != VACCEL_OK)
		return rc;
	return call_op<tflite_load_fn>(VACCEL_OP_TFLITE_MODEL_UNLOAD, sess,
				       model);
}

int vaccel_tflite_model_run(struct vaccel_session *sess,
			    struct vaccel_resource *model,
			    struct vaccel_tflite_tensor *const *inputs,
			    int nr_inputs,
			    struct vaccel_tflite_tensor **outputs,
			    int nr_outputs, uint8_t *status)
{
	int rc = check_resource(VACCEL_OP_TFLITE_MODEL_RUN, sess, model,
				VACCEL_RESOURCE_MODEL);
	if (rc != VACCEL_OK)
		return rc;
	return call_op<tflite_run_fn>(VACCEL_OP_TFLITE_MODEL_RUN, sess, model,
				      inputs, nr_inputs, outputs, nr_outputs,
				      status);
}

int vaccel_torch_model_load(struct vaccel_session *sess,
			    struct vaccel_resource *model)
{
	int rc = check_resource(VACCEL_OP_TORCH_MODEL_LOAD, sess, model,
				VACCEL_RESOURCE_MODEL);
	if (rc != VACCEL_OK)
		return rc;
	return call_op<tflite_load_fn>(VACCEL_OP_TORCH_MODEL_LOAD, sess, model);
}

int vaccel_torch_model_run(struct vaccel_session *sess,
			   struct vaccel_resource *model,
			   const struct vaccel_torch_buffer *run_options,
			   struct vaccel_torch_tensor *const *inputs,
			   int nr_inputs, struct vaccel_torch_tensor **outputs,
			   int nr_outputs)
{
	int rc = check_resource(VACCEL_OP_TORCH_MODEL_RUN, sess, model,
				VACCEL_RESOURCE_MODEL);
	if (rc != VACCEL_OK)
		return rc;
	return call_op<torch_run_fn>(VACCEL_OP_TORCH_MODEL_RUN, sess, model,
				     run_options, inputs, nr_inputs, outputs,
				     nr_outputs);
}

int vaccel_torch_sgemm(struct vaccel_session *sess,
		       struct vaccel_torch_tensor **in_A,
		       struct vaccel_torch_tensor **in_B,
		       struct vaccel_torch_tensor **in_C, int M, int N, int K,
		       struct vaccel_torch_tensor **out)
{
	return call_op<torch_sgemm_fn>(VACCEL_OP_TORCH_SGEMM, sess, in_A, in_B,
				       in_C, M, N, K, out);
}

} // extern "C"
