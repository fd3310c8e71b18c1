// SPDX-License-Identifier: Apache-2.0
/*
 * The noop plugin: implements every op without doing any work. Each op logs
 * what it was given (at debug level) and fills its outputs with fixed dummy
 * values, the same ones upstream vAccel's noop plugin returns, so that
 * programs and bindings can be tested end to end without any accelerator.
 *
 * Unlike a real backend it never trusts its inputs: every pointer is checked
 * before it is read or written and text outputs are bounded by the lengths
 * the caller passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <vaccel.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define noop_debug(...) vaccel_debug("[noop] " __VA_ARGS__)
#define noop_error(...) vaccel_error("[noop] " __VA_ARGS__)

static const char dummy_tag[] = "This is a dummy classification tag!";
static const char dummy_imgname[] = "This is a dummy imgname!";
static const char dummy_tf_message[] = "Operation handled by noop plugin";
static const float dummy_mmult_value = 9.1F;
static const double dummy_min = -1.0;
static const double dummy_max = 10000.0;

/* Copies @p text into @p out (of @p len bytes), truncating; no-op when there
 * is nowhere to write. */
static void write_text(unsigned char *out, size_t len, const char *text)
{
	if (!out || len == 0)
		return;
	snprintf((char *)out, len, "%s", text);
}

static const char *first_blob_path(const struct vaccel_resource *res)
{
	if (!res || res->nr_blobs == 0 || !res->blobs || !res->blobs[0])
		return "(none)";
	return res->blobs[0]->path ? res->blobs[0]->path : "(in memory)";
}

static int noop_noop(struct vaccel_session *sess)
{
	if (!sess) {
		noop_error("noop: session is NULL");
		return VACCEL_EINVAL;
	}
	noop_debug("noop: session %" PRId64, sess->id);
	return VACCEL_OK;
}

/* The dummy result of exec: the first input, copied to the only output when
 * both are int arrays of one size. */
static void exec_dummy_output(const struct vaccel_arg *read, size_t nr_read,
			      struct vaccel_arg *write, size_t nr_write)
{
	if (nr_read < 1 || nr_write != 1 || !read || !write)
		return;
	if (!read[0].buf || !write[0].buf || write[0].size != read[0].size ||
	    write[0].size == 0 || write[0].size % sizeof(int) != 0)
		return;
	noop_debug("exec: returning the input as output");
	memcpy(write[0].buf, read[0].buf, write[0].size);
}

static void log_args(const char *op, const struct vaccel_arg *read,
		     size_t nr_read, const struct vaccel_arg *write,
		     size_t nr_write)
{
	noop_debug("%s: nr_read: %zu nr_write: %zu", op, nr_read, nr_write);
	for (size_t i = 0; read && i < nr_read; i++)
		noop_debug("%s: read[%zu]: %zu bytes", op, i, read[i].size);
	for (size_t i = 0; write && i < nr_write; i++)
		noop_debug("%s: write[%zu]: %zu bytes", op, i, write[i].size);
}

static int noop_exec(struct vaccel_session *sess, const char *library,
		     const char *fn_symbol, struct vaccel_arg *read,
		     size_t nr_read, struct vaccel_arg *write, size_t nr_write)
{
	if (!sess || !library || !fn_symbol) {
		noop_error(
		    "exec: session, library and symbol must not be NULL");
		return VACCEL_EINVAL;
	}
	if ((nr_read && !read) || (nr_write && !write)) {
		noop_error("exec: NULL argument array with a non-zero count");
		return VACCEL_EINVAL;
	}

	noop_debug("exec: session %" PRId64, sess->id);
	noop_debug("exec: library: %s symbol: %s", library, fn_symbol);
	log_args("exec", read, nr_read, write, nr_write);
	exec_dummy_output(read, nr_read, write, nr_write);
	return VACCEL_OK;
}

static int noop_exec_with_resource(struct vaccel_session *sess,
				   struct vaccel_resource *resource,
				   const char *fn_symbol,
				   struct vaccel_arg *read, size_t nr_read,
				   struct vaccel_arg *write, size_t nr_write)
{
	if (!sess || !resource || !fn_symbol) {
		noop_error("exec_with_resource: session, resource and symbol "
			   "must not be NULL");
		return VACCEL_EINVAL;
	}
	if (resource->nr_blobs == 0 || !resource->blobs) {
		noop_error("exec_with_resource: resource %" PRId64
			   " has no files",
			   resource->id);
		return VACCEL_EINVAL;
	}
	if ((nr_read && !read) || (nr_write && !write)) {
		noop_error("exec_with_resource: NULL argument array with a "
			   "non-zero count");
		return VACCEL_EINVAL;
	}

	noop_debug("exec_with_resource: session %" PRId64 " resource %" PRId64,
		   sess->id, resource->id);
	size_t last = resource->nr_blobs - 1;
	for (size_t i = 0; i <= last; i++) {
		const struct vaccel_blob *blob = resource->blobs[i];
		if (!blob || !blob->path) {
			noop_error("exec_with_resource: resource %" PRId64
				   " file %zu has no path",
				   resource->id, i);
			return VACCEL_EINVAL;
		}
		noop_debug("exec_with_resource: %s: %s",
			   i == last ? "library" : "dependency", blob->path);
	}
	noop_debug("exec_with_resource: symbol: %s", fn_symbol);
	log_args("exec_with_resource", read, nr_read, write, nr_write);
	exec_dummy_output(read, nr_read, write, nr_write);
	return VACCEL_OK;
}

/* Common part of the image ops: validate, log, find the session's model. */
static int image_prologue(const char *op, struct vaccel_session *sess,
			  const void *img, size_t len_img)
{
	if (!sess || !img) {
		noop_error("%s: session and image must not be NULL", op);
		return VACCEL_EINVAL;
	}

	struct vaccel_resource *model = NULL;
	int ret = vaccel_session_resource_by_type(sess, &model,
						  VACCEL_RESOURCE_MODEL);
	if (ret != VACCEL_OK && ret != VACCEL_ENOENT) {
		noop_error(
		    "%s: could not look up the model of session %" PRId64, op,
		    sess->id);
		return ret;
	}

	noop_debug("%s: session %" PRId64, op, sess->id);
	noop_debug("%s: model: %s", op,
		   model ? first_blob_path(model) : "(none)");
	noop_debug("%s: len_img: %zu", op, len_img);
	return VACCEL_OK;
}

static int noop_image_classify(struct vaccel_session *sess, const void *img,
			       unsigned char *out_text,
			       unsigned char *out_imgname, size_t len_img,
			       size_t len_out_text, size_t len_out_imgname)
{
	int ret = image_prologue("image_classify", sess, img, len_img);
	if (ret != VACCEL_OK)
		return ret;

	noop_debug("image_classify: len_out_text: %zu len_out_imgname: %zu",
		   len_out_text, len_out_imgname);
	write_text(out_text, len_out_text, dummy_tag);
	write_text(out_imgname, len_out_imgname, dummy_imgname);
	return VACCEL_OK;
}

static int image_op(const char *op, struct vaccel_session *sess,
		    const void *img, unsigned char *out_imgname, size_t len_img,
		    size_t len_out_imgname)
{
	int ret = image_prologue(op, sess, img, len_img);
	if (ret != VACCEL_OK)
		return ret;

	noop_debug("%s: len_out_imgname: %zu", op, len_out_imgname);
	write_text(out_imgname, len_out_imgname, dummy_imgname);
	return VACCEL_OK;
}

static int noop_image_detect(struct vaccel_session *sess, const void *img,
			     unsigned char *out_imgname, size_t len_img,
			     size_t len_out_imgname)
{
	return image_op("image_detect", sess, img, out_imgname, len_img,
			len_out_imgname);
}

static int noop_image_segment(struct vaccel_session *sess, const void *img,
			      unsigned char *out_imgname, size_t len_img,
			      size_t len_out_imgname)
{
	return image_op("image_segment", sess, img, out_imgname, len_img,
			len_out_imgname);
}

static int noop_image_pose(struct vaccel_session *sess, const void *img,
			   unsigned char *out_imgname, size_t len_img,
			   size_t len_out_imgname)
{
	return image_op("image_pose", sess, img, out_imgname, len_img,
			len_out_imgname);
}

static int noop_image_depth(struct vaccel_session *sess, const void *img,
			    unsigned char *out_imgname, size_t len_img,
			    size_t len_out_imgname)
{
	return image_op("image_depth", sess, img, out_imgname, len_img,
			len_out_imgname);
}

static int model_op_check(const char *op, const struct vaccel_session *sess,
			  const struct vaccel_resource *model)
{
	if (!sess || !model) {
		noop_error("%s: session and model must not be NULL", op);
		return VACCEL_EINVAL;
	}
	noop_debug("%s: session %" PRId64 " model %" PRId64 " (%s)", op,
		   sess->id, model->id, first_blob_path(model));
	return VACCEL_OK;
}

static int set_tf_status(struct vaccel_tf_status *status)
{
	if (!status)
		return VACCEL_OK;
	char *message = strdup(dummy_tf_message);
	if (!message)
		return VACCEL_ENOMEM;
	status->code = 0;
	status->message = message;
	return VACCEL_OK;
}

static int noop_tf_model_load(struct vaccel_session *sess,
			      struct vaccel_resource *model,
			      struct vaccel_tf_status *status)
{
	int ret = model_op_check("tf_model_load", sess, model);
	if (ret != VACCEL_OK)
		return ret;
	return set_tf_status(status);
}

static int noop_tf_model_unload(struct vaccel_session *sess,
				struct vaccel_resource *model,
				struct vaccel_tf_status *status)
{
	int ret = model_op_check("tf_model_unload", sess, model);
	if (ret != VACCEL_OK)
		return ret;
	return set_tf_status(status);
}

/*
 * The tensor ops of the three frameworks return, for each output, a copy of
 * the input at the same index, made with the public allocation functions so
 * that the caller frees it with vaccel_<fw>_tensor_delete(). The three
 * tensor types differ only in the types of their fields, so one macro
 * writes the copy function of each.
 */
#define NOOP_DEFINE_TENSOR_COPY(fw)                                            \
	static int fw##_copy_tensors(                                          \
	    const char *op, struct vaccel_##fw##_tensor *const *in, int nr_in, \
	    struct vaccel_##fw##_tensor **out, int nr_out)                     \
	{                                                                      \
		if (nr_in < 0 || nr_out < 0 || (nr_in > 0 && !in) ||           \
		    (nr_out > 0 && !out)) {                                    \
			noop_error("%s: bad tensor arrays (nr_inputs %d, "     \
				   "nr_outputs %d)",                           \
				   op, nr_in, nr_out);                         \
			return VACCEL_EINVAL;                                  \
		}                                                              \
		if (nr_out > nr_in) {                                          \
			noop_error("%s: nr_outputs %d > nr_inputs %d, but "    \
				   "each output is a copy of an input",        \
				   op, nr_out, nr_in);                         \
			return VACCEL_EINVAL;                                  \
		}                                                              \
		for (int i = 0; i < nr_out; i++)                               \
			out[i] = NULL;                                         \
		int ret = VACCEL_OK;                                           \
		for (int i = 0; i < nr_out && ret == VACCEL_OK; i++) {         \
			const struct vaccel_##fw##_tensor *t = in[i];          \
			if (!t || (t->size > 0 && !t->data)) {                 \
				noop_error("%s: input tensor %d is NULL or "   \
					   "has no data",                      \
					   op, i);                             \
				ret = VACCEL_EINVAL;                           \
				break;                                         \
			}                                                      \
			ret = vaccel_##fw##_tensor_allocate(                   \
			    &out[i], t->nr_dims, t->dims, t->data_type,        \
			    t->size);                                          \
			if (ret == VACCEL_OK && t->size > 0)                   \
				memcpy(out[i]->data, t->data, t->size);        \
		}                                                              \
		if (ret == VACCEL_OK)                                          \
			return VACCEL_OK;                                      \
		noop_error("%s: cannot copy the input tensors (%d)", op, ret); \
		for (int i = 0; i < nr_out; i++) {                             \
			if (out[i])                                            \
				vaccel_##fw##_tensor_delete(out[i]);           \
			out[i] = NULL;                                         \
		}                                                              \
		return ret;                                                    \
	}

NOOP_DEFINE_TENSOR_COPY(tf)
NOOP_DEFINE_TENSOR_COPY(tflite)
NOOP_DEFINE_TENSOR_COPY(torch)

static int noop_tf_model_run(struct vaccel_session *sess,
			     struct vaccel_resource *model,
			     const struct vaccel_tf_buffer *run_options,
			     const struct vaccel_tf_node *in_nodes,
			     struct vaccel_tf_tensor *const *in, int nr_inputs,
			     const struct vaccel_tf_node *out_nodes,
			     struct vaccel_tf_tensor **out, int nr_outputs,
			     struct vaccel_tf_status *status)
{
	int ret = model_op_check("tf_model_run", sess, model);
	if (ret != VACCEL_OK)
		return ret;

	if (run_options)
		noop_debug("tf_model_run: run options: %zu bytes",
			   run_options->size);
	noop_debug("tf_model_run: nr_inputs: %d nr_outputs: %d", nr_inputs,
		   nr_outputs);
	for (int i = 0; in_nodes && i < nr_inputs; i++)
		noop_debug("tf_model_run: in node %d: %s:%d", i,
			   in_nodes[i].name ? in_nodes[i].name : "(null)",
			   in_nodes[i].id);
	for (int i = 0; in && i < nr_inputs; i++) {
		if (!in[i])
			continue;
		noop_debug(
		    "tf_model_run: in tensor %d: type %d, %d dims, %zu bytes",
		    i, (int)in[i]->data_type, in[i]->nr_dims, in[i]->size);
	}
	for (int i = 0; out_nodes && i < nr_outputs; i++)
		noop_debug("tf_model_run: out node %d: %s:%d", i,
			   out_nodes[i].name ? out_nodes[i].name : "(null)",
			   out_nodes[i].id);

	ret = tf_copy_tensors("tf_model_run", in, nr_inputs, out, nr_outputs);
	if (ret != VACCEL_OK)
		return ret;

	ret = set_tf_status(status);
	if (ret == VACCEL_OK)
		return VACCEL_OK;
	for (int i = 0; i < nr_outputs; i++) {
		vaccel_tf_tensor_delete(out[i]);
		out[i] = NULL;
	}
	return ret;
}

static int noop_tflite_model_load(struct vaccel_session *sess,
				  struct vaccel_resource *model)
{
	return model_op_check("tflite_model_load", sess, model);
}

static int noop_tflite_model_unload(struct vaccel_session *sess,
				    struct vaccel_resource *model)
{
	return model_op_check("tflite_model_unload", sess, model);
}

static int noop_tflite_model_run(struct vaccel_session *sess,
				 struct vaccel_resource *model,
				 struct vaccel_tflite_tensor *const *in,
				 int nr_inputs,
				 struct vaccel_tflite_tensor **out,
				 int nr_outputs, uint8_t *status)
{
	int ret = model_op_check("tflite_model_run", sess, model);
	if (ret != VACCEL_OK)
		return ret;

	noop_debug("tflite_model_run: nr_inputs: %d nr_outputs: %d", nr_inputs,
		   nr_outputs);
	for (int i = 0; in && i < nr_inputs; i++) {
		if (!in[i])
			continue;
		noop_debug("tflite_model_run: in tensor %d: type %d, %d dims, "
			   "%zu bytes",
			   i, (int)in[i]->data_type, in[i]->nr_dims,
			   in[i]->size);
	}

	ret = tflite_copy_tensors("tflite_model_run", in, nr_inputs, out,
				  nr_outputs);
	if (ret != VACCEL_OK)
		return ret;
	if (status)
		*status = 0;
	return VACCEL_OK;
}

static int noop_torch_model_load(struct vaccel_session *sess,
				 struct vaccel_resource *model)
{
	int ret = model_op_check("torch_model_load", sess, model);
	if (ret != VACCEL_OK)
		return ret;
	if (model->nr_blobs == 0 || !model->blobs || !model->blobs[0]) {
		noop_error("torch_model_load: model %" PRId64 " has no files",
			   model->id);
		return VACCEL_EINVAL;
	}

	const struct vaccel_blob *blob = model->blobs[0];
	switch (blob->type) {
	case VACCEL_BLOB_FILE:
		noop_debug("torch_model_load: from file %s", blob->path);
		return VACCEL_OK;
	case VACCEL_BLOB_MAPPED:
		noop_debug("torch_model_load: from mapped file %s", blob->path);
		return VACCEL_OK;
	case VACCEL_BLOB_BUFFER:
		noop_debug("torch_model_load: from a buffer of %zu bytes",
			   blob->size);
		return VACCEL_OK;
	default:
		noop_error("torch_model_load: model %" PRId64
			   " blob has unknown type %d",
			   model->id, (int)blob->type);
		return VACCEL_EINVAL;
	}
}

static int noop_torch_model_run(struct vaccel_session *sess,
				struct vaccel_resource *model,
				const struct vaccel_torch_buffer *run_options,
				struct vaccel_torch_tensor *const *in,
				int nr_inputs, struct vaccel_torch_tensor **out,
				int nr_outputs)
{
	int ret = model_op_check("torch_model_run", sess, model);
	if (ret != VACCEL_OK)
		return ret;

	if (run_options)
		noop_debug("torch_model_run: run options: %zu bytes",
			   run_options->size);
	noop_debug("torch_model_run: nr_inputs: %d nr_outputs: %d", nr_inputs,
		   nr_outputs);
	for (int i = 0; in && i < nr_inputs; i++) {
		if (!in[i])
			continue;
		noop_debug("torch_model_run: in tensor %d: type %d, %" PRId64
			   " dims, %zu bytes",
			   i, (int)in[i]->data_type, in[i]->nr_dims,
			   in[i]->size);
	}

	return torch_copy_tensors("torch_model_run", in, nr_inputs, out,
				  nr_outputs);
}

static int noop_torch_sgemm(struct vaccel_session *sess,
			    struct vaccel_torch_tensor **in_a,
			    struct vaccel_torch_tensor **in_b,
			    struct vaccel_torch_tensor **in_c, int m, int n,
			    int k, struct vaccel_torch_tensor **out)
{
	(void)in_a;
	(void)in_b;
	(void)in_c;
	(void)out;
	if (!sess) {
		noop_error("torch_sgemm: session is NULL");
		return VACCEL_EINVAL;
	}
	noop_debug("torch_sgemm: session %" PRId64 " m: %d n: %d k: %d",
		   sess->id, m, n, k);
	return VACCEL_OK;
}

static int noop_sgemm(struct vaccel_session *sess, int64_t m, int64_t n,
		      int64_t k, float alpha, float *a, int64_t lda, float *b,
		      int64_t ldb, float beta, float *c, int64_t ldc)
{
	if (!sess) {
		noop_error("sgemm: session is NULL");
		return VACCEL_EINVAL;
	}
	noop_debug("sgemm: session %" PRId64, sess->id);
	noop_debug("sgemm: m: %" PRId64 " n: %" PRId64 " k: %" PRId64, m, n, k);
	noop_debug("sgemm: alpha: %f beta: %f", (double)alpha, (double)beta);
	noop_debug("sgemm: A: %p lda: %" PRId64, (void *)a, lda);
	noop_debug("sgemm: B: %p ldb: %" PRId64, (void *)b, ldb);
	noop_debug("sgemm: C: %p ldc: %" PRId64, (void *)c, ldc);
	return VACCEL_OK;
}

static int noop_fpga_arraycopy(struct vaccel_session *sess, int *a, int *out_a,
			       size_t len_a)
{
	if (!sess || (len_a && (!a || !out_a))) {
		noop_error("fpga_arraycopy: NULL session or array");
		return VACCEL_EINVAL;
	}
	noop_debug("fpga_arraycopy: session %" PRId64 " len_a: %zu", sess->id,
		   len_a);
	if (len_a)
		memmove(out_a, a, len_a * sizeof(*a));
	return VACCEL_OK;
}

static int noop_fpga_mmult(struct vaccel_session *sess, float *a, float *b,
			   float *c, size_t len_a)
{
	(void)a;
	(void)b;
	if (!sess || (len_a && !c)) {
		noop_error("fpga_mmult: NULL session or output array");
		return VACCEL_EINVAL;
	}
	noop_debug("fpga_mmult: session %" PRId64 " len_a: %zu", sess->id,
		   len_a);
	for (size_t i = 0; i < len_a; i++)
		c[i] = dummy_mmult_value;
	return VACCEL_OK;
}

static int noop_fpga_parallel(struct vaccel_session *sess, float *a, float *b,
			      float *add_output, float *mult_output,
			      size_t len_a)
{
	if (!sess || (len_a && (!a || !b || !add_output || !mult_output))) {
		noop_error("fpga_parallel: NULL session or array");
		return VACCEL_EINVAL;
	}
	noop_debug("fpga_parallel: session %" PRId64 " len_a: %zu", sess->id,
		   len_a);
	for (size_t i = 0; i < len_a; i++) {
		add_output[i] = a[i] + b[i];
		mult_output[i] = 1.0F;
	}
	return VACCEL_OK;
}

static int noop_fpga_vadd(struct vaccel_session *sess, float *a, float *b,
			  float *c, size_t len_a, size_t len_b)
{
	if (!sess || (len_a && (!a || !b || !c))) {
		noop_error("fpga_vadd: NULL session or array");
		return VACCEL_EINVAL;
	}
	if (len_b < len_a) {
		noop_error("fpga_vadd: len_b %zu < len_a %zu", len_b, len_a);
		return VACCEL_EINVAL;
	}
	noop_debug("fpga_vadd: session %" PRId64 " len_a: %zu len_b: %zu",
		   sess->id, len_a, len_b);
	for (size_t i = 0; i < len_a; i++)
		c[i] = a[i] + b[i];
	return VACCEL_OK;
}

static int noop_minmax(struct vaccel_session *sess, const double *indata,
		       int ndata, int low_threshold, int high_threshold,
		       double *outdata, double *min, double *max)
{
	if (!sess || ndata < 0 || (ndata > 0 && (!indata || !outdata)) ||
	    !min || !max) {
		noop_error("minmax: NULL argument or ndata %d < 0", ndata);
		return VACCEL_EINVAL;
	}
	noop_debug("minmax: session %" PRId64 " ndata: %d low: %d high: %d",
		   sess->id, ndata, low_threshold, high_threshold);
	if (ndata > 0)
		memmove(outdata, indata, (size_t)ndata * sizeof(*indata));
	*min = dummy_min;
	*max = dummy_max;
	return VACCEL_OK;
}

/* Dummy opencv: each output that can hold it starts with a size_t header,
 * the number of floats the output holds. */
static int noop_opencv(struct vaccel_session *sess, struct vaccel_arg *read,
		       int nr_read, struct vaccel_arg *write, int nr_write)
{
	if (!sess || nr_read < 0 || nr_write < 0 || (nr_read && !read) ||
	    (nr_write && !write)) {
		noop_error("opencv: NULL session or bad argument arrays");
		return VACCEL_EINVAL;
	}
	noop_debug("opencv: session %" PRId64 " nr_read: %d nr_write: %d",
		   sess->id, nr_read, nr_write);
	if (nr_read > 0 && read[0].buf && read[0].size >= 1)
		noop_debug("opencv: function: %u",
			   (unsigned)*(const uint8_t *)read[0].buf);
	for (int i = 1; i < nr_read; i++)
		noop_debug("opencv: read[%d]: %zu bytes", i, read[i].size);
	for (int i = 0; i < nr_write; i++) {
		noop_debug("opencv: write[%d]: %zu bytes", i, write[i].size);
		if (!write[i].buf || write[i].size < sizeof(size_t))
			continue;
		size_t header = write[i].size / sizeof(float);
		memcpy(write[i].buf, &header, sizeof(header));
	}
	return VACCEL_OK;
}

static struct vaccel_op noop_ops[] = {
    VACCEL_OP_INIT(noop_ops[0], VACCEL_OP_NOOP, noop_noop),
    VACCEL_OP_INIT(noop_ops[1], VACCEL_OP_EXEC, noop_exec),
    VACCEL_OP_INIT(noop_ops[2], VACCEL_OP_EXEC_WITH_RESOURCE,
		   noop_exec_with_resource),
    VACCEL_OP_INIT(noop_ops[3], VACCEL_OP_IMAGE_CLASSIFY, noop_image_classify),
    VACCEL_OP_INIT(noop_ops[4], VACCEL_OP_IMAGE_DETECT, noop_image_detect),
    VACCEL_OP_INIT(noop_ops[5], VACCEL_OP_IMAGE_SEGMENT, noop_image_segment),
    VACCEL_OP_INIT(noop_ops[6], VACCEL_OP_IMAGE_POSE, noop_image_pose),
    VACCEL_OP_INIT(noop_ops[7], VACCEL_OP_IMAGE_DEPTH, noop_image_depth),
    VACCEL_OP_INIT(noop_ops[8], VACCEL_OP_TF_MODEL_LOAD, noop_tf_model_load),
    VACCEL_OP_INIT(noop_ops[9], VACCEL_OP_TF_MODEL_UNLOAD,
		   noop_tf_model_unload),
    VACCEL_OP_INIT(noop_ops[10], VACCEL_OP_TF_MODEL_RUN, noop_tf_model_run),
    VACCEL_OP_INIT(noop_ops[11], VACCEL_OP_TFLITE_MODEL_LOAD,
		   noop_tflite_model_load),
    VACCEL_OP_INIT(noop_ops[12], VACCEL_OP_TFLITE_MODEL_UNLOAD,
		   noop_tflite_model_unload),
    VACCEL_OP_INIT(noop_ops[13], VACCEL_OP_TFLITE_MODEL_RUN,
		   noop_tflite_model_run),
    VACCEL_OP_INIT(noop_ops[14], VACCEL_OP_TORCH_MODEL_LOAD,
		   noop_torch_model_load),
    VACCEL_OP_INIT(noop_ops[15], VACCEL_OP_TORCH_MODEL_RUN,
		   noop_torch_model_run),
    VACCEL_OP_INIT(noop_ops[16], VACCEL_OP_TORCH_SGEMM, noop_torch_sgemm),
    VACCEL_OP_INIT(noop_ops[17], VACCEL_OP_BLAS_SGEMM, noop_sgemm),
    VACCEL_OP_INIT(noop_ops[18], VACCEL_OP_FPGA_ARRAYCOPY, noop_fpga_arraycopy),
    VACCEL_OP_INIT(noop_ops[19], VACCEL_OP_FPGA_MMULT, noop_fpga_mmult),
    VACCEL_OP_INIT(noop_ops[20], VACCEL_OP_FPGA_PARALLEL, noop_fpga_parallel),
    VACCEL_OP_INIT(noop_ops[21], VACCEL_OP_FPGA_VECTORADD, noop_fpga_vadd),
    VACCEL_OP_INIT(noop_ops[22], VACCEL_OP_MINMAX, noop_minmax),
    VACCEL_OP_INIT(noop_ops[23], VACCEL_OP_OPENCV, noop_opencv),
};

/* One entry per op type: adding an op type without a noop entry fails the
 * build here. */
_Static_assert(sizeof(noop_ops) / sizeof(noop_ops[0]) == VACCEL_OP_MAX,
	       "the noop plugin must implement every op");

static int noop_init(void)
{
	return vaccel_plugin_register_ops(noop_ops, sizeof(noop_ops) /
							sizeof(noop_ops[0]));
}

static int noop_fini(void)
{
	return VACCEL_OK;
}

VACCEL_PLUGIN(.name = "noop", .version = VACCEL_VERSION,
	      .vaccel_version = VACCEL_VERSION, .init = noop_init,
	      .fini = noop_fini, .type = VACCEL_PLUGIN_DEBUG)
