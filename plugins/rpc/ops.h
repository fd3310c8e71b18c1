// SPDX-License-Identifier: Apache-2.0
// The rpc plugin's op implementations, one per vAccel op type, as
// register_ops() (plugin.h) puts them in the op table.
#pragma once

#include "plugin.h"

#include <vaccel.h>

#include <cstddef>
#include <cstdint>

namespace vaccel::rpc_plugin
{

// ops_genop.cpp: forwarded as a Genop.
int rpc_noop(vaccel_session *sess);
int rpc_exec(vaccel_session *sess, const char *library, const char *fn_symbol,
	     vaccel_arg *read, size_t nr_read, vaccel_arg *write,
	     size_t nr_write);
int rpc_exec_with_resource(vaccel_session *sess, vaccel_resource *resource,
			   const char *fn_symbol, vaccel_arg *read,
			   size_t nr_read, vaccel_arg *write, size_t nr_write);
int rpc_image_classify(vaccel_session *sess, const void *img,
		       unsigned char *out_text, unsigned char *out_imgname,
		       size_t len_img, size_t len_out_text,
		       size_t len_out_imgname);
int rpc_image_detect(vaccel_session *sess, const void *img,
		     unsigned char *out_imgname, size_t len_img,
		     size_t len_out_imgname);
int rpc_image_segment(vaccel_session *sess, const void *img,
		      unsigned char *out_imgname, size_t len_img,
		      size_t len_out_imgname);
int rpc_image_pose(vaccel_session *sess, const void *img,
		   unsigned char *out_imgname, size_t len_img,
		   size_t len_out_imgname);
int rpc_image_depth(vaccel_session *sess, const void *img,
		    unsigned char *out_imgname, size_t len_img,
		    size_t len_out_imgname);
int rpc_sgemm(vaccel_session *sess, int64_t m, int64_t n, int64_t k,
	      float alpha, float *a, int64_t lda, float *b, int64_t ldb,
	      float beta, float *c, int64_t ldc);
int rpc_minmax(vaccel_session *sess, const double *indata, int ndata,
	       int low_threshold, int high_threshold, double *outdata,
	       double *min, double *max);
int rpc_fpga_arraycopy(vaccel_session *sess, int a[], int out_a[],
		       size_t len_a);
int rpc_fpga_mmult(vaccel_session *sess, float a[], float b[], float c[],
		   size_t len_a);
int rpc_fpga_parallel(vaccel_session *sess, float a[], float b[],
		      float add_output[], float mult_output[], size_t len_a);
int rpc_fpga_vadd(vaccel_session *sess, float a[], float b[], float c[],
		  size_t len_a, size_t len_b);
int rpc_opencv(vaccel_session *sess, vaccel_arg *read, int nr_read,
	       vaccel_arg *write, int nr_write);
int rpc_torch_sgemm(vaccel_session *, vaccel_torch_tensor **,
		    vaccel_torch_tensor **, vaccel_torch_tensor **, int, int,
		    int, vaccel_torch_tensor **);

// ops_models.cpp: forwarded with the model messages.
int rpc_tf_model_load(vaccel_session *sess, vaccel_resource *model,
		      vaccel_tf_status *status);
int rpc_tf_model_unload(vaccel_session *sess, vaccel_resource *model,
			vaccel_tf_status *status);
int rpc_tf_model_run(vaccel_session *sess, vaccel_resource *model,
		     const vaccel_tf_buffer *run_options,
		     const vaccel_tf_node *in_nodes,
		     vaccel_tf_tensor *const *in_tensors, int nr_inputs,
		     const vaccel_tf_node *out_nodes,
		     vaccel_tf_tensor **out_tensors, int nr_outputs,
		     vaccel_tf_status *status);
int rpc_tflite_model_load(vaccel_session *sess, vaccel_resource *model);
int rpc_tflite_model_unload(vaccel_session *sess, vaccel_resource *model);
int rpc_torch_model_load(vaccel_session *sess, vaccel_resource *model);
int rpc_tflite_model_run(vaccel_session *sess, vaccel_resource *model,
			 vaccel_tflite_tensor *const *inputs, int nr_inputs,
			 vaccel_tflite_tensor **outputs, int nr_outputs,
			 uint8_t *status);
int rpc_torch_model_run(vaccel_session *sess, vaccel_resource *model,
			const vaccel_torch_buffer *run_options,
			vaccel_torch_tensor *const *inputs, int nr_inputs,
			vaccel_torch_tensor **outputs, int nr_outputs);

// Sends the load message of load op @p op (tf, tflite or torch) for a
// session moved to another agent (sessions.h).
Status load_model_again(vaccel_op_type_t op, const Remote &sess,
			const Remote &model);

} // namespace vaccel::rpc_plugin
