// SPDX-License-Identifier: Apache-2.0
/** @file vaccel/ops/noop.h  The op that does nothing: a probe of routing. */
#pragma once

#include "../session.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Run the no-op on the first plugin of @p sess that implements it.
 * @param sess in, an initialized session.
 * @return VACCEL_OK; VACCEL_EINVAL for a NULL or uninitialized session;
 *         VACCEL_ENOTSUP if no loaded plugin implements it; else the
 *         plugin's code.
 */
int vaccel_noop(struct vaccel_session *sess);

#ifdef __cplusplus
}
#endif
