// SPDX-License-Identifier: Apache-2.0
// Value helpers of the TensorFlow, TensorFlow Lite and Torch ops.
#include <vaccel.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace
{

void *malloc_bytes(size_t n, int fill)
{
	void *p = std::malloc(n);
	std::memset(p, fill, n);
	return p;
}

TEST(TfBuffer, OwnsAndReleasesData)
{
	vaccel_tf_buffer b{};
	ASSERT_EQ(vaccel_tf_buffer_init(&b, malloc_bytes(16, 1), 16),
		  VACCEL_OK);
	EXPECT_EQ(b.size, 16U);
	EXPECT_EQ(vaccel_tf_buffer_release(&b), VACCEL_OK); // frees the data
	EXPECT_EQ(b.data, nullptr);
	EXPECT_EQ(b.size, 0U);
	EXPECT_EQ(vaccel_tf_buffer_release(&b), VACCEL_OK);
	EXPECT_EQ(vaccel_tf_buffer_init(nullptr, nullptr, 0), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_buffer_release(nullptr), VACCEL_EINVAL);
}

TEST(TfBuffer, TakeDataHandsOwnershipBack)
{
	vaccel_tf_buffer *b = nullptr;
	void *data = malloc_bytes(8, 2);
	ASSERT_EQ(vaccel_tf_buffer_new(&b, data, 8), VACCEL_OK);
	void *out = nullptr;
	size_t size = 0;
	EXPECT_EQ(vaccel_tf_buffer_take_data(b, &out, nullptr), VACCEL_EINVAL);
	ASSERT_EQ(vaccel_tf_buffer_take_data(b, &out, &size), VACCEL_OK);
	EXPECT_EQ(out, data);
	EXPECT_EQ(size, 8U);
	EXPECT_EQ(b->data, nullptr);
	EXPECT_EQ(vaccel_tf_buffer_delete(b), VACCEL_OK);
	std::free(out);
	EXPECT_EQ(vaccel_tf_buffer_new(nullptr, nullptr, 0), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_buffer_delete(nullptr), VACCEL_EINVAL);
}

TEST(TfNode, CopiesName)
{
	char name[] = "serving_default_input";
	vaccel_tf_node n{};
	ASSERT_EQ(vaccel_tf_node_init(&n, name, 3), VACCEL_OK);
	EXPECT_NE(n.name, name);
	EXPECT_STREQ(n.name, name);
	EXPECT_EQ(n.id, 3);
	EXPECT_EQ(vaccel_tf_node_release(&n), VACCEL_OK);
	EXPECT_EQ(n.name, nullptr);
	EXPECT_EQ(n.id, -1);
	EXPECT_EQ(vaccel_tf_node_init(&n, nullptr, 0), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_node_init(nullptr, "x", 0), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_node_release(nullptr), VACCEL_EINVAL);

	vaccel_tf_node *p = nullptr;
	ASSERT_EQ(vaccel_tf_node_new(&p, "out", 0), VACCEL_OK);
	EXPECT_EQ(vaccel_tf_node_delete(p), VACCEL_OK);
	p = nullptr;
	EXPECT_EQ(vaccel_tf_node_new(&p, nullptr, 0), VACCEL_EINVAL);
	EXPECT_EQ(p, nullptr);
	EXPECT_EQ(vaccel_tf_node_delete(nullptr), VACCEL_EINVAL);
}

TEST(TfTensor, InitCopiesDims)
{
	const int64_t dims[3] = {1, 224, 3};
	vaccel_tf_tensor t{};
	ASSERT_EQ(vaccel_tf_tensor_init(&t, 3, dims, VACCEL_TF_FLOAT),
		  VACCEL_OK);
	EXPECT_EQ(t.nr_dims, 3);
	EXPECT_NE(t.dims, dims);
	EXPECT_EQ(t.dims[1], 224);
	EXPECT_EQ(t.data, nullptr);
	EXPECT_FALSE(t.owned);
	EXPECT_EQ(t.data_type, VACCEL_TF_FLOAT);
	EXPECT_EQ(vaccel_tf_tensor_release(&t), VACCEL_OK);
	EXPECT_EQ(t.dims, nullptr);

	ASSERT_EQ(vaccel_tf_tensor_init(&t, 2, nullptr, VACCEL_TF_INT8),
		  VACCEL_OK);
	EXPECT_EQ(t.dims[0], 0);
	EXPECT_EQ(vaccel_tf_tensor_release(&t), VACCEL_OK);

	EXPECT_EQ(vaccel_tf_tensor_init(&t, 0, dims, VACCEL_TF_FLOAT),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_tensor_init(&t, -2, dims, VACCEL_TF_FLOAT),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_tensor_init(nullptr, 1, dims, VACCEL_TF_FLOAT),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_tensor_release(nullptr), VACCEL_EINVAL);
}

TEST(TfTensor, AllocateSetTakeData)
{
	const int64_t dims[2] = {2, 2};
	vaccel_tf_tensor *t = nullptr;
	ASSERT_EQ(vaccel_tf_tensor_allocate(&t, 2, dims, VACCEL_TF_FLOAT, 16),
		  VACCEL_OK);
	ASSERT_NE(t->data, nullptr);
	EXPECT_TRUE(t->owned);
	EXPECT_EQ(t->size, 16U);
	EXPECT_EQ(static_cast<uint8_t *>(t->data)[15], 0);

	void *data = nullptr;
	size_t size = 0;
	ASSERT_EQ(vaccel_tf_tensor_take_data(t, &data, &size), VACCEL_OK);
	EXPECT_EQ(size, 16U);
	EXPECT_FALSE(t->owned);
	EXPECT_EQ(t->data, nullptr);

	float mine[4] = {1, 2, 3, 4};
	ASSERT_EQ(vaccel_tf_tensor_set_data(t, mine, sizeof(mine)), VACCEL_OK);
	EXPECT_EQ(t->data, mine);
	EXPECT_FALSE(t->owned);
	EXPECT_EQ(vaccel_tf_tensor_delete(t), VACCEL_OK); // mine not freed
	std::free(data);

	ASSERT_EQ(vaccel_tf_tensor_allocate(&t, 1, dims, VACCEL_TF_FLOAT, 0),
		  VACCEL_OK);
	EXPECT_EQ(t->data, nullptr);
	EXPECT_EQ(vaccel_tf_tensor_delete(t), VACCEL_OK);

	t = nullptr;
	EXPECT_EQ(vaccel_tf_tensor_new(&t, 0, dims, VACCEL_TF_FLOAT),
		  VACCEL_EINVAL);
	EXPECT_EQ(t, nullptr);
	EXPECT_EQ(vaccel_tf_tensor_new(nullptr, 1, dims, VACCEL_TF_FLOAT),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_tensor_set_data(nullptr, mine, 4), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_tensor_take_data(nullptr, &data, &size),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_tensor_delete(nullptr), VACCEL_EINVAL);
}

TEST(TfStatus, CopiesMessage)
{
	vaccel_tf_status s{};
	ASSERT_EQ(vaccel_tf_status_init(&s, 3, "bad input"), VACCEL_OK);
	EXPECT_EQ(s.code, 3);
	EXPECT_STREQ(s.message, "bad input");
	EXPECT_EQ(vaccel_tf_status_release(&s), VACCEL_OK);
	EXPECT_EQ(s.message, nullptr);
	EXPECT_EQ(s.code, 0);
	EXPECT_EQ(vaccel_tf_status_init(&s, 0, nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_status_release(nullptr), VACCEL_EINVAL);

	vaccel_tf_status *p = nullptr;
	ASSERT_EQ(vaccel_tf_status_new(&p, 1, "ok"), VACCEL_OK);
	EXPECT_EQ(vaccel_tf_status_delete(p), VACCEL_OK);
	EXPECT_EQ(vaccel_tf_status_new(&p, 1, nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_status_new(nullptr, 1, "x"), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tf_status_delete(nullptr), VACCEL_EINVAL);
}

TEST(TfliteTensor, Lifecycle)
{
	const int32_t dims[2] = {1, 10};
	vaccel_tflite_tensor t{};
	ASSERT_EQ(vaccel_tflite_tensor_init(&t, 2, dims, VACCEL_TFLITE_FLOAT32),
		  VACCEL_OK);
	EXPECT_EQ(t.dims[1], 10);
	EXPECT_EQ(t.data_type, VACCEL_TFLITE_FLOAT32);
	EXPECT_EQ(vaccel_tflite_tensor_release(&t), VACCEL_OK);
	EXPECT_EQ(vaccel_tflite_tensor_init(&t, 0, dims, VACCEL_TFLITE_INT8),
		  VACCEL_EINVAL);

	vaccel_tflite_tensor *p = nullptr;
	ASSERT_EQ(vaccel_tflite_tensor_allocate(&p, 2, dims,
						VACCEL_TFLITE_FLOAT32, 40),
		  VACCEL_OK);
	EXPECT_TRUE(p->owned);
	void *data = nullptr;
	size_t size = 0;
	ASSERT_EQ(vaccel_tflite_tensor_take_data(p, &data, &size), VACCEL_OK);
	EXPECT_EQ(size, 40U);
	ASSERT_EQ(vaccel_tflite_tensor_set_data(p, data, size), VACCEL_OK);
	EXPECT_FALSE(p->owned);
	EXPECT_EQ(vaccel_tflite_tensor_delete(p), VACCEL_OK);
	std::free(data);

	ASSERT_EQ(vaccel_tflite_tensor_new(&p, 1, nullptr, VACCEL_TFLITE_BOOL),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_tflite_tensor_delete(p), VACCEL_OK);
	EXPECT_EQ(
	    vaccel_tflite_tensor_new(nullptr, 1, dims, VACCEL_TFLITE_BOOL),
	    VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tflite_tensor_take_data(nullptr, &data, &size),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_tflite_tensor_delete(nullptr), VACCEL_EINVAL);
}

TEST(TorchBuffer, Lifecycle)
{
	vaccel_torch_buffer b{};
	ASSERT_EQ(vaccel_torch_buffer_init(
		      &b, static_cast<char *>(malloc_bytes(4, 'a')), 4),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_torch_buffer_release(&b), VACCEL_OK);
	EXPECT_EQ(vaccel_torch_buffer_init(nullptr, nullptr, 0), VACCEL_EINVAL);

	vaccel_torch_buffer *p = nullptr;
	char *data = static_cast<char *>(malloc_bytes(4, 'b'));
	ASSERT_EQ(vaccel_torch_buffer_new(&p, data, 4), VACCEL_OK);
	void *out = nullptr;
	size_t size = 0;
	ASSERT_EQ(vaccel_torch_buffer_take_data(p, &out, &size), VACCEL_OK);
	EXPECT_EQ(out, data);
	EXPECT_EQ(vaccel_torch_buffer_delete(p), VACCEL_OK);
	std::free(out);
	EXPECT_EQ(vaccel_torch_buffer_take_data(nullptr, &out, &size),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_torch_buffer_delete(nullptr), VACCEL_EINVAL);
}

TEST(TorchTensor, Lifecycle)
{
	const int64_t dims[4] = {1, 3, 224, 224};
	vaccel_torch_tensor t{};
	ASSERT_EQ(vaccel_torch_tensor_init(&t, 4, dims, VACCEL_TORCH_FLOAT),
		  VACCEL_OK);
	EXPECT_EQ(t.nr_dims, 4);
	EXPECT_EQ(t.dims[3], 224);
	EXPECT_EQ(vaccel_torch_tensor_release(&t), VACCEL_OK);
	EXPECT_EQ(vaccel_torch_tensor_init(&t, 0, dims, VACCEL_TORCH_FLOAT),
		  VACCEL_EINVAL);

	vaccel_torch_tensor *p = nullptr;
	ASSERT_EQ(
	    vaccel_torch_tensor_allocate(&p, 4, dims, VACCEL_TORCH_FLOAT, 64),
	    VACCEL_OK);
	EXPECT_TRUE(p->owned);
	EXPECT_EQ(p->size, 64U);
	float mine[2] = {};
	// Replacing owned data: the old bytes are taken first, so no leak.
	void *old = nullptr;
	size_t size = 0;
	ASSERT_EQ(vaccel_torch_tensor_take_data(p, &old, &size), VACCEL_OK);
	ASSERT_EQ(vaccel_torch_tensor_set_data(p, mine, sizeof(mine)),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_torch_tensor_delete(p), VACCEL_OK);
	std::free(old);

	ASSERT_EQ(vaccel_torch_tensor_new(&p, 1, nullptr, VACCEL_TORCH_INT),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_torch_tensor_delete(p), VACCEL_OK);
	EXPECT_EQ(vaccel_torch_tensor_new(nullptr, 1, dims, VACCEL_TORCH_INT),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_torch_tensor_set_data(nullptr, mine, 1),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_torch_tensor_delete(nullptr), VACCEL_EINVAL);
}

TEST(DataTypes, UpstreamNumbers)
{
	EXPECT_EQ(VACCEL_TF_FLOAT, 1);
	EXPECT_EQ(VACCEL_TF_COMPLEX, VACCEL_TF_COMPLEX64);
	EXPECT_EQ(VACCEL_TF_UINT64, 23);
	EXPECT_EQ(VACCEL_TFLITE_NOTYPE, 0);
	EXPECT_EQ(VACCEL_TFLITE_INT4, 18);
	EXPECT_EQ(VACCEL_TORCH_BYTE, 1);
	EXPECT_EQ(VACCEL_TORCH_FLOAT, 7);
}

} // namespace
