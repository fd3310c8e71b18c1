// SPDX-License-Identifier: Apache-2.0
// Request traces end to end: a real agent process (--trace) traces every
// call the rpc plugin makes (plain, chunked or shared-memory, failing or
// not), the plugin (VACCEL_RPC_TRACE) every op, and
// scripts/trace_summary.py reads what the agent wrote.
#include "rpc_test.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

using namespace rpc_test;

namespace
{

struct Line {
	std::string method;
	int status = 0;
	double queue = 0, handler = 0, op = 0, reply = 0, total = 0;
	int64_t read_ns = 0; // on the monotonic clock
};

std::vector<Line> read_trace(const std::string &path)
{
	std::vector<Line> out;
	std::ifstream in(path);
	std::string text;
	if (!std::getline(in, text) || text.rfind("# conn", 0) != 0) {
		ADD_FAILURE() << "no trace header in " << path;
		return out;
	}
	while (std::getline(in, text)) {
		std::istringstream f(text);
		Line l;
		std::string conn, stream, req, rep, at;
		f >> conn >> stream >> l.method >> req >> rep >> l.status >>
		    l.queue >> l.handler >> l.op >> l.reply >> l.total >> at >>
		    l.read_ns;
		EXPECT_FALSE(f.fail()) << text;
		out.push_back(l);
	}
	return out;
}

TEST(AgentTrace, EveryCallIsTracedAndSummarised)
{
	TempDir dir;
	Agent agent(dir.path(), "traced");
	const std::string trace = dir.file("trace.tsv");
	ASSERT_TRUE(agent.start(TEST_EXEC_PLUGIN, {"--trace", trace}))
	    << agent.log();
	// The client's half of the trace, written when the plugin unloads.
	const std::string client_trace = dir.file("client.tsv");
	::setenv("VACCEL_RPC_TRACE", client_trace.c_str(), 1);
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	::unsetenv("VACCEL_RPC_TRACE");

	vaccel_session sess{};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	constexpr int kCalls = 10;
	for (size_t size : {size_t{4096}, size_t{9} << 20}) {
		std::vector<uint8_t> in(size, 3), out(size);
		vaccel_arg r{in.data(), size, VACCEL_ARG_RAW, 0, false};
		vaccel_arg w{out.data(), size, VACCEL_ARG_RAW, 0, false};
		for (int i = 0; i < kCalls; ++i)
			ASSERT_EQ(vaccel_exec(&sess, TEST_BULK_LIB,
					      "bulk_transform", &r, 1, &w, 1),
				  VACCEL_OK);
		EXPECT_EQ(out[size - 1], static_cast<uint8_t>(3 * 31 + 7));
	}
	int32_t v = 1;
	vaccel_arg bad{&v, 4, VACCEL_ARG_INT32, 0, false};
	EXPECT_EQ(vaccel_exec(&sess, TEST_BULK_LIB, "no_such_symbol", &bad, 1,
			      nullptr, 0),
		  VACCEL_ENOSYS);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	agent.stop(SIGTERM); // the trace is complete once the agent is down

	const auto lines = read_trace(trace);
	std::map<std::string, int> methods;
	int ops_ok = 0, ops_failed = 0;
	for (const Line &l : lines) {
		++methods[l.method];
		EXPECT_GE(l.total + 0.15, l.queue + l.handler + l.reply)
		    << l.method; // each column is rounded to 0.1 us
		EXPECT_LE(l.op, l.handler + 0.05) << l.method;
		if (l.op > 0 && l.status == 0)
			++ops_ok;
		if (l.op > 0 && l.status != 0)
			++ops_failed;
	}
	EXPECT_EQ(methods["CreateSession"], 1);
	EXPECT_EQ(methods["DestroySession"], 1);
	EXPECT_EQ(ops_ok, 2 * kCalls) << agent.log();
	EXPECT_EQ(ops_failed, 1);

	// The client's lines: one per op, its calls inside its time.
	std::ifstream cin(client_trace);
	std::string text;
	ASSERT_TRUE(std::getline(cin, text));
	EXPECT_EQ(text.rfind("# op\tmethod\trc\tcalls", 0), 0U) << text;
	int execs_ok = 0, execs_failed = 0, inits = 0;
	// Each exec's last round trip, on the monotonic clock.
	std::vector<std::pair<int64_t, int64_t>> exec_wires;
	while (std::getline(cin, text)) {
		std::istringstream f(text);
		std::string op, method;
		int rc = 0;
		unsigned calls = 0;
		double total = 0, call = 0, wire = 0, own = 0;
		// "session init" and the like: two words.
		std::getline(f, op, '\t');
		int64_t wire_start = 0, wire_end = 0;
		int cpu = -2, cpu_end = -2;
		f >> method >> rc >> calls >> total >> call >> wire >> own >>
		    wire_start >> wire_end >> cpu >> cpu_end;
		ASSERT_FALSE(f.fail()) << text;
		EXPECT_LE(wire, call + 0.05) << text;
		EXPECT_LE(call, total + 0.05) << text;
		// The last round trip lies within all of them.
		EXPECT_LE(wire_start, wire_end) << text;
		EXPECT_LE(static_cast<double>(wire_end - wire_start) / 1000.0,
			  wire + 0.05)
		    << text;
		EXPECT_GE(cpu, 0) << text;
		EXPECT_GE(cpu_end, 0) << text;
		if (op == "exec") {
			EXPECT_GE(calls, 1U) << text;
			(rc == VACCEL_OK ? execs_ok : execs_failed)++;
			exec_wires.emplace_back(wire_start, wire_end);
		}
		if (op == "session init") {
			++inits;
			EXPECT_EQ(method, "CreateSession") << text;
		}
	}
	EXPECT_EQ(execs_ok, 2 * kCalls);
	EXPECT_EQ(execs_failed, 1);
	EXPECT_EQ(inits, 1);

	// Both traces on one clock: each op request reached the agent while
	// the client waited in that call's round trip. (The agent writes a
	// line after its reply, so its lines go by read time.)
	std::vector<int64_t> op_reads;
	for (const Line &l : lines)
		if (l.op > 0)
			op_reads.push_back(l.read_ns);
	std::sort(op_reads.begin(), op_reads.end());
	ASSERT_EQ(op_reads.size(), exec_wires.size());
	for (size_t i = 0; i < op_reads.size(); ++i) {
		EXPECT_GT(op_reads[i], exec_wires[i].first) << "exec " << i;
		EXPECT_LT(op_reads[i], exec_wires[i].second) << "exec " << i;
	}

	// The summary tool: a row per method, the call counts right.
	const auto run = [](const std::string &args, bool ok = true) {
		const std::string cmd = std::string(TEST_PYTHON) + " " +
					TEST_TRACE_SUMMARY + " " + args +
					" 2>&1";
		FILE *p = ::popen(cmd.c_str(), "r");
		std::string out;
		if (p == nullptr)
			return out;
		char buf[4096];
		for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;)
			out.append(buf, n);
		EXPECT_EQ(::pclose(p) == 0, ok) << out;
		return out;
	};
	const std::string summary = run(trace);
	EXPECT_NE(summary.find("CreateSession"), std::string::npos) << summary;
	EXPECT_NE(summary.find("median / p90"), std::string::npos) << summary;
	for (const auto &[m, n] : methods) {
		std::istringstream rows(summary);
		bool found = false;
		for (std::string row; std::getline(rows, row);) {
			std::istringstream f(row);
			std::string name;
			int count = -1;
			f >> name >> count;
			if (name == m) {
				found = true;
				EXPECT_EQ(count, n) << row;
			}
		}
		EXPECT_TRUE(found) << m << "\n" << summary;
	}

	// Both traces call by call: the exec calls paired, the overhead
	// split into its parts.
	const std::string paired = run(trace + " --pair " + client_trace);
	EXPECT_NE(paired.find("with client exec"), std::string::npos) << paired;
	for (const char *row :
	     {"overhead", "client codec", "transport", "overhead / op",
	      "request leg", "reply leg", "cpus"})
		EXPECT_NE(paired.find(row), std::string::npos) << row << paired;
	// The agent's trace where the client's belongs: refused.
	const std::string swapped =
	    run(client_trace + " --pair " + trace, false);
	EXPECT_NE(swapped.find("expected the agent's trace first"),
		  std::string::npos)
	    << swapped;
}

// A plugin that started a thread before the agent's main() (libtorch does)
// must not turn SIGTERM into the agent's death: it shuts down as usual, and
// the trace it was writing is whole.
TEST(AgentTrace, CompleteAfterSigtermWithThreadsStartedBeforeMain)
{
	TempDir dir;
	Agent agent(dir.path(), "threaded");
	const std::string trace = dir.file("trace.tsv");
	ASSERT_TRUE(agent.start(std::string(TEST_EXEC_PLUGIN) + ":" +
				    TEST_THREADED_PLUGIN,
				{"--trace", trace}))
	    << agent.log();
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	vaccel_session sess{};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	constexpr int kCalls = 50;
	std::vector<uint8_t> in(64, 1), out(64);
	vaccel_arg r{in.data(), in.size(), VACCEL_ARG_RAW, 0, false};
	vaccel_arg w{out.data(), out.size(), VACCEL_ARG_RAW, 0, false};
	for (int i = 0; i < kCalls; ++i)
		ASSERT_EQ(vaccel_exec(&sess, TEST_BULK_LIB, "bulk_transform",
				      &r, 1, &w, 1),
			  VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);

	const int status = agent.stop(SIGTERM);
	ASSERT_TRUE(WIFEXITED(status))
	    << "the agent died of signal " << WTERMSIG(status) << "\n"
	    << agent.log();
	EXPECT_EQ(WEXITSTATUS(status), 0) << agent.log();
	const std::string text = slurp(trace);
	ASSERT_FALSE(text.empty());
	EXPECT_EQ(text.back(), '\n');
	int execs = 0;
	for (const Line &l : read_trace(trace))
		execs += l.op > 0 ? 1 : 0;
	EXPECT_EQ(execs, kCalls);
}

} // namespace
