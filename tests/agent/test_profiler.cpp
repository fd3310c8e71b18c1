// SPDX-License-Identifier: Apache-2.0
// GetProfiler (agent/session_profile.h) through the Service, in-process:
// each op the agent runs for a session is one sample of that session's
// region, for the session's own connection only, while the runtime has
// profiling enabled, and bounded per region. The rpc plugin printing them
// at session release: tests/rpc/test_rpc_profiling.cpp.
#include "agent_test.h"
#include "session_profile.h"

#include "rpc/profiling.pb.h"

#include <gtest/gtest.h>

namespace
{

using namespace agent_test;
using vaccel::agent::SessionProfile;

constexpr const char *kGenop = "[vaccel-agent] genop";

class Profiler : public ServiceTest
{
protected:
	void SetUp() override
	{
		ServiceTest::SetUp();
		ASSERT_NO_FATAL_FAILURE(
		    restart_runtime(TEST_NOOP_PLUGIN, true));
		ASSERT_TRUE(vaccel_prof_enabled());
	}

	void noop(int64_t sess, ConnId conn = kConn)
	{
		rpc::genop::Request g;
		g.set_session_id(sess);
		add_op(&g, VACCEL_OP_NOOP);
		ASSERT_EQ(call(svc_, conn, "Genop", g), RpcCode::Ok);
	}

	rpc::profiling::Profiler profile(int64_t sess, ConnId conn = kConn)
	{
		rpc::profiling::Request req;
		req.set_session_id(sess);
		rpc::profiling::Response resp;
		EXPECT_EQ(call(svc_, conn, "GetProfiler", req, &resp),
			  RpcCode::Ok);
		EXPECT_EQ(resp.profiler().component_name(), "vaccel-agent");
		return resp.profiler();
	}
};

TEST_F(Profiler, EachOpRunIsOneSampleOfItsSessionsRegion)
{
	const int64_t a = create_session();
	const int64_t b = create_session();
	for (int i = 0; i < 5; ++i)
		noop(a);
	noop(b);
	const auto pa = profile(a);
	ASSERT_EQ(pa.regions().size(), 1U);
	ASSERT_TRUE(pa.regions().contains(kGenop));
	const auto &samples = pa.regions().at(kGenop).samples();
	ASSERT_EQ(samples.size(), 5);
	for (int i = 1; i < samples.size(); ++i)
		EXPECT_GE(samples[i].start(),
			  samples[i - 1].start() + samples[i - 1].time());
	EXPECT_EQ(profile(b).regions().at(kGenop).samples_size(), 1);
}

TEST_F(Profiler, OnlyTheSessionsConnectionSeesItsRegions)
{
	const int64_t mine = create_session();
	noop(mine);
	ASSERT_EQ(profile(mine).regions_size(), 1);
	// Another connection (a co-tenant) asking for the id gets what an
	// unknown id gets: nothing, not an error that would confirm it.
	EXPECT_EQ(profile(mine, kOther).regions_size(), 0);
	EXPECT_EQ(profile(424242).regions_size(), 0);
	// Gone with the session.
	rpc::session::DestroyRequest d;
	d.set_session_id(mine);
	ASSERT_EQ(call(svc_, kConn, "DestroySession", d), RpcCode::Ok);
	EXPECT_EQ(profile(mine).regions_size(), 0);
}

TEST_F(Profiler, NothingIsRecordedWithProfilingOff)
{
	ASSERT_NO_FATAL_FAILURE(restart_runtime(TEST_NOOP_PLUGIN, false));
	const int64_t sess = create_session();
	noop(sess);
	EXPECT_EQ(profile(sess).regions_size(), 0);
}

TEST_F(Profiler, ARegionKeepsItsLatestSamplesOnly)
{
	const int64_t sess = create_session();
	for (size_t i = 0; i < SessionProfile::kMaxSamples; ++i)
		noop(sess);
	const uint64_t later = SessionProfile::now_ns();
	constexpr int kMore = 10;
	for (int i = 0; i < kMore; ++i)
		noop(sess);
	const auto p = profile(sess);
	const auto &samples = p.regions().at(kGenop).samples();
	ASSERT_EQ(static_cast<size_t>(samples.size()),
		  SessionProfile::kMaxSamples);
	// Oldest first; the ten newest are the last calls, and the ten
	// oldest went to make room for them.
	for (int i = 1; i < samples.size(); ++i)
		EXPECT_GT(samples[i].start(), samples[i - 1].start());
	const int n = samples.size();
	for (int i = n - kMore; i < n; ++i)
		EXPECT_GE(samples[i].start(), later);
	EXPECT_LT(samples[n - kMore - 1].start(), later);
}

} // namespace
