// SPDX-License-Identifier: Apache-2.0
// The blas plugin: vAccel's dense linear-algebra ops on the CPU.
//
//  - VACCEL_OP_BLAS_SGEMM through OpenBLAS (cblas_sgemm). vAccel's sgemm is
//    row-major, C = alpha A B + beta C, which is CblasRowMajor with no
//    transposes, so the call maps one to one. BLAS semantics hold: with
//    beta == 0 C is only written (NaN there is ignored), with k == 0 or
//    alpha == 0 A and B are not read, and the elements of C between rows
//    (ldc > n) are left alone.
//  - VACCEL_OP_MINMAX: indata clamped to [low, high] into outdata (NaN
//    becomes low) and the minimum and maximum of the clamped values, in one
//    pass over the data (the same semantics as the cuda and opencl plugins).
//
// Arguments are validated before OpenBLAS sees them (plugins/common/
// op_args.h, the rules the cuda and opencl plugins share): its own checks
// print to stderr through xerbla and return nothing the caller can test.
// Bad arguments are VACCEL_EINVAL with an error naming the argument.
//
// OpenBLAS keeps its own thread pool (OPENBLAS_NUM_THREADS sizes it) and may
// be called from several threads at once; the plugin keeps no state of its
// own, so ops run concurrently without any lock here.
#include <vaccel.h>
#include <vaccel/plugin_ops.hpp>

#include "../common/op_args.h"

#include <cblas.h>

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>

#define blas_debug(...) vaccel_debug("[blas] " __VA_ARGS__)
#define blas_error(...) vaccel_error("[blas] " __VA_ARGS__)

namespace
{

// The widest dimension or leading dimension this OpenBLAS build takes: its
// integers are blasint (32 bits unless it was built with INTERFACE64).
constexpr int64_t kMaxBlasInt = std::numeric_limits<blasint>::max();

// A bad argument: logged under the plugin's tag, VACCEL_EINVAL.
int refuse(const char *op, const vaccel::op_args::Check &ck)
{
	blas_error("%s: %s", op, ck.why.c_str());
	return ck.rc;
}

int blas_sgemm(vaccel_session *sess, int64_t m, int64_t n, int64_t k,
	       float alpha, float *a, int64_t lda, float *b, int64_t ldb,
	       float beta, float *c, int64_t ldc)
{
	// Sizes and leading dimensions must fit OpenBLAS's blasint.
	if (auto ck = vaccel::op_args::sgemm(sess, m, n, k, a, lda, b, ldb, c,
					     ldc, kMaxBlasInt);
	    !ck.ok())
		return refuse("sgemm", ck);
	blas_debug("sgemm: session %" PRId64 " m %" PRId64 " n %" PRId64
		   " k %" PRId64 " lda %" PRId64 " ldb %" PRId64
		   " ldc %" PRId64,
		   sess->id, m, n, k, lda, ldb, ldc);
	if (m == 0 || n == 0)
		return VACCEL_OK; // C has no elements: nothing to do
	if (k == 0 || alpha == 0.0F) {
		// A B adds nothing: C = beta C, which BLAS also reduces to
		// without reading A or B. Done here, in one pass.
		for (int64_t i = 0; i < m; i++) {
			float *row = c + i * ldc;
			for (int64_t j = 0; j < n; j++)
				row[j] = beta == 0.0F ? 0.0F : beta * row[j];
		}
		return VACCEL_OK;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
		    static_cast<blasint>(m), static_cast<blasint>(n),
		    static_cast<blasint>(k), alpha, a,
		    static_cast<blasint>(lda), b, static_cast<blasint>(ldb),
		    beta, c, static_cast<blasint>(ldc));
	return VACCEL_OK;
}

// Clamps @p n values of @p in into @p out and finds the minimum and maximum
// of the clamped values. Eight independent accumulators break the
// dependency chain of the reduction so that the compiler vectorizes it; the
// comparisons are written so that NaN (which compares false) becomes lo.
// @p in and @p out may be the same array.
void clamp_minmax(const double *in, size_t n, double lo, double hi, double *out,
		  double *min, double *max)
{
	constexpr size_t kLanes = 8;
	double mn[kLanes];
	double mx[kLanes];
	for (size_t j = 0; j < kLanes; j++) {
		mn[j] = std::numeric_limits<double>::infinity();
		mx[j] = -std::numeric_limits<double>::infinity();
	}
	size_t i = 0;
	for (; i + kLanes <= n; i += kLanes) {
		for (size_t j = 0; j < kLanes; j++) {
			const double x = in[i + j];
			double v = x > lo ? x : lo;
			v = v < hi ? v : hi;
			out[i + j] = v;
			mn[j] = v < mn[j] ? v : mn[j];
			mx[j] = v > mx[j] ? v : mx[j];
		}
	}
	for (size_t j = 0; i < n; i++, j++) {
		const double x = in[i];
		double v = x > lo ? x : lo;
		v = v < hi ? v : hi;
		out[i] = v;
		mn[j] = v < mn[j] ? v : mn[j];
		mx[j] = v > mx[j] ? v : mx[j];
	}
	double rmin = mn[0];
	double rmax = mx[0];
	for (size_t j = 1; j < kLanes; j++) {
		rmin = mn[j] < rmin ? mn[j] : rmin;
		rmax = mx[j] > rmax ? mx[j] : rmax;
	}
	*min = rmin;
	*max = rmax;
}

int blas_minmax(vaccel_session *sess, const double *indata, int ndata,
		int low_threshold, int high_threshold, double *outdata,
		double *min, double *max)
{
	if (auto ck =
		vaccel::op_args::minmax(sess, indata, ndata, low_threshold,
					high_threshold, outdata, min, max);
	    !ck.ok())
		return refuse("minmax", ck);
	blas_debug("minmax: session %" PRId64 " ndata %d low %d high %d",
		   sess->id, ndata, low_threshold, high_threshold);
	clamp_minmax(indata, static_cast<size_t>(ndata), low_threshold,
		     high_threshold, outdata, min, max);
	return VACCEL_OK;
}

vaccel_op blas_ops[] = {
    vaccel::plugin::op<VACCEL_OP_BLAS_SGEMM>(blas_sgemm),
    vaccel::plugin::op<VACCEL_OP_MINMAX>(blas_minmax),
};

int blas_init()
{
	blas_debug("OpenBLAS %s, %d threads", openblas_get_config(),
		   openblas_get_num_threads());
	return vaccel_plugin_register_ops(blas_ops, std::size(blas_ops));
}

int blas_fini()
{
	return VACCEL_OK;
}

} // namespace

VACCEL_PLUGIN(.name = "blas", .version = VACCEL_VERSION,
	      .vaccel_version = VACCEL_VERSION, .init = blas_init,
	      .fini = blas_fini, .type = VACCEL_PLUGIN_CPU)
