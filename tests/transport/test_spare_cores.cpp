// SPDX-License-Identifier: Apache-2.0
// Whether polling pays (transport/spare_cores.h): the parser against the
// kernel's own file and hand-made text, the decision's hysteresis, and the
// process-wide check against threads this test keeps runnable.
#include "transport/spare_cores.h"

#include "busy_host.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace
{

using vaccel::transport::runnable_in_loadavg;
using vaccel::transport::SpareCores;

TEST(SpareCores, ReadsTheRunnableCount)
{
	EXPECT_EQ(runnable_in_loadavg("0.52 0.31 0.20 3/120 4567\n"), 3U);
	EXPECT_EQ(runnable_in_loadavg("12.00 9.50 4.25 131/2048 99"), 131U);
	EXPECT_EQ(runnable_in_loadavg("0.00 0.00 0.00 0/1 1"), 0U);
}

TEST(SpareCores, RefusesTextOfAnotherShape)
{
	for (const char *bad :
	     {"", "0.52 0.31 0.20", "0.52 0.31 0.20 ", "0.52 0.31 0.20 /120 1",
	      "0.52 0.31 0.20 3", "0.52 0.31 0.20 x/120 1",
	      "0.52 0.31 0.20 -3/120 1", "0.52 0.31 0.20 99999999999/1 1"})
		EXPECT_FALSE(runnable_in_loadavg(bad).has_value()) << bad;
}

TEST(SpareCores, ParsesTheKernelsFile)
{
	std::ifstream f("/proc/loadavg");
	ASSERT_TRUE(f) << "/proc/loadavg is missing";
	const std::string text((std::istreambuf_iterator<char>(f)),
			       std::istreambuf_iterator<char>());
	const auto runnable = runnable_in_loadavg(text);
	ASSERT_TRUE(runnable.has_value()) << text;
	EXPECT_GE(*runnable, 1U) << "this test itself runs: " << text;
}

TEST(SpareCores, StopsWhenOthersFillEveryCore)
{
	SpareCores c(4);
	EXPECT_TRUE(c.spare());
	EXPECT_TRUE(c.update(1)); // the sampler alone
	EXPECT_TRUE(c.update(4)); // three others: a core is left
	EXPECT_FALSE(c.update(5));
	EXPECT_FALSE(c.spare());
}

TEST(SpareCores, ComesBackOnlyWhenHalfTheCoresAreFree)
{
	SpareCores c(4);
	ASSERT_FALSE(c.update(9));
	EXPECT_FALSE(c.update(4)); // three others: the pollers stopped, no more
	EXPECT_FALSE(c.update(4));
	EXPECT_TRUE(c.update(3)); // two others: half the cores free
	EXPECT_TRUE(c.update(4));
}

TEST(SpareCores, OneCoreAndNoCoresCount)
{
	SpareCores one(1);
	EXPECT_TRUE(one.update(1));
	EXPECT_FALSE(one.update(2));
	EXPECT_TRUE(one.update(1));
	SpareCores none(0); // counted as one
	EXPECT_FALSE(none.update(2));
	EXPECT_TRUE(none.update(0));
}

// Threads that keep every core busy: the process-wide check must see them
// within a few samples and say that polling does not pay.
TEST(SpareCores, SeesThreadsThatFillTheHost)
{
	const vaccel::transport::test::BusyHost busy;
	EXPECT_TRUE(busy.seen())
	    << "threads filling every core went unseen for 5 s";
}

} // namespace
