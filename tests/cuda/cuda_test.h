// SPDX-License-Identifier: Apache-2.0
// Shared parts of the cuda plugin tests: the runtime restarted with only the
// cuda plugin, one session, and CPU reference implementations of the ops.
//
// The test binaries are also copied to GPU machines (scripts/device-test.sh
// pack), where the build tree does not exist: VACCEL_TEST_CUDA_PLUGIN and
// VACCEL_TEST_DATA_DIR, when set, replace the build-tree paths.
#pragma once

#pragma GCC diagnostic ignored "-Wdeprecated-declarations" // fpga, minmax

#include <gtest/gtest.h>
#include <vaccel.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace cuda_test
{

inline const char *plugin_path()
{
	const char *p = std::getenv("VACCEL_TEST_CUDA_PLUGIN");
	return p != nullptr && *p != '\0' ? p : TEST_CUDA_PLUGIN;
}

inline std::string data_dir()
{
	const char *p = std::getenv("VACCEL_TEST_DATA_DIR");
	return p != nullptr && *p != '\0' ? p : TEST_DATA_DIR;
}

// Restarts the runtime with only the cuda plugin, logging at @p level to
// @p log_file (stderr when NULL).
inline void restart_runtime(vaccel_log_level_t level,
			    const char *log_file = nullptr)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init(&cfg, plugin_path(), level, log_file,
				     false, false),
		  VACCEL_OK);
	int rc = vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	ASSERT_EQ(rc, VACCEL_OK);
	ASSERT_EQ(vaccel_plugin_count(), 1U) << "the cuda plugin did not load";
}

class CudaTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(restart_runtime(VACCEL_LOG_ERROR));
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

template <class T>
std::vector<T> random_vec(size_t n, std::mt19937 &rng, T lo, T hi)
{
	std::vector<T> v(n);
	if constexpr (std::is_integral_v<T>) {
		std::uniform_int_distribution<T> d(lo, hi);
		for (auto &x : v)
			x = d(rng);
	} else {
		std::uniform_real_distribution<T> d(lo, hi);
		for (auto &x : v)
			x = d(rng);
	}
	return v;
}

// Row-major C = alpha A B + beta C in double, over the m x n block of C
// only (elements between rows, when ldc > n, are left as they are). With
// beta == 0, C is not read, as BLAS specifies.
inline std::vector<double> ref_sgemm(int64_t m, int64_t n, int64_t k,
				     float alpha, const float *a, int64_t lda,
				     const float *b, int64_t ldb, float beta,
				     const std::vector<float> &c, int64_t ldc)
{
	std::vector<double> out(c.begin(), c.end());
	for (int64_t i = 0; i < m; i++) {
		for (int64_t j = 0; j < n; j++) {
			double acc = 0.0;
			for (int64_t p = 0; p < k; p++)
				acc += double(a[i * lda + p]) *
				       double(b[p * ldb + j]);
			double prev = beta == 0.0F ? 0.0
						   : double(beta) *
							 double(c[i * ldc + j]);
			out[i * ldc + j] = double(alpha) * acc + prev;
		}
	}
	return out;
}

// The float rounding a k-term dot product may accumulate, relative to the
// sum of the magnitudes of its terms (plus the beta term).
inline double sgemm_tolerance(int64_t m, int64_t n, int64_t k, float alpha,
			      const float *a, int64_t lda, const float *b,
			      int64_t ldb, float beta,
			      const std::vector<float> &c, int64_t ldc,
			      int64_t i, int64_t j)
{
	(void)m;
	(void)n;
	double mag = 0.0;
	for (int64_t p = 0; p < k; p++)
		mag +=
		    std::fabs(double(a[i * lda + p]) * double(b[p * ldb + j]));
	mag *= std::fabs(double(alpha));
	if (beta != 0.0F)
		mag += std::fabs(double(beta) * double(c[i * ldc + j]));
	return 4.0 * double(k + 2) * FLT_EPSILON * mag + 1e-6;
}

// outdata = indata clamped to [low, high] (NaN becomes low); min and max of
// outdata. The documented semantics of the cuda plugin's minmax.
struct MinMaxRef {
	std::vector<double> out;
	double min;
	double max;
};

inline MinMaxRef ref_minmax(const std::vector<double> &in, int low, int high)
{
	MinMaxRef r{{}, INFINITY, -INFINITY};
	r.out.reserve(in.size());
	for (double x : in) {
		double v = std::fmin(std::fmax(x, double(low)), double(high));
		r.out.push_back(v);
		r.min = std::min(r.min, v);
		r.max = std::max(r.max, v);
	}
	return r;
}

} // namespace cuda_test
