// SPDX-License-Identifier: Apache-2.0
// Value helpers of the TensorFlow, TensorFlow Lite and Torch ops: buffers,
// nodes, tensors and statuses. The three tensor structs differ only in the
// width of their dimension fields, so one template serves them all.
//
// All memory here is malloc/free memory: programs and plugins free what
// these functions allocate (and allocate what they free) with the C
// allocator. One exception stays inside: tensor data from *_allocate() may
// come from shared memory once a transport enabled it
// (vaccel_shared_memory_enable(), core/host_arena.h), so that it reaches a
// local agent without a copy; release and delete free it, and take_data()
// hands out a malloc'd copy, so the contract above holds for callers.
// Out-parameters are written only on success.
#include "core/runtime.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vaccel/error.h>
#include <vaccel/log.h>
#include <vaccel/ops/tf.h>
#include <vaccel/ops/tflite.h>
#include <vaccel/ops/torch.h>

namespace
{

using vaccel::core::runtime;

// Tensor data: shared memory when the arena takes it, else the C heap.
void *data_alloc(size_t n) noexcept
{
	if (void *p = runtime().host_arena().allocate(n))
		return p;
	return std::calloc(1, n);
}

void data_free(void *p) noexcept
{
	if (!runtime().host_arena().release(p))
		std::free(p);
}

template <class T> T *alloc_zeroed() noexcept
{
	return static_cast<T *>(std::calloc(1, sizeof(T)));
}

char *dup_string(const char *s) noexcept
{
	const size_t n = std::strlen(s) + 1;
	auto *copy = static_cast<char *>(std::malloc(n));
	if (copy != nullptr)
		std::memcpy(copy, s, n);
	return copy;
}

/* ---- buffers (tf and torch): own their data once initialized ----------- */

template <class Buffer, class Data>
int buffer_init(Buffer *buffer, Data *data, size_t size) noexcept
{
	if (buffer == nullptr)
		return VACCEL_EINVAL;
	buffer->data = data;
	buffer->size = size;
	return VACCEL_OK;
}

template <class Buffer> int buffer_release(Buffer *buffer) noexcept
{
	if (buffer == nullptr)
		return VACCEL_EINVAL;
	std::free(buffer->data);
	buffer->data = nullptr;
	buffer->size = 0;
	return VACCEL_OK;
}

template <class Buffer, class Data>
int buffer_new(Buffer **buffer, Data *data, size_t size) noexcept
{
	if (buffer == nullptr)
		return VACCEL_EINVAL;
	auto *b = alloc_zeroed<Buffer>();
	if (b == nullptr)
		return VACCEL_ENOMEM;
	buffer_init(b, data, size);
	*buffer = b;
	return VACCEL_OK;
}

template <class Buffer> int buffer_delete(Buffer *buffer) noexcept
{
	if (int rc = buffer_release(buffer); rc != VACCEL_OK)
		return rc;
	std::free(buffer);
	return VACCEL_OK;
}

template <class Buffer>
int buffer_take(Buffer *buffer, void **data, size_t *size) noexcept
{
	if (buffer == nullptr || data == nullptr || size == nullptr)
		return VACCEL_EINVAL;
	*data = buffer->data;
	*size = buffer->size;
	buffer->data = nullptr;
	buffer->size = 0;
	return VACCEL_OK;
}

/* ---- tensors ------------------------------------------------------------- */

template <class Tensor> struct TensorTraits {
	using NrDims = decltype(Tensor::nr_dims);
	using Dim = std::remove_pointer_t<decltype(Tensor::dims)>;
	using DataType = decltype(Tensor::data_type);
};

template <class Tensor>
int tensor_init(Tensor *tensor, typename TensorTraits<Tensor>::NrDims nr_dims,
		const typename TensorTraits<Tensor>::Dim *dims,
		typename TensorTraits<Tensor>::DataType type) noexcept
{
	using Dim = typename TensorTraits<Tensor>::Dim;
	if (tensor == nullptr || nr_dims < 1)
		return VACCEL_EINVAL;
	if (static_cast<uint64_t>(nr_dims) >
	    std::numeric_limits<size_t>::max() / sizeof(Dim))
		return VACCEL_ENOMEM;
	const auto n = static_cast<size_t>(nr_dims);
	auto *d = static_cast<Dim *>(std::calloc(n, sizeof(Dim)));
	if (d == nullptr)
		return VACCEL_ENOMEM;
	if (dims != nullptr)
		std::memcpy(d, dims, n * sizeof(Dim));

	tensor->data = nullptr;
	tensor->size = 0;
	tensor->owned = false;
	tensor->nr_dims = nr_dims;
	tensor->dims = d;
	tensor->data_type = type;
	return VACCEL_OK;
}

template <class Tensor> int tensor_release(Tensor *tensor) noexcept
{
	if (tensor == nullptr)
		return VACCEL_EINVAL;
	std::free(tensor->dims);
	if (tensor->owned)
		data_free(tensor->data);
	tensor->data = nullptr;
	tensor->size = 0;
	tensor->owned = false;
	tensor->nr_dims = 0;
	tensor->dims = nullptr;
	return VACCEL_OK;
}

template <class Tensor>
int tensor_allocate(Tensor **tensor,
		    typename TensorTraits<Tensor>::NrDims nr_dims,
		    const typename TensorTraits<Tensor>::Dim *dims,
		    typename TensorTraits<Tensor>::DataType type,
		    size_t total_size) noexcept
{
	if (tensor == nullptr)
		return VACCEL_EINVAL;
	auto *t = alloc_zeroed<Tensor>();
	if (t == nullptr)
		return VACCEL_ENOMEM;
	if (int rc = tensor_init(t, nr_dims, dims, type); rc != VACCEL_OK) {
		std::free(t);
		return rc;
	}
	if (total_size > 0) {
		t->data = data_alloc(total_size);
		if (t->data == nullptr) {
			tensor_release(t);
			std::free(t);
			return VACCEL_ENOMEM;
		}
		t->size = total_size;
		t->owned = true;
	}
	*tensor = t;
	return VACCEL_OK;
}

template <class Tensor> int tensor_delete(Tensor *tensor) noexcept
{
	if (int rc = tensor_release(tensor); rc != VACCEL_OK)
		return rc;
	std::free(tensor);
	return VACCEL_OK;
}

template <class Tensor>
int tensor_set_data(Tensor *tensor, void *data, size_t size,
		    const char *what) noexcept
{
	if (tensor == nullptr)
		return VACCEL_EINVAL;
	if (tensor->owned && tensor->data != nullptr)
		vaccel_warn("%s tensor: set_data replaces owned data that "
			    "release will no longer free",
			    what);
	tensor->data = data;
	tensor->size = size;
	tensor->owned = false;
	return VACCEL_OK;
}

template <class Tensor>
int tensor_take_data(Tensor *tensor, void **data, size_t *size) noexcept
{
	if (tensor == nullptr || data == nullptr || size == nullptr)
		return VACCEL_EINVAL;
	if (tensor->owned && tensor->data != nullptr &&
	    runtime().host_arena().owns(tensor->data)) {
		// The caller will free() it: a heap copy, then the shared
		// piece goes back to the arena.
		void *copy = std::malloc(tensor->size > 0 ? tensor->size : 1);
		if (copy == nullptr)
			return VACCEL_ENOMEM;
		std::memcpy(copy, tensor->data, tensor->size);
		data_free(tensor->data);
		tensor->data = copy;
	}
	*data = tensor->data;
	*size = tensor->size;
	tensor->data = nullptr;
	tensor->size = 0;
	tensor->owned = false;
	return VACCEL_OK;
}

} // namespace

extern "C" {

/* ---- TensorFlow ------------------------------------------------------------
 */

int vaccel_tf_buffer_init(struct vaccel_tf_buffer *buffer, void *data,
			  size_t size)
{
	return buffer_init(buffer, data, size);
}

int vaccel_tf_buffer_release(struct vaccel_tf_buffer *buffer)
{
	return buffer_release(buffer);
}

int vaccel_tf_buffer_new(struct vaccel_tf_buffer **buffer, void *data,
			 size_t size)
{
	return buffer_new(buffer, data, size);
}

int vaccel_tf_buffer_delete(struct vaccel_tf_buffer *buffer)
{
	return buffer_delete(buffer);
}

int vaccel_tf_buffer_take_data(struct vaccel_tf_buffer *buffer, void **data,
			       size_t *size)
{
	return buffer_take(buffer, data, size);
}

int vaccel_tf_node_init(struct vaccel_tf_node *node, const char *name, int id)
{
	if (node == nullptr || name == nullptr)
		return VACCEL_EINVAL;
	char *copy = dup_string(name);
	if (copy == nullptr)
		return VACCEL_ENOMEM;
	node->name = copy;
	node->id = id;
	return VACCEL_OK;
}

int vaccel_tf_node_release(struct vaccel_tf_node *node)
{
	if (node == nullptr)
		return VACCEL_EINVAL;
	std::free(node->name);
	node->name = nullptr;
	node->id = -1;
	return VACCEL_OK;
}

int vaccel_tf_node_new(struct vaccel_tf_node **node, const char *name, int id)
{
	if (node == nullptr)
		return VACCEL_EINVAL;
	auto *n = alloc_zeroed<vaccel_tf_node>();
	if (n == nullptr)
		return VACCEL_ENOMEM;
	if (int rc = vaccel_tf_node_init(n, name, id); rc != VACCEL_OK) {
		std::free(n);
		return rc;
	}
	*node = n;
	return VACCEL_OK;
}

int vaccel_tf_node_delete(struct vaccel_tf_node *node)
{
	if (int rc = vaccel_tf_node_release(node); rc != VACCEL_OK)
		return rc;
	std::free(node);
	return VACCEL_OK;
}

int vaccel_tf_tensor_init(struct vaccel_tf_tensor *tensor, int nr_dims,
			  const int64_t *dims, enum vaccel_tf_data_type type)
{
	return tensor_init(tensor, nr_dims, dims, type);
}

int vaccel_tf_tensor_release(struct vaccel_tf_tensor *tensor)
{
	return tensor_release(tensor);
}

int vaccel_tf_tensor_new(struct vaccel_tf_tensor **tensor, int nr_dims,
			 const int64_t *dims, enum vaccel_tf_data_type type)
{
	return tensor_allocate(tensor, nr_dims, dims, type, 0);
}

int vaccel_tf_tensor_allocate(struct vaccel_tf_tensor **tensor, int nr_dims,
			      const int64_t *dims,
			      enum vaccel_tf_data_type type, size_t total_size)
{
	return tensor_allocate(tensor, nr_dims, dims, type, total_size);
}

int vaccel_tf_tensor_delete(struct vaccel_tf_tensor *tensor)
{
	return tensor_delete(tensor);
}

int vaccel_tf_tensor_set_data(struct vaccel_tf_tensor *tensor, void *data,
			      size_t size)
{
	return tensor_set_data(tensor, data, size, "tf");
}

int vaccel_tf_tensor_take_data(struct vaccel_tf_tensor *tensor, void **data,
			       size_t *size)
{
	return tensor_take_data(tensor, data, size);
}

int vaccel_tf_status_init(struct vaccel_tf_status *status, uint8_t code,
			  const char *message)
{
	if (status == nullptr || message == nullptr)
		return VACCEL_EINVAL;
	char *copy = dup_string(message);
	if (copy == nullptr)
		return VACCEL_ENOMEM;
	status->code = code;
	status->message = copy;
	return VACCEL_OK;
}

int vaccel_tf_status_release(struct vaccel_tf_status *status)
{
	if (status == nullptr)
		return VACCEL_EINVAL;
	std::free(status->message);
	status->code = 0;
	status->message = nullptr;
	return VACCEL_OK;
}

int vaccel_tf_status_new(struct vaccel_tf_status **status, uint8_t code,
			 const char *message)
{
	if (status == nullptr)
		return VACCEL_EINVAL;
	auto *s = alloc_zeroed<vaccel_tf_status>();
	if (s == nullptr)
		return VACCEL_ENOMEM;
	if (int rc = vaccel_tf_status_init(s, code, message); rc != VACCEL_OK) {
		std::free(s);
		return rc;
	}
	*status = s;
	return VACCEL_OK;
}

int vaccel_tf_status_delete(struct vaccel_tf_status *status)
{
	if (int rc = vaccel_tf_status_release(status); rc != VACCEL_OK)
		return rc;
	std::free(status);
	return VACCEL_OK;
}

/* ---- TensorFlow Lite -------------------------------------------------------
 */

int vaccel_tflite_tensor_init(struct vaccel_tflite_tensor *tensor, int nr_dims,
			      const int32_t *dims,
			      enum vaccel_tflite_data_type type)
{
	return tensor_init(tensor, nr_dims, dims, type);
}

int vaccel_tflite_tensor_release(struct vaccel_tflite_tensor *tensor)
{
	return tensor_release(tensor);
}

int vaccel_tflite_tensor_new(struct vaccel_tflite_tensor **tensor, int nr_dims,
			     const int32_t *dims,
			     enum vaccel_tflite_data_type type)
{
	return tensor_allocate(tensor, nr_dims, dims, type, 0);
}

int vaccel_tflite_tensor_allocate(struct vaccel_tflite_tensor **tensor,
				  int nr_dims, const int32_t *dims,
				  enum vaccel_tflite_data_type type,
				  size_t total_size)
{
	return tensor_allocate(tensor, nr_dims, dims, type, total_size);
}

int vaccel_tflite_tensor_delete(struct vaccel_tflite_tensor *tensor)
{
	return tensor_delete(tensor);
}

int vaccel_tflite_tensor_set_data(struct vaccel_tflite_tensor *tensor,
				  void *data, size_t size)
{
	return tensor_set_data(tensor, data, size, "tflite");
}

int vaccel_tflite_tensor_take_data(struct vaccel_tflite_tensor *tensor,
				   void **data, size_t *size)
{
	return tensor_take_data(tensor, data, size);
}

/* ---- Torch -----------------------------------------------------------------
 */

int vaccel_torch_buffer_init(struct vaccel_torch_buffer *buffer, char *data,
			     size_t size)
{
	return buffer_init(buffer, data, size);
}

int vaccel_torch_buffer_release(struct vaccel_torch_buffer *buffer)
{
	return buffer_release(buffer);
}

int vaccel_torch_buffer_new(struct vaccel_torch_buffer **buffer, char *data,
			    size_t size)
{
	return buffer_new(buffer, data, size);
}

int vaccel_torch_buffer_delete(struct vaccel_torch_buffer *buffer)
{
	return buffer_delete(buffer);
}

int vaccel_torch_buffer_take_data(struct vaccel_torch_buffer *buffer,
				  void **data, size_t *size)
{
	return buffer_take(buffer, data, size);
}

int vaccel_torch_tensor_init(struct vaccel_torch_tensor *tensor,
			     int64_t nr_dims, const int64_t *dims,
			     enum vaccel_torch_data_type type)
{
	return tensor_init(tensor, nr_dims, dims, type);
}

int vaccel_torch_tensor_release(struct vaccel_torch_tensor *tensor)
{
	return tensor_release(tensor);
}

int vaccel_torch_tensor_new(struct vaccel_torch_tensor **tensor,
			    int64_t nr_dims, const int64_t *dims,
			    enum vaccel_torch_data_type type)
{
	return tensor_allocate(tensor, nr_dims, dims, type, 0);
}

int vaccel_torch_tensor_allocate(struct vaccel_torch_tensor **tensor,
				 int64_t nr_dims, const int64_t *dims,
				 enum vaccel_torch_data_type type,
				 size_t total_size)
{
	return tensor_allocate(tensor, nr_dims, dims, type, total_size);
}

int vaccel_torch_tensor_delete(struct vaccel_torch_tensor *tensor)
{
	return tensor_delete(tensor);
}

int vaccel_torch_tensor_set_data(struct vaccel_torch_tensor *tensor, void *data,
				 size_t size)
{
	return tensor_set_data(tensor, data, size, "torch");
}

int vaccel_torch_tensor_take_data(struct vaccel_torch_tensor *tensor,
				  void **data, size_t *size)
{
	return tensor_take_data(tensor, data, size);
}

} // extern "C"
