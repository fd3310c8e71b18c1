// SPDX-License-Identifier: Apache-2.0
// vaccel_str_to_lower() and the enum string helpers built on it.
#include <vaccel.h>

#include <gtest/gtest.h>

#include <cstdlib>

namespace
{

TEST(StrToLower, IntoBuffer)
{
	char buf[32];
	ASSERT_EQ(
	    vaccel_str_to_lower("IMAGE_Classify", buf, sizeof(buf), nullptr),
	    VACCEL_OK);
	EXPECT_STREQ(buf, "image_classify");
	ASSERT_EQ(vaccel_str_to_lower("", buf, sizeof(buf), nullptr),
		  VACCEL_OK);
	EXPECT_STREQ(buf, "");
}

// Upstream parity: a short buffer gets the terminated prefix and the call
// succeeds (it returned VACCEL_ENAMETOOLONG here before).
TEST(StrToLower, TruncatesAndSucceeds)
{
	char buf[4];
	EXPECT_EQ(vaccel_str_to_lower("ABCDEF", buf, sizeof(buf), nullptr),
		  VACCEL_OK);
	EXPECT_STREQ(buf, "abc");
	char exact[4];
	EXPECT_EQ(vaccel_str_to_lower("ABC", exact, sizeof(exact), nullptr),
		  VACCEL_OK);
	EXPECT_STREQ(exact, "abc");
}

TEST(StrToLower, Allocating)
{
	char *out = nullptr;
	ASSERT_EQ(vaccel_str_to_lower("MiXeD-123", nullptr, 0, &out),
		  VACCEL_OK);
	EXPECT_STREQ(out, "mixed-123");
	std::free(out);
}

// Upstream parity: given both outputs, the allocation is made and the
// buffer left alone.
TEST(StrToLower, AllocationWinsOverBuffer)
{
	char buf[8] = "keep";
	char *out = nullptr;
	ASSERT_EQ(vaccel_str_to_lower("ABC", buf, sizeof(buf), &out),
		  VACCEL_OK);
	EXPECT_STREQ(out, "abc");
	EXPECT_STREQ(buf, "keep");
	std::free(out);
}

TEST(StrToLower, Errors)
{
	char buf[8];
	char *out = nullptr;
	EXPECT_EQ(vaccel_str_to_lower(nullptr, buf, sizeof(buf), nullptr),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_str_to_lower("A", nullptr, 0, nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_str_to_lower("A", buf, 0, nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_str_to_lower(nullptr, nullptr, 0, &out),
		  VACCEL_EINVAL);
	EXPECT_EQ(out, nullptr);
}

TEST(EnumStrings, ArgAndOpNames)
{
	EXPECT_STREQ(vaccel_arg_type_to_str(VACCEL_ARG_FLOAT32_ARRAY),
		     "VACCEL_ARG_FLOAT32_ARRAY");
	EXPECT_STREQ(vaccel_arg_type_to_base_str(VACCEL_ARG_CUSTOM), "CUSTOM");
	char name[VACCEL_ENUM_STR_MAX];
	EXPECT_STREQ(
	    vaccel_arg_type_name(VACCEL_ARG_UCHAR_ARRAY, name, sizeof(name)),
	    "uchar_array");
	EXPECT_STREQ(
	    vaccel_op_type_to_lower(VACCEL_OP_BLAS_SGEMM, name, sizeof(name)),
	    "blas_sgemm");
	EXPECT_EQ(VACCEL_ARG_RAW, 0);
	EXPECT_EQ(VACCEL_ARG_UCHAR_ARRAY, 26);
	EXPECT_EQ(VACCEL_ARG_CUSTOM, 29);
	EXPECT_EQ(VACCEL_ARG_MAX, 30);
}

} // namespace
