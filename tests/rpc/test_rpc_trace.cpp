// SPDX-License-Identifier: Apache-2.0
// Request traces end to end: a real agent process (--trace) traces every
// call the rpc plugin makes (plain, chunked or shared-memory, failing or
// not), the plugin (VACCEL_RPC_TRACE) every op, and
// scripts/trace_summary.py reads what the agent wrote.
#include "rpc_test.h"

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
		    l.queue >> l.handler >> l.op >> l.reply >> l.total >> at;
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
	while (std::getline(cin, text)) {
		std::istringstream f(text);
		std::string op, method;
		int rc = 0;
		unsigned calls = 0;
		double total = 0, call = 0, wire = 0, own = 0;
		// "session init" and the like: two words.
		std::getline(f, op, '\t');
		f >> method >> rc >> calls >> total >> call >> wire >> own;
		ASSERT_FALSE(f.fail()) << text;
		EXPECT_LE(wire, call + 0.05) << text;
		EXPECT_LE(call, total + 0.05) << text;
		if (op == "exec") {
			EXPECT_GE(calls, 1U) << text;
			(rc == VACCEL_OK ? execs_ok : execs_failed)++;
		}
		if (op == "session init") {
			++inits;
			EXPECT_EQ(method, "CreateSession") << text;
		}
	}
	EXPECT_EQ(execs_ok, 2 * kCalls);
	EXPECT_EQ(execs_failed, 1);
	EXPECT_EQ(inits, 1);

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
	     {"overhead", "client codec", "transport", "overhead / op"})
		EXPECT_NE(paired.find(row), std::string::npos) << row << paired;
	// The agent's trace where the client's belongs: refused.
	const std::string swapped =
	    run(client_trace + " --pair " + trace, false);
	EXPECT_NE(swapped.find("expected the agent's trace first"),
		  std::string::npos)
	    << swapped;
}

} // namespace
