// SPDX-License-Identifier: Apache-2.0
// The cuda plugin on a real GPU: every op against CPU reference loops on
// random inputs (odd sizes, non-default leading dimensions, alpha/beta
// variants, NaN where the semantics say it is ignored), device selection,
// and concurrent calls from several threads. Needs a CUDA device: CTest
// runs it only when configured with -DVACCEL_GPU_TESTS=ON.
#include "cuda_test.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <thread>

namespace
{

using cuda_test::CudaTest;
using cuda_test::random_vec;

struct SgemmCase {
	int64_t m, n, k;
	int64_t lda_pad, ldb_pad, ldc_pad; // added to the minimum
	float alpha, beta;
};

class CudaGpuTest : public CudaTest
{
protected:
	// Runs one sgemm and compares every element of C, including the
	// elements between rows, which must be left alone.
	void check_sgemm(const SgemmCase &t, uint32_t seed, bool nan_in_c)
	{
		SCOPED_TRACE(testing::Message()
			     << "m " << t.m << " n " << t.n << " k " << t.k
			     << " pads " << t.lda_pad << "," << t.ldb_pad << ","
			     << t.ldc_pad << " alpha " << t.alpha << " beta "
			     << t.beta);
		std::mt19937 rng(seed);
		const int64_t lda = std::max<int64_t>(1, t.k) + t.lda_pad;
		const int64_t ldb = std::max<int64_t>(1, t.n) + t.ldb_pad;
		const int64_t ldc = std::max<int64_t>(1, t.n) + t.ldc_pad;
		auto a = random_vec<float>(
		    size_t(std::max<int64_t>(1, t.m * lda)), rng, -1.0F, 1.0F);
		auto b = random_vec<float>(
		    size_t(std::max<int64_t>(1, t.k * ldb)), rng, -1.0F, 1.0F);
		auto c = random_vec<float>(
		    size_t(std::max<int64_t>(1, t.m * ldc)), rng, -1.0F, 1.0F);
		if (nan_in_c) {
			for (int64_t i = 0; i < t.m; i++)
				for (int64_t j = 0; j < t.n; j++)
					c[size_t(i * ldc + j)] =
					    std::numeric_limits<
						float>::quiet_NaN();
		}
		const std::vector<float> c0 = c;
		auto ref =
		    cuda_test::ref_sgemm(t.m, t.n, t.k, t.alpha, a.data(), lda,
					 b.data(), ldb, t.beta, c0, ldc);
		ASSERT_EQ(vaccel_sgemm(&sess_, t.m, t.n, t.k, t.alpha, a.data(),
				       lda, b.data(), ldb, t.beta, c.data(),
				       ldc),
			  VACCEL_OK);
		size_t bad = 0;
		for (int64_t i = 0; i < t.m; i++) {
			for (int64_t j = 0; j < ldc; j++) {
				const size_t at = size_t(i * ldc + j);
				if (j >= t.n) { // between rows: untouched
					if (c[at] != c0[at] && bad++ < 5)
						ADD_FAILURE()
						    << "gap element (" << i
						    << "," << j << ") changed";
					continue;
				}
				double tol = cuda_test::sgemm_tolerance(
				    t.m, t.n, t.k, t.alpha, a.data(), lda,
				    b.data(), ldb, t.beta, c0, ldc, i, j);
				if (!(std::fabs(double(c[at]) - ref[at]) <=
				      tol) &&
				    bad++ < 5)
					ADD_FAILURE()
					    << "C(" << i << "," << j
					    << ") = " << c[at] << ", expected "
					    << ref[at] << " +- " << tol;
			}
		}
		EXPECT_EQ(bad, 0U);
	}
};

TEST_F(CudaGpuTest, SgemmMatchesReferenceOnOddShapes)
{
	const SgemmCase cases[] = {
	    {1, 1, 1, 0, 0, 0, 1.0F, 0.0F},
	    {17, 33, 5, 0, 0, 0, 1.0F, 0.0F},
	    {33, 17, 5, 0, 0, 0, 1.5F, -0.5F},
	    {3, 1, 7, 0, 0, 0, 1.0F, 1.0F},
	    {1, 5, 1, 0, 0, 0, -2.0F, 0.25F},
	    {64, 64, 64, 0, 0, 0, 1.0F, 0.0F},
	    {128, 96, 200, 0, 0, 0, 0.5F, 2.0F},
	    {31, 29, 37, 3, 5, 2, 1.0F, 1.0F},   // padded leading dims
	    {7, 300, 11, 1, 17, 4, -1.0F, 0.5F}, // wide C
	    {300, 7, 11, 9, 1, 1, 2.0F, 0.0F},   // tall C
	    {5, 6, 7, 0, 0, 0, 0.0F, 3.0F},      // alpha 0: C = beta C
	};
	uint32_t seed = 1;
	for (const auto &t : cases)
		check_sgemm(t, seed++, false);
}

TEST_F(CudaGpuTest, SgemmWithBetaZeroIgnoresNanInC)
{
	check_sgemm({19, 23, 9, 0, 0, 0, 1.0F, 0.0F}, 7, true);
	check_sgemm({19, 23, 9, 2, 3, 5, -0.75F, 0.0F}, 8, true);
}

TEST_F(CudaGpuTest, SgemmWithKZeroScalesC)
{
	check_sgemm({4, 6, 0, 0, 0, 0, 1.0F, 2.0F}, 9, false);
	check_sgemm({4, 6, 0, 0, 0, 1, 1.0F, 0.0F}, 10, false);
}

TEST_F(CudaGpuTest, SgemmWithNoElementsDoesNothing)
{
	float c[4] = {1, 2, 3, 4};
	float a[4] = {1, 1, 1, 1};
	EXPECT_EQ(vaccel_sgemm(&sess_, 0, 2, 2, 1.0F, a, 2, a, 2, 0.0F, c, 2),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_sgemm(&sess_, 2, 0, 2, 1.0F, a, 2, a, 1, 0.0F, c, 1),
		  VACCEL_OK);
	EXPECT_EQ(c[0], 1.0F);
	EXPECT_EQ(c[3], 4.0F);
}

// The upstream example's shape and constants (examples/sgemm.c); timed.
TEST_F(CudaGpuTest, SgemmLargeMatchesReferenceSample)
{
	const int64_t m = 1024;
	const int64_t n = 1024;
	const int64_t k = 1024;
	std::mt19937 rng(42);
	auto a = random_vec<float>(size_t(m * k), rng, -1.0F, 1.0F);
	auto b = random_vec<float>(size_t(k * n), rng, -1.0F, 1.0F);
	auto c = random_vec<float>(size_t(m * n), rng, -1.0F, 1.0F);
	const std::vector<float> c0 = c;
	const float alpha = 0.75F;
	const float beta = -1.25F;
	// Warm-up: the first call creates the context, stream and handle.
	std::vector<float> warm = c;
	ASSERT_EQ(vaccel_sgemm(&sess_, m, n, k, alpha, a.data(), k, b.data(), n,
			       beta, warm.data(), n),
		  VACCEL_OK);
	const auto t0 = std::chrono::steady_clock::now();
	ASSERT_EQ(vaccel_sgemm(&sess_, m, n, k, alpha, a.data(), k, b.data(), n,
			       beta, c.data(), n),
		  VACCEL_OK);
	const double s =
	    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
		.count();
	std::printf(
	    "sgemm %ldx%ldx%ld incl. transfers: %.3f ms, %.1f GFLOP/s\n",
	    long(m), long(n), long(k), s * 1e3,
	    2.0 * double(m * n * k) / s / 1e9);
	EXPECT_EQ(warm, c); // deterministic
	std::uniform_int_distribution<int64_t> pick(0, m - 1);
	for (int t = 0; t < 500; t++) {
		const int64_t i = pick(rng);
		const int64_t j = pick(rng);
		double acc = 0.0;
		for (int64_t p = 0; p < k; p++)
			acc += double(a[size_t(i * k + p)]) *
			       double(b[size_t(p * n + j)]);
		const double want =
		    double(alpha) * acc +
		    double(beta) * double(c0[size_t(i * n + j)]);
		const double tol =
		    cuda_test::sgemm_tolerance(m, n, k, alpha, a.data(), k,
					       b.data(), n, beta, c0, n, i, j);
		ASSERT_NEAR(double(c[size_t(i * n + j)]), want, tol)
		    << "at (" << i << "," << j << ")";
	}
}

TEST_F(CudaGpuTest, VaddMatchesReference)
{
	std::mt19937 rng(3);
	for (size_t n : {size_t{1}, size_t{7}, size_t{1000}, size_t{65537},
			 (size_t{1} << 20) + 3}) {
		SCOPED_TRACE(n);
		auto a = random_vec<float>(n, rng, -100.0F, 100.0F);
		auto b = random_vec<float>(n + 5, rng, -100.0F, 100.0F);
		std::vector<float> c(n + 1, -7.0F); // one sentinel at the end
		// len_b may exceed len_a: only len_a elements are summed.
		ASSERT_EQ(vaccel_fpga_vadd(&sess_, a.data(), b.data(), c.data(),
					   n, n + 5),
			  VACCEL_OK);
		for (size_t i = 0; i < n; i++)
			ASSERT_EQ(c[i], a[i] + b[i]) << "at " << i;
		EXPECT_EQ(c[n], -7.0F);
	}
}

// The upstream unit test's values: 1,2,3,4,5 + 1,2,6,4,5.
TEST_F(CudaGpuTest, VaddUpstreamExample)
{
	float a[] = {1, 2, 3, 4, 5};
	float b[] = {1, 2, 6, 4, 5};
	float c[] = {1, 2, 6, 4, 5};
	ASSERT_EQ(vaccel_fpga_vadd(&sess_, a, b, c, 5, 5), VACCEL_OK);
	const float want[] = {2, 4, 9, 8, 10};
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(c[i], want[i]);
}

TEST_F(CudaGpuTest, ParallelMatchesReference)
{
	std::mt19937 rng(4);
	for (size_t n : {size_t{1}, size_t{255}, size_t{256}, size_t{257},
			 size_t{300001}}) {
		SCOPED_TRACE(n);
		auto a = random_vec<float>(n, rng, -10.0F, 10.0F);
		auto b = random_vec<float>(n, rng, -10.0F, 10.0F);
		std::vector<float> add(n, 0.0F);
		std::vector<float> mul(n, 0.0F);
		ASSERT_EQ(vaccel_fpga_parallel(&sess_, a.data(), b.data(),
					       add.data(), mul.data(), n),
			  VACCEL_OK);
		for (size_t i = 0; i < n; i++) {
			ASSERT_EQ(add[i], a[i] + b[i]) << "at " << i;
			ASSERT_EQ(mul[i], a[i] * b[i]) << "at " << i;
		}
	}
}

TEST_F(CudaGpuTest, ArraycopyCopiesExactly)
{
	std::mt19937 rng(5);
	for (size_t n : {size_t{1}, size_t{3}, size_t{4097}, size_t{1} << 21}) {
		SCOPED_TRACE(n);
		auto a =
		    random_vec<int>(n, rng, std::numeric_limits<int>::min(),
				    std::numeric_limits<int>::max());
		std::vector<int> out(n + 1, 12345);
		ASSERT_EQ(
		    vaccel_fpga_arraycopy(&sess_, a.data(), out.data(), n),
		    VACCEL_OK);
		for (size_t i = 0; i < n; i++)
			ASSERT_EQ(out[i], a[i]) << "at " << i;
		EXPECT_EQ(out[n], 12345);
	}
	int x = 5;
	int y = 6;
	EXPECT_EQ(vaccel_fpga_arraycopy(&sess_, &x, &y, 0), VACCEL_OK);
	EXPECT_EQ(y, 6);
}

TEST_F(CudaGpuTest, MmultMatchesReference)
{
	std::mt19937 rng(6);
	for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{16},
			 size_t{17}, size_t{33}, size_t{100}, size_t{257}}) {
		SCOPED_TRACE(n);
		auto a = random_vec<float>(n * n, rng, -1.0F, 1.0F);
		auto b = random_vec<float>(n * n, rng, -1.0F, 1.0F);
		std::vector<float> c(n * n + 1, -3.0F);
		ASSERT_EQ(vaccel_fpga_mmult(&sess_, a.data(), b.data(),
					    c.data(), n * n),
			  VACCEL_OK);
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < n; j++) {
				double acc = 0.0;
				double mag = 0.0;
				for (size_t p = 0; p < n; p++) {
					double t = double(a[i * n + p]) *
						   double(b[p * n + j]);
					acc += t;
					mag += std::fabs(t);
				}
				const double tol =
				    4.0 * double(n + 2) * FLT_EPSILON * mag +
				    1e-6;
				ASSERT_NEAR(double(c[i * n + j]), acc, tol)
				    << "at (" << i << "," << j << ")";
			}
		}
		EXPECT_EQ(c[n * n], -3.0F);
	}
	float z[5] = {};
	EXPECT_EQ(vaccel_fpga_mmult(&sess_, z, z, z, 5), VACCEL_EINVAL);
}

void expect_minmax(vaccel_session *sess, const std::vector<double> &in, int low,
		   int high)
{
	auto ref = cuda_test::ref_minmax(in, low, high);
	std::vector<double> out(in.size() + 1, 1234.5);
	double mn = 0.0;
	double mx = 0.0;
	ASSERT_EQ(vaccel_minmax(sess, in.data(), int(in.size()), low, high,
				out.data(), &mn, &mx),
		  VACCEL_OK);
	EXPECT_EQ(mn, ref.min);
	EXPECT_EQ(mx, ref.max);
	for (size_t i = 0; i < in.size(); i++)
		ASSERT_EQ(out[i], ref.out[i]) << "at " << i;
	EXPECT_EQ(out[in.size()], 1234.5);
}

TEST_F(CudaGpuTest, MinmaxMatchesReference)
{
	std::mt19937 rng(7);
	for (size_t n : {size_t{1}, size_t{2}, size_t{31}, size_t{255},
			 size_t{256}, size_t{257}, size_t{2048},
			 (size_t{1} << 20) + 1, size_t{3} << 20}) {
		SCOPED_TRACE(n);
		auto in = random_vec<double>(n, rng, -5000.0, 5000.0);
		expect_minmax(&sess_, in, 0, 4000);       // clamps both ends
		expect_minmax(&sess_, in, -10000, 10000); // clamps nothing
		expect_minmax(&sess_, in, -7, -7);        // one value
	}
}

TEST_F(CudaGpuTest, MinmaxTurnsNanIntoLow)
{
	std::vector<double> in = {3.0, std::nan(""), -2.0, INFINITY, -INFINITY};
	expect_minmax(&sess_, in, -1, 10);
}

// The upstream example input (examples/data/input_2048.csv).
TEST_F(CudaGpuTest, MinmaxUpstreamInput)
{
	std::ifstream f(cuda_test::data_dir() + "/input_2048.csv");
	ASSERT_TRUE(f.good()) << cuda_test::data_dir();
	std::vector<double> in;
	for (double x = 0; f >> x;)
		in.push_back(x);
	ASSERT_EQ(in.size(), 2048U);
	expect_minmax(&sess_, in, 0, 4000);
}

// A bad VACCEL_CUDA_DEVICE leaves the plugin without a device; unset, the
// default device works again.
TEST(CudaGpuDevice, DeviceIndexFromEnvironment)
{
	ASSERT_EQ(setenv("VACCEL_CUDA_DEVICE", "999", 1), 0);
	ASSERT_NO_FATAL_FAILURE(cuda_test::restart_runtime(VACCEL_LOG_ERROR));
	vaccel_session sess{};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	float a[2] = {1, 2};
	float c[2] = {};
	EXPECT_EQ(vaccel_fpga_vadd(&sess, a, a, c, 2, 2), VACCEL_ENODEV);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);

	ASSERT_EQ(setenv("VACCEL_CUDA_DEVICE", "0", 1), 0);
	ASSERT_NO_FATAL_FAILURE(cuda_test::restart_runtime(VACCEL_LOG_ERROR));
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_fpga_vadd(&sess, a, a, c, 2, 2), VACCEL_OK);
	EXPECT_EQ(c[1], 4.0F);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	ASSERT_EQ(unsetenv("VACCEL_CUDA_DEVICE"), 0);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

// VACCEL_ACCELERATOR_BYTES (what the agent gives a tenant's worker process
// from its policy): calls within the cap run, one that needs more device
// memory is VACCEL_ENOMEM, and the cap holds call after call (buffers are
// freed between calls, so the first call's do not count against the next).
TEST(CudaGpuDevice, AcceleratorMemoryCap)
{
	constexpr size_t kCap = size_t{8} << 20;
	ASSERT_EQ(
	    setenv("VACCEL_ACCELERATOR_BYTES", std::to_string(kCap).c_str(), 1),
	    0);
	ASSERT_NO_FATAL_FAILURE(cuda_test::restart_runtime(VACCEL_LOG_ERROR));
	vaccel_session sess{};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	// 3 x 256 x 256 floats = 768 KiB: fits, three times in a row.
	for (int i = 0; i < 3; ++i) {
		const int64_t n = 256;
		std::vector<float> a(n * n, 1.0F), b(n * n, 2.0F), c(n * n);
		ASSERT_EQ(vaccel_sgemm(&sess, n, n, n, 1.0F, a.data(), n,
				       b.data(), n, 0.0F, c.data(), n),
			  VACCEL_OK);
		EXPECT_EQ(c[0], 2.0F * n);
	}
	// 3 x 1024 x 1024 floats = 12 MiB: over the cap.
	{
		const int64_t n = 1024;
		std::vector<float> a(n * n, 1.0F), b(n * n, 2.0F), c(n * n);
		EXPECT_EQ(vaccel_sgemm(&sess, n, n, n, 1.0F, a.data(), n,
				       b.data(), n, 0.0F, c.data(), n),
			  VACCEL_ENOMEM);
	}
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);

	// Malformed: the plugin refuses to load rather than run uncapped.
	ASSERT_EQ(setenv("VACCEL_ACCELERATOR_BYTES", "8M", 1), 0);
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init(&cfg, cuda_test::plugin_path(),
				     VACCEL_LOG_ERROR, nullptr, false, false),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	const int rc = vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	EXPECT_TRUE(rc != VACCEL_OK || vaccel_plugin_count() == 0U);

	ASSERT_EQ(unsetenv("VACCEL_ACCELERATOR_BYTES"), 0);
	ASSERT_NO_FATAL_FAILURE(cuda_test::restart_runtime(VACCEL_LOG_ERROR));
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	const int64_t n = 1024;
	std::vector<float> a(n * n, 1.0F), b(n * n, 2.0F), c(n * n);
	EXPECT_EQ(vaccel_sgemm(&sess, n, n, n, 1.0F, a.data(), n, b.data(), n,
			       0.0F, c.data(), n),
		  VACCEL_OK);
	EXPECT_EQ(c[0], 2.0F * n);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

// One thread's mix of ops, each checked; counts failures in @p bad.
void worker(vaccel_session *sess, uint32_t seed, int iterations,
	    std::atomic<int> *bad)
{
	std::mt19937 rng(seed);
	std::uniform_int_distribution<int64_t> dim(1, 70);
	for (int it = 0; it < iterations; it++) {
		const int64_t m = dim(rng);
		const int64_t n = dim(rng);
		const int64_t k = dim(rng);
		auto a = random_vec<float>(size_t(m * k), rng, -1.0F, 1.0F);
		auto b = random_vec<float>(size_t(k * n), rng, -1.0F, 1.0F);
		auto c = random_vec<float>(size_t(m * n), rng, -1.0F, 1.0F);
		const std::vector<float> c0 = c;
		auto ref = cuda_test::ref_sgemm(m, n, k, 1.0F, a.data(), k,
						b.data(), n, 0.5F, c0, n);
		if (vaccel_sgemm(sess, m, n, k, 1.0F, a.data(), k, b.data(), n,
				 0.5F, c.data(), n) != VACCEL_OK) {
			(*bad)++;
			continue;
		}
		for (int64_t i = 0; i < m; i++) {
			for (int64_t j = 0; j < n; j++) {
				const size_t at = size_t(i * n + j);
				if (std::fabs(double(c[at]) - ref[at]) >
				    cuda_test::sgemm_tolerance(
					m, n, k, 1.0F, a.data(), k, b.data(), n,
					0.5F, c0, n, i, j))
					(*bad)++;
			}
		}

		const size_t len = 10000 + size_t(it);
		auto x = random_vec<float>(len, rng, -1.0F, 1.0F);
		auto y = random_vec<float>(len, rng, -1.0F, 1.0F);
		std::vector<float> z(len);
		if (vaccel_fpga_vadd(sess, x.data(), y.data(), z.data(), len,
				     len) != VACCEL_OK)
			(*bad)++;
		for (size_t i = 0; i < len; i++)
			if (z[i] != x[i] + y[i])
				(*bad)++;

		auto d = random_vec<double>(len, rng, -100.0, 100.0);
		auto mref = cuda_test::ref_minmax(d, -50, 50);
		std::vector<double> out(len);
		double mn = 0;
		double mx = 0;
		if (vaccel_minmax(sess, d.data(), int(len), -50, 50, out.data(),
				  &mn, &mx) != VACCEL_OK ||
		    mn != mref.min || mx != mref.max || out != mref.out)
			(*bad)++;
	}
}

TEST_F(CudaGpuTest, FourThreadsWithTheirOwnSessions)
{
	std::atomic<int> bad{0};
	std::vector<std::thread> threads;
	std::vector<vaccel_session> sessions(4);
	for (auto &s : sessions)
		ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
	for (uint32_t t = 0; t < 4; t++)
		threads.emplace_back(worker, &sessions[t], 100 + t, 25, &bad);
	for (auto &t : threads)
		t.join();
	for (auto &s : sessions)
		EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	EXPECT_EQ(bad.load(), 0);
}

TEST_F(CudaGpuTest, FourThreadsSharingOneSession)
{
	std::atomic<int> bad{0};
	std::vector<std::thread> threads;
	for (uint32_t t = 0; t < 4; t++)
		threads.emplace_back(worker, &sess_, 200 + t, 25, &bad);
	for (auto &t : threads)
		t.join();
	EXPECT_EQ(bad.load(), 0);
}

} // namespace
