// SPDX-License-Identifier: Apache-2.0
// Launchers of the cuda plugin's device kernels (kernels.cu). They are plain
// host functions so that the plugin proper (cuda.cpp) is ordinary C++ built
// with the project's warning flags, and only this small interface crosses
// into nvcc-compiled code. Every launcher enqueues work on @p stream and
// returns the launch status; none of them synchronizes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace vaccel_cuda
{

// c[i] = a[i] + b[i] for i < n.
cudaError_t launch_vadd(const float *a, const float *b, float *c, size_t n,
			cudaStream_t stream);

// add[i] = a[i] + b[i] and mul[i] = a[i] * b[i] for i < n, in one pass.
cudaError_t launch_parallel(const float *a, const float *b, float *add,
			    float *mul, size_t n, cudaStream_t stream);

// out[i] = in[i] for i < n.
cudaError_t launch_arraycopy(const int *in, int *out, size_t n,
			     cudaStream_t stream);

// c = a * b for n x n row-major matrices (shared-memory tiles).
cudaError_t launch_mmult(const float *a, const float *b, float *c, size_t n,
			 cudaStream_t stream);

// How many doubles of scratch launch_minmax needs for @p n inputs.
size_t minmax_scratch_doubles(size_t n);

// out[i] = in[i] clamped to [lo, hi] (NaN becomes lo), then a two-pass
// parallel reduction writes min(out) to result[0] and max(out) to result[1].
// @p scratch holds minmax_scratch_doubles(n) doubles; n > 0.
cudaError_t launch_minmax(const double *in, double *out, size_t n, double lo,
			  double hi, double *scratch, double *result,
			  cudaStream_t stream);

} // namespace vaccel_cuda
