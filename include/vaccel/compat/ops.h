// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/compat/ops.h
 * Op helpers that upstream vAccel's library exports besides its public
 * API: the per-op unpackers behind vaccel_genop() and the generic image
 * entry point. Same names and signatures as upstream.
 *
 * Each unpacker takes an op's arguments in the generic-op layout, without
 * the leading op-type argument vaccel_genop() reads, checks them as
 * vaccel_genop() does and calls the typed op.
 */
#pragma once

#include "../arg.h"
#include "../op.h"
#include "../session.h"
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VACCEL_COMPAT_UNPACKER_(name)                                          \
	int name(struct vaccel_session *sess, struct vaccel_arg *read,         \
		 int nr_read, struct vaccel_arg *write, int nr_write)

VACCEL_COMPAT_UNPACKER_(vaccel_noop_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_exec_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_exec_with_res_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_image_classification_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_image_detection_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_image_segmentation_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_image_pose_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_image_depth_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_sgemm_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_minmax_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_fpga_arraycopy_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_fpga_mmult_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_fpga_parallel_unpack);
VACCEL_COMPAT_UNPACKER_(vaccel_fpga_vadd_unpack);

#undef VACCEL_COMPAT_UNPACKER_

/** The image unpacker for any of the five image ops, which also checks
 *  that exactly @p nr_read_req read and @p nr_write_req write args came. */
int vaccel_image_op_unpack(vaccel_op_type_t op_type,
			   struct vaccel_session *sess, struct vaccel_arg *read,
			   int nr_read, int nr_read_req,
			   struct vaccel_arg *write, int nr_write,
			   int nr_write_req);

/** Run image op @p op_type (one of the five VACCEL_OP_IMAGE_*): @p out_text
 *  and @p len_out_text are used by classification only. Other op types
 *  give VACCEL_ENOTSUP. */
int vaccel_image_op(vaccel_op_type_t op_type, struct vaccel_session *sess,
		    const void *img, unsigned char *out_text,
		    unsigned char *out_imgname, size_t len_img,
		    size_t len_out_text, size_t len_out_imgname);

#ifdef __cplusplus
}
#endif
