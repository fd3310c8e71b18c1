// SPDX-License-Identifier: Apache-2.0
// The rpc plugin's table of calls in flight on one connection (calls.h) on
// its own: stream ids, replies reaching the right call whichever order they
// come in, one caller reading for the others (leader and followers), a
// caller giving up, and the connection failing under waiting calls.
#include "calls.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace vaccel::rpc_plugin
{
namespace
{

using namespace std::chrono_literals;

ReplyBytes bytes_of(const std::string &s)
{
	ReplyBytes r;
	r.frame.assign(s.begin(), s.end());
	return r;
}

std::string text_of(const ReplyBytes &r)
{
	const auto b = r.bytes();
	return {b.begin(), b.end()};
}

// The reply to @p id, as the reader delivers it.
void deliver(CallTable &t, uint32_t id, const std::string &text)
{
	auto call = t.take(id);
	ASSERT_NE(call, nullptr) << "no call " << id;
	t.finish(*call, Status::ok(), bytes_of(text));
}

TEST(CallTable, RepliesReachTheirCallsInAnyOrder)
{
	CallTable t(1000ms);
	std::vector<std::pair<uint32_t, std::shared_ptr<Pending>>> calls;
	for (int i = 0; i < 5; ++i) {
		auto c = t.open();
		ASSERT_TRUE(c);
		calls.push_back(std::move(c).value());
	}
	// Odd ids, increasing, as a ttrpc client's.
	for (size_t i = 0; i < calls.size(); ++i)
		EXPECT_EQ(calls[i].first, 1 + 2 * i);
	// The middle one, then the last, then the first: every other call
	// stays findable until its own reply.
	for (size_t i : {size_t{2}, size_t{4}, size_t{0}}) {
		deliver(t, calls[i].first, "reply " + std::to_string(i));
		EXPECT_EQ(t.find(calls[i].first), nullptr);
		EXPECT_TRUE(t.done(*calls[i].second));
		EXPECT_TRUE(t.settled(*calls[i].second));
	}
	for (size_t i : {size_t{1}, size_t{3}}) {
		EXPECT_EQ(t.find(calls[i].first), calls[i].second);
		EXPECT_FALSE(t.settled(*calls[i].second));
	}
	EXPECT_EQ(t.take(calls[2].first), nullptr); // a reply came twice
	for (size_t i : {size_t{3}, size_t{1}})
		deliver(t, calls[i].first, "reply " + std::to_string(i));
	for (size_t i = 0; i < calls.size(); ++i) {
		auto r = t.await(calls[i].second, calls[i].first, std::nullopt,
				 [](const Pending &, transport::Deadline) {
					 ADD_FAILURE() << "nothing to read";
				 });
		ASSERT_TRUE(r) << r.status().message();
		EXPECT_EQ(text_of(r.value()), "reply " + std::to_string(i));
	}
	EXPECT_EQ(t.activity(), CallTable::Activity::Idle);
}

// One caller reads the socket for everyone: its read delivers the other
// caller's reply first and its own after, and the other caller, which
// waits as a follower meanwhile, gets its own.
TEST(CallTable, TheReaderDeliversAFollowersReply)
{
	CallTable t(5000ms);
	auto a = t.open().value();
	auto b = t.open().value();
	std::atomic<bool> reading{false};
	std::string got_b;
	std::thread follower([&] {
		// Starts waiting once the leader reads, so it follows.
		while (!reading.load())
			std::this_thread::yield();
		auto r =
		    t.await(b.second, b.first, transport::deadline_in(5000ms),
			    [&](const Pending &mine, transport::Deadline) {
				    // Leading after the other left: its
				    // reply is in already.
				    EXPECT_TRUE(t.settled(mine));
			    });
		ASSERT_TRUE(r) << r.status().message();
		got_b = text_of(r.value());
	});
	auto r = t.await(a.second, a.first, transport::deadline_in(5000ms),
			 [&](const Pending &mine, transport::Deadline) {
				 reading = true;
				 // Give the follower time to wait on its call.
				 std::this_thread::sleep_for(20ms);
				 deliver(t, b.first, "for b");
				 EXPECT_FALSE(t.settled(mine));
				 deliver(t, a.first, "for a");
				 EXPECT_TRUE(t.settled(mine));
			 });
	follower.join();
	ASSERT_TRUE(r) << r.status().message();
	EXPECT_EQ(text_of(r.value()), "for a");
	EXPECT_EQ(got_b, "for b");
}

TEST(CallTable, ACallThatGivesUpIsForgottenAlone)
{
	CallTable t(1ms);
	auto a = t.open().value();
	auto b = t.open().value();
	auto r = t.await(a.second, a.first, transport::deadline_in(1ms),
			 [](const Pending &, transport::Deadline until) {
				 std::this_thread::sleep_until(*until);
			 });
	ASSERT_FALSE(r);
	EXPECT_EQ(r.status().code(), VACCEL_EIO);
	EXPECT_EQ(r.status().cause(), base::Cause::TimedOut);
	// Its late reply finds nobody; the other call is untouched.
	EXPECT_EQ(t.take(a.first), nullptr);
	EXPECT_EQ(t.find(b.first), b.second);
	deliver(t, b.first, "late but fine");
	auto rb = t.await(b.second, b.first, std::nullopt,
			  [](const Pending &, transport::Deadline) {});
	ASSERT_TRUE(rb);
	EXPECT_EQ(text_of(rb.value()), "late but fine");
}

TEST(CallTable, AFailedConnectionEndsEveryWaitingCallAndRefusesNewOnes)
{
	CallTable t(5000ms);
	std::vector<std::pair<uint32_t, std::shared_ptr<Pending>>> calls;
	for (int i = 0; i < 3; ++i)
		calls.push_back(t.open().value());
	deliver(t, calls[0].first, "done before");
	std::vector<std::thread> waiters;
	std::atomic<int> failed{0};
	for (size_t i = 1; i < calls.size(); ++i)
		waiters.emplace_back([&, i] {
			auto r = t.await(
			    calls[i].second, calls[i].first,
			    transport::deadline_in(5000ms),
			    [&](const Pending &mine, transport::Deadline) {
				    // The reader stops once the connection
				    // failed (as FrameReader::lead does).
				    while (!t.settled(mine))
					    std::this_thread::sleep_for(1ms);
			    });
			if (!r && r.status().message() == "gone")
				failed.fetch_add(1);
		});
	std::this_thread::sleep_for(20ms);
	EXPECT_TRUE(t.fail(Status(VACCEL_EIO, "gone")));
	EXPECT_FALSE(t.fail(Status(VACCEL_EIO, "again"))); // first wins
	for (auto &w : waiters)
		w.join();
	EXPECT_EQ(failed.load(), 2);
	EXPECT_TRUE(t.failed());
	EXPECT_EQ(t.activity(), CallTable::Activity::Failed);
	auto late = t.open();
	ASSERT_FALSE(late);
	EXPECT_EQ(late.status().message(), "gone");
	// The call answered before the failure keeps its reply.
	auto r0 = t.await(calls[0].second, calls[0].first, std::nullopt,
			  [](const Pending &, transport::Deadline) {});
	ASSERT_TRUE(r0);
	EXPECT_EQ(text_of(r0.value()), "done before");
}

} // namespace
} // namespace vaccel::rpc_plugin
