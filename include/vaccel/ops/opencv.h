// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/ops/opencv.h
 * OpenCV functions, with their arguments packed as args. The layout of the
 * args is a contract between the program and the OpenCV plugin.
 */
#pragma once

#include "../arg.h"
#include "../session.h"
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Run the OpenCV op on the first plugin of @p sess that implements it.
 * @param read  in: @p nr_read (>= 0) args, NULL if none.
 * @param write in/out: @p nr_write (>= 0) args, NULL if none.
 * @return VACCEL_OK; VACCEL_EINVAL; VACCEL_ENOTSUP if no plugin implements
 *         it; else the plugin's code.
 */
int vaccel_opencv(struct vaccel_session *sess, struct vaccel_arg *read,
		  int nr_read, struct vaccel_arg *write, int nr_write);

/**
 * The generic-op form of vaccel_opencv() (upstream's name): checks that
 * the counts are non-negative and the arrays present, then forwards.
 * @return as vaccel_opencv().
 */
int vaccel_opencv_unpack(struct vaccel_session *sess, struct vaccel_arg *read,
			 int nr_read, struct vaccel_arg *write, int nr_write);

#ifdef __cplusplus
}
#endif
