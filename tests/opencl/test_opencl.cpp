// SPDX-License-Identifier: Apache-2.0
// The opencl plugin on the first OpenCL device (pocl's CPU device here):
// every op against naive reference loops on random inputs (odd sizes,
// padded leading dimensions, alpha/beta variants, NaN where it must not be
// read), argument errors, device selection through the environment, and 4
// threads making the first calls (and so the kernel build) at once.
#include "opencl_test.h"

#include <thread>

namespace
{

using namespace backend_test;
using opencl_test::OpenclTest;
using opencl_test::ScopedEnv;

TEST_F(OpenclTest, SgemmShapesLeadingDimensionsAlphaBeta)
{
	uint32_t seed = 1;
	for (const SgemmCase &t : sgemm_cases())
		check_sgemm(&sess_, t, seed++);
}

TEST_F(OpenclTest, SgemmBetaZeroIgnoresNaNInC)
{
	uint32_t seed = 100;
	for (SgemmCase t : sgemm_cases()) {
		t.beta = 0.0F;
		check_sgemm(&sess_, t, seed++, /*nan_in_c=*/true);
	}
}

TEST_F(OpenclTest, SgemmAlphaZeroOrKZeroDoesNotReadAB)
{
	check_sgemm(&sess_, {9, 11, 13, 0, 0, 1, 0.0F, -3.0F}, 1, false, true);
	check_sgemm(&sess_, {9, 11, 13, 2, 1, 0, 0.0F, 0.0F}, 2, true, true);
	check_sgemm(&sess_, {6, 4, 0, 0, 0, 3, 1.0F, 0.5F}, 3, false, true);
}

TEST_F(OpenclTest, SgemmManyTiles)
{
	check_sgemm(&sess_, {131, 67, 150, 3, 1, 5, 1.0F, 0.0F}, 7);
	check_sgemm(&sess_, {96, 128, 33, 0, 0, 0, -0.5F, 1.5F}, 8);
}

TEST_F(OpenclTest, SgemmRandomShapes)
{
	uint32_t seed = 500;
	for (const SgemmCase &t : random_sgemm_cases(2024, 60))
		check_sgemm(&sess_, t, seed++);
}

TEST_F(OpenclTest, SgemmArgumentErrors)
{
	check_sgemm_errors(&sess_);
	check_sgemm_empty(&sess_);
}

TEST_F(OpenclTest, SgemmThroughGenop)
{
	check_sgemm_genop(&sess_);
}

TEST_F(OpenclTest, MinmaxRandomWithNaNAndInfinities)
{
	check_minmax_random(&sess_, 21);
}

TEST_F(OpenclTest, MinmaxRandomThresholds)
{
	check_minmax_random_thresholds(&sess_, 22, 40);
}

TEST_F(OpenclTest, MinmaxUpstreamInput)
{
	check_minmax_upstream_input(&sess_, std::string(TEST_DATA_DIR) +
						"/input_2048.csv");
}

TEST_F(OpenclTest, MinmaxInPlace)
{
	check_minmax_in_place(&sess_);
}

TEST_F(OpenclTest, MinmaxThroughGenop)
{
	check_minmax_genop(&sess_);
}

TEST_F(OpenclTest, FpgaArgumentErrors)
{
	opencl_test::expect_fpga_argument_errors(&sess_);
}

const size_t kLengths[] = {1, 2, 3, 17, 63, 64, 65, 1000, 4097, 100003};

TEST_F(OpenclTest, VectorAdd)
{
	std::mt19937 rng(31);
	for (size_t n : kLengths) {
		SCOPED_TRACE(n);
		// b and c are longer than len_a: only len_a elements are
		// added, the rest of c stays as it was.
		auto a = random_vec<float>(n, rng, -1000.0F, 1000.0F);
		auto b = random_vec<float>(n + 3, rng, -1000.0F, 1000.0F);
		std::vector<float> c(n + 3, 123.0F);
		ASSERT_EQ(vaccel_fpga_vadd(&sess_, a.data(), b.data(), c.data(),
					   n, n + 3),
			  VACCEL_OK);
		for (size_t i = 0; i < n; i++)
			ASSERT_EQ(c[i], a[i] + b[i]) << i;
		for (size_t i = n; i < n + 3; i++)
			ASSERT_EQ(c[i], 123.0F) << i;
	}
	EXPECT_EQ(vaccel_fpga_vadd(&sess_, nullptr, nullptr, nullptr, 0, 0),
		  VACCEL_OK);
}

TEST_F(OpenclTest, Parallel)
{
	std::mt19937 rng(32);
	for (size_t n : kLengths) {
		SCOPED_TRACE(n);
		auto a = random_vec<float>(n, rng, -100.0F, 100.0F);
		auto b = random_vec<float>(n, rng, -100.0F, 100.0F);
		std::vector<float> add(n, 0.0F);
		std::vector<float> mul(n, 0.0F);
		ASSERT_EQ(vaccel_fpga_parallel(&sess_, a.data(), b.data(),
					       add.data(), mul.data(), n),
			  VACCEL_OK);
		for (size_t i = 0; i < n; i++) {
			ASSERT_EQ(add[i], a[i] + b[i]) << i;
			ASSERT_EQ(mul[i], a[i] * b[i]) << i;
		}
	}
}

TEST_F(OpenclTest, ArrayCopy)
{
	std::mt19937 rng(33);
	for (size_t n : kLengths) {
		SCOPED_TRACE(n);
		auto a = random_vec<int>(n, rng, INT_MIN, INT_MAX);
		std::vector<int> out(n + 1, 77);
		ASSERT_EQ(
		    vaccel_fpga_arraycopy(&sess_, a.data(), out.data(), n),
		    VACCEL_OK);
		ASSERT_TRUE(std::equal(a.begin(), a.end(), out.begin()));
		ASSERT_EQ(out[n], 77);
	}
}

TEST_F(OpenclTest, MatrixMultiply)
{
	std::mt19937 rng(34);
	for (size_t side : {1, 2, 3, 15, 16, 17, 33, 64, 100}) {
		SCOPED_TRACE(side);
		const size_t len = side * side;
		auto a = random_vec<float>(len, rng, -1.0F, 1.0F);
		auto b = random_vec<float>(len, rng, -1.0F, 1.0F);
		std::vector<float> c(len,
				     std::numeric_limits<float>::quiet_NaN());
		ASSERT_EQ(vaccel_fpga_mmult(&sess_, a.data(), b.data(),
					    c.data(), len),
			  VACCEL_OK);
		const auto ref = opencl_test::ref_mmult(a, b, side);
		const double tol =
		    4.0 * double(side + 2) * FLT_EPSILON * double(side);
		for (size_t i = 0; i < len; i++)
			ASSERT_NEAR(c[i], ref[i], tol) << i;
	}
}

TEST_F(OpenclTest, OtherOpsAreNotImplemented)
{
	EXPECT_EQ(vaccel_noop(&sess_), VACCEL_ENOTSUP);
}

TEST_F(OpenclTest, DeviceChosenByIndex)
{
	{
		ScopedEnv p("VACCEL_OPENCL_PLATFORM", "0");
		ScopedEnv d("VACCEL_OPENCL_DEVICE", "0");
		const std::string log = restart_with_log("/ocl_index.log");
		check_sgemm(&sess_, {5, 6, 7, 1, 0, 2, 1.0F, 0.5F}, 3);
		EXPECT_EQ(read_text(log).find("no OpenCL device"),
			  std::string::npos);
	}
	{
		ScopedEnv d("VACCEL_OPENCL_DEVICE", "99");
		const std::string log = restart_with_log("/ocl_dev99.log");
		opencl_test::expect_every_op_enodev(&sess_);
		opencl_test::expect_fpga_argument_errors(&sess_);
		const std::string text = read_text(log);
		EXPECT_NE(text.find("no OpenCL device: VACCEL_OPENCL_DEVICE=99 "
				    "but platform 0 has"),
			  std::string::npos)
		    << text;
	}
	{
		ScopedEnv p("VACCEL_OPENCL_PLATFORM", "7");
		const std::string log = restart_with_log("/ocl_plat7.log");
		opencl_test::expect_every_op_enodev(&sess_);
		EXPECT_NE(read_text(log).find("VACCEL_OPENCL_PLATFORM=7 but "
					      "there are"),
			  std::string::npos);
	}
	{
		ScopedEnv p("VACCEL_OPENCL_PLATFORM", "first");
		const std::string log = restart_with_log("/ocl_bad.log");
		opencl_test::expect_every_op_enodev(&sess_);
		EXPECT_NE(read_text(log).find(
			      "VACCEL_OPENCL_PLATFORM='first' is not an index"),
			  std::string::npos);
	}
}

// Occurrences of @p needle in @p text.
size_t count_of(const std::string &text, const std::string &needle)
{
	size_t n = 0;
	for (size_t at = text.find(needle); at != std::string::npos;
	     at = text.find(needle, at + needle.size()))
		n++;
	return n;
}

// Every op, several times, over two sessions: the float program (sgemm,
// mmult and the fpga ops) and the double one (minmax) are each built once,
// at their first use, and the build is logged at debug level. A new
// runtime (the plugin unloaded and loaded again) builds them again.
TEST_F(OpenclTest, KernelsAreBuiltOnceAndCached)
{
	const char *float_built = "[opencl] sgemm: built the float kernels";
	const char *double_built = "[opencl] minmax: built the double kernels";
	for (int round = 0; round < 2; round++) {
		SCOPED_TRACE(round);
		const std::string log = restart_with_log(
		    round == 0 ? "/ocl_build0.log" : "/ocl_build1.log",
		    VACCEL_LOG_DEBUG);
		EXPECT_EQ(count_of(read_text(log), "kernels for"), 0U)
		    << "built before any op";
		vaccel_session other{};
		ASSERT_EQ(vaccel_session_init(&other, 0), VACCEL_OK);
		std::mt19937 rng(40 + uint32_t(round));
		for (int i = 0; i < 3; i++)
			for (vaccel_session *s : {&sess_, &other}) {
				check_sgemm(s, {7, 9, 11, 1, 2, 3, 1.0F, 0.5F},
					    uint32_t(i));
				std::vector<float> a(16, 1.5F);
				std::vector<float> c(16, 0.0F);
				ASSERT_EQ(vaccel_fpga_mmult(s, a.data(),
							    a.data(), c.data(),
							    16),
					  VACCEL_OK);
				EXPECT_EQ(c[5], 9.0F);
				ASSERT_EQ(vaccel_fpga_vadd(s, a.data(),
							   a.data(), c.data(),
							   16, 16),
					  VACCEL_OK);
				EXPECT_EQ(c[15], 3.0F);
				auto in =
				    random_vec<double>(333, rng, -9.0, 9.0);
				check_minmax(s, in, -3, 4);
			}
		EXPECT_EQ(vaccel_session_release(&other), VACCEL_OK);
		const std::string text = read_text(log);
		EXPECT_EQ(count_of(text, float_built), 1U) << text;
		EXPECT_EQ(count_of(text, double_built), 1U) << text;
		EXPECT_EQ(count_of(text, "kernels for"), 2U) << text;
	}
}

// A fresh runtime, so the kernels are not built yet: 4 threads make their
// first calls at once (one build, the others wait for it), each on its own
// session, then 4 threads share one session. Every result is checked.
TEST_F(OpenclTest, ConcurrentCallsFromFirstUse)
{
	ASSERT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
	sess_ = vaccel_session{};
	ASSERT_NO_FATAL_FAILURE(restart_runtime(TEST_OPENCL_PLUGIN));
	ASSERT_EQ(vaccel_session_init(&sess_, 0), VACCEL_OK);

	constexpr int kThreads = 4;
	constexpr int kIters = 4;
	auto work = [](vaccel_session *s, int tid) {
		for (int i = 0; i < kIters; i++) {
			const auto seed = uint32_t(1000 * tid + i);
			// Start with different ops so that the builds of
			// both programs race.
			if ((tid + i) % 2 == 0) {
				std::mt19937 rng(seed);
				auto in =
				    random_vec<double>(size_t(3000 + 31 * tid),
						       rng, -100.0, 100.0);
				check_minmax(s, in, -10 * tid, 50);
			}
			check_sgemm(s,
				    {int64_t(20 + 7 * tid), int64_t(17 + i),
				     int64_t(33 + tid), tid % 2, i % 3, 1, 1.0F,
				     i % 2 ? 0.5F : 0.0F},
				    seed);
			std::mt19937 rng(seed);
			const size_t n = 500 + size_t(tid) * 13 + size_t(i);
			auto a = random_vec<float>(n, rng, -10.0F, 10.0F);
			auto b = random_vec<float>(n, rng, -10.0F, 10.0F);
			std::vector<float> add(n);
			std::vector<float> mul(n);
			ASSERT_EQ(vaccel_fpga_parallel(s, a.data(), b.data(),
						       add.data(), mul.data(),
						       n),
				  VACCEL_OK);
			for (size_t j = 0; j < n; j++) {
				ASSERT_EQ(add[j], a[j] + b[j]);
				ASSERT_EQ(mul[j], a[j] * b[j]);
			}
			auto ia = random_vec<int>(n, rng, -1000, 1000);
			std::vector<int> ib(n);
			ASSERT_EQ(
			    vaccel_fpga_arraycopy(s, ia.data(), ib.data(), n),
			    VACCEL_OK);
			ASSERT_EQ(ia, ib);
		}
	};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; t++)
		threads.emplace_back([&, t] {
			vaccel_session s{};
			ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
			work(&s, t);
			EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
		});
	for (auto &th : threads)
		th.join();
	threads.clear();
	for (int t = 0; t < kThreads; t++)
		threads.emplace_back([&, t] { work(&sess_, t); });
	for (auto &th : threads)
		th.join();
}

} // namespace
