// SPDX-License-Identifier: Apache-2.0
// The mbench plugin: exec("mbench") spins for the given milliseconds.
#include "plugin_test.h"

#include <chrono>
#include <cstring>

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

	int run(const char *library, const char *ms, size_t nr_read = 2)
	{
		char payload[16] = "payload";
		vaccel_arg read[2] = {};
		read[0].buf = const_cast<char *>(ms);
		read[0].size = std::strlen(ms) + 1;
		read[0].type = VACCEL_ARG_STRING;
		read[1].buf = payload;
		read[1].size = sizeof(payload);
		read[1].type = VACCEL_ARG_BUFFER;
		return vaccel_exec(&sess_, library, "mbench", read, nr_read,
				   nullptr, 0);
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

} // namespace
