// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/ops/torch.h
 * PyTorch (TorchScript) inference: value types and ops. The helpers behave
 * as those of vaccel/ops/tf.h (same return codes and ownership rules).
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

/** Element types; the numbers are those of upstream vAccel (libtorch's
 *  fixed-width types). */
enum vaccel_torch_data_type {
	VACCEL_TORCH_BYTE = 1,
	VACCEL_TORCH_CHAR = 2,
	VACCEL_TORCH_SHORT = 3,
	VACCEL_TORCH_INT = 4,
	VACCEL_TORCH_LONG = 5,
	VACCEL_TORCH_HALF = 6,
	VACCEL_TORCH_FLOAT = 7
};

/** Opaque bytes (e.g. run options). */
struct vaccel_torch_buffer {
	char *data;  /**< malloc'd; owned by the buffer */
	size_t size; /**< bytes at @c data */
};

/** Make @p buffer hold (and own: release frees it) @p data. */
int vaccel_torch_buffer_init(struct vaccel_torch_buffer *buffer, char *data,
			     size_t size);

/** Free the buffer's data and reset it. NULL: VACCEL_EINVAL. */
int vaccel_torch_buffer_release(struct vaccel_torch_buffer *buffer);

/** Heap-allocating form of vaccel_torch_buffer_init() (takes ownership of
 *  @p data on success only). */
int vaccel_torch_buffer_new(struct vaccel_torch_buffer **buffer, char *data,
			    size_t size);

/** Release a buffer from vaccel_torch_buffer_new() and free it. */
int vaccel_torch_buffer_delete(struct vaccel_torch_buffer *buffer);

/** Move the data out of @p buffer (the caller now owns it); all parameters
 *  not NULL. */
int vaccel_torch_buffer_take_data(struct vaccel_torch_buffer *buffer,
				  void **data, size_t *size);

/** A dense tensor. */
struct vaccel_torch_tensor {
	void *data;      /**< element bytes; see @c owned */
	size_t size;     /**< bytes at @c data */
	bool owned;      /**< release frees @c data */
	int64_t nr_dims; /**< number of dimensions, >= 1 */
	int64_t *dims;   /**< @c nr_dims sizes, malloc'd, owned by the tensor */
	enum vaccel_torch_data_type data_type;
};

/** Initialize @p tensor with @p nr_dims (>= 1) dimensions copied from
 *  @p dims (NULL: all zero) and no data. */
int vaccel_torch_tensor_init(struct vaccel_torch_tensor *tensor,
			     int64_t nr_dims, const int64_t *dims,
			     enum vaccel_torch_data_type type);

/** Free the dims and, if owned, the data; reset the tensor. */
int vaccel_torch_tensor_release(struct vaccel_torch_tensor *tensor);

/** Heap-allocating form of vaccel_torch_tensor_init(). */
int vaccel_torch_tensor_new(struct vaccel_torch_tensor **tensor,
			    int64_t nr_dims, const int64_t *dims,
			    enum vaccel_torch_data_type type);

/** As vaccel_torch_tensor_new(), plus @p total_size zeroed bytes of data
 *  the tensor owns (none if 0). */
int vaccel_torch_tensor_allocate(struct vaccel_torch_tensor **tensor,
				 int64_t nr_dims, const int64_t *dims,
				 enum vaccel_torch_data_type type,
				 size_t total_size);

/** Release a tensor from _new()/_allocate() and free it. */
int vaccel_torch_tensor_delete(struct vaccel_torch_tensor *tensor);

/** Point the tensor at the caller's @p data, which it does not own (data
 *  it owned before is not freed; a warning is logged). */
int vaccel_torch_tensor_set_data(struct vaccel_torch_tensor *tensor, void *data,
				 size_t size);

/** Move the data out of @p tensor; all parameters not NULL. */
int vaccel_torch_tensor_take_data(struct vaccel_torch_tensor *tensor,
				  void **data, size_t *size);

/**
 * Load the model in @p model (a VACCEL_RESOURCE_MODEL registered with
 * @p sess). @return VACCEL_OK; VACCEL_EINVAL; VACCEL_EPERM (not
 * registered); VACCEL_ENOTSUP; else the plugin's code.
 */
int vaccel_torch_model_load(struct vaccel_session *sess,
			    struct vaccel_resource *model);

/**
 * Run the loaded @p model on @p nr_inputs tensors; @p outputs receives
 * @p nr_outputs tensors the plugin allocates (free each with
 * vaccel_torch_tensor_delete()). @p run_options may be NULL.
 * @return as vaccel_torch_model_load().
 */
int vaccel_torch_model_run(struct vaccel_session *sess,
			   struct vaccel_resource *model,
			   const struct vaccel_torch_buffer *run_options,
			   struct vaccel_torch_tensor *const *inputs,
			   int nr_inputs, struct vaccel_torch_tensor **outputs,
			   int nr_outputs);

/**
 * Matrix multiply of torch tensors (deprecated upstream): *@p out receives
 * a tensor the plugin allocates. @return VACCEL_OK; VACCEL_EINVAL;
 * VACCEL_ENOTSUP; else the plugin's code.
 */
__attribute__((deprecated("the torch sgemm op will be removed"))) int
vaccel_torch_sgemm(struct vaccel_session *sess,
		   struct vaccel_torch_tensor **in_A,
		   struct vaccel_torch_tensor **in_B,
		   struct vaccel_torch_tensor **in_C, int M, int N, int K,
		   struct vaccel_torch_tensor **out);

#ifdef __cplusplus
}
#endif
