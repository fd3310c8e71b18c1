// SPDX-License-Identifier: Apache-2.0
// The torch plugin's sgemm (out = A x B [+ C]) against naive loops, on
// random matrices of odd sizes, and its argument checks.
#include "torch_test.h"

#include <random>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

using namespace torch_test;

namespace
{

class TorchSgemm : public TorchTest
{
};

std::vector<float> random_floats(std::mt19937 &rng, size_t n)
{
	std::uniform_real_distribution<float> dist(-1.0F, 1.0F);
	std::vector<float> v(n);
	for (float &x : v)
		x = dist(rng);
	return v;
}

// Runs torch sgemm on random m x k, k x n and (when @p with_c) m x n
// matrices and compares the result with naive loops in double. Returns the
// op's code; the comparison only runs when it is VACCEL_OK.
int check_sgemm(vaccel_session *sess, std::mt19937 &rng, int m, int n, int k,
		bool with_c)
{
	SCOPED_TRACE(testing::Message()
		     << m << "x" << n << "x" << k << (with_c ? " + C" : ""));
	const auto a = random_floats(rng, static_cast<size_t>(m * k));
	const auto b = random_floats(rng, static_cast<size_t>(k * n));
	const auto c = random_floats(rng, static_cast<size_t>(m * n));
	vaccel_torch_tensor *ta = make_tensor(float_tensor({m, k}, a));
	vaccel_torch_tensor *tb = make_tensor(float_tensor({k, n}, b));
	// C given as a flat vector: only its element count matters.
	vaccel_torch_tensor *tc = make_tensor(float_tensor({m * n}, c));
	vaccel_torch_tensor *out = nullptr;
	const int rc = vaccel_torch_sgemm(
	    sess, &ta, &tb, with_c ? &tc : nullptr, m, n, k, &out);
	if (rc == VACCEL_OK) {
		EXPECT_NE(out, nullptr);
		if (out != nullptr) {
			EXPECT_EQ(out->data_type, VACCEL_TORCH_FLOAT);
			EXPECT_EQ(out->nr_dims, 2);
			if (out->nr_dims == 2) {
				EXPECT_EQ(out->dims[0], m);
				EXPECT_EQ(out->dims[1], n);
			}
			const std::vector<float> got = floats(out);
			EXPECT_EQ(got.size(), static_cast<size_t>(m * n));
			size_t bad = 0;
			for (int i = 0; i < m && got.size() == size_t(m * n);
			     i++)
				for (int j = 0; j < n; j++) {
					double want =
					    with_c ? c[size_t(i * n + j)] : 0.0;
					for (int p = 0; p < k; p++)
						want +=
						    double(
							a[size_t(i * k + p)]) *
						    b[size_t(p * n + j)];
					const float g = got[size_t(i * n + j)];
					if (!(std::fabs(g - want) <=
					      1e-5 * (k + 1)) &&
					    bad++ < 5)
						ADD_FAILURE()
						    << "at " << i << "," << j
						    << ": " << g
						    << ", expected " << want;
				}
			EXPECT_EQ(bad, 0U);
		}
	} else {
		EXPECT_EQ(out, nullptr);
	}
	vaccel_torch_tensor_delete(out);
	vaccel_torch_tensor_delete(ta);
	vaccel_torch_tensor_delete(tb);
	vaccel_torch_tensor_delete(tc);
	return rc;
}

TEST_F(TorchSgemm, MatchesNaiveLoops)
{
	std::mt19937 rng(4242);
	const int sizes[][3] = {{1, 1, 1},    {7, 13, 5},  {33, 17, 29},
				{64, 3, 100}, {5, 101, 1}, {1, 31, 63}};
	for (const auto &s : sizes)
		for (bool with_c : {true, false})
			EXPECT_EQ(
			    check_sgemm(&sess_, rng, s[0], s[1], s[2], with_c),
			    VACCEL_OK);
}

TEST_F(TorchSgemm, RandomShapes)
{
	// vaccel_torch_sgemm has no leading dimensions, alpha or beta
	// (upstream's signature): out = A B [+ C] on dense matrices. The
	// shapes are random, most of them odd.
	std::mt19937 rng(77);
	std::uniform_int_distribution<int> dim(1, 90);
	for (int i = 0; i < 40; i++)
		EXPECT_EQ(check_sgemm(&sess_, rng, dim(rng), dim(rng), dim(rng),
				      i % 2 == 0),
			  VACCEL_OK);
}

TEST_F(TorchSgemm, DeviceFromConfiguration)
{
	std::mt19937 rng(5);
	setenv("VACCEL_TORCH_DEVICE", "cpu", 1);
	EXPECT_EQ(check_sgemm(&sess_, rng, 9, 7, 5, true), VACCEL_OK);
	// CUDA: the right result where libtorch sees a GPU, else
	// VACCEL_ENODEV and the reason.
	setenv("VACCEL_TORCH_DEVICE", "cuda", 1);
	const int rc = check_sgemm(&sess_, rng, 9, 7, 5, true);
	if (rc != VACCEL_OK) {
		EXPECT_EQ(rc, VACCEL_ENODEV);
		EXPECT_EQ(log_count("sgemm: VACCEL_TORCH_DEVICE asks for CUDA"),
			  1U);
	}
	setenv("VACCEL_TORCH_DEVICE", "cuda:99", 1);
	EXPECT_EQ(check_sgemm(&sess_, rng, 3, 3, 3, false), VACCEL_ENODEV);
	setenv("VACCEL_TORCH_DEVICE", "npu", 1);
	EXPECT_EQ(check_sgemm(&sess_, rng, 3, 3, 3, false), VACCEL_EINVAL);
	unsetenv("VACCEL_TORCH_DEVICE");
	EXPECT_EQ(check_sgemm(&sess_, rng, 3, 3, 3, false), VACCEL_OK);
}

TEST_F(TorchSgemm, BadArguments)
{
	vaccel_torch_tensor *a =
	    make_tensor(float_tensor({2, 3}, std::vector<float>(6, 1.0F)));
	vaccel_torch_tensor *b =
	    make_tensor(float_tensor({3, 4}, std::vector<float>(12, 1.0F)));
	vaccel_torch_tensor *c =
	    make_tensor(float_tensor({2, 4}, std::vector<float>(8, 1.0F)));
	vaccel_torch_tensor *none = nullptr;
	vaccel_torch_tensor *out = nullptr;

	ASSERT_EQ(vaccel_torch_sgemm(&sess_, &a, &b, &c, 2, 4, 3, &out),
		  VACCEL_OK);
	EXPECT_EQ(floats(out), std::vector<float>(8, 4.0F));
	vaccel_torch_tensor_delete(out);

	const auto expect_einval = [&](vaccel_torch_tensor **ta,
				       vaccel_torch_tensor **tb,
				       vaccel_torch_tensor **tc, int m, int n,
				       int k) {
		out = reinterpret_cast<vaccel_torch_tensor *>(&out);
		EXPECT_EQ(vaccel_torch_sgemm(&sess_, ta, tb, tc, m, n, k, &out),
			  VACCEL_EINVAL)
		    << m << "x" << n << "x" << k;
		EXPECT_EQ(out, nullptr);
	};
	expect_einval(nullptr, &b, &c, 2, 4, 3);
	expect_einval(&none, &b, &c, 2, 4, 3);
	expect_einval(&a, &none, &c, 2, 4, 3);
	expect_einval(&a, &b, &c, 0, 4, 3);
	expect_einval(&a, &b, &c, 2, -4, 3);
	expect_einval(&a, &b, &c, 2, 4, 0);
	expect_einval(&a, &b, &c, 3, 4, 2); // B has 12 elements, not 2x4
	expect_einval(&a, &b, &c, 2, 4, 4); // K mismatch
	expect_einval(&a, &b, &c, 2, 5, 3); // C and B too small for N=5

	// Not float.
	vaccel_torch_tensor *ints = nullptr;
	const int64_t dims[] = {2, 3};
	ASSERT_EQ(vaccel_torch_tensor_allocate(&ints, 2, dims, VACCEL_TORCH_INT,
					       6 * sizeof(int32_t)),
		  VACCEL_OK);
	expect_einval(&ints, &b, &c, 2, 4, 3);
	vaccel_torch_tensor_delete(ints);

	// No output pointer.
	EXPECT_EQ(vaccel_torch_sgemm(&sess_, &a, &b, &c, 2, 4, 3, nullptr),
		  VACCEL_EINVAL);
	vaccel_torch_tensor_delete(a);
	vaccel_torch_tensor_delete(b);
	vaccel_torch_tensor_delete(c);
}

} // namespace
