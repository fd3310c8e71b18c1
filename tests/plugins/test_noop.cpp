// SPDX-License-Identifier: Apache-2.0
// The noop plugin: every op succeeds with upstream's dummy outputs, and
// never writes outside the buffers it is given.
#include "plugin_test.h"

#include <array>
#include <cstring>
#include <string>
#include <vector>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace
{

using vaccel_test::PluginTest;

constexpr const char *kTag = "This is a dummy classification tag!";
constexpr const char *kImgname = "This is a dummy imgname!";
constexpr const char *kTfMessage = "Operation handled by noop plugin";
const std::string kModelPath = std::string(TEST_DATA_DIR) + "/cnn_trace.pt";

class NoopTest : public PluginTest
{
protected:
	NoopTest() : PluginTest(TEST_NOOP_PLUGIN) {}

	const unsigned char image_[4] = {1, 2, 3, 4};
};

TEST_F(NoopTest, DescribesItself)
{
	vaccel_plugin_desc d{};
	d.struct_size = sizeof(d);
	ASSERT_EQ(vaccel_plugin_describe(0, &d), VACCEL_OK);
	EXPECT_STREQ(d.name, "noop");
	EXPECT_EQ(d.type, static_cast<unsigned>(VACCEL_PLUGIN_DEBUG));
	// every op type
	EXPECT_EQ(d.ops_mask, (uint64_t{1} << VACCEL_OP_MAX) - 1);
}

TEST_F(NoopTest, Noop)
{
	EXPECT_EQ(vaccel_noop(&sess_), VACCEL_OK);
}

TEST_F(NoopTest, ClassifyReturnsDummyTagAndImgname)
{
	unsigned char text[128] = {};
	unsigned char name[128] = {};
	ASSERT_EQ(vaccel_image_classification(&sess_, image_, text, name,
					      sizeof(image_), sizeof(text),
					      sizeof(name)),
		  VACCEL_OK);
	EXPECT_STREQ(reinterpret_cast<char *>(text), kTag);
	EXPECT_STREQ(reinterpret_cast<char *>(name), kImgname);
}

TEST_F(NoopTest, ClassifyWithModelResource)
{
	vaccel_resource model{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&model, kModelPath, VACCEL_RESOURCE_MODEL));
	unsigned char text[128] = {};
	EXPECT_EQ(vaccel_image_classification(&sess_, image_, text, nullptr,
					      sizeof(image_), sizeof(text), 0),
		  VACCEL_OK);
	EXPECT_STREQ(reinterpret_cast<char *>(text), kTag);
	release(&model);
}

TEST_F(NoopTest, ClassifyTruncatesToBufferLength)
{
	// 8 usable bytes followed by guard bytes that must stay untouched
	std::array<unsigned char, 16> text;
	text.fill(0xAA);
	ASSERT_EQ(vaccel_image_classification(&sess_, image_, text.data(),
					      nullptr, sizeof(image_), 8, 0),
		  VACCEL_OK);
	EXPECT_STREQ(reinterpret_cast<char *>(text.data()), "This is");
	for (size_t i = 8; i < text.size(); i++)
		EXPECT_EQ(text[i], 0xAA) << "byte " << i;
}

TEST_F(NoopTest, ClassifyZeroLengthOutputsAreNotWritten)
{
	unsigned char text[4] = {'x', 'x', 'x', 'x'};
	unsigned char name[4] = {'y', 'y', 'y', 'y'};
	ASSERT_EQ(vaccel_image_classification(&sess_, image_, text, name,
					      sizeof(image_), 0, 0),
		  VACCEL_OK);
	EXPECT_EQ(text[0], 'x');
	EXPECT_EQ(name[0], 'y');
}

TEST_F(NoopTest, ClassifyNullImageIsInvalid)
{
	unsigned char text[64] = {};
	EXPECT_EQ(vaccel_image_classification(&sess_, nullptr, text, nullptr, 0,
					      sizeof(text), 0),
		  VACCEL_EINVAL);
}

TEST_F(NoopTest, ImageOpsReturnDummyImgname)
{
	using image_fn = int (*)(vaccel_session *, const void *,
				 unsigned char *, size_t, size_t);
	const std::array<std::pair<const char *, image_fn>, 4> ops = {{
	    {"detection", vaccel_image_detection},
	    {"segmentation", vaccel_image_segmentation},
	    {"pose", vaccel_image_pose},
	    {"depth", vaccel_image_depth},
	}};
	for (const auto &[what, fn] : ops) {
		unsigned char name[64] = {};
		EXPECT_EQ(
		    fn(&sess_, image_, name, sizeof(image_), sizeof(name)),
		    VACCEL_OK)
		    << what;
		EXPECT_STREQ(reinterpret_cast<char *>(name), kImgname) << what;
		EXPECT_EQ(fn(&sess_, nullptr, name, 0, sizeof(name)),
			  VACCEL_EINVAL)
		    << what;
		// a NULL output is skipped, not written
		EXPECT_EQ(fn(&sess_, image_, nullptr, sizeof(image_), 64),
			  VACCEL_OK)
		    << what;
	}
}

TEST_F(NoopTest, ExecCopiesIntInputToOutput)
{
	int32_t in = 10;
	int32_t out = 0;
	vaccel_arg read = i32_arg(&in);
	vaccel_arg write = i32_arg(&out);
	ASSERT_EQ(
	    vaccel_exec(&sess_, "libwhatever.so", "fn", &read, 1, &write, 1),
	    VACCEL_OK);
	EXPECT_EQ(out, 10);
}

TEST_F(NoopTest, ExecLeavesMismatchedOutputAlone)
{
	int32_t in = 10;
	int64_t out = -1;
	vaccel_arg read = i32_arg(&in);
	vaccel_arg write{};
	write.buf = &out;
	write.size = sizeof(out);
	write.type = VACCEL_ARG_INT64;
	ASSERT_EQ(vaccel_exec(&sess_, "lib.so", "fn", &read, 1, &write, 1),
		  VACCEL_OK);
	EXPECT_EQ(out, -1);

	// no outputs at all
	EXPECT_EQ(vaccel_exec(&sess_, "lib.so", "fn", &read, 1, nullptr, 0),
		  VACCEL_OK);
}

TEST_F(NoopTest, ExecNeedsLibraryAndSymbol)
{
	EXPECT_EQ(vaccel_exec(&sess_, nullptr, "fn", nullptr, 0, nullptr, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_exec(&sess_, "lib.so", nullptr, nullptr, 0, nullptr, 0),
	    VACCEL_EINVAL);
}

TEST_F(NoopTest, ExecWithResourceCopiesIntInputToOutput)
{
	vaccel_resource lib{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&lib, kModelPath, VACCEL_RESOURCE_LIB));
	int32_t in = 7;
	int32_t out = 0;
	vaccel_arg read = i32_arg(&in);
	vaccel_arg write = i32_arg(&out);
	EXPECT_EQ(
	    vaccel_exec_with_resource(&sess_, &lib, "fn", &read, 1, &write, 1),
	    VACCEL_OK);
	EXPECT_EQ(out, 7);
	release(&lib);
}

TEST_F(NoopTest, SgemmSucceedsWithoutTouchingC)
{
	std::vector<float> a(4, 1.0F);
	std::vector<float> b(4, 2.0F);
	std::vector<float> c(4, 3.0F);
	ASSERT_EQ(vaccel_sgemm(&sess_, 2, 2, 2, 1.0F, a.data(), 2, b.data(), 2,
			       0.0F, c.data(), 2),
		  VACCEL_OK);
	EXPECT_EQ(c, std::vector<float>(4, 3.0F));
}

TEST_F(NoopTest, MinmaxReturnsDummyBoundsAndCopiesData)
{
	const std::vector<double> in = {3.0, -7.5, 12.25};
	std::vector<double> out(in.size(), 0.0);
	double min = 0;
	double max = 0;
	ASSERT_EQ(vaccel_minmax(&sess_, in.data(), static_cast<int>(in.size()),
				5, 100, out.data(), &min, &max),
		  VACCEL_OK);
	EXPECT_EQ(min, -1.0);
	EXPECT_EQ(max, 10000.0);
	EXPECT_EQ(out, in);

	EXPECT_EQ(vaccel_minmax(&sess_, in.data(), 3, 5, 100, out.data(),
				nullptr, &max),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax(&sess_, in.data(), -1, 5, 100, out.data(), &min,
				&max),
		  VACCEL_EINVAL);
}

TEST_F(NoopTest, FpgaOpsReturnDummyResults)
{
	int ia[3] = {1, 2, 3};
	int iout[3] = {};
	ASSERT_EQ(vaccel_fpga_arraycopy(&sess_, ia, iout, 3), VACCEL_OK);
	EXPECT_EQ(std::memcmp(ia, iout, sizeof(ia)), 0);

	float a[3] = {1, 2, 3};
	float b[3] = {10, 20, 30};
	float c[3] = {};
	ASSERT_EQ(vaccel_fpga_mmult(&sess_, a, b, c, 3), VACCEL_OK);
	for (float v : c)
		EXPECT_FLOAT_EQ(v, 9.1F);

	float add[3] = {};
	float mult[3] = {};
	ASSERT_EQ(vaccel_fpga_parallel(&sess_, a, b, add, mult, 3), VACCEL_OK);
	for (int i = 0; i < 3; i++) {
		EXPECT_FLOAT_EQ(add[i], a[i] + b[i]);
		EXPECT_FLOAT_EQ(mult[i], 1.0F);
	}

	float sum[3] = {};
	ASSERT_EQ(vaccel_fpga_vadd(&sess_, a, b, sum, 3, 3), VACCEL_OK);
	for (int i = 0; i < 3; i++)
		EXPECT_FLOAT_EQ(sum[i], a[i] + b[i]);

	EXPECT_EQ(vaccel_fpga_mmult(&sess_, a, b, nullptr, 3), VACCEL_EINVAL);
}

TEST_F(NoopTest, TfModelOpsReportStatus)
{
	vaccel_resource model{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&model, kModelPath, VACCEL_RESOURCE_MODEL));

	vaccel_tf_status status{};
	ASSERT_EQ(vaccel_tf_model_load(&sess_, &model, &status), VACCEL_OK);
	EXPECT_EQ(status.code, 0);
	EXPECT_STREQ(status.message, kTfMessage);
	vaccel_tf_status_release(&status);

	const int64_t dims[] = {1, 3};
	vaccel_tf_tensor *in = nullptr;
	ASSERT_EQ(vaccel_tf_tensor_allocate(&in, 2, dims, VACCEL_TF_FLOAT,
					    3 * sizeof(float)),
		  VACCEL_OK);
	const float values[3] = {1.5F, 2.5F, 3.5F};
	std::memcpy(in->data, values, sizeof(values));

	vaccel_tf_node in_node{};
	vaccel_tf_node out_node{};
	ASSERT_EQ(vaccel_tf_node_init(&in_node, "in", 0), VACCEL_OK);
	ASSERT_EQ(vaccel_tf_node_init(&out_node, "out", 0), VACCEL_OK);
	vaccel_tf_tensor *out = nullptr;
	vaccel_tf_status run_status{};
	ASSERT_EQ(vaccel_tf_model_run(&sess_, &model, nullptr, &in_node, &in, 1,
				      &out_node, &out, 1, &run_status),
		  VACCEL_OK);
	ASSERT_NE(out, nullptr);
	EXPECT_EQ(out->nr_dims, 2);
	EXPECT_EQ(out->dims[0], 1);
	EXPECT_EQ(out->dims[1], 3);
	EXPECT_EQ(out->data_type, VACCEL_TF_FLOAT);
	ASSERT_EQ(out->size, sizeof(values));
	EXPECT_EQ(std::memcmp(out->data, values, sizeof(values)), 0);
	EXPECT_STREQ(run_status.message, kTfMessage);
	EXPECT_EQ(vaccel_tf_tensor_delete(out), VACCEL_OK);
	vaccel_tf_status_release(&run_status);

	// more outputs than inputs: refused, nothing allocated
	vaccel_tf_tensor *outs[2] = {nullptr, nullptr};
	vaccel_tf_node out_nodes[2] = {out_node, out_node};
	EXPECT_EQ(vaccel_tf_model_run(&sess_, &model, nullptr, &in_node, &in, 1,
				      out_nodes, outs, 2, nullptr),
		  VACCEL_EINVAL);

	vaccel_tf_status unload{};
	EXPECT_EQ(vaccel_tf_model_unload(&sess_, &model, &unload), VACCEL_OK);
	EXPECT_STREQ(unload.message, kTfMessage);
	vaccel_tf_status_release(&unload);

	vaccel_tf_node_release(&in_node);
	vaccel_tf_node_release(&out_node);
	vaccel_tf_tensor_delete(in);
	release(&model);
}

TEST_F(NoopTest, TfliteRunCopiesInputs)
{
	vaccel_resource model{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&model, kModelPath, VACCEL_RESOURCE_MODEL));
	ASSERT_EQ(vaccel_tflite_model_load(&sess_, &model), VACCEL_OK);

	const int32_t dims[] = {1, 2, 2, 1};
	vaccel_tflite_tensor *in = nullptr;
	ASSERT_EQ(vaccel_tflite_tensor_allocate(
		      &in, 4, dims, VACCEL_TFLITE_FLOAT32, 4 * sizeof(float)),
		  VACCEL_OK);
	const float values[4] = {1, 2, 3, 4};
	std::memcpy(in->data, values, sizeof(values));

	vaccel_tflite_tensor *out = nullptr;
	uint8_t status = 0xFF;
	ASSERT_EQ(
	    vaccel_tflite_model_run(&sess_, &model, &in, 1, &out, 1, &status),
	    VACCEL_OK);
	EXPECT_EQ(status, 0);
	ASSERT_NE(out, nullptr);
	EXPECT_EQ(out->nr_dims, 4);
	EXPECT_EQ(out->data_type, VACCEL_TFLITE_FLOAT32);
	ASSERT_EQ(out->size, sizeof(values));
	EXPECT_EQ(std::memcmp(out->data, values, sizeof(values)), 0);
	EXPECT_EQ(vaccel_tflite_tensor_delete(out), VACCEL_OK);

	EXPECT_EQ(vaccel_tflite_model_unload(&sess_, &model), VACCEL_OK);
	vaccel_tflite_tensor_delete(in);
	release(&model);
}

TEST_F(NoopTest, TorchOpsCopyInputs)
{
	vaccel_resource model{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&model, kModelPath, VACCEL_RESOURCE_MODEL));
	ASSERT_EQ(vaccel_torch_model_load(&sess_, &model), VACCEL_OK);

	const int64_t dims[] = {1, 3, 2, 2};
	vaccel_torch_tensor *in = nullptr;
	ASSERT_EQ(vaccel_torch_tensor_allocate(&in, 4, dims, VACCEL_TORCH_FLOAT,
					       12 * sizeof(float)),
		  VACCEL_OK);
	for (int i = 0; i < 12; i++)
		static_cast<float *>(in->data)[i] = static_cast<float>(i);

	vaccel_torch_tensor *out = nullptr;
	ASSERT_EQ(
	    vaccel_torch_model_run(&sess_, &model, nullptr, &in, 1, &out, 1),
	    VACCEL_OK);
	ASSERT_NE(out, nullptr);
	EXPECT_EQ(out->nr_dims, 4);
	EXPECT_EQ(out->dims[1], 3);
	EXPECT_EQ(out->data_type, VACCEL_TORCH_FLOAT);
	ASSERT_EQ(out->size, in->size);
	EXPECT_EQ(std::memcmp(out->data, in->data, in->size), 0);
	EXPECT_EQ(vaccel_torch_tensor_delete(out), VACCEL_OK);

	vaccel_torch_tensor *ta = in;
	EXPECT_EQ(vaccel_torch_sgemm(&sess_, &ta, &ta, &ta, 1, 1, 1, &out),
		  VACCEL_OK);

	vaccel_torch_tensor_delete(in);
	release(&model);
}

TEST_F(NoopTest, OpencvWritesSizeHeaderOnlyWhereItFits)
{
	uint8_t function = 3;
	vaccel_arg read{};
	read.buf = &function;
	read.size = sizeof(function);
	read.type = VACCEL_ARG_UINT8;

	std::array<float, 8> big{};
	uint8_t small[4] = {9, 9, 9, 9};
	vaccel_arg write[2] = {};
	write[0].buf = big.data();
	write[0].size = sizeof(big);
	write[1].buf = small;
	write[1].size = sizeof(small);

	ASSERT_EQ(vaccel_opencv(&sess_, &read, 1, write, 2), VACCEL_OK);
	size_t header = 0;
	std::memcpy(&header, big.data(), sizeof(header));
	EXPECT_EQ(header, big.size());
	EXPECT_EQ(small[0], 9); // too small for the header: untouched
}

} // namespace
