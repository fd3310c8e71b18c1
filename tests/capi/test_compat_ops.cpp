// SPDX-License-Identifier: Apache-2.0
// Upstream's exported op helpers (vaccel/compat/ops.h): each unpacker
// checks its args as vaccel_genop() does, without the op-type arg, before
// any op runs; vaccel_image_op() serves the image ops only. No plugin is
// needed: with none loaded, a well-formed call reaches the op and fails
// there.
#include <vaccel.h>
#include <vaccel/compat/ops.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace
{

bool last_error_mentions(const char *what)
{
	return std::string(vaccel_last_error()).find(what) != std::string::npos;
}

vaccel_arg arg(void *buf, size_t size, vaccel_arg_type_t type)
{
	return {buf, size, type, 0, false};
}

TEST(CompatOps, NoopUnpackerTakesNoArgs)
{
	uint8_t byte = 0;
	vaccel_arg extra = arg(&byte, 1, VACCEL_ARG_UINT8);
	EXPECT_EQ(vaccel_noop_unpack(nullptr, &extra, 1, nullptr, 0),
		  VACCEL_EINVAL);
	EXPECT_TRUE(last_error_mentions("expects 0 read args"));
	// Well formed: reaches vaccel_noop(), which wants a session.
	EXPECT_EQ(vaccel_noop_unpack(nullptr, nullptr, 0, nullptr, 0),
		  VACCEL_EINVAL);
}

TEST(CompatOps, UnpackersCheckArgLists)
{
	// A count with no array is refused before any op-specific check.
	EXPECT_EQ(vaccel_sgemm_unpack(nullptr, nullptr, 3, nullptr, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_exec_unpack(nullptr, nullptr, 0, nullptr, 2),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax_unpack(nullptr, nullptr, 0, nullptr, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_vadd_unpack(nullptr, nullptr, 0, nullptr, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_arraycopy_unpack(nullptr, nullptr, 0, nullptr, 0),
		  VACCEL_EINVAL);
}

TEST(CompatOps, ImageUnpackerWantsItsArgs)
{
	unsigned char img[4] = {};
	unsigned char out[8] = {};
	vaccel_arg read = arg(img, sizeof(img), VACCEL_ARG_BUFFER);
	vaccel_arg write = arg(out, sizeof(out), VACCEL_ARG_UCHAR_ARRAY);
	// Detection writes one output, not none.
	EXPECT_EQ(vaccel_image_detection_unpack(nullptr, &read, 1, nullptr, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_image_op_unpack(VACCEL_OP_NOOP, nullptr, &read, 1, 1,
					 &write, 1, 1),
		  VACCEL_EINVAL);
	EXPECT_TRUE(last_error_mentions("not an image op"));
	EXPECT_EQ(vaccel_image_op_unpack(VACCEL_OP_IMAGE_DEPTH, nullptr, &read,
					 1, 2, &write, 1, 1),
		  VACCEL_EINVAL);
}

TEST(CompatOps, ImageOpServesImageOpsOnly)
{
	unsigned char img[4] = {};
	unsigned char text[8] = {};
	unsigned char name[8] = {};
	EXPECT_EQ(vaccel_image_op(VACCEL_OP_BLAS_SGEMM, nullptr, img, text,
				  name, sizeof(img), sizeof(text),
				  sizeof(name)),
		  VACCEL_ENOTSUP);
	EXPECT_EQ(
	    vaccel_image_op(VACCEL_OP_IMAGE_CLASSIFY, nullptr, img, text, name,
			    sizeof(img), sizeof(text), sizeof(name)),
	    vaccel_image_classification(nullptr, img, text, name, sizeof(img),
					sizeof(text), sizeof(name)));
	EXPECT_EQ(
	    vaccel_image_op(VACCEL_OP_IMAGE_POSE, nullptr, img, nullptr, name,
			    sizeof(img), 0, sizeof(name)),
	    vaccel_image_pose(nullptr, img, name, sizeof(img), sizeof(name)));
}

} // namespace
