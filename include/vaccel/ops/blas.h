// SPDX-License-Identifier: Apache-2.0
/** @file vaccel/ops/blas.h  BLAS-style dense linear algebra. */
#pragma once

#include "../session.h"
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Single-precision C = alpha * A * B + beta * C, row-major: A is m x k
 * (leading dimension @p lda), B is k x n (@p ldb), C is m x n (@p ldc).
 * @param a, b in; @param c in/out. The caller owns all three.
 * @return VACCEL_OK; VACCEL_EINVAL; VACCEL_ENOTSUP if no plugin
 *         implements it; else the plugin's code.
 */
int vaccel_sgemm(struct vaccel_session *sess, int64_t m, int64_t n, int64_t k,
		 float alpha, float *a, int64_t lda, float *b, int64_t ldb,
		 float beta, float *c, int64_t ldc);

#ifdef __cplusplus
}
#endif
