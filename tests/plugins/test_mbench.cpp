// SPDX-License-Identifier: Apache-2.0
// The mbench plugin: exec("mbench") spins for the given milliseconds;
// exec("mbench", "sleep") holds the one "device" for them, asleep; sgemm
// computes for real and holds the device for VACCEL_MBENCH_SGEMM_MS.
#include "plugin_test.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace
{

using vaccel_test::PluginTest;

class MbenchTest : public PluginTest
{
protected:
	MbenchTest() : PluginTest(TEST_MBENCH_PLUGIN) {}

	void SetUp() override
	{
		if (std::strlen(TEST_MBENCH_PLUGIN) == 0)
			GTEST_SKIP() << "mbench plugin not built";
		PluginTest::SetUp();
	}

	int run(const char *library, const char *ms, size_t nr_read = 2,
		const char *symbol = "mbench")
	{
		char payload[16] = "payload";
		vaccel_arg read[2] = {};
		read[0].buf = const_cast<char *>(ms);
		read[0].size = std::strlen(ms) + 1;
		read[0].type = VACCEL_ARG_STRING;
		read[1].buf = payload;
		read[1].size = sizeof(payload);
		read[1].type = VACCEL_ARG_BUFFER;
		return vaccel_exec(&sess_, library, symbol, read, nr_read,
				   nullptr, 0);
	}

	static long ms_since(std::chrono::steady_clock::time_point t0)
	{
		return static_cast<long>(
		    std::chrono::duration_cast<std::chrono::milliseconds>(
			std::chrono::steady_clock::now() - t0)
			.count());
	}
};

TEST_F(MbenchTest, SpinsForTheRequestedTime)
{
	auto t0 = std::chrono::steady_clock::now();
	ASSERT_EQ(run("mbench", "20"), VACCEL_OK);
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
		      std::chrono::steady_clock::now() - t0)
		      .count();
	EXPECT_GE(ms, 19);
}

TEST_F(MbenchTest, RejectsBadArguments)
{
	EXPECT_EQ(run("mbench", "0"), VACCEL_EINVAL);
	EXPECT_EQ(run("mbench", "300001"), VACCEL_EINVAL);
	EXPECT_EQ(run("mbench", "abc"), VACCEL_EINVAL);
	EXPECT_EQ(run("mbench", "1", 1), VACCEL_EINVAL);
	// symbol is "mbench", so any library name is accepted
	EXPECT_EQ(run("other", "1"), VACCEL_OK);
}

// Two calls at once take turns on the one device: together they last at
// least both holds (a lower bound, whatever the machine's speed).
TEST_F(MbenchTest, SleepHoldsTheDeviceInTurns)
{
	const auto t0 = std::chrono::steady_clock::now();
	int other = -1;
	std::thread t([&] { other = run("mbench", "30", 2, "sleep"); });
	const int mine = run("mbench", "30", 2, "sleep");
	t.join();
	EXPECT_EQ(mine, VACCEL_OK);
	EXPECT_EQ(other, VACCEL_OK);
	EXPECT_GE(ms_since(t0), 59);
	EXPECT_EQ(run("mbench", "0", 2, "sleep"), VACCEL_EINVAL);
	// "sleep" is a symbol of library "mbench" only.
	EXPECT_EQ(run("other", "1", 2, "sleep"), VACCEL_EINVAL);
}

TEST_F(MbenchTest, SlowdownStretchesTheHold)
{
	::setenv("VACCEL_MBENCH_SLOWDOWN", "3", 1);
	const auto t0 = std::chrono::steady_clock::now();
	const int rc = run("mbench", "10", 2, "sleep");
	::unsetenv("VACCEL_MBENCH_SLOWDOWN");
	EXPECT_EQ(rc, VACCEL_OK);
	EXPECT_GE(ms_since(t0), 29);
}

TEST_F(MbenchTest, SgemmComputesAndHoldsTheDevice)
{
	// [1 2 3; 4 5 6] x [1 0; 0 1; 1 1] = [4 5; 10 11]; C = 2AB + 1C.
	float a[] = {1, 2, 3, 4, 5, 6};
	float b[] = {1, 0, 0, 1, 1, 1};
	float c[] = {1, 1, 1, 1};
	::setenv("VACCEL_MBENCH_SGEMM_MS", "20", 1);
	const auto t0 = std::chrono::steady_clock::now();
	const int rc =
	    vaccel_sgemm(&sess_, 2, 2, 3, 2.0F, a, 3, b, 2, 1.0F, c, 2);
	::unsetenv("VACCEL_MBENCH_SGEMM_MS");
	ASSERT_EQ(rc, VACCEL_OK);
	EXPECT_GE(ms_since(t0), 19);
	const float want[] = {9, 11, 21, 23};
	for (int i = 0; i < 4; ++i)
		EXPECT_FLOAT_EQ(c[i], want[i]) << i;
	EXPECT_EQ(vaccel_sgemm(&sess_, 0, 2, 3, 1.0F, a, 3, b, 2, 0.0F, c, 2),
		  VACCEL_EINVAL);
}

} // namespace
