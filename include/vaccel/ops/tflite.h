// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/ops/tflite.h
 * TensorFlow Lite inference: tensors and ops. The tensor helpers behave as
 * those of vaccel/ops/tf.h (same return codes and ownership rules).
 */
#pragma once

#include "../resource.h"
#include "../session.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Element types; the numbers are TensorFlow Lite's TfLiteType values. */
enum vaccel_tflite_data_type {
	VACCEL_TFLITE_NOTYPE = 0,
	VACCEL_TFLITE_FLOAT32 = 1,
	VACCEL_TFLITE_INT32 = 2,
	VACCEL_TFLITE_UINT8 = 3,
	VACCEL_TFLITE_INT64 = 4,
	VACCEL_TFLITE_STRING = 5,
	VACCEL_TFLITE_BOOL = 6,
	VACCEL_TFLITE_INT16 = 7,
	VACCEL_TFLITE_COMPLEX64 = 8,
	VACCEL_TFLITE_INT8 = 9,
	VACCEL_TFLITE_FLOAT16 = 10,
	VACCEL_TFLITE_FLOAT64 = 11,
	VACCEL_TFLITE_COMPLEX128 = 12,
	VACCEL_TFLITE_UINT64 = 13,
	VACCEL_TFLITE_RESOURCE = 14,
	VACCEL_TFLITE_VARIANT = 15,
	VACCEL_TFLITE_UINT32 = 16,
	VACCEL_TFLITE_UINT16 = 17,
	VACCEL_TFLITE_INT4 = 18,
};

/** A dense tensor. */
struct vaccel_tflite_tensor {
	void *data;    /**< element bytes; see @c owned */
	size_t size;   /**< bytes at @c data */
	bool owned;    /**< release frees @c data */
	int nr_dims;   /**< number of dimensions, >= 1 */
	int32_t *dims; /**< @c nr_dims sizes, malloc'd, owned by the tensor */
	enum vaccel_tflite_data_type data_type;
};

/** Initialize @p tensor with @p nr_dims (>= 1) dimensions copied from
 *  @p dims (NULL: all zero) and no data. */
int vaccel_tflite_tensor_init(struct vaccel_tflite_tensor *tensor, int nr_dims,
			      const int32_t *dims,
			      enum vaccel_tflite_data_type type);

/** Free the dims and, if owned, the data; reset the tensor. */
int vaccel_tflite_tensor_release(struct vaccel_tflite_tensor *tensor);

/** Heap-allocating form of vaccel_tflite_tensor_init(). */
int vaccel_tflite_tensor_new(struct vaccel_tflite_tensor **tensor, int nr_dims,
			     const int32_t *dims,
			     enum vaccel_tflite_data_type type);

/** As vaccel_tflite_tensor_new(), plus @p total_size zeroed bytes of data
 *  the tensor owns (none if 0). */
int vaccel_tflite_tensor_allocate(struct vaccel_tflite_tensor **tensor,
				  int nr_dims, const int32_t *dims,
				  enum vaccel_tflite_data_type type,
				  size_t total_size);

/** Release a tensor from _new()/_allocate() and free it. */
int vaccel_tflite_tensor_delete(struct vaccel_tflite_tensor *tensor);

/** Point the tensor at the caller's @p data, which it does not own (data
 *  it owned before is not freed; a warning is logged). */
int vaccel_tflite_tensor_set_data(struct vaccel_tflite_tensor *tensor,
				  void *data, size_t size);

/** Move the data out of @p tensor; all parameters not NULL. */
int vaccel_tflite_tensor_take_data(struct vaccel_tflite_tensor *tensor,
				   void **data, size_t *size);

/**
 * Load the model in @p model (a VACCEL_RESOURCE_MODEL registered with
 * @p sess). @return VACCEL_OK; VACCEL_EINVAL; VACCEL_EPERM (not
 * registered); VACCEL_ENOTSUP; else the plugin's code.
 */
int vaccel_tflite_model_load(struct vaccel_session *sess,
			     struct vaccel_resource *model);

/**
 * Run the loaded @p model on @p nr_inputs tensors; @p outputs receives
 * @p nr_outputs tensors the plugin allocates (free each with
 * vaccel_tflite_tensor_delete()); @p status (out, may be NULL) the
 * interpreter's status. @return as vaccel_tflite_model_load().
 */
int vaccel_tflite_model_run(struct vaccel_session *sess,
			    struct vaccel_resource *model,
			    struct vaccel_tflite_tensor *const *inputs,
			    int nr_inputs,
			    struct vaccel_tflite_tensor **outputs,
			    int nr_outputs, uint8_t *status);

/** Unload a model loaded with vaccel_tflite_model_load(). */
int vaccel_tflite_model_unload(struct vaccel_session *sess,
			       struct vaccel_resource *model);

#ifdef __cplusplus
}
#endif
