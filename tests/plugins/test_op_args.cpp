// SPDX-License-Identifier: Apache-2.0
// The argument rules the blas, cuda and opencl plugins share
// (plugins/common/op_args.h): each rule on its own, then every built one of
// those plugins refusing the same bad calls with VACCEL_EINVAL and the same
// reason (a plugin without a device checks its arguments all the same).
#include "../../plugins/common/op_args.h"

#include <gtest/gtest.h>
#include <vaccel.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace
{

namespace args = vaccel::op_args;

vaccel_session *fake_session()
{
	static vaccel_session s{};
	return &s;
}

TEST(OpArgs, SgemmSizesAndLeadingDimensions)
{
	vaccel_session *s = fake_session();
	float a[12] = {}, b[12] = {}, c[12] = {};
	EXPECT_TRUE(args::sgemm(s, 2, 3, 4, a, 4, b, 3, c, 3).ok());
	EXPECT_TRUE(args::sgemm(s, 2, 3, 4, a, 6, b, 5, c, 3).ok()); // padded
	EXPECT_EQ(args::sgemm(nullptr, 2, 3, 4, a, 4, b, 3, c, 3).why,
		  "session is NULL");
	EXPECT_EQ(args::sgemm(s, -1, 3, 4, a, 4, b, 3, c, 3).why,
		  "negative size (m -1, n 3, k 4)");
	EXPECT_EQ(args::sgemm(s, 2, 3, 4, a, 3, b, 3, c, 3).why,
		  "lda = 3 < max(1, 4) (the columns of a)");
	EXPECT_EQ(args::sgemm(s, 2, 3, 4, a, 4, b, 2, c, 3).why,
		  "ldb = 2 < max(1, 3) (the columns of b)");
	EXPECT_EQ(args::sgemm(s, 2, 3, 4, a, 4, b, 3, c, 0).why,
		  "ldc = 0 < max(1, 3) (the columns of c)");
	EXPECT_EQ(args::sgemm(s, 2, 3, 4, a, 4, nullptr, 3, c, 3).why,
		  "b is NULL but has 4 x 3 elements");
	EXPECT_EQ(args::sgemm(s, 2, 3, 4, a, 4, b, 3, c, 3, 3).why,
		  "size (m 2, n 3, k 4) is too large (max 3)");
	// No elements: no buffer needed, ld still at least 1.
	EXPECT_TRUE(
	    args::sgemm(s, 0, 0, 0, nullptr, 1, nullptr, 1, nullptr, 1).ok());
	EXPECT_FALSE(
	    args::sgemm(s, 0, 0, 0, nullptr, 0, nullptr, 1, nullptr, 1).ok());
	// A span whose bytes do not fit in size_t.
	const int64_t huge = std::numeric_limits<int64_t>::max() / 2;
	EXPECT_EQ(args::sgemm(s, 3, 1, 1, a, huge, b, 1, c, 1).why,
		  "a (3 x 1, ld " + std::to_string(huge) + ") is too large");
	args::SgemmSpans spans;
	ASSERT_TRUE(args::sgemm(s, 2, 3, 4, a, 6, b, 5, c, 3,
				std::numeric_limits<int64_t>::max(), &spans)
			.ok());
	EXPECT_EQ(spans.a, 10U); // (2 - 1) * 6 + 4
	EXPECT_EQ(spans.b, 18U); // (4 - 1) * 5 + 3
	EXPECT_EQ(spans.c, 6U);
}

TEST(OpArgs, ElementWiseOps)
{
	vaccel_session *s = fake_session();
	float a[4] = {}, b[4] = {}, c[4] = {};
	EXPECT_TRUE(args::vadd(s, a, b, c, 4, 4).ok());
	EXPECT_TRUE(args::vadd(s, nullptr, nullptr, nullptr, 0, 0).ok());
	EXPECT_EQ(args::vadd(s, a, b, c, 4, 3).why, "len_b 3 < len_a 4");
	EXPECT_EQ(args::vadd(s, a, nullptr, c, 4, 4).why,
		  "NULL array with 4 elements");
	EXPECT_EQ(args::elems(s, SIZE_MAX / 2, sizeof(float), {a}).why,
		  std::to_string(SIZE_MAX / 2) + " elements are too many");
	size_t side = 7;
	EXPECT_TRUE(args::mmult(s, a, b, c, 4, &side).ok());
	EXPECT_EQ(side, 2U);
	EXPECT_EQ(args::mmult(s, a, b, c, 3, &side).why,
		  "len_a 3 is not the size of a square matrix (n * n)");
	EXPECT_EQ(args::mmult(s, a, b, c, 4, &side, 1).why,
		  "2 x 2 matrices are too large");
	// Perfect squares near where a double's square root is inexact.
	const size_t big = size_t{4294967295} * 4294967295;
	EXPECT_EQ(args::square_side(big), 4294967295U);
	EXPECT_EQ(args::square_side(big - 1), 0U);
}

TEST(OpArgs, Minmax)
{
	vaccel_session *s = fake_session();
	double in[3] = {}, out[3] = {}, mn = 0, mx = 0;
	EXPECT_TRUE(args::minmax(s, in, 3, 0, 1, out, &mn, &mx).ok());
	EXPECT_EQ(args::minmax(s, in, 0, 0, 1, out, &mn, &mx).why,
		  "ndata 0 must be > 0");
	EXPECT_EQ(args::minmax(s, in, 3, 2, 1, out, &mn, &mx).why,
		  "low_threshold 2 > high_threshold 1");
	EXPECT_EQ(args::minmax(s, in, 3, 0, 1, out, nullptr, &mx).why,
		  "NULL session, data or result pointer");
}

// The reason a failed op gives, after "<op>: plugin <name>: ".
std::string reason()
{
	const std::string e = vaccel_last_error();
	const auto at = e.find(": plugin ");
	if (at == std::string::npos)
		return e;
	const auto colon = e.find(": ", at + 9);
	return colon == std::string::npos ? e : e.substr(colon + 2);
}

struct BadCall {
	const char *what;
	std::function<int(vaccel_session *)> call;
};

std::vector<BadCall> bad_calls()
{
	static float f[16] = {};
	static double d[4] = {}, mn = 0, mx = 0;
	return {
	    {"sgemm lda",
	     [](vaccel_session *s) {
		     return vaccel_sgemm(s, 2, 2, 3, 1, f, 2, f, 2, 0, f, 2);
	     }},
	    {"sgemm NULL c",
	     [](vaccel_session *s) {
		     return vaccel_sgemm(s, 2, 2, 2, 1, f, 2, f, 2, 0, nullptr,
					 2);
	     }},
	    {"sgemm negative",
	     [](vaccel_session *s) {
		     return vaccel_sgemm(s, 2, -2, 2, 1, f, 2, f, 2, 0, f, 2);
	     }},
	    {"minmax thresholds",
	     [](vaccel_session *s) {
		     return vaccel_minmax(s, d, 4, 5, 1, d, &mn, &mx);
	     }},
	};
}

// Plugins that also serve the fpga ops (cuda, opencl; not blas).
std::vector<BadCall> bad_fpga_calls()
{
	static float f[16] = {};
	return {
	    {"vadd len_b",
	     [](vaccel_session *s) {
		     return vaccel_fpga_vadd(s, f, f, f, 4, 2);
	     }},
	    {"mmult not square",
	     [](vaccel_session *s) {
		     return vaccel_fpga_mmult(s, f, f, f, 5);
	     }},
	};
}

// Each built plugin's reason for each bad call.
std::vector<std::string> reasons(const char *plugin,
				 const std::vector<BadCall> &calls)
{
	std::vector<std::string> out;
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	struct vaccel_config cfg {
	};
	EXPECT_EQ(vaccel_config_init(&cfg, plugin, VACCEL_LOG_ERROR, nullptr,
				     false, false),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_bootstrap_with_config(&cfg), VACCEL_OK);
	vaccel_config_release(&cfg);
	vaccel_session s{};
	EXPECT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
	for (const auto &c : calls) {
		EXPECT_EQ(c.call(&s), VACCEL_EINVAL)
		    << plugin << ": " << c.what;
		out.push_back(reason());
	}
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	return out;
}

TEST(OpArgs, PluginsRefuseTheSameCallsForTheSameReasons)
{
	std::vector<const char *> plugins;
	for (const char *p :
	     {TEST_BLAS_PLUGIN, TEST_OPENCL_PLUGIN, TEST_CUDA_PLUGIN})
		if (*p != '\0')
			plugins.push_back(p);
	if (plugins.size() < 2)
		GTEST_SKIP() << "fewer than two of blas, opencl, cuda built";
	const auto first = reasons(plugins[0], bad_calls());
	ASSERT_EQ(first.size(), bad_calls().size());
	EXPECT_EQ(first[0], "sgemm: lda = 2 < max(1, 3) (the columns of a)");
	for (size_t i = 1; i < plugins.size(); ++i)
		EXPECT_EQ(reasons(plugins[i], bad_calls()), first)
		    << plugins[i];
	// The fpga ops: opencl and cuda.
	std::vector<std::vector<std::string>> fpga;
	for (const char *p : {TEST_OPENCL_PLUGIN, TEST_CUDA_PLUGIN})
		if (*p != '\0')
			fpga.push_back(reasons(p, bad_fpga_calls()));
	if (fpga.size() == 2) {
		EXPECT_EQ(fpga[0], fpga[1]);
	}
	if (!fpga.empty()) {
		EXPECT_EQ(fpga[0][0], "fpga_vadd: len_b 2 < len_a 4");
	}
}

} // namespace
