// SPDX-License-Identifier: Apache-2.0
// vaccel-agent --metrics on a real agent process: calls made over its unix
// socket, then /metrics, /healthz and /readyz read over loopback HTTP. The
// scraped counts must equal the calls made (by method and status code),
// bytes cover the payloads, histograms are cumulative with _count equal to
// the calls, label values are escaped, and the page passes the format's
// rules (prom_check.h). The endpoint shows every tenant's activity, so an
// address beyond loopback is refused at start (the refused address is a
// documentation one, which nothing here could bind anyway). With
// --isolate-tenants the calls run in a worker process, whose counts reach
// the agent's page and survive the worker's death.
#include "agent_process.h"
#include "child_pids.h"
#include "http_get.h"
#include "metrics.h"
#include "prom_check.h"

#include "rpc/ext.pb.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <thread>

namespace
{

using namespace security_test;
using agent_test::add_arg;
using agent_test::add_op;
using agent_test::child_pids;
using agent_test::Exposition;
using agent_test::Http;
using agent_test::http_get;
using agent_test::parse_exposition;

// The scrape, checked against the format; failures name the rule.
Exposition scrape(uint32_t port)
{
	const Http h = http_get(port, "/metrics");
	EXPECT_EQ(h.status, 200);
	EXPECT_NE(h.head.find("text/plain; version=0.0.4"), std::string::npos)
	    << h.head;
	Exposition ex = parse_exposition(h.body);
	for (const auto &e : ex.errors)
		ADD_FAILURE() << e;
	return ex;
}

std::string series(const std::string &name, const std::string &labels)
{
	return name + "{" + labels + "}";
}

// A Genop opencv op (the noop plugin takes any arguments for it) with
// @p bytes of input, sent as a chunked call (AgentData/Call) on stream
// @p id: frames of 1 MiB, the last one closing the stream. Its reply's
// status code, -1 without one.
int chunked_genop(tr::Stream &s, uint32_t id, int64_t sess, size_t bytes)
{
	rpc::genop::Request g;
	g.set_session_id(sess);
	add_op(&g, VACCEL_OP_OPENCV);
	const uint8_t function = 0;
	add_arg(&g, rpc::genop::UINT8, &function, 1);
	const std::string big(bytes, 'x');
	add_arg(&g, rpc::genop::RAW, big.data(), big.size());
	const std::string body = g.SerializeAsString();
	rpc::ext::CallHeader h;
	h.set_service(std::string(tr::kServiceSync));
	h.set_method("Genop");
	h.set_size(body.size());
	const std::string open =
	    agent_test::envelope("Call", h.SerializeAsString(),
				 tr::kServiceData)
		.SerializeAsString();
	auto send = [&](std::string_view p, tr::MsgType type, uint8_t flags) {
		tr::FrameHeader fh;
		fh.stream_id = id;
		fh.type = type;
		fh.flags = flags;
		fh.length = static_cast<uint32_t>(p.size());
		return tr::write_frame(
			   s, fh,
			   std::span(
			       reinterpret_cast<const uint8_t *>(p.data()),
			       p.size()),
			   tr::deadline_in(10000ms))
		    .is_ok();
	};
	if (!send(open, tr::MsgType::Request, tr::kFlagRemoteOpen))
		return -1;
	constexpr size_t kChunk = size_t{1} << 20;
	for (size_t at = 0; at < body.size(); at += kChunk) {
		const bool last = at + kChunk >= body.size();
		if (!send(std::string_view(body).substr(at, kChunk),
			  tr::MsgType::Data, last ? tr::kFlagRemoteClosed : 0))
			return -1;
	}
	const auto dl = tr::deadline_in(20000ms);
	for (int i = 0; i < 1000; ++i) {
		auto f = tr::read_frame(s, 64u << 20, dl);
		if (!f)
			return -1;
		if (f->header.type != tr::MsgType::Response)
			continue; // a reply's Data frames
		rpc::ttrpc::Response r;
		r.ParseFromArray(f->payload.data(),
				 static_cast<int>(f->payload.size()));
		return r.status().code();
	}
	return -1;
}

class Metrics : public ::testing::Test
{
protected:
	// Starts an agent on a unix socket with --metrics on loopback, every
	// connection of tenant @p tenant, plus @p more options.
	void start(const std::string &tenant,
		   std::vector<std::string> more = {},
		   std::vector<std::string> env = {})
	{
		std::vector<std::string> args = {
		    "-a",        "unix://" + dir_.file("a.sock"),
		    "--tenant",  tenant,
		    "--metrics", "127.0.0.1:0",
		    "--workers", "2"};
		args.insert(args.end(), more.begin(), more.end());
		agent_ = std::make_unique<AgentProcess>(
		    dir_.path(), args, TEST_NOOP_PLUGIN, std::move(env));
		ASSERT_TRUE(agent_->start()) << agent_->err();
		port_ = agent_test::metrics_port(slurp(dir_.file("agent.out")));
		ASSERT_NE(port_, 0U) << slurp(dir_.file("agent.out"));
	}

	TempDir dir_;
	std::unique_ptr<AgentProcess> agent_;
	uint32_t port_ = 0;
};

TEST_F(Metrics, ScrapedCountsEqualTheCallsMade)
{
	start("metered");
	Client c(agent_->address());
	ASSERT_TRUE(c.connected());
	const int64_t sess = c.session();
	ASSERT_NE(sess, 0);
	constexpr int kNoops = 20;
	for (int i = 0; i < kNoops; ++i)
		ASSERT_EQ(c.noop(sess).code, RpcCode::Ok);
	// Failing calls: a session the connection does not own, and an op
	// class the default policy refuses.
	constexpr int kForeign = 3;
	RpcCode foreign = RpcCode::Ok;
	for (int i = 0; i < kForeign; ++i)
		foreign = c.noop(sess + 1).code;
	ASSERT_NE(foreign, RpcCode::Ok);
	constexpr int kDenied = 2;
	for (int i = 0; i < kDenied; ++i) {
		rpc::genop::Request g;
		g.set_session_id(sess);
		add_op(&g, VACCEL_OP_EXEC);
		ASSERT_EQ(c.call("Genop", g).code, RpcCode::PermissionDenied);
	}
	// A call larger than a frame (4 MiB), in chunks.
	constexpr size_t kLarge = size_t{6} << 20;
	ASSERT_EQ(chunked_genop(c.stream(), c.take_stream_id(), sess, kLarge),
		  0);

	const Exposition ex = scrape(port_);
	const std::string t = "tenant=\"metered\"";
	auto calls = [&](const char *method, const std::string &code) {
		return ex[series("vaccel_agent_calls_total",
				 t + ",method=\"" + method + "\",code=\"" +
				     code + "\"")];
	};
	namespace m = vaccel::agent::metrics;
	const std::string foreign_code(
	    m::code_name(static_cast<size_t>(foreign)));
	EXPECT_EQ(calls("CreateSession", "OK"), 1);
	EXPECT_EQ(calls("Genop", "OK"), kNoops + 1);
	EXPECT_EQ(calls("Genop", foreign_code), kForeign);
	EXPECT_EQ(calls("Genop", "PERMISSION_DENIED"), kDenied);
	const int genops = kNoops + 1 + kForeign + kDenied;
	EXPECT_EQ(ex.sum("vaccel_agent_calls_total", {t}), genops + 1);
	// The histogram: every call, its +Inf bucket equal to _count (the
	// checker verified cumulative buckets and +Inf == _count).
	const std::string gl = t + ",method=\"Genop\"";
	EXPECT_EQ(ex[series("vaccel_agent_call_duration_seconds_count", gl)],
		  genops);
	EXPECT_EQ(ex[series("vaccel_agent_call_duration_seconds_bucket",
			    gl + ",le=\"+Inf\"")],
		  genops);
	EXPECT_GT(ex[series("vaccel_agent_call_duration_seconds_sum", gl)], 0);
	EXPECT_GT(ex[series("vaccel_agent_busy_seconds_total", gl)], 0);
	// By the op each genop ran: those whose op the agent read (a call on
	// a session the connection does not own is refused before).
	auto op_calls = [&](const char *op, const std::string &code) {
		return ex[series("vaccel_agent_genop_calls_total",
				 t + ",op=\"" + op + "\",code=\"" + code +
				     "\"")];
	};
	EXPECT_EQ(op_calls("noop", "OK"), kNoops);
	EXPECT_EQ(op_calls("opencv", "OK"), 1);
	EXPECT_EQ(op_calls("exec", "PERMISSION_DENIED"), kDenied);
	EXPECT_EQ(ex.sum("vaccel_agent_genop_calls_total", {t}),
		  kNoops + 1 + kDenied);
	EXPECT_EQ(ex[series("vaccel_agent_genop_duration_seconds_count",
			    t + ",op=\"noop\"")],
		  kNoops);
	EXPECT_GT(ex[series("vaccel_agent_genop_busy_seconds_total",
			    t + ",op=\"noop\"")],
		  0);
	// Bytes: at least the large call's payload came in on the socket.
	EXPECT_GE(ex[series("vaccel_agent_bytes_total",
			    t + ",path=\"socket\",direction=\"in\"")],
		  static_cast<double>(kLarge));
	EXPECT_GT(ex[series("vaccel_agent_bytes_total",
			    t + ",path=\"socket\",direction=\"out\"")],
		  0);
	EXPECT_EQ(ex[series("vaccel_agent_bytes_total",
			    t + ",path=\"shm\",direction=\"in\"")],
		  0);
	// What the tenant holds now.
	EXPECT_EQ(
	    ex[series("vaccel_agent_tenant_usage", t + ",quota=\"sessions\"")],
	    1);
	EXPECT_EQ(ex[series("vaccel_agent_tenant_usage",
			    t + ",quota=\"connections\"")],
		  1);
	EXPECT_EQ(ex["vaccel_agent_sessions"], 1);
	EXPECT_EQ(ex["vaccel_agent_connections"], 1);
	EXPECT_EQ(ex["vaccel_agent_queued_requests"], 0);
	EXPECT_EQ(ex["vaccel_agent_ready"], 1);
	EXPECT_EQ(ex.types.at("vaccel_agent_call_duration_seconds"),
		  "histogram");
	EXPECT_EQ(ex.types.at("vaccel_agent_calls_total"), "counter");

	// A second scrape after more calls: exactly those more.
	for (int i = 0; i < 5; ++i)
		ASSERT_EQ(c.noop(sess).code, RpcCode::Ok);
	const Exposition again = scrape(port_);
	EXPECT_EQ(again[series("vaccel_agent_calls_total",
			       t + ",method=\"Genop\",code=\"OK\"")],
		  kNoops + 1 + 5);
}

// Bytes in a region the client staged them in count as "shm"; in a region
// it mapped as its program's own memory (MapRegion.client_memory) as
// "shm_in_place"; neither as "socket".
TEST_F(Metrics, SharedMemoryBytesAreCountedOnTheirPath)
{
	start("shm-user");
	Client c(agent_->address());
	const int64_t sess = c.session();
	ASSERT_NE(sess, 0);
	constexpr size_t kRegion = size_t{1} << 20;
	std::vector<tr::UniqueFd> fds;
	for (uint32_t id : {1U, 2U}) {
		const int fd = ::memfd_create("metrics-test",
					      MFD_CLOEXEC | MFD_ALLOW_SEALING);
		ASSERT_GE(fd, 0);
		fds.emplace_back(fd);
		ASSERT_EQ(::ftruncate(fd, kRegion), 0);
		ASSERT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
		rpc::ext::MapRegion map;
		map.set_region(id);
		map.set_size(kRegion);
		map.set_client_memory(id == 2);
		const int one[] = {fd};
		ASSERT_EQ(c.raw(tr::kServiceData, "MapRegion",
				map.SerializeAsString(), 10000ms, one)
			      .code,
			  RpcCode::Ok);
	}
	// Region @p id: [0, +in) read, [in, +out) written.
	const auto genop = [&](uint32_t id, size_t in_bytes, size_t out_bytes) {
		rpc::ext::ShmGenopRequest g;
		g.set_session_id(sess);
		for (const auto byte :
		     {static_cast<char>(VACCEL_OP_OPENCV), '\0'}) {
			auto *a =
			    g.add_read_args(); // the op, then its function
			a->set_buf(std::string(1, byte));
			a->set_size(1);
			a->set_arg_type(rpc::genop::UINT8);
		}
		auto *in = g.add_read_args();
		in->set_region(id);
		in->set_offset(0);
		in->set_size(in_bytes);
		in->set_arg_type(rpc::genop::RAW);
		auto *out = g.add_write_args();
		out->set_region(id);
		out->set_offset(in_bytes);
		out->set_size(out_bytes);
		out->set_arg_type(rpc::genop::RAW);
		const Reply r =
		    c.raw(tr::kServiceData, "GenopShm", g.SerializeAsString());
		EXPECT_EQ(r.code, RpcCode::Ok) << r.message;
	};
	genop(1, kRegion / 2, kRegion / 4);
	genop(2, kRegion / 8, kRegion / 16);

	const Exposition ex = scrape(port_);
	const std::string t = "tenant=\"shm-user\"";
	const auto counted = [&](const char *path, const char *direction) {
		return ex[series("vaccel_agent_bytes_total",
				 t + ",path=\"" + path + "\",direction=\"" +
				     direction + "\"")];
	};
	EXPECT_EQ(ex[series("vaccel_agent_calls_total",
			    t + ",method=\"GenopShm\",code=\"OK\"")],
		  2);
	EXPECT_EQ(ex[series("vaccel_agent_calls_total",
			    t + ",method=\"MapRegion\",code=\"OK\"")],
		  2);
	EXPECT_EQ(counted("shm", "in"), static_cast<double>(kRegion / 2));
	EXPECT_EQ(counted("shm", "out"), static_cast<double>(kRegion / 4));
	EXPECT_EQ(counted("shm_in_place", "in"),
		  static_cast<double>(kRegion / 8));
	EXPECT_EQ(counted("shm_in_place", "out"),
		  static_cast<double>(kRegion / 16));
	EXPECT_LT(counted("socket", "in"), static_cast<double>(kRegion / 16));
	EXPECT_EQ(ex["vaccel_agent_shm_regions"], 2);
}

TEST_F(Metrics, HealthAndReadinessAnswerWhileTheListenerAccepts)
{
	start("probed");
	EXPECT_EQ(http_get(port_, "/healthz").status, 200);
	// Ready once its plugins are in, which it loads after it listens
	// (slow under the sanitizers): asked again for up to 10 s.
	int ready = 0;
	for (int i = 0;
	     i < 1000 && (ready = http_get(port_, "/readyz").status) != 200;
	     ++i)
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	EXPECT_EQ(ready, 200);
	EXPECT_EQ(http_get(port_, "/healthz", "HEAD").status, 200);
	EXPECT_EQ(http_get(port_, "/nothing").status, 404);
	const Http post = http_get(port_, "/metrics", "POST");
	EXPECT_EQ(post.status, 405);
	EXPECT_NE(post.head.find("Allow: GET, HEAD"), std::string::npos)
	    << post.head;
	// A socket file removed from under the agent reaches nobody: not
	// live (a probe restarts it), and not ready.
	ASSERT_EQ(::unlink(dir_.file("a.sock").c_str()), 0);
	EXPECT_EQ(http_get(port_, "/healthz").status, 503);
	EXPECT_EQ(http_get(port_, "/readyz").status, 503);
	EXPECT_EQ(scrape(port_)["vaccel_agent_ready"], 0);
}

TEST_F(Metrics, LabelValuesAreEscaped)
{
	// A tenant name with a quote, a backslash and a newline (an
	// operator's --tenant; a certificate's common name may hold the
	// first two).
	start("a\"b\\c\nd");
	Client c(agent_->address());
	ASSERT_NE(c.session(), 0);
	const Http h = http_get(port_, "/metrics");
	ASSERT_EQ(h.status, 200);
	EXPECT_NE(h.body.find("vaccel_agent_calls_total{tenant=\"a\\\"b\\\\c"
			      "\\nd\",method=\"CreateSession\",code=\"OK\"} 1"),
		  std::string::npos)
	    << h.body;
	const Exposition ex = parse_exposition(h.body);
	EXPECT_TRUE(ex.errors.empty()) << ex.errors.front();
}

TEST(MetricsExposure, AddressBeyondLoopbackIsRefusedAtStart)
{
	TempDir dir;
	// 192.0.2.1 is TEST-NET-1 (RFC 5737): the agent must refuse it
	// before trying to bind it.
	AgentProcess agent(dir.path(), {"-a", "unix://" + dir.file("a.sock"),
					"--metrics", "192.0.2.1:9464"});
	EXPECT_FALSE(agent.start());
	EXPECT_TRUE(WIFEXITED(agent.exit_status()));
	EXPECT_EQ(WEXITSTATUS(agent.exit_status()), 1);
	EXPECT_NE(agent.err().find("--metrics-allow-remote"), std::string::npos)
	    << agent.err();
	// Nothing was bound: the data listener comes after the metrics one.
	struct stat st {
	};
	EXPECT_NE(::stat(dir.file("a.sock").c_str(), &st), 0);
	// A bad value is a usage error.
	AgentProcess bad(dir.path(), {"-a", "unix://" + dir.file("a.sock"),
				      "--metrics", "nowhere"});
	EXPECT_FALSE(bad.start());
	EXPECT_EQ(WEXITSTATUS(bad.exit_status()), 2);
}

TEST_F(Metrics, IsolatedWorkersReportAndSurviveTheirDeath)
{
	start("isolated", {"--isolate-tenants"});
	constexpr int kFirst = 7, kSecond = 4;
	const std::string ok = series("vaccel_agent_calls_total",
				      "tenant=\"isolated\",method=\"Genop\","
				      "code=\"OK\"");
	{
		Client c(agent_->address());
		const int64_t sess = c.session();
		ASSERT_NE(sess, 0);
		for (int i = 0; i < kFirst; ++i)
			ASSERT_EQ(c.noop(sess).code, RpcCode::Ok);
		// Counted in the worker, read by the agent.
		Exposition ex = scrape(port_);
		EXPECT_EQ(ex[ok], kFirst);
		EXPECT_EQ(ex["vaccel_agent_worker_processes"], 1);
		EXPECT_EQ(ex[series("vaccel_agent_worker_starts_total",
				    "tenant=\"isolated\"")],
			  1);
		// The worker dies: its counts stay with the agent.
		const auto kids = child_pids(agent_->pid());
		ASSERT_EQ(kids.size(), 1U);
		ASSERT_EQ(::kill(kids[0], SIGKILL), 0);
		const std::string failures =
		    series("vaccel_agent_worker_failures_total",
			   "tenant=\"isolated\"");
		for (int i = 0; i < 500 && scrape(port_)[failures] != 1; ++i)
			std::this_thread::sleep_for(10ms);
		ex = scrape(port_);
		EXPECT_EQ(ex[failures], 1);
		EXPECT_EQ(ex[ok], kFirst);
		EXPECT_EQ(ex["vaccel_agent_worker_processes"], 0);
	}
	// A new worker adds to them.
	Client c(agent_->address());
	const int64_t sess = c.session();
	ASSERT_NE(sess, 0);
	for (int i = 0; i < kSecond; ++i)
		ASSERT_EQ(c.noop(sess).code, RpcCode::Ok);
	const Exposition ex = scrape(port_);
	EXPECT_EQ(ex[ok], kFirst + kSecond);
	EXPECT_EQ(ex[series("vaccel_agent_calls_total",
			    "tenant=\"isolated\",method=\"CreateSession\","
			    "code=\"OK\"")],
		  2);
	EXPECT_EQ(ex[series("vaccel_agent_worker_starts_total",
			    "tenant=\"isolated\"")],
		  2);
	// Gauges come from the worker once a second.
	double sessions = 0;
	for (int i = 0; i < 300 && sessions != 1; ++i) {
		sessions = scrape(port_)["vaccel_agent_sessions"];
		if (sessions != 1)
			std::this_thread::sleep_for(10ms);
	}
	EXPECT_EQ(sessions, 1);
}

} // namespace

// Each GPU's memory as the driver reports it, read through NVML: here a
// stand-in library with two devices of known memory (the GPU machine checks
// the real driver against nvidia-smi).
TEST_F(Metrics, AcceleratorMemoryIsWhatTheDriverReports)
{
	start("gpu-host", {}, {"LD_LIBRARY_PATH=" TEST_FAKE_NVML_DIR});
	Exposition ex = scrape(port_);
	constexpr double kGiB = 1u << 30;
	auto gauge = [&](const char *device, const char *state) {
		return ex[std::string("vaccel_agent_accelerator_memory_bytes{"
				      "device=\"") +
			  device + "\",state=\"" + state + "\"}"];
	};
	EXPECT_EQ(gauge("cuda:0", "total"), 16 * kGiB);
	EXPECT_EQ(gauge("cuda:0", "used"), kGiB + 4096);
	EXPECT_EQ(gauge("cuda:1", "total"), 32 * kGiB);
	EXPECT_EQ(gauge("cuda:1", "used"), 2 * kGiB + 4096);
	EXPECT_EQ(ex.sum("vaccel_agent_accelerator_memory_bytes", {}),
		  48 * kGiB + 3 * kGiB + 8192);
}

// Without an NVIDIA driver there is no such family, rather than gauges
// that read 0.
TEST_F(Metrics, NoAcceleratorMemoryWithoutADriver)
{
	start("cpu-host");
	const Http h = http_get(port_, "/metrics");
	ASSERT_EQ(h.status, 200);
	EXPECT_EQ(h.body.find("vaccel_agent_accelerator_memory_bytes"),
		  std::string::npos);
}
