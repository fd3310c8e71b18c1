// SPDX-License-Identifier: Apache-2.0
// Shared parts of the blas and opencl plugin tests: the runtime restarted
// with one plugin, naive reference implementations of the ops, and checks
// of sgemm and minmax that both plugins must pass alike (same semantics,
// same argument errors).
#pragma once

#pragma GCC diagnostic ignored "-Wdeprecated-declarations" // fpga, minmax

#include <gtest/gtest.h>
#include <vaccel.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace backend_test
{

// Restarts the runtime with only @p plugin, logging at @p level to
// @p log_file (stderr when NULL).
inline void restart_runtime(const char *plugin,
			    vaccel_log_level_t level = VACCEL_LOG_ERROR,
			    const char *log_file = nullptr)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	struct vaccel_config cfg {
	};
	ASSERT_EQ(
	    vaccel_config_init(&cfg, plugin, level, log_file, false, false),
	    VACCEL_OK);
	int rc = vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	ASSERT_EQ(rc, VACCEL_OK);
	ASSERT_EQ(vaccel_plugin_count(), 1U) << plugin << " did not load";
}

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

// Row-major C = alpha A B + beta C in double over the m x n block of C
// (elements between rows stay as they are). With beta == 0 C is not read;
// with alpha == 0 or k == 0 neither A nor B is (BLAS semantics).
inline std::vector<double> ref_sgemm(int64_t m, int64_t n, int64_t k,
				     float alpha, const float *a, int64_t lda,
				     const float *b, int64_t ldb, float beta,
				     const std::vector<float> &c, int64_t ldc)
{
	std::vector<double> out(c.begin(), c.end());
	for (int64_t i = 0; i < m; i++) {
		for (int64_t j = 0; j < n; j++) {
			double acc = 0.0;
			if (alpha != 0.0F)
				for (int64_t p = 0; p < k; p++)
					acc += double(a[i * lda + p]) *
					       double(b[p * ldb + j]);
			const double prev =
			    beta == 0.0F
				? 0.0
				: double(beta) * double(c[i * ldc + j]);
			out[size_t(i * ldc + j)] = double(alpha) * acc + prev;
		}
	}
	return out;
}

// The float rounding a k-term dot product may accumulate, relative to the
// sum of the magnitudes of its terms (plus the beta term).
inline double sgemm_tolerance(int64_t k, float alpha, const float *a,
			      int64_t lda, const float *b, int64_t ldb,
			      float beta, const std::vector<float> &c,
			      int64_t ldc, int64_t i, int64_t j)
{
	double mag = 0.0;
	if (alpha != 0.0F)
		for (int64_t p = 0; p < k; p++)
			mag += std::fabs(double(a[i * lda + p]) *
					 double(b[p * ldb + j]));
	mag *= std::fabs(double(alpha));
	if (beta != 0.0F)
		mag += std::fabs(double(beta) * double(c[i * ldc + j]));
	return 4.0 * double(k + 2) * FLT_EPSILON * mag + 1e-6;
}

struct SgemmCase {
	int64_t m, n, k;
	int64_t lda_pad, ldb_pad, ldc_pad; // added to the minimum
	float alpha, beta;
};

inline std::ostream &operator<<(std::ostream &os, const SgemmCase &t)
{
	return os << "m " << t.m << " n " << t.n << " k " << t.k << " pads "
		  << t.lda_pad << "," << t.ldb_pad << "," << t.ldc_pad
		  << " alpha " << t.alpha << " beta " << t.beta;
}

// Odd and non-square shapes, padded leading dimensions, alpha/beta
// variants, k == 0 and alpha == 0 (C = beta C).
inline const std::vector<SgemmCase> &sgemm_cases()
{
	static const std::vector<SgemmCase> cases = {
	    {1, 1, 1, 0, 0, 0, 1.0F, 0.0F},
	    {17, 33, 5, 0, 0, 0, 1.0F, 0.0F},
	    {17, 33, 5, 3, 5, 7, 1.5F, -0.75F},
	    {33, 17, 65, 1, 0, 2, -2.0F, 1.0F},
	    {5, 100, 3, 0, 9, 0, 0.5F, 2.0F},
	    {100, 1, 7, 4, 0, 3, 1.0F, 1.0F},
	    {1, 57, 31, 0, 0, 1, 3.0F, 0.0F},
	    {64, 64, 64, 0, 0, 0, 1.0F, 0.0F},
	    {31, 47, 129, 2, 2, 2, 0.25F, -1.0F},
	    {16, 16, 16, 16, 16, 16, 1.0F, 0.5F},
	    {9, 11, 0, 0, 0, 0, 1.0F, 2.0F},   // k == 0: C = beta C
	    {9, 11, 13, 0, 0, 1, 0.0F, -3.0F}, // alpha == 0
	    {7, 5, 3, 0, 0, 0, 0.0F, 0.0F},    // C = 0
	};
	return cases;
}

// @p count random cases: m, n, k in [1, max_dim] (k sometimes 0), padded
// leading dimensions (0 to 9 more than the minimum), alpha and beta random
// or one of the special values 0, 1 and -1.
inline std::vector<SgemmCase> random_sgemm_cases(uint32_t seed, int count,
						 int64_t max_dim = 97)
{
	std::mt19937 rng(seed);
	std::uniform_int_distribution<int64_t> dim(1, max_dim);
	std::uniform_int_distribution<int64_t> pad(0, 9);
	std::uniform_int_distribution<int> pick(0, 5);
	std::uniform_real_distribution<float> scalar(-3.0F, 3.0F);
	const auto coefficient = [&] {
		switch (pick(rng)) {
		case 0:
			return 0.0F;
		case 1:
			return 1.0F;
		case 2:
			return -1.0F;
		default:
			return scalar(rng);
		}
	};
	std::vector<SgemmCase> cases;
	for (int i = 0; i < count; i++) {
		SgemmCase t{};
		t.m = dim(rng);
		t.n = dim(rng);
		t.k = i % 10 == 9 ? 0 : dim(rng);
		t.lda_pad = pad(rng) % 3 == 0 ? 0 : pad(rng);
		t.ldb_pad = pad(rng) % 3 == 0 ? 0 : pad(rng);
		t.ldc_pad = pad(rng) % 3 == 0 ? 0 : pad(rng);
		t.alpha = coefficient();
		t.beta = coefficient();
		cases.push_back(t);
	}
	return cases;
}

// Runs one sgemm on @p sess and compares every element of C with the
// reference, including the elements between rows, which must be left alone.
// With @p nan_in_c the m x n block of C is NaN (it must not be read when
// beta == 0); with @p nan_in_ab A and B are NaN (not read when alpha == 0
// or k == 0).
inline void check_sgemm(vaccel_session *sess, const SgemmCase &t, uint32_t seed,
			bool nan_in_c = false, bool nan_in_ab = false)
{
	SCOPED_TRACE(testing::Message() << t);
	std::mt19937 rng(seed);
	const int64_t lda = std::max<int64_t>(1, t.k) + t.lda_pad;
	const int64_t ldb = std::max<int64_t>(1, t.n) + t.ldb_pad;
	const int64_t ldc = std::max<int64_t>(1, t.n) + t.ldc_pad;
	auto a = random_vec<float>(size_t(std::max<int64_t>(1, t.m * lda)), rng,
				   -1.0F, 1.0F);
	auto b = random_vec<float>(size_t(std::max<int64_t>(1, t.k * ldb)), rng,
				   -1.0F, 1.0F);
	auto c = random_vec<float>(size_t(std::max<int64_t>(1, t.m * ldc)), rng,
				   -1.0F, 1.0F);
	const float nan = std::numeric_limits<float>::quiet_NaN();
	if (nan_in_c)
		for (int64_t i = 0; i < t.m; i++)
			for (int64_t j = 0; j < t.n; j++)
				c[size_t(i * ldc + j)] = nan;
	if (nan_in_ab) {
		std::fill(a.begin(), a.end(), nan);
		std::fill(b.begin(), b.end(), nan);
	}
	const std::vector<float> c0 = c;
	const auto ref = ref_sgemm(t.m, t.n, t.k, t.alpha, a.data(), lda,
				   b.data(), ldb, t.beta, c0, ldc);
	ASSERT_EQ(vaccel_sgemm(sess, t.m, t.n, t.k, t.alpha, a.data(), lda,
			       b.data(), ldb, t.beta, c.data(), ldc),
		  VACCEL_OK);
	size_t bad = 0;
	for (int64_t i = 0; i < t.m; i++) {
		for (int64_t j = 0; j < ldc; j++) {
			const size_t at = size_t(i * ldc + j);
			if (j >= t.n) { // between rows: untouched
				if (std::memcmp(&c[at], &c0[at],
						sizeof(float)) != 0 &&
				    bad++ < 5)
					ADD_FAILURE()
					    << "element (" << i << "," << j
					    << ") between rows changed";
				continue;
			}
			const double tol = sgemm_tolerance(
			    t.k, t.alpha, a.data(), lda, b.data(), ldb, t.beta,
			    c0, ldc, i, j);
			if (!(std::fabs(double(c[at]) - ref[at]) <= tol) &&
			    bad++ < 5)
				ADD_FAILURE()
				    << "C(" << i << "," << j << ") = " << c[at]
				    << ", expected " << ref[at] << " +- "
				    << tol;
		}
	}
	EXPECT_EQ(bad, 0U);
}

// Argument errors of sgemm: each is VACCEL_EINVAL and leaves C alone.
inline void check_sgemm_errors(vaccel_session *sess)
{
	std::vector<float> a(64, 1.0F);
	std::vector<float> b(64, 1.0F);
	std::vector<float> c(64, 7.0F);
	float *pa = a.data();
	float *pb = b.data();
	float *pc = c.data();
	struct Bad {
		const char *what;
		int64_t m, n, k;
		float *a;
		int64_t lda;
		float *b;
		int64_t ldb;
		float *c;
		int64_t ldc;
	};
	const Bad cases[] = {
	    {"negative m", -1, 2, 2, pa, 2, pb, 2, pc, 2},
	    {"negative n", 2, -1, 2, pa, 2, pb, 2, pc, 2},
	    {"negative k", 2, 2, -3, pa, 2, pb, 2, pc, 2},
	    {"lda < k", 2, 2, 3, pa, 2, pb, 2, pc, 2},
	    {"ldb < n", 2, 3, 2, pa, 2, pb, 2, pc, 3},
	    {"ldc < n", 2, 3, 2, pa, 2, pb, 3, pc, 2},
	    {"lda 0 with k 0", 2, 2, 0, pa, 0, pb, 2, pc, 2},
	    {"ldc 0 with n 0", 2, 0, 2, pa, 2, pb, 1, pc, 0},
	    {"negative ld", 2, 2, 2, pa, -2, pb, 2, pc, 2},
	    {"NULL a", 2, 2, 2, nullptr, 2, pb, 2, pc, 2},
	    {"NULL b", 2, 2, 2, pa, 2, nullptr, 2, pc, 2},
	    {"NULL c", 2, 2, 2, pa, 2, pb, 2, nullptr, 2},
	    {"huge m", int64_t{1} << 40, 2, 2, pa, 2, pb, 2, pc, 2},
	    {"huge ld", 2, 2, 2, pa, int64_t{1} << 40, pb, 2, pc, 2},
	};
	for (const Bad &t : cases) {
		SCOPED_TRACE(t.what);
		EXPECT_EQ(vaccel_sgemm(sess, t.m, t.n, t.k, 1.0F, t.a, t.lda,
				       t.b, t.ldb, 0.0F, t.c, t.ldc),
			  VACCEL_EINVAL);
	}
	for (float x : c)
		ASSERT_EQ(x, 7.0F) << "a rejected call wrote to C";
	EXPECT_EQ(
	    vaccel_sgemm(nullptr, 1, 1, 1, 1.0F, pa, 1, pb, 1, 0.0F, pc, 1),
	    VACCEL_EINVAL);
}

// Empty operands may be NULL: nothing is read or written.
inline void check_sgemm_empty(vaccel_session *sess)
{
	std::vector<float> b(15, 1.0F);
	EXPECT_EQ(vaccel_sgemm(sess, 0, 0, 0, 1.0F, nullptr, 1, nullptr, 1,
			       0.0F, nullptr, 1),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_sgemm(sess, 0, 5, 3, 1.0F, nullptr, 3, b.data(), 5,
			       0.0F, nullptr, 5),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_sgemm(sess, 4, 0, 3, 1.0F, b.data(), 3, nullptr, 1,
			       0.0F, nullptr, 1),
		  VACCEL_OK);
}

// outdata = indata clamped to [low, high] (NaN becomes low); min and max of
// outdata: the semantics the cuda, blas and opencl plugins share.
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
		double v = x;
		if (std::isnan(v) || v < low)
			v = low;
		if (v > high)
			v = high;
		r.out.push_back(v);
		r.min = std::min(r.min, v);
		r.max = std::max(r.max, v);
	}
	return r;
}

inline void check_minmax(vaccel_session *sess, const std::vector<double> &in,
			 int low, int high)
{
	SCOPED_TRACE(testing::Message() << "n " << in.size() << " low " << low
					<< " high " << high);
	const auto ref = ref_minmax(in, low, high);
	std::vector<double> out(in.size(), -12345.0);
	double mn = 0.0;
	double mx = 0.0;
	ASSERT_EQ(vaccel_minmax(sess, in.data(), int(in.size()), low, high,
				out.data(), &mn, &mx),
		  VACCEL_OK);
	// Clamping and min/max are exact: no tolerance.
	EXPECT_EQ(mn, ref.min);
	EXPECT_EQ(mx, ref.max);
	size_t bad = 0;
	for (size_t i = 0; i < in.size(); i++)
		if (out[i] != ref.out[i] && bad++ < 5)
			ADD_FAILURE() << "outdata[" << i << "] = " << out[i]
				      << ", expected " << ref.out[i] << " (in "
				      << in[i] << ")";
	EXPECT_EQ(bad, 0U);
}

// Random doubles of both signs (some beyond the thresholds) at lengths
// around the vector and work-group widths, plus NaN and infinities.
inline void check_minmax_random(vaccel_session *sess, uint32_t seed)
{
	std::mt19937 rng(seed);
	for (size_t n : {size_t{1}, size_t{2}, size_t{7}, size_t{8}, size_t{9},
			 size_t{17}, size_t{255}, size_t{256}, size_t{257},
			 size_t{1000}, size_t{65537}, size_t{300001}}) {
		auto in = random_vec<double>(n, rng, -5000.0, 5000.0);
		check_minmax(sess, in, -1000, 1000);
		check_minmax(sess, in, -100000, 100000); // nothing clamped
		check_minmax(sess, in, 0, 0);            // all clamped
		check_minmax(sess, in, -4000, -3000);
	}
	auto in = random_vec<double>(101, rng, -10.0, 10.0);
	in[3] = std::numeric_limits<double>::quiet_NaN();
	in[50] = INFINITY;
	in[77] = -INFINITY;
	in[100] = std::numeric_limits<double>::quiet_NaN();
	check_minmax(sess, in, -5, 5);
	check_minmax(sess, {std::numeric_limits<double>::quiet_NaN()}, 2, 9);
}

// Random lengths and random thresholds (low <= high, some outside the
// data's range).
inline void check_minmax_random_thresholds(vaccel_session *sess, uint32_t seed,
					   int count)
{
	std::mt19937 rng(seed);
	std::uniform_int_distribution<size_t> len(1, 5000);
	std::uniform_int_distribution<int> threshold(-1200, 1200);
	for (int i = 0; i < count; i++) {
		auto in = random_vec<double>(len(rng), rng, -1000.0, 1000.0);
		int low = threshold(rng);
		int high = threshold(rng);
		if (low > high)
			std::swap(low, high);
		check_minmax(sess, in, low, high);
	}
}

// Upstream's minmax input (2048 values, one a line), with upstream's test
// thresholds.
inline void check_minmax_upstream_input(vaccel_session *sess,
					const std::string &path)
{
	std::ifstream f(path);
	ASSERT_TRUE(f.good()) << path;
	std::vector<double> in;
	double x = 0.0;
	while (f >> x)
		in.push_back(x);
	ASSERT_EQ(in.size(), 2048U);
	check_minmax(sess, in, 0, 4000);
	check_minmax(sess, in, 100, 200);
}

// minmax computed in place (outdata == indata).
inline void check_minmax_in_place(vaccel_session *sess)
{
	std::mt19937 rng(7);
	auto in = random_vec<double>(1001, rng, -50.0, 50.0);
	const auto ref = ref_minmax(in, -10, 20);
	double mn = 0.0;
	double mx = 0.0;
	ASSERT_EQ(vaccel_minmax(sess, in.data(), int(in.size()), -10, 20,
				in.data(), &mn, &mx),
		  VACCEL_OK);
	EXPECT_EQ(in, ref.out);
	EXPECT_EQ(mn, ref.min);
	EXPECT_EQ(mx, ref.max);
}

inline void check_minmax_errors(vaccel_session *sess)
{
	std::vector<double> in(8, 1.0);
	std::vector<double> out(8, 5.0);
	double mn = 42.0;
	double mx = 42.0;
	EXPECT_EQ(vaccel_minmax(sess, nullptr, 8, 0, 1, out.data(), &mn, &mx),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax(sess, in.data(), 8, 0, 1, nullptr, &mn, &mx),
		  VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_minmax(sess, in.data(), 8, 0, 1, out.data(), nullptr, &mx),
	    VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_minmax(sess, in.data(), 8, 0, 1, out.data(), &mn, nullptr),
	    VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax(sess, in.data(), 0, 0, 1, out.data(), &mn, &mx),
		  VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_minmax(sess, in.data(), -3, 0, 1, out.data(), &mn, &mx),
	    VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax(sess, in.data(), 8, 5, 4, out.data(), &mn, &mx),
		  VACCEL_EINVAL); // low > high
	EXPECT_EQ(
	    vaccel_minmax(nullptr, in.data(), 8, 0, 1, out.data(), &mn, &mx),
	    VACCEL_EINVAL);
	for (double v : out)
		EXPECT_EQ(v, 5.0);
	EXPECT_EQ(mn, 42.0);
	EXPECT_EQ(mx, 42.0);
}

// sgemm through vaccel_genop, packed as upstream's sgemm_generic does.
inline void check_sgemm_genop(vaccel_session *sess)
{
	const int64_t m = 13;
	const int64_t n = 9;
	const int64_t k = 21;
	int64_t lda = k + 2;
	int64_t ldb = n;
	int64_t ldc = n + 1;
	float alpha = 1.25F;
	float beta = -0.5F;
	std::mt19937 rng(11);
	auto a = random_vec<float>(size_t(m * lda), rng, -1.0F, 1.0F);
	auto b = random_vec<float>(size_t(k * ldb), rng, -1.0F, 1.0F);
	auto c = random_vec<float>(size_t(m * ldc), rng, -1.0F, 1.0F);
	const std::vector<float> c0 = c;
	const auto ref = ref_sgemm(m, n, k, alpha, a.data(), lda, b.data(), ldb,
				   beta, c0, ldc);
	int64_t mm = m;
	int64_t nn = n;
	int64_t kk = k;
	uint8_t op = VACCEL_OP_BLAS_SGEMM;
	vaccel_arg read[] = {
	    {&op, sizeof(op), VACCEL_ARG_UINT8, 0, false},
	    {&mm, sizeof(mm), VACCEL_ARG_INT64, 0, false},
	    {&nn, sizeof(nn), VACCEL_ARG_INT64, 0, false},
	    {&kk, sizeof(kk), VACCEL_ARG_INT64, 0, false},
	    {&alpha, sizeof(alpha), VACCEL_ARG_FLOAT32, 0, false},
	    {a.data(), a.size() * sizeof(float), VACCEL_ARG_FLOAT32_ARRAY, 0,
	     false},
	    {&lda, sizeof(lda), VACCEL_ARG_INT64, 0, false},
	    {b.data(), b.size() * sizeof(float), VACCEL_ARG_FLOAT32_ARRAY, 0,
	     false},
	    {&ldb, sizeof(ldb), VACCEL_ARG_INT64, 0, false},
	    {&beta, sizeof(beta), VACCEL_ARG_FLOAT32, 0, false},
	    {&ldc, sizeof(ldc), VACCEL_ARG_INT64, 0, false},
	};
	vaccel_arg write[] = {
	    {c.data(), c.size() * sizeof(float), VACCEL_ARG_FLOAT32_ARRAY, 0,
	     false},
	};
	ASSERT_EQ(vaccel_genop(sess, read, int(std::size(read)), write, 1),
		  VACCEL_OK);
	for (int64_t i = 0; i < m; i++)
		for (int64_t j = 0; j < ldc; j++) {
			const size_t at = size_t(i * ldc + j);
			if (j >= n)
				EXPECT_EQ(c[at], c0[at]);
			else
				EXPECT_NEAR(c[at], ref[at],
					    sgemm_tolerance(k, alpha, a.data(),
							    lda, b.data(), ldb,
							    beta, c0, ldc, i,
							    j));
		}
}

// minmax through vaccel_genop, packed as upstream's test does (RAW args).
inline void check_minmax_genop(vaccel_session *sess)
{
	std::mt19937 rng(5);
	auto in = random_vec<double>(333, rng, -100.0, 100.0);
	std::vector<double> out(in.size());
	int ndata = int(in.size());
	int low = -50;
	int high = 60;
	double mn = 0.0;
	double mx = 0.0;
	uint8_t op = VACCEL_OP_MINMAX;
	vaccel_arg read[] = {
	    {&op, sizeof(op), VACCEL_ARG_UINT8, 0, false},
	    {in.data(), in.size() * sizeof(double), VACCEL_ARG_RAW, 0, false},
	    {&ndata, sizeof(ndata), VACCEL_ARG_RAW, 0, false},
	    {&low, sizeof(low), VACCEL_ARG_RAW, 0, false},
	    {&high, sizeof(high), VACCEL_ARG_RAW, 0, false},
	};
	vaccel_arg write[] = {
	    {out.data(), out.size() * sizeof(double), VACCEL_ARG_RAW, 0, false},
	    {&mn, sizeof(mn), VACCEL_ARG_RAW, 0, false},
	    {&mx, sizeof(mx), VACCEL_ARG_RAW, 0, false},
	};
	ASSERT_EQ(vaccel_genop(sess, read, int(std::size(read)), write,
			       int(std::size(write))),
		  VACCEL_OK);
	const auto ref = ref_minmax(in, low, high);
	EXPECT_EQ(out, ref.out);
	EXPECT_EQ(mn, ref.min);
	EXPECT_EQ(mx, ref.max);
}

// The text of @p path (empty when it cannot be read).
inline std::string read_text(const std::string &path)
{
	std::ifstream f(path);
	return std::string(std::istreambuf_iterator<char>(f), {});
}

} // namespace backend_test
