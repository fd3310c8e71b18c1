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

TEST_F(TorchSgemm, MatchesNaiveLoops)
{
	std::mt19937 rng(4242);
	const int sizes[][3] = {{1, 1, 1},    {7, 13, 5},  {33, 17, 29},
				{64, 3, 100}, {5, 101, 1}, {1, 31, 63}};
	for (const auto &s : sizes) {
		const int m = s[0];
		const int n = s[1];
		const int k = s[2];
		const auto a = random_floats(rng, static_cast<size_t>(m * k));
		const auto b = random_floats(rng, static_cast<size_t>(k * n));
		const auto c = random_floats(rng, static_cast<size_t>(m * n));
		vaccel_torch_tensor *ta = make_tensor(float_tensor({m, k}, a));
		vaccel_torch_tensor *tb = make_tensor(float_tensor({k, n}, b));
		// C given as a flat vector: only its element count matters.
		vaccel_torch_tensor *tc = make_tensor(float_tensor({m * n}, c));

		for (bool with_c : {true, false}) {
			vaccel_torch_tensor *out = nullptr;
			ASSERT_EQ(vaccel_torch_sgemm(&sess_, &ta, &tb,
						     with_c ? &tc : nullptr, m,
						     n, k, &out),
				  VACCEL_OK);
			ASSERT_NE(out, nullptr);
			EXPECT_EQ(out->data_type, VACCEL_TORCH_FLOAT);
			ASSERT_EQ(out->nr_dims, 2);
			EXPECT_EQ(out->dims[0], m);
			EXPECT_EQ(out->dims[1], n);
			const std::vector<float> got = floats(out);
			ASSERT_EQ(got.size(), static_cast<size_t>(m * n));
			for (int i = 0; i < m; i++)
				for (int j = 0; j < n; j++) {
					double want =
					    with_c ? c[static_cast<size_t>(
							 i * n + j)]
						   : 0.0;
					for (int p = 0; p < k; p++)
						want +=
						    static_cast<double>(
							a[static_cast<size_t>(
							    i * k + p)]) *
						    b[static_cast<size_t>(
							p * n + j)];
					ASSERT_NEAR(
					    got[static_cast<size_t>(i * n + j)],
					    want, 1e-5 * (k + 1))
					    << m << "x" << n << "x" << k
					    << " at " << i << "," << j;
				}
			vaccel_torch_tensor_delete(out);
		}
		vaccel_torch_tensor_delete(ta);
		vaccel_torch_tensor_delete(tb);
		vaccel_torch_tensor_delete(tc);
	}
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
