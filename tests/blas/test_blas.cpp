// SPDX-License-Identifier: Apache-2.0
// The blas plugin (OpenBLAS sgemm, CPU minmax) against naive reference
// loops: odd and non-square shapes, padded leading dimensions, alpha/beta
// variants, NaN where BLAS must not read, minmax on random data of both
// signs with NaN and infinities, the generic-op path, argument errors, and
// 4 threads calling at once.
#include "backend_ref.h"

#include <thread>

namespace
{

using namespace backend_test;

class BlasTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(restart_runtime(TEST_BLAS_PLUGIN));
		ASSERT_EQ(vaccel_session_init(&sess_, 0), VACCEL_OK);
	}

	void TearDown() override
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	}

	vaccel_session sess_{};
};

TEST_F(BlasTest, SgemmShapesLeadingDimensionsAlphaBeta)
{
	uint32_t seed = 1;
	for (const SgemmCase &t : sgemm_cases())
		check_sgemm(&sess_, t, seed++);
}

TEST_F(BlasTest, SgemmBetaZeroIgnoresNaNInC)
{
	uint32_t seed = 100;
	for (SgemmCase t : sgemm_cases()) {
		t.beta = 0.0F;
		check_sgemm(&sess_, t, seed++, /*nan_in_c=*/true);
	}
}

TEST_F(BlasTest, SgemmAlphaZeroOrKZeroDoesNotReadAB)
{
	check_sgemm(&sess_, {9, 11, 13, 0, 0, 1, 0.0F, -3.0F}, 1, false, true);
	check_sgemm(&sess_, {9, 11, 13, 2, 1, 0, 0.0F, 0.0F}, 2, true, true);
	check_sgemm(&sess_, {6, 4, 0, 0, 0, 3, 1.0F, 0.5F}, 3, false, true);
}

TEST_F(BlasTest, SgemmLargerThanTheBlockSizes)
{
	check_sgemm(&sess_, {257, 129, 300, 3, 1, 5, 1.0F, 0.0F}, 7);
	check_sgemm(&sess_, {200, 300, 77, 0, 0, 0, -0.5F, 1.5F}, 8);
}

TEST_F(BlasTest, SgemmRandomShapes)
{
	uint32_t seed = 500;
	for (const SgemmCase &t : random_sgemm_cases(2024, 60))
		check_sgemm(&sess_, t, seed++);
}

TEST_F(BlasTest, SgemmArgumentErrors)
{
	check_sgemm_errors(&sess_);
	check_sgemm_empty(&sess_);
}

TEST_F(BlasTest, SgemmThroughGenop)
{
	check_sgemm_genop(&sess_);
}

TEST_F(BlasTest, MinmaxRandomWithNaNAndInfinities)
{
	check_minmax_random(&sess_, 21);
}

TEST_F(BlasTest, MinmaxRandomThresholds)
{
	check_minmax_random_thresholds(&sess_, 22, 40);
}

TEST_F(BlasTest, MinmaxUpstreamInput)
{
	check_minmax_upstream_input(&sess_, std::string(TEST_DATA_DIR) +
						"/input_2048.csv");
}

TEST_F(BlasTest, MinmaxInPlace)
{
	check_minmax_in_place(&sess_);
}

TEST_F(BlasTest, MinmaxArgumentErrors)
{
	check_minmax_errors(&sess_);
}

TEST_F(BlasTest, MinmaxThroughGenop)
{
	check_minmax_genop(&sess_);
}

TEST_F(BlasTest, OtherOpsAreNotImplemented)
{
	EXPECT_EQ(vaccel_noop(&sess_), VACCEL_ENOTSUP);
	float a[2] = {1.0F, 2.0F};
	float c[2] = {0.0F, 0.0F};
	EXPECT_EQ(vaccel_fpga_vadd(&sess_, a, a, c, 2, 2), VACCEL_ENOTSUP);
}

// 4 threads, each with its own session, then 4 threads on one session:
// every result is checked against the reference.
TEST_F(BlasTest, ConcurrentCalls)
{
	constexpr int kThreads = 4;
	constexpr int kIters = 6;
	auto work = [](vaccel_session *s, int tid) {
		for (int i = 0; i < kIters; i++) {
			const auto seed = uint32_t(1000 * tid + i);
			check_sgemm(s,
				    {int64_t(40 + 7 * tid), int64_t(33 + i),
				     int64_t(65 + tid), tid % 2, i % 3, 1, 1.0F,
				     i % 2 ? 0.5F : 0.0F},
				    seed);
			std::mt19937 rng(seed);
			auto in = random_vec<double>(size_t(5000 + 31 * tid),
						     rng, -100.0, 100.0);
			check_minmax(s, in, -10 * tid, 50);
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
