// SPDX-License-Identifier: Apache-2.0
// The `vaccel` command-line tool, run as a child process: outputs, exit
// codes (docs/cli.md), JSON documents, `vaccel bench` statistics, the
// progress bar on a terminal, and `vaccel agent` serving `--remote` runs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <vaccel.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

namespace
{

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kPlugins =
    std::string(TEST_NOOP_PLUGIN) + ":" + TEST_EXEC_PLUGIN;
const std::string kTag = "This is a dummy classification tag!";
const std::string kImgname = "This is a dummy imgname!";

std::string slurp(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::ostringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

class TempDir
{
public:
	TempDir()
	{
		std::string t = (std::filesystem::temp_directory_path() /
				 "vaccel-cli-XXXXXX")
				    .string();
		if (mkdtemp(t.data()) == nullptr)
			throw std::runtime_error("mkdtemp");
		path_ = t;
	}
	~TempDir() { std::filesystem::remove_all(path_); }
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;
	[[nodiscard]] std::string file(const std::string &n) const
	{
		return path_ + "/" + n;
	}

private:
	std::string path_;
};

// The environment of a child: ours without VACCEL_*, plus @p extra.
std::vector<std::string>
child_env(const std::map<std::string, std::string> &extra)
{
	std::vector<std::string> env;
	for (char **e = environ; *e != nullptr; ++e) {
		const std::string var(*e);
		if (var.rfind("VACCEL_", 0) != 0 &&
		    !extra.contains(var.substr(0, var.find('='))))
			env.push_back(var);
	}
	for (const auto &[k, v] : extra)
		env.push_back(k + "=" + v);
	return env;
}

[[noreturn]] void exec_child(const std::vector<std::string> &args,
			     const std::vector<std::string> &env)
{
	std::vector<std::string> a{TEST_CLI_BIN};
	a.insert(a.end(), args.begin(), args.end());
	std::vector<char *> av;
	std::vector<char *> ev;
	for (auto &s : a)
		av.push_back(const_cast<char *>(s.c_str()));
	av.push_back(nullptr);
	for (const auto &s : env)
		ev.push_back(const_cast<char *>(s.c_str()));
	ev.push_back(nullptr);
	execve(TEST_CLI_BIN, av.data(), ev.data());
	_exit(127);
}

struct Result {
	int rc = -1;
	std::string out;
	std::string err;
};

// Runs `vaccel args...` to completion (at most 60 s).
Result run(const std::vector<std::string> &args,
	   const std::map<std::string, std::string> &env = {
	       {"VACCEL_PLUGINS", kPlugins}})
{
	TempDir dir;
	const std::string out = dir.file("out");
	const std::string err = dir.file("err");
	const auto e = child_env(env);
	pid_t pid = fork();
	if (pid == 0) {
		int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int r = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int n = open("/dev/null", O_RDONLY);
		dup2(o, 1);
		dup2(r, 2);
		dup2(n, 0);
		exec_child(args, e);
	}
	Result res;
	const auto until = std::chrono::steady_clock::now() + 60s;
	int status = 0;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (std::chrono::steady_clock::now() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ADD_FAILURE() << "vaccel timed out";
			break;
		}
		std::this_thread::sleep_for(5ms);
	}
	res.rc =
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	res.out = slurp(out);
	res.err = slurp(err);
	return res;
}

std::string describe(const Result &r)
{
	return "rc " + std::to_string(r.rc) + "\nstdout:\n" + r.out +
	       "\nstderr:\n" + r.err;
}

json parse(const Result &r)
{
	try {
		return json::parse(r.out);
	} catch (const json::exception &e) {
		ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n"
			      << describe(r);
		return json::object();
	}
}

// The generator docs/cli.md specifies for `run sgemm` (splitmix64, top
// 24 bits mapped to [-1, 1)), written out here from the description.
std::vector<float> sgemm_matrices(uint64_t seed, size_t count)
{
	std::vector<float> v;
	uint64_t state = seed;
	for (size_t i = 0; i < count; i++) {
		state += 0x9e3779b97f4a7c15ULL;
		uint64_t z = state;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z = z ^ (z >> 31);
		v.push_back(static_cast<float>(
		    static_cast<double>(z >> 40) / (1 << 23) - 1.0));
	}
	return v;
}

// ---- help, version, usage errors --------------------------------------

// The names listed in a help text's Subcommands section (each line's
// first word), in order.
std::vector<std::string> listed_subcommands(const std::string &help)
{
	std::vector<std::string> out;
	const size_t at = help.find("Subcommands:");
	if (at == std::string::npos)
		return out;
	std::istringstream in(help.substr(at));
	std::string line;
	std::getline(in, line); // the heading
	while (std::getline(in, line) && !line.empty() && line[0] == ' ') {
		std::istringstream words(line);
		std::string w;
		words >> w;
		out.push_back(w);
	}
	return out;
}

TEST(Cli, HelpListsSubcommandsAndExitCodes)
{
	Result r = run({"--help"});
	EXPECT_EQ(r.rc, 0) << describe(r);
	for (const char *s :
	     {"--remote", "--plugins", "Exit status", "2 usage error"})
		EXPECT_NE(r.out.find(s), std::string::npos) << s;
	// Every subcommand, `agent` included (it is parsed apart).
	EXPECT_EQ(listed_subcommands(r.out),
		  (std::vector<std::string>{"info", "run", "agent", "bench",
					    "digest", "top"}))
	    << r.out;
	const std::vector<std::string> ops = {"noop", "classify", "sgemm",
					      "exec", "torch"};
	for (const char *cmd : {"run", "bench"}) {
		r = run({cmd, "--help"});
		EXPECT_EQ(r.rc, 0) << describe(r);
		EXPECT_EQ(listed_subcommands(r.out), ops) << r.out;
	}
	r = run({"bench", "--help"});
	for (const char *s : {"--iterations", "--duration", "--json"})
		EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

TEST(Cli, Version)
{
	Result r = run({"--version"});
	EXPECT_EQ(r.rc, 0);
	EXPECT_EQ(r.out, std::string("vaccel ") + VACCEL_VERSION + "\n");
}

TEST(Cli, UsageErrorsExitWith2)
{
	const std::vector<std::vector<std::string>> bad = {
	    {},
	    {"bogus"},
	    {"run"},
	    {"run", "nosuchop"},
	    {"run", "sgemm", "--m", "0"},
	    {"run", "sgemm", "--k", "many"},
	    {"run", "exec"},
	    {"run", "classify"},
	    {"bench", "noop", "-n", "10", "-t", "1"},
	    {"bench", "noop", "--threads", "0"},
	    {"--plugins", "a.so", "--remote", "unix:///x", "run", "noop"},
	    {"--hint", "nonsense", "run", "noop"},
	    {"--log-level", "loud", "info"},
	};
	for (const auto &args : bad) {
		Result r = run(args);
		std::string cmd;
		for (const auto &a : args)
			cmd += a + " ";
		EXPECT_EQ(r.rc, 2) << cmd << describe(r);
		EXPECT_FALSE(r.err.empty()) << cmd;
	}
}

// ---- info ----------------------------------------------------------------

// `vaccel digest`: the key the agent's model cache knows a model by, the
// same as `vaccel-agent --digest` computes; --index writes an index the rpc
// plugin reads, one entry per model, a model digested again replacing its
// entry.
TEST(Cli, DigestPrintsTheCacheKeyAndWritesTheIndex)
{
	TempDir dir;
	const std::string a = dir.file("a.pt"), b = dir.file("b.pt");
	std::ofstream(a) << "model a";
	std::ofstream(b) << "model b";
	Result agent = run({"agent", "--digest", a});
	ASSERT_EQ(agent.rc, 0) << describe(agent);
	const std::string want = agent.out.substr(0, 64);

	Result r = run({"digest", a});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_EQ(r.out, want + "  " + a + "\n");

	const std::string index = dir.file("models.digests");
	ASSERT_EQ(run({"digest", "--index", index, a}).rc, 0);
	ASSERT_EQ(run({"digest", "--index", index, b, a}).rc, 0);
	const std::string text = slurp(index);
	EXPECT_EQ(text.rfind("vaccel-digests 1\n", 0), 0U) << text;
	size_t entries = 0;
	// After the header line, which ends the same way.
	for (size_t at = text.find(" 1\n", 17); at != std::string::npos;
	     at = text.find(" 1\n", at + 1))
		++entries;
	EXPECT_EQ(entries, 2U) << text; // a once, b once
	EXPECT_NE(text.find(want + " 1\n"), std::string::npos) << text;
	EXPECT_NE(text.find(" " + a + "\n"), std::string::npos) << text;

	r = run({"digest", dir.file("none.pt")});
	EXPECT_EQ(r.rc, 3) << describe(r);
	EXPECT_NE(r.err.find("none.pt"), std::string::npos) << describe(r);
	r = run({"digest"});
	EXPECT_EQ(r.rc, 2) << describe(r);
}

TEST(Cli, InfoJsonDescribesRuntimeAndPlugins)
{
	Result r = run({"info", "--json"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	EXPECT_EQ(j["version"], VACCEL_VERSION);
	EXPECT_TRUE(j["initialized"].get<bool>());
	EXPECT_TRUE(
	    j["library"].get<std::string>().ends_with("libvaccel.so.0"));
	EXPECT_EQ(j["config"]["plugins"], kPlugins);
	EXPECT_EQ(j["config"]["log_level"], "error");
	// Removed again when the command exits: only its form is checked.
	EXPECT_EQ(j["config"]["rundir"].get<std::string>().rfind('/', 0), 0U);
	ASSERT_EQ(j["plugins"].size(), 2U);
	const json &noop = j["plugins"][0];
	EXPECT_EQ(noop["name"], "noop");
	EXPECT_EQ(noop["path"], TEST_NOOP_PLUGIN);
	EXPECT_EQ(noop["type"], json::array({"debug"}));
	ASSERT_EQ(noop["ops"].size(), static_cast<size_t>(VACCEL_OP_MAX));
	EXPECT_EQ(noop["ops"][0], "noop");
	EXPECT_EQ(noop["ops"][3], "image_classify");
	EXPECT_EQ(noop["ops"][23], "opencv");
	EXPECT_EQ(j["plugins"][1]["name"], "exec");
	EXPECT_EQ(j["plugins"][1]["ops"],
		  json::array({"noop", "exec", "exec_with_resource"}));
	EXPECT_TRUE(j["missing_plugins"].empty());
}

TEST(Cli, InfoTextAndMissingPlugin)
{
	Result r = run({"info"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_NE(r.out.find(std::string("vAccel ") + VACCEL_VERSION),
		  std::string::npos);
	EXPECT_NE(r.out.find("plugins (2 loaded)"), std::string::npos);
	EXPECT_NE(r.out.find("ops (24): noop exec"), std::string::npos);

	r = run({"--plugins",
		 std::string(TEST_NOOP_PLUGIN) + ":/nonexistent/libx.so",
		 "info", "--json"},
		{});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	EXPECT_EQ(j["plugins"].size(), 1U);
	EXPECT_EQ(j["missing_plugins"], json::array({"/nonexistent/libx.so"}));
	ASSERT_EQ(j["plugin_errors"].size(), 1U);
	EXPECT_NE(j["plugin_errors"][0]["message"].get<std::string>().find(
		      "cannot load plugin /nonexistent/libx.so"),
		  std::string::npos)
	    << j.dump(2);
}

// --plugins takes what VACCEL_PLUGINS takes: short names, file names and
// paths, all found by the runtime (next to libvaccel here).
TEST(Cli, PluginsByShortNameFileNameOrPath)
{
	Result r =
	    run({"--plugins", "noop:libvaccel-exec.so", "info", "--json"}, {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	ASSERT_EQ(j["plugins"].size(), 2U) << j.dump(2);
	EXPECT_EQ(j["plugins"][0]["name"], "noop");
	EXPECT_EQ(std::filesystem::canonical(
		      j["plugins"][0]["path"].get<std::string>()),
		  std::filesystem::canonical(TEST_NOOP_PLUGIN));
	EXPECT_EQ(j["plugins"][1]["name"], "exec");
	EXPECT_TRUE(j["missing_plugins"].empty());

	r = run({"--plugins", "noop", "run", "noop"}, {});
	EXPECT_EQ(r.rc, 0) << describe(r);
	EXPECT_NE(r.out.find("on plugin noop"), std::string::npos);
}

// A name that resolves to nothing: where the runtime looked and what is
// there, in `info` and as `run`'s reason to stop.
TEST(Cli, UnknownPluginSaysWhereItLooked)
{
	const std::string lib_dir =
	    std::filesystem::canonical(
		std::filesystem::path(TEST_NOOP_PLUGIN).parent_path())
		.string();
	Result r = run({"--plugins", "noop:nosuch", "info"}, {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_NE(r.out.find("nosuch: FAILED TO LOAD: cannot load plugin "
			     "nosuch: no libvaccel-nosuch.so in " +
			     lib_dir + " (libvaccel's directory)"),
		  std::string::npos)
	    << r.out;
	const size_t there = r.out.find("plugins there: ");
	ASSERT_NE(there, std::string::npos) << r.out;
	const std::string listed =
	    r.out.substr(there, r.out.find('\n', there) - there);
	for (const char *p : {"exec", "noop"})
		EXPECT_NE(listed.find(p), std::string::npos) << listed;

	r = run({"--plugins", "noop:nosuch", "run", "noop"}, {});
	EXPECT_EQ(r.rc, 3) << describe(r);
	EXPECT_NE(r.err.find("cannot load plugin nosuch: no "
			     "libvaccel-nosuch.so in"),
		  std::string::npos)
	    << r.err;
}

// ---- run -----------------------------------------------------------------

TEST(Cli, RunNoop)
{
	Result r = run({"run", "noop"});
	EXPECT_EQ(r.rc, 0) << describe(r);
	EXPECT_EQ(r.out.rfind("ok\ntime: ", 0), 0U) << r.out;
	EXPECT_NE(r.out.find("on plugin noop"), std::string::npos);

	r = run({"run", "noop", "--json"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	EXPECT_EQ(j["op"], "noop");
	EXPECT_EQ(j["plugin"], "noop");
	EXPECT_TRUE(j["ok"].get<bool>());
	EXPECT_GE(j["time_us"].get<double>(), 0.0);
}

TEST(Cli, RunWithoutAPluginForTheOpExitsWith3)
{
	Result r = run({"run", "noop"}, {});
	EXPECT_EQ(r.rc, 3) << describe(r);
	EXPECT_NE(r.err.find("no loaded plugin implements noop"),
		  std::string::npos)
	    << r.err;
	r = run({"--plugins", "/nonexistent/libvaccel-x.so", "run", "noop"},
		{});
	EXPECT_EQ(r.rc, 3) << describe(r);
	EXPECT_NE(r.err.find("cannot load plugin /nonexistent/libvaccel-x.so"),
		  std::string::npos)
	    << r.err;
}

TEST(Cli, RunClassify)
{
	const std::string img = std::string(TEST_DATA_DIR) + "/example.jpg";
	Result r = run({"run", "classify", img});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_EQ(
	    r.out.rfind("tag: " + kTag + "\nimgname: " + kImgname + "\n", 0),
	    0U)
	    << r.out;
	r = run({"run", "classify", img, "--json"});
	json j = parse(r);
	EXPECT_EQ(j["tag"], kTag);
	EXPECT_EQ(j["imgname"], kImgname);

	r = run({"run", "classify", "/nonexistent.jpg"});
	EXPECT_EQ(r.rc, 3) << describe(r);
	EXPECT_NE(r.err.find("cannot read image /nonexistent.jpg"),
		  std::string::npos);
}

TEST(Cli, RunSgemmChecksum)
{
	// noop leaves C as generated, so the checksum is the sum of the
	// initial C, which follows A and B in the generator's stream.
	std::mt19937_64 rng(7);
	for (int rep = 0; rep < 3; rep++) {
		const int64_t m = 1 + static_cast<int64_t>(rng() % 9);
		const int64_t n = 1 + static_cast<int64_t>(rng() % 9);
		const int64_t k = 1 + static_cast<int64_t>(rng() % 9);
		const uint64_t seed = rng();
		Result r = run({"run", "sgemm", "--m", std::to_string(m), "--n",
				std::to_string(n), "--k", std::to_string(k),
				"--seed", std::to_string(seed), "--json"});
		ASSERT_EQ(r.rc, 0) << describe(r);
		json j = parse(r);
		auto v = sgemm_matrices(
		    seed, static_cast<size_t>(m * k + k * n + m * n));
		double want = 0;
		for (size_t i = static_cast<size_t>(m * k + k * n);
		     i < v.size(); i++)
			want += static_cast<double>(v[i]);
		EXPECT_NEAR(j["checksum"].get<double>(), want,
			    1e-9 * (1 + std::abs(want)));
		EXPECT_EQ(j["m"], m);
		EXPECT_EQ(j["n"], n);
		EXPECT_EQ(j["k"], k);
		EXPECT_GT(j["gflops"].get<double>(), 0.0);
	}
	Result r = run({"run", "sgemm", "--m", "2", "--n", "3", "--k", "4"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_EQ(r.out.rfind("m=2 n=3 k=4 checksum=", 0), 0U) << r.out;
	EXPECT_NE(r.out.find("GFLOP/s"), std::string::npos);
}

TEST(Cli, RunExecDoublesWithMytestlib)
{
	std::mt19937 rng(11);
	for (int rep = 0; rep < 3; rep++) {
		const int v = static_cast<int>(rng() % 100000);
		Result r =
		    run({"--hint", "generic", "run", "exec", TEST_MYTESTLIB,
			 "mytestfunc", std::to_string(v)});
		ASSERT_EQ(r.rc, 0) << describe(r);
		EXPECT_NE(r.out.find("output: " + std::to_string(2 * v) + "\n"),
			  std::string::npos)
		    << r.out;
		EXPECT_NE(r.out.find("on plugin exec"), std::string::npos);
	}
	// --json: mytestlib's own printf()s go to stderr, so stdout is JSON.
	// Negative numbers follow "--".
	Result r = run({"run", "exec", "--hint", "cpu", TEST_MYTESTLIB,
			"mytestfunc", "--json", "--", "-21"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	EXPECT_EQ(j["outputs"], json::array({-42}));
	EXPECT_EQ(j["plugin"], "exec");
	EXPECT_NE(r.err.find("I got input: -21"), std::string::npos);
}

TEST(Cli, RunExecFailuresExitWith1)
{
	Result r = run({"--hint", "generic", "run", "exec", TEST_MYTESTLIB,
			"no_such_symbol"});
	EXPECT_EQ(r.rc, 1) << describe(r);
	// The op, the plugin, the file and the plugin's reason.
	EXPECT_NE(r.err.find("exec failed: ENOSYS (38): exec: plugin exec: " +
			     std::string(TEST_MYTESTLIB) +
			     ": symbol no_such_symbol not found"),
		  std::string::npos)
	    << r.err;
	r = run({"--hint", "generic", "run", "exec", "/nonexistent/lib.so", "f",
		 "--json"});
	EXPECT_EQ(r.rc, 1) << describe(r);
	json j = parse(r);
	EXPECT_FALSE(j["ok"].get<bool>());
	EXPECT_EQ(j["error"]["code"], VACCEL_EINVAL);
	EXPECT_EQ(j["error"]["name"], "EINVAL");
	// mytestlib refuses two inputs: the function fails.
	r = run({"--hint", "generic", "run", "exec", TEST_MYTESTLIB,
		 "mytestfunc", "1", "2"});
	EXPECT_EQ(r.rc, 1) << describe(r);
	EXPECT_NE(r.err.find("EBACKEND"), std::string::npos);
}

TEST(Cli, LogLevelReachesTheRuntime)
{
	Result r = run({"--log-level", "debug", "run", "noop"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_NE(r.err.find("[noop] noop: session"), std::string::npos)
	    << r.err;
}

// ---- bench ---------------------------------------------------------------

void expect_sane_stats(const json &j, uint64_t iterations)
{
	EXPECT_EQ(j["iterations"].get<uint64_t>(), iterations);
	const json &l = j["latency_us"];
	const double mn = l["min"], mean = l["mean"], p50 = l["p50"],
		     p90 = l["p90"], p99 = l["p99"], mx = l["max"];
	EXPECT_GT(mx, 0.0);
	EXPECT_LE(mn, p50);
	EXPECT_LE(p50, p90);
	EXPECT_LE(p90, p99);
	EXPECT_LE(p99, mx);
	EXPECT_LE(mn, mean);
	EXPECT_LE(mean, mx);
	const double elapsed = j["elapsed_s"];
	EXPECT_GT(elapsed, 0.0);
	// Throughput is calls over the wall time of the timed phase.
	EXPECT_NEAR(j["ops_per_sec"].get<double>(),
		    static_cast<double>(iterations) / elapsed,
		    1e-6 * static_cast<double>(iterations) / elapsed);
	// One thread: the calls cannot take longer than the wall time.
	if (j["threads"] == 1) {
		EXPECT_LE(mean * static_cast<double>(iterations) / 1e6,
			  elapsed * 1.0001);
	}
}

TEST(Cli, BenchNoop1000Iterations)
{
	Result r = run({"bench", "noop", "--iterations", "1000", "--json"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	EXPECT_EQ(j["op"], "noop");
	EXPECT_EQ(j["plugin"], "noop");
	EXPECT_TRUE(j["remote"].is_null());
	EXPECT_EQ(j["threads"], 1);
	EXPECT_FALSE(j["interrupted"].get<bool>());
	expect_sane_stats(j, 1000);

	r = run({"bench", "noop", "--iterations", "1000"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_NE(r.out.find("vaccel bench noop: 1000 calls, 1 thread"),
		  std::string::npos)
	    << r.out;
	std::istringstream lines(r.out);
	std::string first;
	std::string header;
	std::string row;
	std::getline(lines, first);
	std::getline(lines, header);
	std::getline(lines, row);
	std::istringstream h(header);
	std::vector<std::string> cols;
	for (std::string c; h >> c;)
		cols.push_back(c);
	EXPECT_EQ(cols, (std::vector<std::string>{"min", "mean", "p50", "p90",
						  "p99", "max", "ops/s"}));
	EXPECT_EQ(row.rfind("latency (us)", 0), 0U) << row;
	// No progress bar without a terminal.
	EXPECT_EQ(r.err.find('%'), std::string::npos) << r.err;
}

TEST(Cli, BenchForADurationAndThreads)
{
	Result r = run({"bench", "noop", "--duration", "0.3", "--json"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	EXPECT_GE(j["elapsed_s"].get<double>(), 0.3);
	EXPECT_LT(j["elapsed_s"].get<double>(), 5.0);
	EXPECT_EQ(j["duration_s"], 0.3);
	expect_sane_stats(j, j["iterations"].get<uint64_t>());
	EXPECT_GT(j["iterations"].get<uint64_t>(), 100U);

	r = run({"bench", "--threads", "3", "-n", "301", "sgemm", "--m", "4",
		 "--n", "4", "--k", "4", "--json"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	j = parse(r);
	EXPECT_EQ(j["threads"], 3);
	expect_sane_stats(j, 301);
	EXPECT_GT(j["gflops"].get<double>(), 0.0);
}

TEST(Cli, BenchExecThroughMytestlibAndFailure)
{
	Result r = run({"--hint", "generic", "bench", "exec", TEST_MYTESTLIB,
			"mytestfunc", "3", "-n", "50", "--json"});
	ASSERT_EQ(r.rc, 0) << describe(r);
	expect_sane_stats(parse(r), 50);
	r = run({"--hint", "generic", "bench", "exec", TEST_MYTESTLIB, "nope",
		 "-n", "50"});
	EXPECT_EQ(r.rc, 1) << describe(r);
	EXPECT_NE(r.err.find("bench exec failed: ENOSYS"), std::string::npos)
	    << r.err;
}

TEST(Cli, BenchDrawsProgressOnATerminal)
{
	int master = -1;
	int slave = -1;
	ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
	TempDir dir;
	const std::string out = dir.file("out");
	const auto env = child_env({{"VACCEL_PLUGINS", kPlugins}});
	pid_t pid = fork();
	if (pid == 0) {
		int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(o, 1);
		dup2(slave, 2);
		close(master);
		exec_child({"bench", "noop", "--duration", "1.2"}, env);
	}
	close(slave);
	std::string tty;
	char buf[4096];
	for (;;) {
		pollfd p{master, POLLIN, 0};
		if (poll(&p, 1, 20000) <= 0)
			break;
		ssize_t n = read(master, buf, sizeof(buf));
		if (n <= 0)
			break; // EIO once the child is gone
		tty.append(buf, static_cast<size_t>(n));
	}
	int status = 0;
	waitpid(pid, &status, 0);
	close(master);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_NE(tty.find("\r["), std::string::npos) << tty;
	EXPECT_NE(tty.find("%"), std::string::npos) << tty;
	EXPECT_NE(tty.find("/1.2 s"), std::string::npos) << tty;
	EXPECT_NE(tty.find("\r\033[K"), std::string::npos) << tty;
	EXPECT_NE(slurp(out).find("latency (us)"), std::string::npos);
}

// ---- run torch -------------------------------------------------------------

#if TEST_HAVE_TORCH
// The Fashion-MNIST reference of tests/torch (make_fixtures.py): 8
// normalised test images and the committed model's logits for them.
struct FashionRef {
	std::vector<float> images; // 8 x 1 x 28 x 28
	std::vector<float> logits; // 8 x 10
};

FashionRef fashion_ref()
{
	const std::string io = slurp(std::string(TEST_SOURCE_DIR) +
				     "/tests/torch/fixtures/fashion_ref.io");
	size_t at = 12; // "VTIO", 1 input, 1 output
	auto tensor = [&](size_t count) {
		const uint32_t nr_dims =
		    *reinterpret_cast<const uint32_t *>(io.data() + at + 4);
		at += 8 + 8 * nr_dims + 8;
		std::vector<float> v(count);
		std::memcpy(v.data(), io.data() + at, count * sizeof(float));
		at += count * sizeof(float);
		return v;
	};
	FashionRef r;
	r.images = tensor(8 * 28 * 28);
	r.logits = tensor(8 * 10);
	return r;
}

// The model directory of docs/cli.md: model, labels and image settings.
std::string fashion_dir(const TempDir &dir)
{
	namespace fs = std::filesystem;
	const fs::path src(TEST_SOURCE_DIR);
	const fs::path d = dir.file("fashion");
	fs::create_directory(d);
	fs::copy_file(src / "models/fashion_mnist.pt", d / "fashion_mnist.pt");
	fs::copy_file(src / "models/fashion_mnist_labels.txt",
		      d / "fashion_mnist_labels.txt");
	fs::copy_file(src / "models/fashion_mnist_torch.cfg",
		      d / "fashion.cfg");
	return d.string();
}

// Raw float32 input: the output is libtorch's own for that input (the
// reference), and a row of logits is shown as top-k.
TEST(Cli, RunTorchRawInputMatchesTheReference)
{
#if defined(__SANITIZE_ADDRESS__)
	// Known, not understood yet: started by this harness (not by hand),
	// the ASan-built CLI aborts at exit when LeakSanitizer's tracer thread
	// takes a SIGSEGV, even with detect_leaks=0 in its environment. The
	// default build runs this test; the torch plugin's own tests run
	// under ASan.
	GTEST_SKIP() << "LeakSanitizer tracer crash at the CLI's exit (ASan)";
#endif
	const FashionRef ref = fashion_ref();
	TempDir dir;
	const std::string model =
	    std::string(TEST_SOURCE_DIR) + "/models/fashion_mnist.pt";
	const std::string one = dir.file("one.f32");
	std::ofstream(one, std::ios::binary)
	    .write(reinterpret_cast<const char *>(ref.images.data()),
		   28 * 28 * sizeof(float));
	Result r = run({"--plugins", "torch", "run", "torch", model, one,
			"--shape", "1,1,28,28", "--top", "3", "--json"},
		       {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	EXPECT_EQ(j["plugin"], "torch");
	EXPECT_EQ(j["output"]["dims"], json::array({1, 10}));
	EXPECT_EQ(j["output"]["type"], "float32");
	ASSERT_EQ(j["output"]["values"].size(), 10U);
	size_t best = 0;
	for (size_t i = 0; i < 10; i++) {
		EXPECT_NEAR(j["output"]["values"][i].get<double>(),
			    ref.logits[i], 1e-3)
		    << i;
		if (ref.logits[i] > ref.logits[best])
			best = i;
	}
	ASSERT_EQ(j["top"].size(), 3U);
	EXPECT_EQ(j["top"][0]["index"], best);
	EXPECT_EQ(j["top"][0]["label"], ""); // a bare file has no labels
	double sum = 0;
	for (const auto &t : j["top"])
		sum += t["probability"].get<double>();
	EXPECT_GT(j["top"][0]["probability"].get<double>(),
		  j["top"][1]["probability"].get<double>());
	EXPECT_LE(sum, 1.0 + 1e-9);

	// The whole batch: not one row of scores, so every value, no top-k.
	const std::string all = dir.file("all.f32");
	std::ofstream(all, std::ios::binary)
	    .write(reinterpret_cast<const char *>(ref.images.data()),
		   static_cast<std::streamsize>(ref.images.size() *
						sizeof(float)));
	r = run({"--plugins", "torch", "run", "torch", model, all, "--shape",
		 "8,1,28,28", "--json"},
		{});
	ASSERT_EQ(r.rc, 0) << describe(r);
	j = parse(r);
	EXPECT_EQ(j["output"]["dims"], json::array({8, 10}));
	EXPECT_FALSE(j.contains("top"));
	ASSERT_EQ(j["output"]["values"].size(), 80U);
	for (size_t i = 0; i < 80; i++)
		EXPECT_NEAR(j["output"]["values"][i].get<double>(),
			    ref.logits[i], 1e-3)
		    << i;

	// A file that does not hold the shape is a usage error.
	r = run({"--plugins", "torch", "run", "torch", model, one, "--shape",
		 "1,1,28,29"},
		{});
	EXPECT_EQ(r.rc, 2) << describe(r);
	EXPECT_NE(r.err.find("--shape needs 3248"), std::string::npos) << r.err;
}

// An image, prepared with the model directory's settings, and the labels
// of the directory: the same answer as the plugin's own classification.
TEST(Cli, RunTorchImageWithAModelDirectory)
{
	TempDir dir;
	const std::string model = fashion_dir(dir);
	const std::string img =
	    std::string(TEST_DATA_DIR) + "/fashion/0000_ankle-boot.png";
	Result r = run(
	    {"--plugins", "torch", "run", "torch", model + "/", img, "--json"},
	    {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	EXPECT_EQ(j["output"]["dims"], json::array({1, 10}));
	ASSERT_EQ(j["top"].size(), 5U);
	EXPECT_EQ(j["top"][0]["label"], "Ankle boot");
	EXPECT_EQ(j["top"][0]["index"], 9);

	r = run(
	    {"--plugins", "torch", "run", "classify", img, "--model", model},
	    {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_NE(r.out.find("tag: Ankle boot\n"), std::string::npos) << r.out;

	r = run(
	    {"--plugins", "torch", "run", "torch", model, img, "--top", "2"},
	    {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_EQ(r.out.rfind("output: float32 [1, 10]\n", 0), 0U) << r.out;
	EXPECT_NE(r.out.find("Ankle boot"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("class 9, score"), std::string::npos) << r.out;
}
#endif

// ---- agent and --remote -----------------------------------------------

TEST(Cli, AgentBinaryMissingExitsWith3)
{
	Result r = run({"agent", "-a", "unix:///tmp/never.sock"},
		       {{"VACCEL_AGENT", "/nonexistent/vaccel-agent"}});
	EXPECT_EQ(r.rc, 3) << describe(r);
	EXPECT_NE(r.err.find("cannot start /nonexistent/vaccel-agent"),
		  std::string::npos)
	    << r.err;
}

#if TEST_HAVE_AGENT
TEST(Cli, RemoteWithoutAgentExitsWith3)
{
	Result r = run(
	    {"--remote", "unix:///nonexistent/dir/a.sock", "run", "noop"}, {});
	EXPECT_EQ(r.rc, 3) << describe(r);
	EXPECT_NE(r.err.find("cannot create a vAccel session"),
		  std::string::npos)
	    << r.err;
	r = run({"--remote", "unix:///nonexistent/dir/a.sock", "info"}, {});
	EXPECT_EQ(r.rc, 3) << describe(r);
	EXPECT_NE(r.err.find("cannot ask the agent at "
			     "unix:///nonexistent/dir/a.sock what it serves"),
		  std::string::npos)
	    << r.err;
}

// `vaccel agent` on a unix socket in a temporary directory, with the
// plugins @p plugins (VACCEL_PLUGINS) and the policy text @p policy; killed
// at the end of the scope unless stopped.
class CliAgent
{
public:
	explicit CliAgent(const std::string &policy,
			  const std::string &plugins = kPlugins,
			  const std::vector<std::string> &more = {})
	    : address_("unix://" + dir_.file("agent.sock")),
	      out_(dir_.file("agent.out")), err_(dir_.file("agent.err"))
	{
		const std::string policy_file = dir_.file("policy.toml");
		std::ofstream(policy_file) << policy;
		const auto env = child_env({{"VACCEL_PLUGINS", plugins}});
		pid_ = fork();
		if (pid_ == 0) {
			int o = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
				     0600);
			int e = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
				     0600);
			dup2(o, 1);
			dup2(e, 2);
			std::vector<std::string> args = {
			    "agent", "-a", address_, "--policy", policy_file};
			args.insert(args.end(), more.begin(), more.end());
			exec_child(args, env);
		}
	}
	~CliAgent() { stop(SIGKILL); }
	CliAgent(const CliAgent &) = delete;
	CliAgent &operator=(const CliAgent &) = delete;

	// Waits (at most 15 s) for its "listening" line.
	bool wait_up() const
	{
		for (int i = 0; i < 1500; i++) {
			if (slurp(out_).find("vaccel-agent listening on " +
					     address_) != std::string::npos)
				return true;
			std::this_thread::sleep_for(10ms);
		}
		return false;
	}
	// Sends @p sig and returns the wait status (-1 if not running).
	int stop(int sig)
	{
		if (pid_ <= 0)
			return -1;
		kill(pid_, sig);
		int status = 0;
		waitpid(pid_, &status, 0);
		pid_ = -1;
		return status;
	}
	[[nodiscard]] pid_t pid() const { return pid_; }
	[[nodiscard]] const std::string &address() const { return address_; }
	// HOST:PORT of its --metrics listener, from its standard output.
	[[nodiscard]] std::string metrics_address() const
	{
		static const std::regex line(
		    "metrics on http://(127\\.0\\.0\\.1:\\d+)/metrics");
		std::smatch m;
		const std::string out = slurp(out_);
		return std::regex_search(out, m, line) ? m[1].str() : "";
	}
	[[nodiscard]] std::string output() const
	{
		return slurp(out_) + slurp(err_);
	}

private:
	TempDir dir_;
	std::string address_;
	std::string out_;
	std::string err_;
	pid_t pid_ = -1;
};

TEST(Cli, AgentServesRemoteBenchAndRun)
{
	// The agent refuses exec unless its policy names the library and
	// symbol: exactly the one this test runs.
	// Short names: the agent's runtime finds them next to libvaccel.
	CliAgent agent(std::string("[default]\nops = [\"all\"]\nexec = "
				   "[{ library = \"") +
			   TEST_MYTESTLIB + "\", symbol = \"mytestfunc\" }]\n",
		       "noop:libvaccel-exec.so");
	ASSERT_TRUE(agent.wait_up()) << agent.output();
	const std::string &address = agent.address();
	// `vaccel agent` became the agent: same process, agent binary.
	EXPECT_TRUE(std::filesystem::read_symlink(
			"/proc/" + std::to_string(agent.pid()) + "/exe")
			.string()
			.ends_with("vaccel-agent"));

	Result r = run({"bench", "noop", "--remote", address, "--iterations",
			"300", "--json"},
		       {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	EXPECT_EQ(j["plugin"], "rpc");
	EXPECT_EQ(j["remote"], address);
	expect_sane_stats(j, 300);

	// info --remote: the local rpc plugin, and what the agent serves
	// (asked with AgentAdmin/Plugins), not the rpc plugin's 24 ops.
	r = run({"--remote", address, "info", "--json"}, {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	j = parse(r);
	ASSERT_EQ(j["plugins"].size(), 1U);
	EXPECT_EQ(j["plugins"][0]["name"], "rpc");
	EXPECT_EQ(j["config"]["rpc_address"], address);
	EXPECT_EQ(j["agent"]["address"], address);
	const json &served = j["agent"]["plugins"];
	ASSERT_EQ(served.size(), 2U) << j.dump(2);
	EXPECT_EQ(served[0]["name"], "noop");
	EXPECT_EQ(served[0]["ops"].size(), static_cast<size_t>(VACCEL_OP_MAX));
	EXPECT_EQ(served[1]["name"], "exec");
	EXPECT_EQ(served[1]["ops"],
		  json::array({"noop", "exec", "exec_with_resource"}));
	EXPECT_EQ(served[1]["type"],
		  json::array({"cpu", "software", "generic"}));
	EXPECT_FALSE(served[0].contains("path")); // host paths stay there
	r = run({"--remote", address, "info"}, {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_NE(r.out.find("agent " + address +
			     " serves (2 plugins):\n"
			     "  noop "),
		  std::string::npos)
	    << r.out;
	EXPECT_NE(r.out.find("ops (3): noop exec exec_with_resource"),
		  std::string::npos)
	    << r.out;
	EXPECT_NE(r.out.find("ops: forwarded to the agent"), std::string::npos)
	    << r.out;

	// exec runs on the agent's exec plugin (the hint travels with the
	// session), doubling there.
	r = run({"--remote", address, "--hint", "generic", "run", "exec",
		 TEST_MYTESTLIB, "mytestfunc", "123", "--json"},
		{});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_EQ(parse(r)["outputs"], json::array({246}));
	// Another symbol of the same library is not on the allow-list.
	r = run({"--remote", address, "--hint", "generic", "run", "exec",
		 TEST_MYTESTLIB, "mytestfunc_nonexistent", "123", "--json"},
		{});
	EXPECT_NE(r.rc, 0) << describe(r);

	r = run({"--remote", address, "run", "classify",
		 std::string(TEST_DATA_DIR) + "/example.jpg"},
		{});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_NE(r.out.find("tag: " + kTag), std::string::npos);

	const int status = agent.stop(SIGTERM);
	EXPECT_TRUE(WIFEXITED(status)) << status;
	EXPECT_EQ(WEXITSTATUS(status), 0) << agent.output();
}

// A failing remote op: the CLI prints the agent-side plugin's reason,
// behind the op and plugin of each side.
TEST(Cli, RemoteFailurePrintsTheAgentsReason)
{
	CliAgent agent(std::string("[default]\nops = [\"all\"]\nexec = "
				   "[{ library = \"") +
		       TEST_MYTESTLIB + "\", symbol = \"*\" }]\n");
	ASSERT_TRUE(agent.wait_up()) << agent.output();
	Result r = run({"--remote", agent.address(), "--hint", "generic", "run",
			"exec", TEST_MYTESTLIB, "no_such_symbol", "1"},
		       {});
	EXPECT_EQ(r.rc, 1) << describe(r);
	const std::string want =
	    "vaccel: exec failed: ENOSYS (38): exec: plugin rpc: agent " +
	    agent.address() + ": exec: plugin exec: " + TEST_MYTESTLIB +
	    ": symbol no_such_symbol not found";
	EXPECT_NE(r.err.find(want), std::string::npos) << r.err;

	// --json carries the same message.
	r = run({"--remote", agent.address(), "--hint", "generic", "run",
		 "exec", TEST_MYTESTLIB, "no_such_symbol", "1", "--json"},
		{});
	EXPECT_EQ(r.rc, 1) << describe(r);
	const json j = parse(r);
	EXPECT_EQ(j["error"]["name"], "ENOSYS");
	EXPECT_NE(j["error"]["message"].get<std::string>().find(
		      "plugin exec: " + std::string(TEST_MYTESTLIB) +
		      ": symbol no_such_symbol not found"),
		  std::string::npos)
	    << r.out;
}

// An agent one of whose plugins does not load exits with the reason:
// nobody would learn it before a guest's call. It listens before its
// plugins load (agent/plugin_gate.h), so "listening" may be printed first;
// that it serves nothing meanwhile is tests/agent/test_agent_plugin_gate.
TEST(Cli, AgentWithAMissingPluginExits)
{
	TempDir dir;
	Result r = run({"--plugins", "noop:nosuch", "agent", "-a",
			"unix://" + dir.file("a.sock")},
		       {});
	EXPECT_EQ(r.rc, 1) << describe(r);
	EXPECT_NE(r.err.find("vaccel-agent: plugins: cannot load plugin "
			     "nosuch: no libvaccel-nosuch.so in"),
		  std::string::npos)
	    << r.err;
}

// The Genop row of an agent of `vaccel top --json`; null when it has none.
json genop_row(const json &agent)
{
	for (const json &op : agent["ops"])
		if (op["op"] == "Genop")
			return op;
	return nullptr;
}

// `vaccel top` over a pool of two real agents: what each was asked, by
// op, with errors and latency percentiles; an address where nothing
// listens; a second refresh counting only what happened since the first.
TEST(Cli, TopShowsEachAgentOfAPool)
{
	// All ops, but exec of nothing: one refused call is an error.
	const std::string policy = "[default]\nops = [\"all\"]\n";
	const std::vector<std::string> metrics = {"--metrics", "127.0.0.1:0"};
	CliAgent a(policy, kPlugins, metrics);
	CliAgent b(policy, kPlugins, metrics);
	ASSERT_TRUE(a.wait_up()) << a.output();
	ASSERT_TRUE(b.wait_up()) << b.output();
	const std::string ma = a.metrics_address();
	const std::string mb = b.metrics_address();
	ASSERT_FALSE(ma.empty() || mb.empty()) << a.output() << b.output();
	for (const auto &[agent, n] :
	     {std::pair{&a, "30"}, std::pair{&b, "12"}}) {
		Result r = run({"bench", "noop", "--remote", agent->address(),
				"-n", n, "--warmup", "0", "--json"},
			       {});
		ASSERT_EQ(r.rc, 0) << describe(r);
	}
	Result r = run({"--remote", a.address(), "--hint", "generic", "run",
			"exec", TEST_MYTESTLIB, "mytestfunc", "1"},
		       {});
	ASSERT_EQ(r.rc, 1) << describe(r);

	r = run({"top", "--once", "--json", ma, mb}, {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	json j = parse(r);
	ASSERT_EQ(j["agents"].size(), 2U) << r.out;
	const json &ja = j["agents"][0];
	EXPECT_EQ(ja["address"], ma);
	EXPECT_EQ(ja["up"], true);
	EXPECT_EQ(ja["ready"], true);
	EXPECT_EQ(ja["draining"], false);
	EXPECT_EQ(ja["sessions"], 0);
	const json ga = genop_row(ja);
	ASSERT_TRUE(ga.is_object()) << ja.dump(2);
	EXPECT_EQ(ga["calls"], 31);
	EXPECT_EQ(ga["errors"], 1);
	EXPECT_GT(ga["calls_per_s"].get<double>(), 0);
	EXPECT_GT(ga["p50_ms"].get<double>(), 0);
	EXPECT_LE(ga["p50_ms"].get<double>(), ga["p99_ms"].get<double>());
	// The same calls by the op they ran: 30 noops, and the exec (its op
	// read before the policy refused it).
	int by_op = 0;
	for (const json &op : ja["ops"]) {
		if (op["op"] == "genop:noop") {
			EXPECT_EQ(op["calls"], 30);
			++by_op;
		}
		if (op["op"] == "genop:exec") {
			EXPECT_EQ(op["errors"], 1);
			++by_op;
		}
	}
	EXPECT_EQ(by_op, 2) << ja.dump(2);
	const json gb = genop_row(j["agents"][1]);
	ASSERT_TRUE(gb.is_object()) << j.dump(2);
	EXPECT_EQ(gb["calls"], 12);
	EXPECT_EQ(gb["errors"], 0);
	EXPECT_EQ(j["pool"]["agents"], 2);
	EXPECT_EQ(j["pool"]["up"], 2);
	EXPECT_EQ(j["pool"]["ready"], 2);

	r = run({"top", "--once", ma}, {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	EXPECT_NE(r.out.find("agent " + ma + "  ready  sessions 0"),
		  std::string::npos)
	    << r.out;
	EXPECT_TRUE(std::regex_search(
	    r.out, std::regex(R"(\n  Genop +[0-9.]+ +31 +1 +[0-9.e+-]+ ms)")))
	    << r.out;

	// Nothing listens on port 1 of loopback: shown, and the exit status
	// says it.
	r = run({"top", "--once", "--json", ma, "127.0.0.1:1"}, {});
	EXPECT_EQ(r.rc, 3) << describe(r);
	j = parse(r);
	EXPECT_EQ(j["agents"][1]["up"], false);
	EXPECT_FALSE(j["agents"][1]["error"].get<std::string>().empty());
	EXPECT_EQ(j["pool"]["up"], 1);

	// Refreshes after the first count their window only: nothing ran.
	r = run({"top", "--json", "--count", "2", "--interval", "0.2", mb}, {});
	ASSERT_EQ(r.rc, 0) << describe(r);
	std::istringstream lines(r.out);
	std::string first, second;
	ASSERT_TRUE(std::getline(lines, first) && std::getline(lines, second))
	    << r.out;
	EXPECT_EQ(genop_row(json::parse(first)["agents"][0])["calls"], 12);
	EXPECT_EQ(genop_row(json::parse(second)["agents"][0])["calls"], 0);

	EXPECT_EQ(run({"top", "unix:///run/a.sock"}, {}).rc, 2);
	EXPECT_EQ(run({"top"}, {}).rc, 2);
}

TEST(Cli, AgentUsageErrorIsTheAgents)
{
	Result r = run({"agent", "--no-such-agent-option"});
	EXPECT_EQ(r.rc, 2) << describe(r); // vaccel-agent's own usage code
	r = run({"agent", "--help"});
	EXPECT_EQ(r.rc, 0) << describe(r);
	EXPECT_NE(r.out.find("vaccel-agent"), std::string::npos) << r.out;
}
#endif

} // namespace
