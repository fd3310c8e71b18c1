// SPDX-License-Identifier: Apache-2.0
/** @file vaccel/ops/minmax.h  Demonstration min/max op (deprecated). */
#pragma once

#include "../session.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Filter the @p ndata doubles of @p indata by the thresholds into
 * @p outdata (room for @p ndata) and report their minimum and maximum.
 * @param min, max out, not NULL. The caller owns every buffer.
 * @return VACCEL_OK; VACCEL_EINVAL; VACCEL_ENOTSUP if no plugin implements
 *         it; else the plugin's code.
 */
__attribute__((deprecated("the minmax demo op will be removed"))) int
vaccel_minmax(struct vaccel_session *sess, const double *indata, int ndata,
	      int low_threshold, int high_threshold, double *outdata,
	      double *min, double *max);

#ifdef __cplusplus
}
#endif
