// SPDX-License-Identifier: Apache-2.0
// The opencl plugin where OpenCL has no platform: CTest runs this binary
// with OCL_ICD_VENDORS naming an empty directory, so the ICD loader finds
// no driver. The plugin must load, warn once, return VACCEL_ENODEV from
// every op without touching outputs, and still reject bad arguments with
// VACCEL_EINVAL.
#include "opencl_test.h"

namespace
{

using opencl_test::OpenclTest;

TEST_F(OpenclTest, LoadsAndWarns)
{
	const std::string log = restart_with_log("/ocl_nodev.log");
	const std::string text = backend_test::read_text(log);
	EXPECT_NE(text.find("[opencl] no OpenCL device: no OpenCL platform"),
		  std::string::npos)
	    << text;
	EXPECT_NE(text.find("every op will return VACCEL_ENODEV"),
		  std::string::npos);
	// Once: at load, not again for each session.
	vaccel_session other{};
	ASSERT_EQ(vaccel_session_init(&other, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&other), VACCEL_OK);
	const std::string again = backend_test::read_text(log);
	EXPECT_EQ(again.find("every op"), again.rfind("every op"));
}

TEST_F(OpenclTest, EveryOpReturnsENODEV)
{
	opencl_test::expect_every_op_enodev(&sess_);
}

TEST_F(OpenclTest, BadArgumentsAreStillEINVAL)
{
	opencl_test::expect_fpga_argument_errors(&sess_);
}

TEST_F(OpenclTest, EmptyCallsAlsoReportNoDevice)
{
	// Nothing to compute: the argument checks pass, then no device (as
	// the cuda plugin).
	EXPECT_EQ(vaccel_fpga_vadd(&sess_, nullptr, nullptr, nullptr, 0, 0),
		  VACCEL_ENODEV);
}

TEST_F(OpenclTest, LoadsAndUnloadsRepeatedly)
{
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		sess_ = vaccel_session{};
		ASSERT_NO_FATAL_FAILURE(
		    backend_test::restart_runtime(TEST_OPENCL_PLUGIN));
		ASSERT_EQ(vaccel_session_init(&sess_, 0), VACCEL_OK);
		opencl_test::expect_every_op_enodev(&sess_);
	}
}

} // namespace
