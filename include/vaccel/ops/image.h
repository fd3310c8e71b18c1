// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/ops/image.h
 * Image inference ops. Each takes an encoded image (@p img, @p len_img
 * bytes) and writes the name of a result image to @p out_imgname
 * (@p len_out_imgname bytes of room); classification also writes a text
 * label to @p out_text. The caller owns every buffer.
 * Each returns VACCEL_OK; VACCEL_EINVAL; VACCEL_ENOTSUP if no plugin
 * implements it; else the plugin's code.
 */
#pragma once

#include "../session.h"
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Classify @p img: label into @p out_text, result image name into
 *  @p out_imgname. */
int vaccel_image_classification(struct vaccel_session *sess, const void *img,
				unsigned char *out_text,
				unsigned char *out_imgname, size_t len_img,
				size_t len_out_text, size_t len_out_imgname);

/** Object detection on @p img. */
int vaccel_image_detection(struct vaccel_session *sess, const void *img,
			   unsigned char *out_imgname, size_t len_img,
			   size_t len_out_imgname);

/** Semantic segmentation of @p img. */
int vaccel_image_segmentation(struct vaccel_session *sess, const void *img,
			      unsigned char *out_imgname, size_t len_img,
			      size_t len_out_imgname);

/** Pose estimation on @p img. */
int vaccel_image_pose(struct vaccel_session *sess, const void *img,
		      unsigned char *out_imgname, size_t len_img,
		      size_t len_out_imgname);

/** Depth estimation on @p img. */
int vaccel_image_depth(struct vaccel_session *sess, const void *img,
		       unsigned char *out_imgname, size_t len_img,
		       size_t len_out_imgname);

#ifdef __cplusplus
}
#endif
