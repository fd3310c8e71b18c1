// SPDX-License-Identifier: Apache-2.0
// CallTimes: which kind a request is (method, and a genop's op), and when a
// kind counts as short: never before it ran, after short runs, and no
// longer from the first run of more than eight times the limit.
#include "agent_test.h"
#include "call_times.h"

#include "transport/codec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace agent_test
{
namespace
{

using namespace std::chrono_literals;
using vaccel::agent::CallTimes;
namespace metrics = vaccel::agent::metrics;

// The kind of a request for @p method carrying @p payload, parsed as the
// server parses it.
size_t kind(std::string_view method, const std::string &payload)
{
	const std::string bytes = envelope(method, payload).SerializeAsString();
	vaccel::transport::codec::RequestView v;
	EXPECT_TRUE(vaccel::transport::codec::parse_request(
	    std::span(reinterpret_cast<const uint8_t *>(bytes.data()),
		      bytes.size()),
	    &v));
	return CallTimes::kind_of(v);
}

std::string genop(vaccel_op_type_t op)
{
	rpc::genop::Request g;
	g.set_session_id(1);
	add_op(&g, op);
	return g.SerializeAsString();
}

TEST(CallTimes, AGenopsKindIsItsOp)
{
	const size_t noop = kind("Genop", genop(VACCEL_OP_NOOP));
	const size_t sgemm = kind("Genop", genop(VACCEL_OP_BLAS_SGEMM));
	EXPECT_EQ(noop, metrics::kMethods + VACCEL_OP_NOOP);
	EXPECT_EQ(sgemm, metrics::kMethods + VACCEL_OP_BLAS_SGEMM);

	// GenopShm carries the op in ShmArg.buf (field 4).
	rpc::ext::ShmGenopRequest shm;
	auto *a = shm.add_read_args();
	a->set_buf(std::string(1, static_cast<char>(VACCEL_OP_BLAS_SGEMM)));
	EXPECT_EQ(kind("GenopShm", shm.SerializeAsString()), sgemm);
}

TEST(CallTimes, OtherMethodsAreTheirOwnKind)
{
	const size_t run = kind("TorchModelRun", "");
	EXPECT_EQ(run, static_cast<size_t>(metrics::MethodId::TorchModelRun));
	// A genop whose op cannot be read (no args, or an op out of range)
	// is of the Genop method's kind, not of some op's.
	EXPECT_EQ(kind("Genop", ""),
		  static_cast<size_t>(metrics::MethodId::Genop));
	rpc::genop::Request g;
	uint8_t op = 200;
	add_arg(&g, rpc::genop::UINT8, &op, 1);
	EXPECT_EQ(kind("Genop", g.SerializeAsString()),
		  static_cast<size_t>(metrics::MethodId::Genop));
	EXPECT_EQ(kind("NoSuchMethod", ""), CallTimes::kNone);
}

TEST(CallTimes, AKindIsShortOnlyAfterShortRuns)
{
	CallTimes t;
	const size_t k = metrics::kMethods + VACCEL_OP_NOOP;
	EXPECT_FALSE(t.is_short(k, 50us)); // never seen
	t.note(k, 10us);
	EXPECT_TRUE(t.is_short(k, 50us));
	EXPECT_FALSE(t.is_short(k, 0us)); // a zero limit: never
	EXPECT_FALSE(t.is_short(CallTimes::kNone, 50us));
	t.note(CallTimes::kNone, 1us); // ignored, no crash

	CallTimes other; // another tenant's: learns nothing from this one
	EXPECT_FALSE(other.is_short(k, 50us));
}

TEST(CallTimes, OneLongRunMakesItsKindLongAtOnce)
{
	CallTimes t;
	const size_t k = metrics::kMethods + VACCEL_OP_EXEC;
	for (int i = 0; i < 100; ++i)
		t.note(k, 5us);
	ASSERT_TRUE(t.is_short(k, 50us));
	t.note(k, 8 * 50us + 8 * 5us);
	EXPECT_FALSE(t.is_short(k, 50us));
	// Short runs bring it back, a few at a time.
	int runs = 0;
	while (!t.is_short(k, 50us) && runs < 100) {
		t.note(k, 5us);
		++runs;
	}
	EXPECT_GT(runs, 1);
	EXPECT_LT(runs, 100);
}

// Calls that did not run their op (refused, expired, failed) never make a
// kind look shorter: a tenant cannot train a long kind short with calls
// that fail at once. One that held its thread long still counts.
TEST(CallTimes, FailedCallsNeverMakeAKindShorter)
{
	CallTimes t;
	const size_t k = metrics::kMethods + VACCEL_OP_EXEC;
	for (int i = 0; i < 100; ++i)
		t.note(k, 1us, false);
	EXPECT_FALSE(t.is_short(k, 50us)); // still never seen
	t.note(k, 10ms);
	for (int i = 0; i < 100; ++i)
		t.note(k, 1us, false);
	EXPECT_FALSE(t.is_short(k, 50us)); // still long
	for (int i = 0; i < 100; ++i)
		t.note(k, 5us);
	ASSERT_TRUE(t.is_short(k, 50us));
	t.note(k, 8 * 50us + 8 * 5us, false); // a slow failure: long again
	EXPECT_FALSE(t.is_short(k, 50us));
}

} // namespace
} // namespace agent_test
