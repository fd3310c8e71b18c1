// SPDX-License-Identifier: Apache-2.0
// OpenCL C sources of the opencl plugin's kernels, compiled at run time by
// the device's compiler (clBuildProgram) the first time an op needs them.
//
// Two programs, so that a device without double precision still runs every
// float op: kFloatProgram (vadd, parallel, arraycopy, and two sgemm kernels,
// also used for mmult: a local-memory tiled one for GPUs and a
// register-blocked float16 one for CPUs) and kDoubleProgram (minmax, which
// works on doubles).
//
// Every kernel is OpenCL C 1.2: global sizes are rounded up to the
// work-group size by the host, so each kernel checks its bounds.
#pragma once

namespace vaccel_opencl
{

// Needs -DTS=<tile> (the sgemm work-group is TS x TS).
inline constexpr const char *kFloatProgram = R"CLC(
__kernel void vaccel_vadd(__global const float *a, __global const float *b,
			  __global float *c, ulong n)
{
	const size_t i = get_global_id(0);
	if (i < n)
		c[i] = a[i] + b[i];
}

__kernel void vaccel_parallel(__global const float *a,
			      __global const float *b,
			      __global float *add_out,
			      __global float *mult_out, ulong n)
{
	const size_t i = get_global_id(0);
	if (i < n) {
		add_out[i] = a[i] + b[i];
		mult_out[i] = a[i] * b[i];
	}
}

__kernel void vaccel_arraycopy(__global const int *in, __global int *out,
			       ulong n)
{
	const size_t i = get_global_id(0);
	if (i < n)
		out[i] = in[i];
}

/* Row-major C = alpha A B + beta C. A is m x k (lda), B k x n (ldb), C m x n
 * (ldc). One work-item per element of C; each TS x TS work-group stages
 * TS x TS tiles of A and B in local memory, so every element of A and B is
 * read from global memory m/TS or n/TS times instead of n or m times. Tiles
 * past the edges are padded with zeros: every work-item reaches every
 * barrier, and only those inside C write. With beta == 0 C is not read. */
__kernel __attribute__((reqd_work_group_size(TS, TS, 1)))
void vaccel_sgemm(int m, int n, int k, float alpha,
		  __global const float *a, int lda,
		  __global const float *b, int ldb, float beta,
		  __global float *c, int ldc)
{
	__local float ta[TS][TS];
	__local float tb[TS][TS];
	const int col = (int)get_global_id(0);
	const int row = (int)get_global_id(1);
	const int lc = (int)get_local_id(0);
	const int lr = (int)get_local_id(1);
	float acc = 0.0f;
	for (int t = 0; t < k; t += TS) {
		const int ac = t + lc;
		const int br = t + lr;
		ta[lr][lc] = (row < m && ac < k) ? a[(long)row * lda + ac]
						 : 0.0f;
		tb[lr][lc] = (br < k && col < n) ? b[(long)br * ldb + col]
						 : 0.0f;
		barrier(CLK_LOCAL_MEM_FENCE);
		for (int p = 0; p < TS; p++)
			acc += ta[lr][p] * tb[p][lc];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (row < m && col < n) {
		__global float *out = c + (long)row * ldc + col;
		*out = beta == 0.0f ? alpha * acc : alpha * acc + beta * *out;
	}
}

/* The same product for CPU devices (pocl and the like), which run a
 * work-group as loops and gain nothing from local memory: each work-item
 * computes a block of SGEMM_RM rows x 16 columns of C in float16 registers,
 * so each element of B it loads serves SGEMM_RM rows and each element of A
 * 16 columns, and the loads and multiply-adds are 16 wide. Blocks at the
 * right edge (fewer than 16 columns left) go through a private array;
 * rows past the bottom edge repeat the last row and are not stored. */
#define SGEMM_RM 4
__kernel void vaccel_sgemm_vec(int m, int n, int k, float alpha,
			       __global const float *a, int lda,
			       __global const float *b, int ldb, float beta,
			       __global float *c, int ldc)
{
	const int col0 = (int)get_global_id(0) * 16;
	const int row0 = (int)get_global_id(1) * SGEMM_RM;
	if (col0 >= n || row0 >= m)
		return;
	const int rows = min(SGEMM_RM, m - row0);
	const int cols = min(16, n - col0);
	__global const float *arow[SGEMM_RM];
	float16 acc[SGEMM_RM];
	for (int r = 0; r < SGEMM_RM; r++) {
		arow[r] = a + (long)(row0 + min(r, rows - 1)) * lda;
		acc[r] = (float16)(0.0f);
	}
	__global const float *bp = b + col0;
	if (cols == 16) {
		for (int p = 0; p < k; p++, bp += ldb) {
			const float16 bv = vload16(0, bp);
			for (int r = 0; r < SGEMM_RM; r++)
				acc[r] += (float16)(arow[r][p]) * bv;
		}
	} else {
		float tmp[16];
		for (int j = 0; j < 16; j++)
			tmp[j] = 0.0f;
		for (int p = 0; p < k; p++, bp += ldb) {
			for (int j = 0; j < cols; j++)
				tmp[j] = bp[j];
			const float16 bv = vload16(0, tmp);
			for (int r = 0; r < SGEMM_RM; r++)
				acc[r] += (float16)(arow[r][p]) * bv;
		}
	}
	for (int r = 0; r < rows; r++) {
		__global float *out = c + (long)(row0 + r) * ldc + col0;
		const float16 v = (float16)(alpha) * acc[r];
		if (cols == 16) {
			vstore16(beta == 0.0f ? v
					      : v + (float16)(beta) *
							vload16(0, out),
				 0, out);
		} else {
			float res[16];
			vstore16(v, 0, res);
			for (int j = 0; j < cols; j++)
				out[j] = beta == 0.0f ? res[j]
						      : res[j] + beta * out[j];
		}
	}
}
)CLC";

// The local size must be a power of two (the tree reduction halves it).
inline constexpr const char *kDoubleProgram = R"CLC(
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

/* out[i] = in[i] clamped to [lo, hi]; fmax(NaN, lo) is lo, so NaN becomes
 * lo. Each work-group writes the minimum and maximum of the values it
 * clamped to pmin/pmax[group]; the host reduces those few partials. */
__kernel void vaccel_minmax(__global const double *in, __global double *out,
			    ulong n, double lo, double hi,
			    __global double *pmin, __global double *pmax,
			    __local double *lmin, __local double *lmax)
{
	double mn = INFINITY;
	double mx = -INFINITY;
	for (size_t i = get_global_id(0); i < n; i += get_global_size(0)) {
		const double v = fmin(fmax(in[i], lo), hi);
		out[i] = v;
		mn = fmin(mn, v);
		mx = fmax(mx, v);
	}
	const size_t lid = get_local_id(0);
	lmin[lid] = mn;
	lmax[lid] = mx;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (size_t s = get_local_size(0) / 2; s > 0; s /= 2) {
		if (lid < s) {
			lmin[lid] = fmin(lmin[lid], lmin[lid + s]);
			lmax[lid] = fmax(lmax[lid], lmax[lid + s]);
		}
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (lid == 0) {
		pmin[get_group_id(0)] = lmin[0];
		pmax[get_group_id(0)] = lmax[0];
	}
}
)CLC";

} // namespace vaccel_opencl
