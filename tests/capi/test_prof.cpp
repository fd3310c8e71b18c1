// SPDX-License-Identifier: Apache-2.0
// Profiling regions, with profiling disabled (no-ops) and enabled (the
// runtime is re-bootstrapped with profiling_enabled = true).
#include <vaccel.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace
{

// Re-bootstraps the runtime with profiling on or off for one test and
// restores the default (environment) bootstrap afterwards.
class Prof : public ::testing::Test
{
protected:
	static void restart(bool profiling)
	{
		vaccel_cleanup();
		struct vaccel_config cfg {
		};
		ASSERT_EQ(vaccel_config_init(&cfg, nullptr, VACCEL_LOG_ERROR,
					     nullptr, profiling, false),
			  VACCEL_OK);
		ASSERT_EQ(vaccel_bootstrap_with_config(&cfg), VACCEL_OK);
		vaccel_config_release(&cfg);
		ASSERT_EQ(vaccel_prof_enabled(), profiling);
	}
	void TearDown() override
	{
		vaccel_cleanup();
		vaccel_bootstrap();
	}
};

class ProfOn : public Prof
{
protected:
	void SetUp() override { restart(true); }
};

class ProfOff : public Prof
{
protected:
	void SetUp() override { restart(false); }
};

void spin()
{
	volatile int x = 0;
	for (int i = 0; i < 50; ++i)
		x = x + i;
}

TEST_F(ProfOff, StartStopAreNoOps)
{
	vaccel_prof_region r = VACCEL_PROF_REGION_INIT("off");
	EXPECT_EQ(vaccel_prof_region_start(&r), VACCEL_OK);
	EXPECT_EQ(vaccel_prof_region_stop(&r), VACCEL_OK);
	EXPECT_EQ(r.nr_entries, 0U);
	EXPECT_EQ(r.samples, nullptr);
	EXPECT_EQ(vaccel_prof_region_start(nullptr), VACCEL_OK);
	EXPECT_EQ(vaccel_prof_region_print(&r), VACCEL_OK);
	char *buf = nullptr;
	EXPECT_EQ(vaccel_prof_regions_print_all_to_buf(&buf, 64, &r, 1), 0);
	EXPECT_EQ(buf, nullptr);

	// init/release still manage memory, so release is always safe
	vaccel_prof_region owned{};
	ASSERT_EQ(vaccel_prof_region_init(&owned, "named"), VACCEL_OK);
	EXPECT_STREQ(owned.name, "named");
	EXPECT_TRUE(owned.name_owned);
	EXPECT_EQ(vaccel_prof_region_release(&owned), VACCEL_OK);
	EXPECT_EQ(owned.name, nullptr);
}

TEST_F(ProfOn, StartStopRecordSamples)
{
	vaccel_prof_region r{};
	ASSERT_EQ(vaccel_prof_region_init(&r, "op"), VACCEL_OK);
	EXPECT_EQ(vaccel_prof_region_stop(&r), VACCEL_ENOENT);
	for (int i = 0; i < 3; ++i) {
		ASSERT_EQ(vaccel_prof_region_start(&r), VACCEL_OK);
		spin();
		ASSERT_EQ(vaccel_prof_region_stop(&r), VACCEL_OK);
	}
	ASSERT_EQ(r.nr_entries, 3U);
	for (size_t i = 0; i < r.nr_entries; ++i) {
		EXPECT_GT(r.samples[i].start, 0U);
		EXPECT_GT(r.samples[i].time, 0U);
	}
	EXPECT_LE(r.samples[0].start, r.samples[1].start);
	EXPECT_EQ(vaccel_prof_region_print(&r), VACCEL_OK);
	EXPECT_EQ(vaccel_prof_region_release(&r), VACCEL_OK);
	EXPECT_EQ(r.samples, nullptr);
	EXPECT_EQ(r.nr_entries, 0U);
}

TEST_F(ProfOn, NullRegions)
{
	EXPECT_EQ(vaccel_prof_region_start(nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_region_stop(nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_region_print(nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_region_init(nullptr, "x"), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_region_release(nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_regions_init(nullptr, 1), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_regions_release(nullptr, 1), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_regions_print_all(nullptr, 1), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_regions_start_by_name(nullptr, 1, "x"),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_regions_stop_by_name(nullptr, 1, "x"),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_regions_print_all_to_buf(nullptr, 0, nullptr, 1),
		  -VACCEL_EINVAL);
}

TEST_F(ProfOn, StaticRegionGrowsAndReleases)
{
	vaccel_prof_region r = VACCEL_PROF_REGION_INIT("static");
	const size_t n = 5000; // beyond the first allocation
	for (size_t i = 0; i < n; ++i) {
		ASSERT_EQ(vaccel_prof_region_start(&r), VACCEL_OK);
		ASSERT_EQ(vaccel_prof_region_stop(&r), VACCEL_OK);
	}
	EXPECT_EQ(r.nr_entries, n);
	EXPECT_GE(r.size, n);
	EXPECT_LT(r.size, 4 * n);
	EXPECT_FALSE(r.name_owned);
	EXPECT_EQ(vaccel_prof_region_release(&r), VACCEL_OK); // name kept
}

TEST_F(ProfOn, NestedStartsOnOneThread)
{
	vaccel_prof_region r = VACCEL_PROF_REGION_INIT("nested");
	ASSERT_EQ(vaccel_prof_region_start(&r), VACCEL_OK); // outer
	spin();
	ASSERT_EQ(vaccel_prof_region_start(&r), VACCEL_OK); // inner
	ASSERT_EQ(vaccel_prof_region_stop(&r), VACCEL_OK);  // closes inner
	spin();
	ASSERT_EQ(vaccel_prof_region_stop(&r), VACCEL_OK); // closes outer
	ASSERT_EQ(r.nr_entries, 2U);
	EXPECT_GT(r.samples[0].time, r.samples[1].time);
	vaccel_prof_region_release(&r);
}

TEST_F(ProfOn, ByName)
{
	vaccel_prof_region regions[3];
	ASSERT_EQ(vaccel_prof_regions_init(regions, 3), VACCEL_OK);
	for (auto &r : regions) {
		ASSERT_NE(r.name, nullptr);
		EXPECT_STREQ(r.name, ""); // an owned buffer to fill in
	}
	std::strcpy(const_cast<char *>(regions[0].name), "load");
	std::strcpy(const_cast<char *>(regions[1].name), "run");

	EXPECT_EQ(vaccel_prof_regions_start_by_name(regions, 3, "run"),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_prof_regions_stop_by_name(regions, 3, "run"),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_prof_regions_stop_by_name(regions, 3, "load"),
		  VACCEL_ENOENT);
	EXPECT_EQ(vaccel_prof_regions_start_by_name(regions, 3, "nope"),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_regions_start_by_name(regions, 3, nullptr),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_regions_start_by_name(regions, -1, "run"),
		  VACCEL_EINVAL);
	EXPECT_EQ(regions[1].nr_entries, 1U);
	EXPECT_EQ(regions[0].nr_entries, 0U);
	EXPECT_EQ(vaccel_prof_regions_print_all(regions, 3), VACCEL_OK);
	EXPECT_EQ(vaccel_prof_regions_release(regions, 3), VACCEL_OK);
	EXPECT_EQ(regions[0].name, nullptr);
}

TEST_F(ProfOn, PrintAllToBuf)
{
	vaccel_prof_region r[3] = {VACCEL_PROF_REGION_INIT("alpha"),
				   VACCEL_PROF_REGION_INIT("empty"),
				   VACCEL_PROF_REGION_INIT("beta")};
	for (int i = 0; i < 2; ++i) {
		vaccel_prof_region_start(&r[0]);
		vaccel_prof_region_stop(&r[0]);
	}
	vaccel_prof_region_start(&r[2]);
	vaccel_prof_region_stop(&r[2]);

	const int needed =
	    vaccel_prof_regions_print_all_to_buf(nullptr, 0, r, 3);
	ASSERT_GT(needed, 0);
	char *buf = nullptr;
	const int written = vaccel_prof_regions_print_all_to_buf(
	    &buf, static_cast<size_t>(needed), r, 3);
	ASSERT_NE(buf, nullptr);
	EXPECT_EQ(written, needed - 1);
	const std::string text(buf);
	std::free(buf);
	EXPECT_EQ(text.size(), static_cast<size_t>(written));
	EXPECT_NE(text.find("[prof] alpha: total_time: "), std::string::npos);
	EXPECT_NE(text.find(" nsec nr_entries: 2\n[prof] beta: "),
		  std::string::npos);
	EXPECT_EQ(text.find("empty"), std::string::npos);

	// a short buffer truncates but stays terminated
	buf = nullptr;
	EXPECT_EQ(vaccel_prof_regions_print_all_to_buf(&buf, 8, r, 3), 7);
	ASSERT_NE(buf, nullptr);
	EXPECT_STREQ(buf, "[prof] ");
	std::free(buf);
	EXPECT_EQ(vaccel_prof_regions_print_all_to_buf(&buf, 0, r, 3),
		  -VACCEL_EINVAL);
	EXPECT_EQ(vaccel_prof_regions_print_all_to_buf(nullptr, 0, r, -1),
		  -VACCEL_EINVAL);

	for (auto &x : r)
		vaccel_prof_region_release(&x);
}

TEST_F(ProfOn, ConcurrentStartStopFromEightThreads)
{
	vaccel_prof_region r{};
	ASSERT_EQ(vaccel_prof_region_init(&r, "shared"), VACCEL_OK);
	constexpr int kThreads = 8;
	constexpr int kIters = 2000;
	std::vector<std::thread> threads;
	std::vector<int> failures(kThreads, 0);
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < kIters; ++i) {
				if (vaccel_prof_region_start(&r) != VACCEL_OK)
					failures[t]++;
				spin();
				if (vaccel_prof_region_stop(&r) != VACCEL_OK)
					failures[t]++;
			}
		});
	for (auto &th : threads)
		th.join();
	for (int f : failures)
		EXPECT_EQ(f, 0);
	ASSERT_EQ(r.nr_entries, static_cast<size_t>(kThreads * kIters));
	// Every thread closed its own sample: none is left open.
	size_t open = 0;
	for (size_t i = 0; i < r.nr_entries; ++i)
		open += r.samples[i].time == 0 ? 1 : 0;
	EXPECT_EQ(open, 0U);
	EXPECT_EQ(vaccel_prof_region_release(&r), VACCEL_OK);
}

} // namespace
