// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/ops/genop.h
 * One entry point for every op, with the arguments packed as args. Used by
 * language bindings and transports that cannot call the typed functions.
 */
#pragma once

#include "../arg.h"
#include "../session.h"
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Run the op named by @p read[0] (a VACCEL_ARG_UINT8 holding a
 * vaccel_op_type_t) with the remaining read args and the write args laid
 * out as that op expects (docs/c-api.md lists each layout). Every arg's
 * tag and size is checked before the op runs.
 * @param read   in: @p nr_read (>= 1) args. @param write in/out:
 *               @p nr_write (>= 0) args, NULL if none. Caller-owned.
 * @return the op's code; VACCEL_EINVAL for a missing or unknown op type or
 *         a malformed layout (the problem is logged); VACCEL_ENOTSUP for
 *         ops without a generic layout (tf, tflite, torch).
 */
int vaccel_genop(struct vaccel_session *sess, struct vaccel_arg *read,
		 int nr_read, struct vaccel_arg *write, int nr_write);

#ifdef __cplusplus
}
#endif
