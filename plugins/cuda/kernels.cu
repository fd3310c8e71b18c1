// SPDX-License-Identifier: Apache-2.0
// Device kernels of the cuda plugin: the fpga demo ops (vadd, parallel,
// arraycopy, mmult) and minmax. The element-wise kernels use grid-stride
// loops so that any length runs with a bounded grid; mmult uses 16x16
// shared-memory tiles; minmax clamps and reduces in one pass per block, then
// a single block reduces the per-block partials, so the host copies back two
// doubles instead of the partials.
#include "kernels.h"

#include <cuda_runtime.h>

#include <cmath>

namespace vaccel_cuda
{
namespace
{

constexpr unsigned kThreads = 256;
// Enough blocks to fill any current GPU several times over; the grid-stride
// loops cover longer inputs.
constexpr size_t kMaxBlocks = 4096;
constexpr unsigned kTile = 16;
constexpr unsigned kWarp = 32;

unsigned blocks_for(size_t n)
{
	size_t blocks = (n + kThreads - 1) / kThreads;
	if (blocks > kMaxBlocks)
		blocks = kMaxBlocks;
	return blocks == 0 ? 1U : static_cast<unsigned>(blocks);
}

__device__ size_t first_index()
{
	return static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ size_t grid_stride()
{
	return static_cast<size_t>(gridDim.x) * blockDim.x;
}

__global__ void vadd_kernel(const float *a, const float *b, float *c, size_t n)
{
	for (size_t i = first_index(); i < n; i += grid_stride())
		c[i] = a[i] + b[i];
}

__global__ void parallel_kernel(const float *a, const float *b, float *add,
				float *mul, size_t n)
{
	for (size_t i = first_index(); i < n; i += grid_stride()) {
		const float x = a[i];
		const float y = b[i];
		add[i] = x + y;
		mul[i] = x * y;
	}
}

__global__ void copy_kernel(const int *in, int *out, size_t n)
{
	for (size_t i = first_index(); i < n; i += grid_stride())
		out[i] = in[i];
}

__global__ void mmult_kernel(const float *a, const float *b, float *c, size_t n)
{
	__shared__ float ta[kTile][kTile];
	// One column of padding keeps the column reads of tb free of bank
	// conflicts.
	__shared__ float tb[kTile][kTile + 1];
	const size_t row =
	    static_cast<size_t>(blockIdx.y) * kTile + threadIdx.y;
	const size_t col =
	    static_cast<size_t>(blockIdx.x) * kTile + threadIdx.x;
	float acc = 0.0F;
	for (size_t t = 0; t < n; t += kTile) {
		const size_t ac = t + threadIdx.x;
		const size_t br = t + threadIdx.y;
		ta[threadIdx.y][threadIdx.x] =
		    row < n && ac < n ? a[row * n + ac] : 0.0F;
		tb[threadIdx.y][threadIdx.x] =
		    br < n && col < n ? b[br * n + col] : 0.0F;
		__syncthreads();
		for (unsigned k = 0; k < kTile; k++)
			acc += ta[threadIdx.y][k] * tb[k][threadIdx.x];
		__syncthreads();
	}
	if (row < n && col < n)
		c[row * n + col] = acc;
}

// Min and max over the block's threads; the result is valid in thread 0.
__device__ void block_minmax(double &mn, double &mx)
{
	__shared__ double smin[kThreads / kWarp];
	__shared__ double smax[kThreads / kWarp];
	for (unsigned off = kWarp / 2; off > 0; off /= 2) {
		mn = fmin(mn, __shfl_down_sync(0xffffffffU, mn, off));
		mx = fmax(mx, __shfl_down_sync(0xffffffffU, mx, off));
	}
	const unsigned lane = threadIdx.x % kWarp;
	const unsigned warp = threadIdx.x / kWarp;
	if (lane == 0) {
		smin[warp] = mn;
		smax[warp] = mx;
	}
	__syncthreads();
	if (warp == 0) {
		const unsigned nwarps = blockDim.x / kWarp;
		mn = lane < nwarps ? smin[lane] : INFINITY;
		mx = lane < nwarps ? smax[lane] : -INFINITY;
		for (unsigned off = kWarp / 2; off > 0; off /= 2) {
			mn = fmin(mn, __shfl_down_sync(0xffffffffU, mn, off));
			mx = fmax(mx, __shfl_down_sync(0xffffffffU, mx, off));
		}
	}
}

// Pass 1: clamp into out and reduce each block to one (min, max) pair,
// written to pmin[blockIdx.x] and pmax[blockIdx.x].
__global__ void clamp_minmax_kernel(const double *in, double *out, size_t n,
				    double lo, double hi, double *pmin,
				    double *pmax)
{
	double mn = INFINITY;
	double mx = -INFINITY;
	for (size_t i = first_index(); i < n; i += grid_stride()) {
		// fmax first: fmax(NaN, lo) is lo, so NaN never reaches out.
		const double v = fmin(fmax(in[i], lo), hi);
		out[i] = v;
		mn = fmin(mn, v);
		mx = fmax(mx, v);
	}
	block_minmax(mn, mx);
	if (threadIdx.x == 0) {
		pmin[blockIdx.x] = mn;
		pmax[blockIdx.x] = mx;
	}
}

// Pass 2, one block: reduce the @p parts pairs to result[0] (min) and
// result[1] (max).
__global__ void reduce_minmax_kernel(const double *pmin, const double *pmax,
				     size_t parts, double *result)
{
	double mn = INFINITY;
	double mx = -INFINITY;
	for (size_t i = threadIdx.x; i < parts; i += blockDim.x) {
		mn = fmin(mn, pmin[i]);
		mx = fmax(mx, pmax[i]);
	}
	block_minmax(mn, mx);
	if (threadIdx.x == 0) {
		result[0] = mn;
		result[1] = mx;
	}
}

} // namespace

cudaError_t launch_vadd(const float *a, const float *b, float *c, size_t n,
			cudaStream_t stream)
{
	vadd_kernel<<<blocks_for(n), kThreads, 0, stream>>>(a, b, c, n);
	return cudaGetLastError();
}

cudaError_t launch_parallel(const float *a, const float *b, float *add,
			    float *mul, size_t n, cudaStream_t stream)
{
	parallel_kernel<<<blocks_for(n), kThreads, 0, stream>>>(a, b, add, mul,
								n);
	return cudaGetLastError();
}

cudaError_t launch_arraycopy(const int *in, int *out, size_t n,
			     cudaStream_t stream)
{
	copy_kernel<<<blocks_for(n), kThreads, 0, stream>>>(in, out, n);
	return cudaGetLastError();
}

cudaError_t launch_mmult(const float *a, const float *b, float *c, size_t n,
			 cudaStream_t stream)
{
	const size_t tiles = (n + kTile - 1) / kTile;
	// gridDim.y is limited to 65535; that is n < ~1M, i.e. matrices of
	// 4 TiB each, far beyond any device.
	if (tiles > 65535)
		return cudaErrorInvalidValue;
	const dim3 grid(static_cast<unsigned>(tiles),
			static_cast<unsigned>(tiles));
	const dim3 block(kTile, kTile);
	mmult_kernel<<<grid, block, 0, stream>>>(a, b, c, n);
	return cudaGetLastError();
}

size_t minmax_scratch_doubles(size_t n)
{
	return 2 * static_cast<size_t>(blocks_for(n));
}

cudaError_t launch_minmax(const double *in, double *out, size_t n, double lo,
			  double hi, double *scratch, double *result,
			  cudaStream_t stream)
{
	const unsigned blocks = blocks_for(n);
	double *pmin = scratch;
	double *pmax = scratch + blocks;
	clamp_minmax_kernel<<<blocks, kThreads, 0, stream>>>(in, out, n, lo, hi,
							     pmin, pmax);
	cudaError_t err = cudaGetLastError();
	if (err != cudaSuccess)
		return err;
	reduce_minmax_kernel<<<1, kThreads, 0, stream>>>(pmin, pmax, blocks,
							 result);
	return cudaGetLastError();
}

} // namespace vaccel_cuda
