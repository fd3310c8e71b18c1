// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/ops/tf.h
 * TensorFlow (SavedModel) inference: value types and ops.
 *
 * Helpers return VACCEL_OK, VACCEL_EINVAL (NULL or out-of-range input) or
 * VACCEL_ENOMEM; the allocating forms (`_new`, `_allocate`) write their
 * out-parameter only on success and are freed with the matching `_delete`.
 * All memory the helpers allocate or free is malloc/free memory.
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

/** Element types; the numbers are TensorFlow's TF_DataType values. */
enum vaccel_tf_data_type {
	VACCEL_TF_FLOAT = 1,
	VACCEL_TF_DOUBLE = 2,
	VACCEL_TF_INT32 = 3,
	VACCEL_TF_UINT8 = 4,
	VACCEL_TF_INT16 = 5,
	VACCEL_TF_INT8 = 6,
	VACCEL_TF_STRING = 7,
	VACCEL_TF_COMPLEX64 = 8,
	VACCEL_TF_COMPLEX = 8, /**< older spelling of COMPLEX64 */
	VACCEL_TF_INT64 = 9,
	VACCEL_TF_BOOL = 10,
	VACCEL_TF_QINT8 = 11,
	VACCEL_TF_QUINT8 = 12,
	VACCEL_TF_QINT32 = 13,
	VACCEL_TF_BFLOAT16 = 14,
	VACCEL_TF_QINT16 = 15,
	VACCEL_TF_QUINT16 = 16,
	VACCEL_TF_UINT16 = 17,
	VACCEL_TF_COMPLEX128 = 18,
	VACCEL_TF_HALF = 19,
	VACCEL_TF_RESOURCE = 20,
	VACCEL_TF_VARIANT = 21,
	VACCEL_TF_UINT32 = 22,
	VACCEL_TF_UINT64 = 23,
};

/** Opaque bytes (e.g. serialized RunOptions). */
struct vaccel_tf_buffer {
	void *data;  /**< malloc'd; owned by the buffer */
	size_t size; /**< bytes at @c data */
};

/**
 * Make @p buffer hold @p data (@p size bytes). The buffer takes ownership:
 * release frees @p data with free(), so it must come from malloc (or be
 * taken back with vaccel_tf_buffer_take_data() first).
 * @param buffer out, not NULL. @param data may be NULL.
 */
int vaccel_tf_buffer_init(struct vaccel_tf_buffer *buffer, void *data,
			  size_t size);

/** Free the buffer's data and reset it. NULL: VACCEL_EINVAL. */
int vaccel_tf_buffer_release(struct vaccel_tf_buffer *buffer);

/** Heap-allocating form of vaccel_tf_buffer_init() (takes ownership of
 *  @p data on success only). */
int vaccel_tf_buffer_new(struct vaccel_tf_buffer **buffer, void *data,
			 size_t size);

/** Release a buffer from vaccel_tf_buffer_new() and free it. */
int vaccel_tf_buffer_delete(struct vaccel_tf_buffer *buffer);

/**
 * Move the data out of @p buffer: *@p data and *@p size receive it (the
 * caller now owns it) and the buffer is left empty.
 * @param buffer, data, size not NULL.
 */
int vaccel_tf_buffer_take_data(struct vaccel_tf_buffer *buffer, void **data,
			       size_t *size);

/** A graph node: an operation name and an output index. */
struct vaccel_tf_node {
	char *name; /**< malloc'd copy, owned by the node */
	int id;     /**< output index */
};

/** Initialize @p node with a copy of @p name (not NULL) and @p id. */
int vaccel_tf_node_init(struct vaccel_tf_node *node, const char *name, int id);

/** Free the node's name and reset it (id becomes -1). */
int vaccel_tf_node_release(struct vaccel_tf_node *node);

/** Heap-allocating form of vaccel_tf_node_init(). */
int vaccel_tf_node_new(struct vaccel_tf_node **node, const char *name, int id);

/** Release a node from vaccel_tf_node_new() and free it. */
int vaccel_tf_node_delete(struct vaccel_tf_node *node);

/** A dense tensor. */
struct vaccel_tf_tensor {
	void *data;    /**< element bytes; see @c owned */
	size_t size;   /**< bytes at @c data */
	bool owned;    /**< release frees @c data */
	int nr_dims;   /**< number of dimensions, >= 1 */
	int64_t *dims; /**< @c nr_dims sizes, malloc'd, owned by the tensor */
	enum vaccel_tf_data_type data_type;
};

/**
 * Initialize @p tensor with @p nr_dims (>= 1) dimensions copied from
 * @p dims (NULL: all zero) and no data.
 */
int vaccel_tf_tensor_init(struct vaccel_tf_tensor *tensor, int nr_dims,
			  const int64_t *dims, enum vaccel_tf_data_type type);

/** Free the dims and, if owned, the data; reset the tensor. */
int vaccel_tf_tensor_release(struct vaccel_tf_tensor *tensor);

/** Heap-allocating form of vaccel_tf_tensor_init(). */
int vaccel_tf_tensor_new(struct vaccel_tf_tensor **tensor, int nr_dims,
			 const int64_t *dims, enum vaccel_tf_data_type type);

/** As vaccel_tf_tensor_new(), plus @p total_size zeroed bytes of data the
 *  tensor owns (none if 0). */
int vaccel_tf_tensor_allocate(struct vaccel_tf_tensor **tensor, int nr_dims,
			      const int64_t *dims,
			      enum vaccel_tf_data_type type, size_t total_size);

/** Release a tensor from _new()/_allocate() and free it. */
int vaccel_tf_tensor_delete(struct vaccel_tf_tensor *tensor);

/**
 * Point the tensor at the caller's @p data (@p size bytes), which it does
 * not own. Data the tensor owned before is not freed by this call (a
 * warning is logged): take it first if needed.
 */
int vaccel_tf_tensor_set_data(struct vaccel_tf_tensor *tensor, void *data,
			      size_t size);

/** Move the data out of @p tensor (the caller now owns it if the tensor
 *  did); the tensor is left without data. All parameters not NULL. */
int vaccel_tf_tensor_take_data(struct vaccel_tf_tensor *tensor, void **data,
			       size_t *size);

/** Status reported by the TensorFlow backend. */
struct vaccel_tf_status {
	uint8_t code;  /**< TF_Code */
	char *message; /**< malloc'd copy, owned by the status */
};

/** Initialize @p status with @p code and a copy of @p message (not NULL). */
int vaccel_tf_status_init(struct vaccel_tf_status *status, uint8_t code,
			  const char *message);

/** Free the message and reset the status. */
int vaccel_tf_status_release(struct vaccel_tf_status *status);

/** Heap-allocating form of vaccel_tf_status_init(). */
int vaccel_tf_status_new(struct vaccel_tf_status **status, uint8_t code,
			 const char *message);

/** Release a status from vaccel_tf_status_new() and free it. */
int vaccel_tf_status_delete(struct vaccel_tf_status *status);

/**
 * Load the model in @p model (a VACCEL_RESOURCE_MODEL registered with
 * @p sess). @p status (out, may be NULL) receives the backend's status.
 * @return VACCEL_OK; VACCEL_EINVAL; VACCEL_EPERM (not registered);
 *         VACCEL_ENOTSUP; else the plugin's code.
 */
int vaccel_tf_model_load(struct vaccel_session *sess,
			 struct vaccel_resource *model,
			 struct vaccel_tf_status *status);

/**
 * Run the loaded @p model: feed @p nr_inputs tensors to @p in_nodes and
 * fetch @p nr_outputs tensors from @p out_nodes into @p out_tensors (the
 * plugin allocates them; free each with vaccel_tf_tensor_delete()).
 * @p run_options may be NULL. @return as vaccel_tf_model_load().
 */
int vaccel_tf_model_run(struct vaccel_session *sess,
			struct vaccel_resource *model,
			const struct vaccel_tf_buffer *run_options,
			const struct vaccel_tf_node *in_nodes,
			struct vaccel_tf_tensor *const *in_tensors,
			int nr_inputs, const struct vaccel_tf_node *out_nodes,
			struct vaccel_tf_tensor **out_tensors, int nr_outputs,
			struct vaccel_tf_status *status);

/** Unload a model loaded with vaccel_tf_model_load().
 *  @return as vaccel_tf_model_load(). */
int vaccel_tf_model_unload(struct vaccel_session *sess,
			   struct vaccel_resource *model,
			   struct vaccel_tf_status *status);

#ifdef __cplusplus
}
#endif
