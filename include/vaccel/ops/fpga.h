// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/ops/fpga.h
 * Demonstration kernels of FPGA plugins. Deprecated upstream; kept for
 * source compatibility. Each returns VACCEL_OK, VACCEL_EINVAL,
 * VACCEL_ENOTSUP (no plugin implements it) or the plugin's code; the caller
 * owns every array.
 */
#pragma once

#include "../session.h"
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VACCEL_FPGA_DEPRECATED_                                                \
	__attribute__((deprecated("the fpga demo ops will be removed")))

/** Copy the @p len_a ints of @p a into @p out_a (room for @p len_a). */
VACCEL_FPGA_DEPRECATED_ int vaccel_fpga_arraycopy(struct vaccel_session *sess,
						  int a[], int out_a[],
						  size_t len_a);

/** Multiply matrices @p a and @p b (@p len_a floats each) into @p c. */
VACCEL_FPGA_DEPRECATED_ int vaccel_fpga_mmult(struct vaccel_session *sess,
					      float a[], float b[], float c[],
					      size_t len_a);

/** Element-wise sum and product of @p a and @p b (@p len_a floats each)
 *  into @p add_output and @p mult_output. */
VACCEL_FPGA_DEPRECATED_ int
vaccel_fpga_parallel(struct vaccel_session *sess, float a[], float b[],
		     float add_output[], float mult_output[], size_t len_a);

/** Vector sum of @p a (@p len_a floats) and @p b (@p len_b) into @p c. */
VACCEL_FPGA_DEPRECATED_ int vaccel_fpga_vadd(struct vaccel_session *sess,
					     float a[], float b[], float c[],
					     size_t len_a, size_t len_b);

#undef VACCEL_FPGA_DEPRECATED_

#ifdef __cplusplus
}
#endif
