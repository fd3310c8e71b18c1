// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/op.h
 * Operation types (same names and numbers as upstream vAccel) and the
 * descriptor a plugin uses to register its implementation of one.
 */
#pragma once

#include "list.h"
#include "utils/enum.h"
#include "utils/str.h"
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _ENUM_PREFIX VACCEL_OP
#define VACCEL_OP_TYPE_ENUM_LIST(VACCEL_ENUM_ITEM)                             \
	VACCEL_ENUM_ITEM(NOOP, 0, _ENUM_PREFIX)                                \
	VACCEL_ENUM_ITEM(EXEC, _ENUM_PREFIX)                                   \
	VACCEL_ENUM_ITEM(EXEC_WITH_RESOURCE, _ENUM_PREFIX)                     \
	VACCEL_ENUM_ITEM(IMAGE_CLASSIFY, _ENUM_PREFIX)                         \
	VACCEL_ENUM_ITEM(IMAGE_DETECT, _ENUM_PREFIX)                           \
	VACCEL_ENUM_ITEM(IMAGE_SEGMENT, _ENUM_PREFIX)                          \
	VACCEL_ENUM_ITEM(IMAGE_POSE, _ENUM_PREFIX)                             \
	VACCEL_ENUM_ITEM(IMAGE_DEPTH, _ENUM_PREFIX)                            \
	VACCEL_ENUM_ITEM(TF_MODEL_LOAD, _ENUM_PREFIX)                          \
	VACCEL_ENUM_ITEM(TF_MODEL_UNLOAD, _ENUM_PREFIX)                        \
	VACCEL_ENUM_ITEM(TF_MODEL_RUN, _ENUM_PREFIX)                           \
	VACCEL_ENUM_ITEM(TFLITE_MODEL_LOAD, _ENUM_PREFIX)                      \
	VACCEL_ENUM_ITEM(TFLITE_MODEL_UNLOAD, _ENUM_PREFIX)                    \
	VACCEL_ENUM_ITEM(TFLITE_MODEL_RUN, _ENUM_PREFIX)                       \
	VACCEL_ENUM_ITEM(TORCH_MODEL_LOAD, _ENUM_PREFIX)                       \
	VACCEL_ENUM_ITEM(TORCH_MODEL_RUN, _ENUM_PREFIX)                        \
	VACCEL_ENUM_ITEM(TORCH_SGEMM, _ENUM_PREFIX)                            \
	VACCEL_ENUM_ITEM(BLAS_SGEMM, _ENUM_PREFIX)                             \
	VACCEL_ENUM_ITEM(FPGA_ARRAYCOPY, _ENUM_PREFIX)                         \
	VACCEL_ENUM_ITEM(FPGA_MMULT, _ENUM_PREFIX)                             \
	VACCEL_ENUM_ITEM(FPGA_PARALLEL, _ENUM_PREFIX)                          \
	VACCEL_ENUM_ITEM(FPGA_VECTORADD, _ENUM_PREFIX)                         \
	VACCEL_ENUM_ITEM(MINMAX, _ENUM_PREFIX)                                 \
	VACCEL_ENUM_ITEM(OPENCV, _ENUM_PREFIX)
/** vaccel_op_type_t: VACCEL_OP_NOOP=0 ... VACCEL_OP_OPENCV=23, VACCEL_OP_MAX.
 */
VACCEL_ENUM_DEF_WITH_STR_FUNCS(vaccel_op_type, _ENUM_PREFIX,
			       VACCEL_OP_TYPE_ENUM_LIST)
#undef _ENUM_PREFIX

/** Lower-case op name ("image_classify") into @p lower; returns @p lower. */
static inline char *vaccel_op_type_to_lower(vaccel_op_type_t op_type,
					    char *lower, size_t size)
{
	vaccel_str_to_lower(vaccel_op_type_to_base_str(op_type), lower, size,
			    NULL);
	return lower;
}

struct vaccel_plugin;

/**
 * One op implementation. @c func has the signature of the public function of
 * that op (e.g. `int (*)(struct vaccel_session *)` for VACCEL_OP_NOOP).
 */
struct vaccel_op {
	vaccel_op_type_t type;
	void *func;
	struct vaccel_plugin *owner;
};

/** Defined by VACCEL_PLUGIN() in every plugin (hidden visibility). */
extern struct vaccel_plugin vaccel_this_plugin;

/** Initializer of a `struct vaccel_op` owned by this plugin. @p name is
 *  unused and kept for upstream source compatibility. */
#ifdef __cplusplus
#define VACCEL_OP_INIT(name, type, func)                                       \
	{                                                                      \
		(type), reinterpret_cast<void *>(func), (&vaccel_this_plugin)  \
	}
#else
#define VACCEL_OP_INIT(name, type, func)                                       \
	{                                                                      \
		(type), (void *)(func), (&vaccel_this_plugin)                  \
	}
#endif

#ifdef __cplusplus
}
#endif
