// SPDX-License-Identifier: Apache-2.0
// vaccel_genop(): unpack a generic-op argument list and call the typed op.
//
// read[0] is the op type (a VACCEL_ARG_UINT8). The other args follow the
// layouts of upstream vAccel, op by op (see unpack_* below). Everything an
// op will dereference is checked first: arg counts, tags, sizes, and that
// each output buffer is large enough for what the op writes, so a malformed
// request fails with VACCEL_EINVAL and a message instead of reaching a
// plugin with out-of-bounds pointers.
#include "capi/funnel.h"

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vaccel/arg.h>
#include <vaccel/compat/ops.h>
#include <vaccel/error.h>
#include <vaccel/log.h>
#include <vaccel/op.h>
#include <vaccel/ops/blas.h>
#include <vaccel/ops/exec.h>
#include <vaccel/ops/fpga.h>
#include <vaccel/ops/genop.h>
#include <vaccel/ops/image.h>
#include <vaccel/ops/minmax.h>
#include <vaccel/ops/noop.h>
#include <vaccel/ops/opencv.h>
#include <vaccel/resource.h>

// The fpga and minmax ops are deprecated upstream but still reachable
// through genop.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace
{

// Log @p fmt, record it for vaccel_last_error() and return @p code.
__attribute__((format(printf, 2, 3))) int fail(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	try {
		return vaccel::capi::report("genop",
					    vaccel::core::Status(code, msg));
	} catch (...) {
		return code;
	}
}

int expect_counts(const char *op, int nr_read, int want_read, int nr_write,
		  int want_write)
{
	if (nr_read != want_read)
		return fail(VACCEL_EINVAL, "%s expects %d read args, got %d",
			    op, want_read, nr_read);
	if (nr_write != want_write)
		return fail(VACCEL_EINVAL, "%s expects %d write args, got %d",
			    op, want_write, nr_write);
	return VACCEL_OK;
}

// A cursor over the read or the write args of one op, whose typed getters
// turn a refusal into a message naming the op, the arg and what was found.
class Args
{
public:
	Args(const char *op, const char *dir, vaccel_arg *args, int n)
	    : op_(op), dir_(dir)
	{
		vaccel_arg_array_wrap(&a_, args,
				      n > 0 ? static_cast<size_t>(n) : 0);
	}

	int i64(const char *what, int64_t *out)
	{
		return check(vaccel_arg_array_get_int64(&a_, out), what,
			     "an INT64");
	}
	int f32(const char *what, float *out)
	{
		return check(vaccel_arg_array_get_float(&a_, out), what,
			     "a FLOAT32");
	}
	int f32s(const char *what, float **out, size_t *count)
	{
		return check(vaccel_arg_array_get_float_array(&a_, out, count),
			     what, "a non-empty FLOAT32_ARRAY");
	}
	int uchars(const char *what, unsigned char **out, size_t *count)
	{
		return check(vaccel_arg_array_get_uchar_array(&a_, out, count),
			     what, "a non-empty UCHAR_ARRAY");
	}
	// An output the op may be given as NULL (the result image's name of
	// classification): an empty arg of any type stands for that, as a
	// local call with out_imgname = NULL, len = 0 would. Anything else
	// must be a UCHAR_ARRAY.
	int optional_uchars(const char *what, unsigned char **out,
			    size_t *count)
	{
		if (a_.position < a_.count) {
			const vaccel_arg &arg = a_.args[a_.position];
			if (arg.size == 0) {
				++a_.position;
				*out = nullptr;
				*count = 0;
				return VACCEL_OK;
			}
		}
		return uchars(what, out, count);
	}
	int str(const char *what, char **out)
	{
		return check(vaccel_arg_array_get_string(&a_, out), what,
			     "a NUL-terminated STRING");
	}
	int buffer(const char *what, void **out, size_t *size)
	{
		return check(vaccel_arg_array_get_buffer(&a_, out, size), what,
			     "a non-empty BUFFER");
	}

	// Untyped layouts (minmax, fpga): RAW or a matching tag is accepted.
	// A scalar must be exactly @p elem bytes.
	int scalar(const char *what, size_t elem, vaccel_arg_type_t tag,
		   void **out)
	{
		vaccel_arg *arg = nullptr;
		if (int rc = next(what, &arg); rc != VACCEL_OK)
			return rc;
		if ((arg->type != VACCEL_ARG_RAW && arg->type != tag) ||
		    arg->buf == nullptr || arg->size != elem)
			return refuse(arg, what, "a RAW or typed scalar");
		*out = arg->buf;
		return advance();
	}
	// An array: non-empty, a whole number of @p elem-byte elements.
	int elements(const char *what, size_t elem, vaccel_arg_type_t tag,
		     void **out, size_t *count)
	{
		vaccel_arg *arg = nullptr;
		if (int rc = next(what, &arg); rc != VACCEL_OK)
			return rc;
		if ((arg->type != VACCEL_ARG_RAW &&
		     arg->type != VACCEL_ARG_BUFFER && arg->type != tag) ||
		    arg->buf == nullptr || arg->size == 0 ||
		    arg->size % elem != 0)
			return refuse(arg, what,
				      "a RAW, BUFFER or typed array");
		*out = arg->buf;
		*count = arg->size / elem;
		return advance();
	}

	int remaining(vaccel_arg **args, size_t *count)
	{
		return vaccel_arg_array_get_remaining(&a_, args, count);
	}

private:
	int check(int rc, const char *what, const char *want)
	{
		if (rc == VACCEL_OK)
			return rc;
		if (rc == VACCEL_ERANGE || a_.position >= a_.count)
			return fail(VACCEL_EINVAL, "%s: %s arg '%s' is missing",
				    op_, dir_, what);
		return refuse(&a_.args[a_.position], what, want);
	}

	int refuse(const vaccel_arg *arg, const char *what, const char *want)
	{
		return fail(VACCEL_EINVAL,
			    "%s: %s arg %zu ('%s') must be %s, got %s of %zu "
			    "bytes",
			    op_, dir_, a_.position, what, want,
			    vaccel_arg_type_to_str(arg->type), arg->size);
	}

	int next(const char *what, vaccel_arg **arg)
	{
		if (a_.position >= a_.count)
			return fail(VACCEL_EINVAL, "%s: %s arg '%s' is missing",
				    op_, dir_, what);
		*arg = &a_.args[a_.position];
		return VACCEL_OK;
	}

	int advance()
	{
		a_.position++;
		return VACCEL_OK;
	}

	const char *op_;
	const char *dir_;
	vaccel_arg_array a_{};
};

#define TRY(expr)                                                              \
	do {                                                                   \
		if (int rc_ = (expr); rc_ != VACCEL_OK)                        \
			return rc_;                                            \
	} while (0)

// Elements needed by a row-major matrix of @p rows x @p cols with leading
// dimension @p ld; false if @p ld is too small or the product overflows.
bool matrix_need(int64_t rows, int64_t cols, int64_t ld, size_t *need)
{
	if (ld < cols)
		return false;
	int64_t n = 0;
	if (__builtin_mul_overflow(rows - 1, ld, &n) ||
	    __builtin_add_overflow(n, cols, &n))
		return false;
	*need = static_cast<size_t>(n);
	return true;
}

int check_matrix(const char *name, int64_t rows, int64_t cols, int64_t ld,
		 size_t have)
{
	size_t need = 0;
	if (!matrix_need(rows, cols, ld, &need))
		return fail(VACCEL_EINVAL,
			    "sgemm: %s is %lld x %lld, its leading dimension "
			    "%lld must be >= %lld",
			    name, static_cast<long long>(rows),
			    static_cast<long long>(cols),
			    static_cast<long long>(ld),
			    static_cast<long long>(cols));
	if (have < need)
		return fail(VACCEL_EINVAL,
			    "sgemm: %s needs %zu floats, got %zu", name, need,
			    have);
	return VACCEL_OK;
}

/* ---- one unpacker per op ------------------------------------------------ */

int unpack_noop(vaccel_session *sess, vaccel_arg *, int nr_read, vaccel_arg *,
		int nr_write)
{
	TRY(expect_counts("noop", nr_read, 0, nr_write, 0));
	return vaccel_noop(sess);
}

// read: library (STRING), symbol (STRING), then the function's own read
// args; write: the function's write args.
int unpack_exec(vaccel_session *sess, vaccel_arg *read, int nr_read,
		vaccel_arg *write, int nr_write)
{
	if (nr_read < 2)
		return fail(VACCEL_EINVAL,
			    "exec expects at least 2 read args, got %d",
			    nr_read);
	Args r("exec", "read", read, nr_read);
	char *library = nullptr;
	char *symbol = nullptr;
	TRY(r.str("library", &library));
	TRY(r.str("fn_symbol", &symbol));
	vaccel_arg *rest = nullptr;
	size_t nr_rest = 0;
	TRY(r.remaining(&rest, &nr_rest));
	return vaccel_exec(sess, library, symbol, rest, nr_rest, write,
			   static_cast<size_t>(nr_write));
}

// read: resource id (INT64), symbol (STRING), then the function's read
// args; write: the function's write args.
int unpack_exec_with_resource(vaccel_session *sess, vaccel_arg *read,
			      int nr_read, vaccel_arg *write, int nr_write)
{
	if (nr_read < 2)
		return fail(VACCEL_EINVAL,
			    "exec_with_resource expects at least 2 read args, "
			    "got %d",
			    nr_read);
	Args r("exec_with_resource", "read", read, nr_read);
	int64_t res_id = 0;
	char *symbol = nullptr;
	TRY(r.i64("resource_id", &res_id));
	TRY(r.str("fn_symbol", &symbol));
	vaccel_resource *res = nullptr;
	if (int rc = vaccel_resource_get_by_id(&res, res_id); rc != VACCEL_OK)
		return fail(rc, "exec_with_resource: no resource %lld",
			    static_cast<long long>(res_id));
	vaccel_arg *rest = nullptr;
	size_t nr_rest = 0;
	TRY(r.remaining(&rest, &nr_rest));
	return vaccel_exec_with_resource(sess, res, symbol, rest, nr_rest,
					 write, static_cast<size_t>(nr_write));
}

// read: image (BUFFER); write: out_imgname (UCHAR_ARRAY) and, for
// classification only, out_text (UCHAR_ARRAY).
int unpack_image(vaccel_op_type_t op, vaccel_session *sess, vaccel_arg *read,
		 int nr_read, vaccel_arg *write, int nr_write)
{
	char name[VACCEL_ENUM_STR_MAX];
	vaccel_op_type_to_lower(op, name, sizeof(name));
	const bool classify = op == VACCEL_OP_IMAGE_CLASSIFY;
	TRY(expect_counts(name, nr_read, 1, nr_write, classify ? 2 : 1));

	Args r(name, "read", read, nr_read);
	Args w(name, "write", write, nr_write);
	void *img = nullptr;
	size_t len_img = 0;
	unsigned char *out_imgname = nullptr;
	size_t len_imgname = 0;
	TRY(r.buffer("img", &img, &len_img));
	// Classification's result image is optional (the tags are the
	// result); the other image ops exist to produce it.
	if (classify)
		TRY(w.optional_uchars("out_imgname", &out_imgname,
				      &len_imgname));
	else
		TRY(w.uchars("out_imgname", &out_imgname, &len_imgname));

	switch (op) {
	case VACCEL_OP_IMAGE_CLASSIFY: {
		unsigned char *out_text = nullptr;
		size_t len_text = 0;
		TRY(w.uchars("out_text", &out_text, &len_text));
		return vaccel_image_classification(sess, img, out_text,
						   out_imgname, len_img,
						   len_text, len_imgname);
	}
	case VACCEL_OP_IMAGE_DETECT:
		return vaccel_image_detection(sess, img, out_imgname, len_img,
					      len_imgname);
	case VACCEL_OP_IMAGE_SEGMENT:
		return vaccel_image_segmentation(sess, img, out_imgname,
						 len_img, len_imgname);
	case VACCEL_OP_IMAGE_POSE:
		return vaccel_image_pose(sess, img, out_imgname, len_img,
					 len_imgname);
	default:
		return vaccel_image_depth(sess, img, out_imgname, len_img,
					  len_imgname);
	}
}

// read: m, n, k (INT64), alpha (FLOAT32), a (FLOAT32_ARRAY), lda (INT64),
// b (FLOAT32_ARRAY), ldb (INT64), beta (FLOAT32), ldc (INT64);
// write: c (FLOAT32_ARRAY). Matrices are row-major.
int unpack_sgemm(vaccel_session *sess, vaccel_arg *read, int nr_read,
		 vaccel_arg *write, int nr_write)
{
	TRY(expect_counts("sgemm", nr_read, 10, nr_write, 1));
	Args r("sgemm", "read", read, nr_read);
	Args w("sgemm", "write", write, nr_write);
	int64_t m = 0;
	int64_t n = 0;
	int64_t k = 0;
	int64_t lda = 0;
	int64_t ldb = 0;
	int64_t ldc = 0;
	float alpha = 0;
	float beta = 0;
	float *a = nullptr;
	float *b = nullptr;
	float *c = nullptr;
	size_t na = 0;
	size_t nb = 0;
	size_t nc = 0;
	TRY(r.i64("m", &m));
	TRY(r.i64("n", &n));
	TRY(r.i64("k", &k));
	TRY(r.f32("alpha", &alpha));
	TRY(r.f32s("a", &a, &na));
	TRY(r.i64("lda", &lda));
	TRY(r.f32s("b", &b, &nb));
	TRY(r.i64("ldb", &ldb));
	TRY(r.f32("beta", &beta));
	TRY(r.i64("ldc", &ldc));
	TRY(w.f32s("c", &c, &nc));

	if (m <= 0 || n <= 0 || k <= 0)
		return fail(VACCEL_EINVAL,
			    "sgemm: m=%lld n=%lld k=%lld must all be > 0",
			    static_cast<long long>(m),
			    static_cast<long long>(n),
			    static_cast<long long>(k));
	TRY(check_matrix("a", m, k, lda, na));
	TRY(check_matrix("b", k, n, ldb, nb));
	TRY(check_matrix("c", m, n, ldc, nc));
	return vaccel_sgemm(sess, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// read: indata (doubles), ndata, low, high (int); write: outdata
// (doubles), min, max (double). RAW args as upstream sends them, or the
// matching typed args.
int unpack_minmax(vaccel_session *sess, vaccel_arg *read, int nr_read,
		  vaccel_arg *write, int nr_write)
{
	TRY(expect_counts("minmax", nr_read, 4, nr_write, 3));
	Args r("minmax", "read", read, nr_read);
	Args w("minmax", "write", write, nr_write);
	void *indata = nullptr;
	void *outdata = nullptr;
	void *pn = nullptr;
	void *plow = nullptr;
	void *phigh = nullptr;
	void *pmin = nullptr;
	void *pmax = nullptr;
	size_t nin = 0;
	size_t nout = 0;
	TRY(r.elements("indata", sizeof(double), VACCEL_ARG_FLOAT64_ARRAY,
		       &indata, &nin));
	TRY(r.scalar("ndata", sizeof(int), VACCEL_ARG_INT32, &pn));
	TRY(r.scalar("low_threshold", sizeof(int), VACCEL_ARG_INT32, &plow));
	TRY(r.scalar("high_threshold", sizeof(int), VACCEL_ARG_INT32, &phigh));
	TRY(w.elements("outdata", sizeof(double), VACCEL_ARG_FLOAT64_ARRAY,
		       &outdata, &nout));
	TRY(w.scalar("min", sizeof(double), VACCEL_ARG_FLOAT64, &pmin));
	TRY(w.scalar("max", sizeof(double), VACCEL_ARG_FLOAT64, &pmax));

	int ndata = 0;
	int low = 0;
	int high = 0;
	std::memcpy(&ndata, pn, sizeof(int));
	std::memcpy(&low, plow, sizeof(int));
	std::memcpy(&high, phigh, sizeof(int));
	if (ndata <= 0 || static_cast<size_t>(ndata) > nin ||
	    static_cast<size_t>(ndata) > nout)
		return fail(VACCEL_EINVAL,
			    "minmax: ndata=%d must be > 0 and fit indata (%zu) "
			    "and outdata (%zu)",
			    ndata, nin, nout);
	return vaccel_minmax(sess, static_cast<const double *>(indata), ndata,
			     low, high, static_cast<double *>(outdata),
			     static_cast<double *>(pmin),
			     static_cast<double *>(pmax));
}

int need_room(const char *op, const char *what, size_t have, size_t need)
{
	if (have >= need)
		return VACCEL_OK;
	return fail(VACCEL_EINVAL, "%s: %s holds %zu elements, needs %zu", op,
		    what, have, need);
}

// read: a (ints); write: out_a (ints, at least as many).
int unpack_fpga_arraycopy(vaccel_session *sess, vaccel_arg *read, int nr_read,
			  vaccel_arg *write, int nr_write)
{
	const char *op = "fpga_arraycopy";
	TRY(expect_counts(op, nr_read, 1, nr_write, 1));
	Args r(op, "read", read, nr_read);
	Args w(op, "write", write, nr_write);
	void *a = nullptr;
	void *out = nullptr;
	size_t na = 0;
	size_t nout = 0;
	TRY(r.elements("a", sizeof(int), VACCEL_ARG_INT32_ARRAY, &a, &na));
	TRY(w.elements("out_a", sizeof(int), VACCEL_ARG_INT32_ARRAY, &out,
		       &nout));
	TRY(need_room(op, "out_a", nout, na));
	return vaccel_fpga_arraycopy(sess, static_cast<int *>(a),
				     static_cast<int *>(out), na);
}

// The three float kernels: read a, b (floats); write one or two outputs.
// Every operand must hold at least as many elements as a (b and c as many
// as the longer input for vector add, which passes both lengths).
int unpack_fpga_floats(vaccel_op_type_t op_type, vaccel_session *sess,
		       vaccel_arg *read, int nr_read, vaccel_arg *write,
		       int nr_write)
{
	char op[VACCEL_ENUM_STR_MAX];
	vaccel_op_type_to_lower(op_type, op, sizeof(op));
	const bool parallel = op_type == VACCEL_OP_FPGA_PARALLEL;
	TRY(expect_counts(op, nr_read, 2, nr_write, parallel ? 2 : 1));
	Args r(op, "read", read, nr_read);
	Args w(op, "write", write, nr_write);
	const auto tag = VACCEL_ARG_FLOAT32_ARRAY;
	void *a = nullptr;
	void *b = nullptr;
	void *c = nullptr;
	size_t na = 0;
	size_t nb = 0;
	size_t nc = 0;
	TRY(r.elements("a", sizeof(float), tag, &a, &na));
	TRY(r.elements("b", sizeof(float), tag, &b, &nb));
	TRY(w.elements(parallel ? "add_output" : "c", sizeof(float), tag, &c,
		       &nc));
	auto *fa = static_cast<float *>(a);
	auto *fb = static_cast<float *>(b);
	auto *fc = static_cast<float *>(c);

	if (op_type == VACCEL_OP_FPGA_VECTORADD) {
		TRY(need_room(op, "c", nc, na > nb ? na : nb));
		return vaccel_fpga_vadd(sess, fa, fb, fc, na, nb);
	}
	TRY(need_room(op, "b", nb, na));
	TRY(need_room(op, parallel ? "add_output" : "c", nc, na));
	if (!parallel)
		return vaccel_fpga_mmult(sess, fa, fb, fc, na);

	void *d = nullptr;
	size_t nd = 0;
	TRY(w.elements("mult_output", sizeof(float), tag, &d, &nd));
	TRY(need_room(op, "mult_output", nd, na));
	return vaccel_fpga_parallel(sess, fa, fb, fc, static_cast<float *>(d),
				    na);
}

int check_arg_list(const char *op, const char *dir, const vaccel_arg *args,
		   int n)
{
	if (n < 0)
		return fail(VACCEL_EINVAL, "%s: %s count %d is negative", op,
			    dir, n);
	if (n > 0 && args == nullptr)
		return fail(VACCEL_EINVAL, "%s: %d %s args but no array", op, n,
			    dir);
	return VACCEL_OK;
}

int dispatch(vaccel_session *sess, vaccel_arg *read, int nr_read,
	     vaccel_arg *write, int nr_write)
{
	if (nr_read < 1 || read == nullptr)
		return fail(VACCEL_EINVAL,
			    "the op type arg is missing (nr_read=%d)", nr_read);
	TRY(check_arg_list("genop", "write", write, nr_write));

	uint8_t raw_op = 0;
	{
		vaccel_arg_array a{};
		vaccel_arg_array_wrap(&a, read, 1);
		if (vaccel_arg_array_get_uint8(&a, &raw_op) != VACCEL_OK)
			return fail(VACCEL_EINVAL,
				    "read arg 0 (op type) must be a UINT8, got "
				    "%s of %zu bytes",
				    vaccel_arg_type_to_str(read[0].type),
				    read[0].size);
	}
	if (raw_op >= VACCEL_OP_MAX)
		return fail(VACCEL_EINVAL, "unknown op type %u",
			    static_cast<unsigned>(raw_op));

	const auto op = static_cast<vaccel_op_type_t>(raw_op);
	vaccel_arg *r = nr_read > 1 ? read + 1 : nullptr;
	const int nr = nr_read - 1;
	vaccel_arg *w = nr_write > 0 ? write : nullptr;

	switch (op) {
	case VACCEL_OP_NOOP:
		return unpack_noop(sess, r, nr, w, nr_write);
	case VACCEL_OP_EXEC:
		return unpack_exec(sess, r, nr, w, nr_write);
	case VACCEL_OP_EXEC_WITH_RESOURCE:
		return unpack_exec_with_resource(sess, r, nr, w, nr_write);
	case VACCEL_OP_IMAGE_CLASSIFY:
	case VACCEL_OP_IMAGE_DETECT:
	case VACCEL_OP_IMAGE_SEGMENT:
	case VACCEL_OP_IMAGE_POSE:
	case VACCEL_OP_IMAGE_DEPTH:
		return unpack_image(op, sess, r, nr, w, nr_write);
	case VACCEL_OP_BLAS_SGEMM:
		return unpack_sgemm(sess, r, nr, w, nr_write);
	case VACCEL_OP_MINMAX:
		return unpack_minmax(sess, r, nr, w, nr_write);
	case VACCEL_OP_FPGA_ARRAYCOPY:
		return unpack_fpga_arraycopy(sess, r, nr, w, nr_write);
	case VACCEL_OP_FPGA_MMULT:
	case VACCEL_OP_FPGA_PARALLEL:
	case VACCEL_OP_FPGA_VECTORADD:
		return unpack_fpga_floats(op, sess, r, nr, w, nr_write);
	case VACCEL_OP_OPENCV:
		return vaccel_opencv(sess, r, nr, w, nr_write);
	default:
		return fail(VACCEL_ENOTSUP, "%s has no generic-op layout",
			    vaccel_op_type_to_str(op));
	}
}

// Upstream exports its unpackers; each checks both arg lists as dispatch()
// does before calling the op's unpacker.
template <class F>
int exported(const char *fn, const char *op, vaccel_arg *read, int nr_read,
	     vaccel_arg *write, int nr_write, F &&unpack) noexcept
{
	return vaccel::capi::guard(fn, [&]() -> int {
		TRY(check_arg_list(op, "read", read, nr_read));
		TRY(check_arg_list(op, "write", write, nr_write));
		return unpack(read, nr_read, write, nr_write);
	});
}

bool is_image_op(vaccel_op_type_t op)
{
	return op == VACCEL_OP_IMAGE_CLASSIFY || op == VACCEL_OP_IMAGE_DETECT ||
	       op == VACCEL_OP_IMAGE_SEGMENT || op == VACCEL_OP_IMAGE_POSE ||
	       op == VACCEL_OP_IMAGE_DEPTH;
}

} // namespace

extern "C" {

int vaccel_genop(struct vaccel_session *sess, struct vaccel_arg *read,
		 int nr_read, struct vaccel_arg *write, int nr_write)
{
	return vaccel::capi::guard("vaccel_genop", [&] {
		return dispatch(sess, read, nr_read, write, nr_write);
	});
}

int vaccel_opencv_unpack(struct vaccel_session *sess, struct vaccel_arg *read,
			 int nr_read, struct vaccel_arg *write, int nr_write)
{
	return vaccel::capi::guard("vaccel_opencv_unpack", [&]() -> int {
		if (int rc = check_arg_list("opencv", "read", read, nr_read);
		    rc != VACCEL_OK)
			return rc;
		if (int rc = check_arg_list("opencv", "write", write, nr_write);
		    rc != VACCEL_OK)
			return rc;
		return vaccel_opencv(sess, read, nr_read, write, nr_write);
	});
}

#define VACCEL_EXPORT_UNPACKER_(name, op, call)                                \
	int name(struct vaccel_session *sess, struct vaccel_arg *read,         \
		 int nr_read, struct vaccel_arg *write, int nr_write)          \
	{                                                                      \
		return exported(#name, op, read, nr_read, write, nr_write,     \
				[&](vaccel_arg *r, int nr, vaccel_arg *w,      \
				    int nw) { return call; });                 \
	}

VACCEL_EXPORT_UNPACKER_(vaccel_noop_unpack, "noop",
			unpack_noop(sess, r, nr, w, nw))
VACCEL_EXPORT_UNPACKER_(vaccel_exec_unpack, "exec",
			unpack_exec(sess, r, nr, w, nw))
VACCEL_EXPORT_UNPACKER_(vaccel_exec_with_res_unpack, "exec_with_resource",
			unpack_exec_with_resource(sess, r, nr, w, nw))
VACCEL_EXPORT_UNPACKER_(vaccel_image_classification_unpack, "image_classify",
			unpack_image(VACCEL_OP_IMAGE_CLASSIFY, sess, r, nr, w,
				     nw))
VACCEL_EXPORT_UNPACKER_(vaccel_image_detection_unpack, "image_detect",
			unpack_image(VACCEL_OP_IMAGE_DETECT, sess, r, nr, w,
				     nw))
VACCEL_EXPORT_UNPACKER_(vaccel_image_segmentation_unpack, "image_segment",
			unpack_image(VACCEL_OP_IMAGE_SEGMENT, sess, r, nr, w,
				     nw))
VACCEL_EXPORT_UNPACKER_(vaccel_image_pose_unpack, "image_pose",
			unpack_image(VACCEL_OP_IMAGE_POSE, sess, r, nr, w, nw))
VACCEL_EXPORT_UNPACKER_(vaccel_image_depth_unpack, "image_depth",
			unpack_image(VACCEL_OP_IMAGE_DEPTH, sess, r, nr, w, nw))
VACCEL_EXPORT_UNPACKER_(vaccel_sgemm_unpack, "blas_sgemm",
			unpack_sgemm(sess, r, nr, w, nw))
VACCEL_EXPORT_UNPACKER_(vaccel_minmax_unpack, "minmax",
			unpack_minmax(sess, r, nr, w, nw))
VACCEL_EXPORT_UNPACKER_(vaccel_fpga_arraycopy_unpack, "fpga_arraycopy",
			unpack_fpga_arraycopy(sess, r, nr, w, nw))
VACCEL_EXPORT_UNPACKER_(vaccel_fpga_mmult_unpack, "fpga_mmult",
			unpack_fpga_floats(VACCEL_OP_FPGA_MMULT, sess, r, nr, w,
					   nw))
VACCEL_EXPORT_UNPACKER_(vaccel_fpga_parallel_unpack, "fpga_parallel",
			unpack_fpga_floats(VACCEL_OP_FPGA_PARALLEL, sess, r, nr,
					   w, nw))
VACCEL_EXPORT_UNPACKER_(vaccel_fpga_vadd_unpack, "fpga_vectoradd",
			unpack_fpga_floats(VACCEL_OP_FPGA_VECTORADD, sess, r,
					   nr, w, nw))

#undef VACCEL_EXPORT_UNPACKER_

int vaccel_image_op_unpack(vaccel_op_type_t op_type,
			   struct vaccel_session *sess, struct vaccel_arg *read,
			   int nr_read, int nr_read_req,
			   struct vaccel_arg *write, int nr_write,
			   int nr_write_req)
{
	return exported(
	    "vaccel_image_op_unpack", "image", read, nr_read, write, nr_write,
	    [&](vaccel_arg *r, int nr, vaccel_arg *w, int nw) -> int {
		    if (!is_image_op(op_type))
			    return fail(VACCEL_EINVAL,
					"op type %d is not an image op",
					static_cast<int>(op_type));
		    TRY(expect_counts("image", nr, nr_read_req, nw,
				      nr_write_req));
		    return unpack_image(op_type, sess, r, nr, w, nw);
	    });
}

} // extern "C"
