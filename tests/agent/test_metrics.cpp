// SPDX-License-Identifier: Apache-2.0
// The metrics' parts without a process: the text exposition against the
// format's rules (prom_check.h), the call counters and the --metrics
// address. The agent process with its HTTP endpoint, real calls and worker
// processes: tests/security/test_metrics.cpp.
#include "agent_test.h"
#include "metrics.h"
#include "metrics_http.h"
#include "prom_check.h"
#include "prom_text.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>

namespace
{

using namespace vaccel::agent;
namespace m = vaccel::agent::metrics;
using agent_test::parse_exposition;

TEST(PromText, EscapesLabelValuesAsTheFormatSays)
{
	EXPECT_EQ(escape_label_value("plain"), "plain");
	EXPECT_EQ(escape_label_value("a\"b"), "a\\\"b");
	EXPECT_EQ(escape_label_value("a\\b"), "a\\\\b");
	EXPECT_EQ(escape_label_value("a\nb"), "a\\nb");
	EXPECT_EQ(escape_label_value("\\\"\n"), "\\\\\\\"\\n");
	// UTF-8 stays; bytes that are not UTF-8 become U+FFFD, so that one
	// odd name cannot make a scraper drop the page.
	EXPECT_EQ(escape_label_value("caf\xC3\xA9"), "caf\xC3\xA9");
	EXPECT_EQ(escape_label_value("a\xFF"
				     "b"),
		  "a\xEF\xBF\xBD"
		  "b");
	EXPECT_EQ(escape_label_value("\xC0\xAF"), // overlong '/'
		  "\xEF\xBF\xBD\xEF\xBF\xBD");
	EXPECT_EQ(escape_label_value("\xED\xA0\x80"), // a surrogate
		  "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	EXPECT_EQ(escape_label_value("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
	// HELP text escapes backslash and newline, not quotes.
	EXPECT_EQ(escape_help("say \"hi\"\\\n"), "say \"hi\"\\\\\\n");
}

TEST(PromText, ValuesInTheirTextForm)
{
	EXPECT_EQ(format_value(0.0), "0");
	EXPECT_EQ(format_value(1.5), "1.5");
	EXPECT_EQ(format_value(2.5e-05), "2.5e-05");
	EXPECT_EQ(format_value(INFINITY), "+Inf");
	EXPECT_EQ(format_value(-INFINITY), "-Inf");
	EXPECT_EQ(format_value(std::nan("")), "NaN");
	EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(PromText, FamiliesSamplesAndHistogramsFollowTheFormat)
{
	PromText out;
	out.family("x_total", "counter", "What \"x\" counts\\with\nlines.");
	out.sample("x_total", {{"tenant", "a\"b\\c\nd"}, {"code", "OK"}},
		   uint64_t{7});
	out.sample("x_total", {{"tenant", "plain"}, {"code", "OK"}},
		   uint64_t{0});
	out.family("g", "gauge", "A gauge.");
	out.sample("g", {}, 2.5);
	out.family("lat_seconds", "histogram", "Latency.");
	const std::array<uint64_t, 4> counts = {1, 0, 3, 2};
	const std::array<double, 3> bounds = {0.001, 0.01, 0.1};
	out.histogram("lat_seconds", {{"method", "Genop"}}, counts, bounds,
		      0.25);
	const std::string text = out.take();

	EXPECT_EQ(text, "# HELP x_total What \"x\" counts\\\\with\\nlines.\n"
			"# TYPE x_total counter\n"
			"x_total{tenant=\"a\\\"b\\\\c\\nd\",code=\"OK\"} 7\n"
			"x_total{tenant=\"plain\",code=\"OK\"} 0\n"
			"# HELP g A gauge.\n"
			"# TYPE g gauge\n"
			"g 2.5\n"
			"# HELP lat_seconds Latency.\n"
			"# TYPE lat_seconds histogram\n"
			"lat_seconds_bucket{method=\"Genop\",le=\"0.001\"} 1\n"
			"lat_seconds_bucket{method=\"Genop\",le=\"0.01\"} 1\n"
			"lat_seconds_bucket{method=\"Genop\",le=\"0.1\"} 4\n"
			"lat_seconds_bucket{method=\"Genop\",le=\"+Inf\"} 6\n"
			"lat_seconds_sum{method=\"Genop\"} 0.25\n"
			"lat_seconds_count{method=\"Genop\"} 6\n");
	const auto ex = parse_exposition(text);
	EXPECT_TRUE(ex.errors.empty()) << ex.errors.front();
	EXPECT_EQ(ex["lat_seconds_count{method=\"Genop\"}"], 6);
	EXPECT_EQ(ex.types.at("lat_seconds"), "histogram");
}

// The checker itself must catch what it is there to catch.
TEST(PromText, CheckerRejectsWhatScrapersReject)
{
	auto errors = [](const std::string &t) {
		return parse_exposition(t).errors.size();
	};
	EXPECT_EQ(errors("# TYPE a counter\na 1\n"), 0U);
	EXPECT_GT(errors("# TYPE a counter\na{x=\"q\"q\"} 1\n"), 0U);
	EXPECT_GT(errors("# TYPE a counter\na{x=\"\\t\"} 1\n"), 0U);
	EXPECT_GT(errors("# TYPE a counter\na 1\na 2\n"), 0U);
	EXPECT_GT(errors("# TYPE a counter\n# TYPE b gauge\na 1\n"), 0U);
	EXPECT_GT(errors("# TYPE a counter\na one\n"), 0U);
	EXPECT_GT(errors("# TYPE a counter\na{x=\"\xFF\"} 1\n"), 0U);
	EXPECT_GT(errors("# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
			 "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"),
		  0U);
	EXPECT_GT(errors("# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
			 "h_sum 1\nh_count 2\n"),
		  0U);
}

TEST(MetricsCounters, BucketsAreTheFirstBoundAtOrAboveTheLatency)
{
	EXPECT_EQ(m::bucket_of(0), 0U);
	EXPECT_EQ(m::bucket_of(25'000), 0U);
	EXPECT_EQ(m::bucket_of(25'001), 1U);
	EXPECT_EQ(m::bucket_of(1'000'000), 5U);
	EXPECT_EQ(m::bucket_of(10'000'000'000), m::kBuckets - 2);
	EXPECT_EQ(m::bucket_of(10'000'000'001), m::kBuckets - 1);
	EXPECT_EQ(m::bucket_of(UINT64_MAX), m::kBuckets - 1);
}

TEST(MetricsCounters, RecordSnapshotAndFoldAddUp)
{
	m::TenantCounters c;
	m::CallSample s;
	s.method = m::MethodId::Genop;
	s.latency_ns = 30'000;
	s.busy_ns = 10'000;
	s.add_bytes(m::Path::Socket, m::Direction::In, 100);
	s.add_bytes(m::Path::Shm, m::Direction::Out, 4096);
	m::record(c, s);
	s.code = 5; // NOT_FOUND
	m::record(c, s);
	s.code = 99; // not a gRPC code: UNKNOWN
	m::record(c, s);

	m::TenantSnapshot snap;
	m::add_snapshot(c, &snap);
	const auto &g = snap.methods[static_cast<size_t>(m::MethodId::Genop)];
	EXPECT_EQ(g.calls[0], 1U);
	EXPECT_EQ(g.calls[5], 1U);
	EXPECT_EQ(g.calls[2], 1U);
	EXPECT_EQ(g.buckets[1], 3U);
	EXPECT_EQ(g.latency_ns, 90'000U);
	EXPECT_EQ(g.busy_ns, 30'000U);
	EXPECT_EQ(snap.bytes[0][0], 300U);
	EXPECT_EQ(snap.bytes[1][1], 3U * 4096);

	// A dead worker's numbers, kept by the agent: added, not replaced.
	m::fold(c, snap);
	m::TenantSnapshot twice;
	m::add_snapshot(c, &twice);
	EXPECT_EQ(
	    twice.methods[static_cast<size_t>(m::MethodId::Genop)].buckets[1],
	    6U);
	EXPECT_EQ(twice.bytes[1][1], 6U * 4096);
}

TEST(MetricsCounters, AGenopIsAlsoCountedUnderItsOp)
{
	m::TenantCounters c;
	m::CallSample s;
	s.method = m::MethodId::GenopShm;
	s.op = VACCEL_OP_BLAS_SGEMM;
	s.latency_ns = 1'000'000;
	s.busy_ns = 400'000;
	m::record(c, s);
	s.op = m::kNoOp; // refused before its op was read
	s.code = 5;
	m::record(c, s);

	m::TenantSnapshot snap;
	m::add_snapshot(c, &snap);
	const auto &method =
	    snap.methods[static_cast<size_t>(m::MethodId::GenopShm)];
	EXPECT_EQ(method.calls[0] + method.calls[5], 2U);
	const auto &op = snap.ops[VACCEL_OP_BLAS_SGEMM];
	EXPECT_EQ(op.calls[0], 1U);
	EXPECT_EQ(op.calls[5], 0U);
	EXPECT_EQ(op.buckets[m::bucket_of(1'000'000)], 1U);
	EXPECT_EQ(op.busy_ns, 400'000U);
	// A dead worker's op counts are kept too.
	m::fold(c, snap);
	m::TenantSnapshot twice;
	m::add_snapshot(c, &twice);
	EXPECT_EQ(twice.ops[VACCEL_OP_BLAS_SGEMM].calls[0], 2U);
}

TEST(MetricsCounters, OpNamesAreTheRuntimesOwn)
{
	EXPECT_EQ(m::op_name(VACCEL_OP_NOOP), "noop");
	EXPECT_EQ(m::op_name(VACCEL_OP_BLAS_SGEMM), "blas_sgemm");
	EXPECT_EQ(m::op_name(VACCEL_OP_IMAGE_CLASSIFY), "image_classify");
	EXPECT_EQ(m::op_name(VACCEL_OP_EXEC), "exec");
	EXPECT_EQ(m::op_name(VACCEL_OP_OPENCV), "opencv");
	EXPECT_EQ(m::op_name(m::kGenopOps), "other");
	EXPECT_EQ(m::op_name(m::kNoOp), "other");
}

TEST(MetricsCounters, MethodNamesAreTheServedOnesOrOther)
{
	EXPECT_EQ(m::method_id("Genop"), m::MethodId::Genop);
	EXPECT_EQ(m::method_id("TorchModelRunShm"),
		  m::MethodId::TorchModelRunShm);
	EXPECT_EQ(m::method_id("evil\"name"), m::MethodId::Other);
	EXPECT_EQ(m::method_name(m::MethodId::Other), "other");
	for (size_t i = 0; i < m::kMethods; ++i) {
		const auto id = static_cast<m::MethodId>(i);
		if (id != m::MethodId::Other) {
			EXPECT_EQ(m::method_id(m::method_name(id)), id);
		}
	}
	EXPECT_EQ(m::code_name(8), "RESOURCE_EXHAUSTED");
	EXPECT_EQ(m::code_name(1000), "UNKNOWN");
}

TEST(MetricsAddress, PortAloneMeansLoopback)
{
	auto a = parse_metrics_address("9464");
	ASSERT_TRUE(a.is_ok());
	EXPECT_EQ(a->host, "127.0.0.1");
	EXPECT_EQ(a->port, 9464U);
	a = parse_metrics_address("[::1]:0");
	ASSERT_TRUE(a.is_ok());
	EXPECT_EQ(a->host, "::1");
	a = parse_metrics_address("tcp://localhost:9464");
	ASSERT_TRUE(a.is_ok());
	EXPECT_EQ(a->host, "localhost");
	EXPECT_FALSE(parse_metrics_address("").is_ok());
	EXPECT_FALSE(parse_metrics_address("127.0.0.1").is_ok());
	EXPECT_FALSE(parse_metrics_address("unix:///tmp/m.sock").is_ok());
}

} // namespace
