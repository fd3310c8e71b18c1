// SPDX-License-Identifier: Apache-2.0
// Remote profiling end to end, upstream's way: a real agent with profiling
// enabled records each op it runs for a session (GetProfiler), and the rpc
// plugin of a program with profiling enabled logs the agent's regions of a
// session when the program releases it, in vaccel_prof_region_print()'s
// format ("[prof] [vaccel-agent] genop: total_time: N nsec nr_entries: M").
#include "rpc_test.h"

#include <regex>

using namespace rpc_test;

namespace
{

// The client runtime with the rpc plugin, profiling on, and info logs in
// @p log (after restart_runtime() has pointed the plugin at the agent).
void profiling_client(const std::string &address, const std::string &log)
{
	ASSERT_NO_FATAL_FAILURE(restart_runtime(TEST_RPC_PLUGIN, address));
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime_logging_to(log, VACCEL_LOG_INFO, true));
	ASSERT_TRUE(vaccel_prof_enabled());
}

// The sample counts of the agent's genop region lines in @p text, in order.
std::vector<int> genop_regions(const std::string &text)
{
	static const std::regex line(
	    R"(\[prof\] \[vaccel-agent\] genop: total_time: (\d+) nsec )"
	    R"(nr_entries: (\d+))");
	std::vector<int> out;
	for (std::sregex_iterator it(text.begin(), text.end(), line), end;
	     it != end; ++it) {
		EXPECT_GT(std::stoull((*it)[1].str()), 0U);
		out.push_back(std::stoi((*it)[2].str()));
	}
	return out;
}

TEST(RemoteProfiling, TheAgentsRegionsAreLoggedWhenASessionIsReleased)
{
	TempDir dir;
	Agent agent(dir.path(), "profiled");
	ASSERT_TRUE(
	    agent.start(TEST_NOOP_PLUGIN, {}, {"VACCEL_PROFILING_ENABLED=1"}))
	    << agent.log();
	const std::string log = dir.file("client.log");
	ASSERT_NO_FATAL_FAILURE(profiling_client(agent.address(), log));

	vaccel_session a{}, b{};
	ASSERT_EQ(vaccel_session_init(&a, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	ASSERT_EQ(vaccel_session_init(&b, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	for (int i = 0; i < 3; ++i)
		ASSERT_EQ(vaccel_noop(&a), VACCEL_OK);
	ASSERT_EQ(vaccel_noop(&b), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&a), VACCEL_OK);
	EXPECT_EQ(genop_regions(slurp(log)), std::vector<int>{3});
	EXPECT_EQ(vaccel_session_release(&b), VACCEL_OK);
	EXPECT_EQ(genop_regions(slurp(log)), (std::vector<int>{3, 1}));
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

TEST(RemoteProfiling, AnAgentThatDoesNotProfileSendsNoRegions)
{
	TempDir dir;
	Agent agent(dir.path(), "unprofiled");
	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN)) << agent.log();
	const std::string log = dir.file("client.log");
	ASSERT_NO_FATAL_FAILURE(profiling_client(agent.address(), log));

	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	ASSERT_EQ(vaccel_noop(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	const std::string text = slurp(log);
	EXPECT_EQ(text.find("[vaccel-agent]"), std::string::npos) << text;
	// The client's own profiling still ran (its per-op summary).
	EXPECT_NE(text.find("[prof]"), std::string::npos) << text;
}

} // namespace
