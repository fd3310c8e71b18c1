// SPDX-License-Identifier: Apache-2.0
// The client library's compatibility key (VACCEL_COMPAT=upstream) never
// reaches the agent: an agent started with it routes a guest's session per
// op as always, and a malformed value does not stop it. The client that
// asks for it gets upstream's rules, as a control.
#include "rpc_test.h"

#include <vaccel.h>

#include <cstring>

namespace
{

using namespace rpc_test;

// Local plugins in this order: under upstream's rules a session with no
// hint gets exec, which has no image classification; per op, noop serves it.
const std::string kExecThenNoop =
    std::string(TEST_EXEC_PLUGIN) + ":" + TEST_NOOP_PLUGIN;

int classify(vaccel_session *s)
{
	unsigned char text[128];
	unsigned char name[128];
	const char img[] = "not really a jpeg";
	return vaccel_image_classification(s, img, text, name, sizeof(img),
					   sizeof(text), sizeof(name));
}

class RpcCompat : public ::testing::Test
{
protected:
	void TearDown() override
	{
		::unsetenv("VACCEL_COMPAT");
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	}

	TempDir dir_;
};

TEST_F(RpcCompat, AgentIgnoresTheKey)
{
	Agent agent(dir_.path(), "compat");
	ASSERT_TRUE(agent.start(kExecThenNoop, {}, {"VACCEL_COMPAT=upstream"}))
	    << agent.log();
	// The client asks for upstream's rules too.
	::setenv("VACCEL_COMPAT", "upstream", 1);
	ASSERT_NO_FATAL_FAILURE(restart_runtime(
	    kExecThenNoop + ":" + TEST_RPC_PLUGIN, agent.address()));

	// Control: the client's own local session follows upstream's rules.
	vaccel_session local{};
	ASSERT_EQ(vaccel_session_init(&local, 0), VACCEL_OK);
	EXPECT_EQ(classify(&local), VACCEL_ENOTSUP);
	EXPECT_EQ(vaccel_session_release(&local), VACCEL_OK);

	// The agent's session for the guest is routed per op: noop serves
	// the classification that upstream's rules would refuse.
	vaccel_session remote{};
	ASSERT_EQ(vaccel_session_init(&remote, VACCEL_PLUGIN_REMOTE),
		  VACCEL_OK);
	EXPECT_EQ(classify(&remote), VACCEL_OK) << vaccel_last_error();
	EXPECT_EQ(vaccel_session_release(&remote), VACCEL_OK);
}

TEST_F(RpcCompat, AgentDoesNotEvenParseTheKey)
{
	Agent agent(dir_.path(), "bogus");
	ASSERT_TRUE(agent.start(kExecThenNoop, {}, {"VACCEL_COMPAT=bogus"}))
	    << agent.log();
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	vaccel_session remote{};
	ASSERT_EQ(vaccel_session_init(&remote, VACCEL_PLUGIN_REMOTE),
		  VACCEL_OK);
	EXPECT_EQ(classify(&remote), VACCEL_OK) << vaccel_last_error();
	EXPECT_EQ(vaccel_session_release(&remote), VACCEL_OK);
}

} // namespace
