// SPDX-License-Identifier: Apache-2.0
// Shared parts of the opencl plugin tests: a fixture with the runtime
// restarted with only the opencl plugin, a scoped environment variable, and
// naive references of the fpga ops. sgemm and minmax references and checks
// come from tests/blas/backend_ref.h (both plugins share their semantics).
#pragma once

#include "backend_ref.h"

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace opencl_test
{

// Sets (or, with NULL, unsets) an environment variable for a scope.
class ScopedEnv
{
public:
	ScopedEnv(const char *name, const char *value) : name_(name)
	{
		if (const char *old = std::getenv(name))
			old_ = old;
		if (value != nullptr)
			setenv(name, value, 1);
		else
			unsetenv(name);
	}
	ScopedEnv(const ScopedEnv &) = delete;
	ScopedEnv &operator=(const ScopedEnv &) = delete;
	~ScopedEnv()
	{
		if (old_)
			setenv(name_.c_str(), old_->c_str(), 1);
		else
			unsetenv(name_.c_str());
	}

private:
	std::string name_;
	std::optional<std::string> old_;
};

class OpenclTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(
		    backend_test::restart_runtime(TEST_OPENCL_PLUGIN));
		ASSERT_EQ(vaccel_session_init(&sess_, 0), VACCEL_OK);
	}

	void TearDown() override
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	}

	// Restarts the runtime logging at @p level to a file under the test's
	// temporary directory and returns the file's path.
	std::string restart_with_log(const char *name,
				     vaccel_log_level_t level = VACCEL_LOG_WARN)
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		sess_ = vaccel_session{};
		std::string log = testing::TempDir() + name;
		std::remove(log.c_str());
		backend_test::restart_runtime(TEST_OPENCL_PLUGIN, level,
					      log.c_str());
		EXPECT_EQ(vaccel_session_init(&sess_, 0), VACCEL_OK);
		return log;
	}

	vaccel_session sess_{};
};

// n x n row-major c = a b in double.
inline std::vector<double> ref_mmult(const std::vector<float> &a,
				     const std::vector<float> &b, size_t n)
{
	std::vector<double> c(n * n, 0.0);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			double acc = 0.0;
			for (size_t p = 0; p < n; p++)
				acc +=
				    double(a[i * n + p]) * double(b[p * n + j]);
			c[i * n + j] = acc;
		}
	return c;
}

} // namespace opencl_test

namespace opencl_test
{

// With no usable device every op fails with VACCEL_ENODEV on valid
// arguments and leaves its outputs alone.
inline void expect_every_op_enodev(vaccel_session *sess)
{
	std::vector<float> a(16, 1.0F);
	std::vector<float> b(16, 2.0F);
	std::vector<float> c(16, 7.0F);
	std::vector<float> d(16, 7.0F);
	EXPECT_EQ(vaccel_sgemm(sess, 4, 4, 4, 1.0F, a.data(), 4, b.data(), 4,
			       0.0F, c.data(), 4),
		  VACCEL_ENODEV);
	EXPECT_EQ(vaccel_fpga_mmult(sess, a.data(), b.data(), c.data(), 16),
		  VACCEL_ENODEV);
	EXPECT_EQ(vaccel_fpga_vadd(sess, a.data(), b.data(), c.data(), 16, 16),
		  VACCEL_ENODEV);
	EXPECT_EQ(vaccel_fpga_parallel(sess, a.data(), b.data(), c.data(),
				       d.data(), 16),
		  VACCEL_ENODEV);
	std::vector<int> ia(16, 3);
	std::vector<int> ib(16, -1);
	EXPECT_EQ(vaccel_fpga_arraycopy(sess, ia.data(), ib.data(), 16),
		  VACCEL_ENODEV);
	std::vector<double> in(16, 1.0);
	std::vector<double> out(16, -1.0);
	double mn = 42.0;
	double mx = 42.0;
	EXPECT_EQ(
	    vaccel_minmax(sess, in.data(), 16, 0, 2, out.data(), &mn, &mx),
	    VACCEL_ENODEV);
	for (float x : c)
		EXPECT_EQ(x, 7.0F);
	for (float x : d)
		EXPECT_EQ(x, 7.0F);
	for (int x : ib)
		EXPECT_EQ(x, -1);
	for (double x : out)
		EXPECT_EQ(x, -1.0);
	EXPECT_EQ(mn, 42.0);
}

// Bad arguments are VACCEL_EINVAL whether or not there is a device.
inline void expect_fpga_argument_errors(vaccel_session *sess)
{
	std::vector<float> a(16, 1.0F);
	std::vector<float> c(16, 7.0F);
	std::vector<int> ia(16, 3);
	std::vector<int> ib(16, -1);
	float *pa = a.data();
	float *pc = c.data();
	// vadd: NULLs, len_b < len_a
	EXPECT_EQ(vaccel_fpga_vadd(sess, nullptr, pa, pc, 4, 4), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_vadd(sess, pa, nullptr, pc, 4, 4), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_vadd(sess, pa, pa, nullptr, 4, 4), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_vadd(sess, pa, pa, pc, 5, 4), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_vadd(nullptr, pa, pa, pc, 4, 4), VACCEL_EINVAL);
	// parallel
	EXPECT_EQ(vaccel_fpga_parallel(sess, pa, pa, pc, nullptr, 4),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_parallel(sess, nullptr, pa, pc, pc, 4),
		  VACCEL_EINVAL);
	// arraycopy
	EXPECT_EQ(vaccel_fpga_arraycopy(sess, nullptr, ib.data(), 4),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_arraycopy(sess, ia.data(), nullptr, 4),
		  VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_fpga_arraycopy(sess, ia.data(), ib.data(), SIZE_MAX / 2),
	    VACCEL_EINVAL); // byte count overflows
	// mmult: not n * n, NULLs
	EXPECT_EQ(vaccel_fpga_mmult(sess, pa, pa, pc, 15), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_mmult(sess, pa, pa, pc, 2), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_mmult(sess, pa, nullptr, pc, 16), VACCEL_EINVAL);
	for (float x : c)
		EXPECT_EQ(x, 7.0F);
	for (int x : ib)
		EXPECT_EQ(x, -1);
	backend_test::check_sgemm_errors(sess);
	backend_test::check_minmax_errors(sess);
}

} // namespace opencl_test
