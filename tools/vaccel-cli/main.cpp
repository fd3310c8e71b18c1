// SPDX-License-Identifier: Apache-2.0
// `vaccel`: inspect the vAccel runtime, run and benchmark ops locally or
// through an agent, and start the agent (docs/cli.md).
//
//   vaccel info [--json]
//   vaccel run <op> [op args] [--json]
//   vaccel bench <op> [op args] [--iterations N | --duration T] [--json]
//   vaccel agent [vaccel-agent args]
//   vaccel top [--once] [--interval S] [--count N] [--json] ADDRESS...
//   vaccel run torch MODEL INPUT [--shape D,...] [--top K] [--labels F]
//
// Global options (--plugins, --remote, --log-level, --hint) may come
// before or after the subcommand; they are applied by restarting the
// runtime that libvaccel started when it was loaded.
#include "cli.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace vaccel_cli
{

void die(int exit, std::string message)
{
	throw CliError{exit, std::move(message)};
}

std::string error_name(int rc)
{
	static const std::pair<int, const char *> names[] = {
	    {VACCEL_EINVAL, "EINVAL"},   {VACCEL_ENOMEM, "ENOMEM"},
	    {VACCEL_ENOTSUP, "ENOTSUP"}, {VACCEL_EINPROGRESS, "EINPROGRESS"},
	    {VACCEL_EBUSY, "EBUSY"},     {VACCEL_EEXIST, "EEXIST"},
	    {VACCEL_ENOENT, "ENOENT"},   {VACCEL_ELIBBAD, "ELIBBAD"},
	    {VACCEL_ENODEV, "ENODEV"},   {VACCEL_EIO, "EIO"},
	    {VACCEL_ESESS, "ESESS"},     {VACCEL_EBACKEND, "EBACKEND"},
	    {VACCEL_ENOEXEC, "ENOEXEC"}, {VACCEL_ENAMETOOLONG, "ENAMETOOLONG"},
	    {VACCEL_EUSERS, "EUSERS"},   {VACCEL_EPERM, "EPERM"},
	    {VACCEL_ELOOP, "ELOOP"},     {VACCEL_EMLINK, "EMLINK"},
	    {VACCEL_ENOSPC, "ENOSPC"},   {VACCEL_ENOTDIR, "ENOTDIR"},
	    {VACCEL_EROFS, "EROFS"},     {VACCEL_EACCES, "EACCES"},
	    {VACCEL_EBADF, "EBADF"},     {VACCEL_EREMOTEIO, "EREMOTEIO"},
	    {VACCEL_EFAULT, "EFAULT"},   {VACCEL_ERANGE, "ERANGE"},
	    {VACCEL_EAGAIN, "EAGAIN"},   {VACCEL_ENOSYS, "ENOSYS"},
	};
	for (const auto &[code, name] : names)
		if (code == rc)
			return name;
	return "E" + std::to_string(rc);
}

void setup_runtime(const GlobalOptions &g)
{
	bool changed = false;
	if (g.remote) {
		// "Through an agent" is the rpc plugin pointed at it.
		setenv("VACCEL_PLUGINS", "libvaccel-rpc.so", 1);
		setenv("VACCEL_RPC_ADDRESS", g.remote->c_str(), 1);
		changed = true;
	} else if (g.plugins) {
		setenv("VACCEL_PLUGINS", g.plugins->c_str(), 1);
		changed = true;
	}
	if (g.log_level) {
		setenv("VACCEL_LOG_LEVEL", g.log_level->c_str(), 1);
		changed = true;
	}
	if (!changed && vaccel_is_initialized())
		return;
	vaccel_cleanup();
	int rc = vaccel_bootstrap();
	if (rc != VACCEL_OK)
		die(kExitSetup, "cannot initialize vAccel: " + error_name(rc) +
				    ": " + vaccel_last_error());
}

std::vector<PluginFailure> missing_plugins()
{
	std::vector<PluginFailure> out;
	for (size_t i = 0; i < vaccel_plugin_failure_count(); i++) {
		vaccel_plugin_failure f{};
		f.struct_size = sizeof(f);
		if (vaccel_plugin_failure_describe(i, &f) == VACCEL_OK)
			out.push_back({f.entry, f.message});
	}
	return out;
}

uint32_t parse_hint(const std::string &hint)
{
	if (hint.empty())
		return 0;
	static const std::pair<const char *, uint32_t> names[] = {
	    {"cpu", VACCEL_PLUGIN_CPU},
	    {"gpu", VACCEL_PLUGIN_GPU},
	    {"fpga", VACCEL_PLUGIN_FPGA},
	    {"software", VACCEL_PLUGIN_SOFTWARE},
	    {"tensorflow", VACCEL_PLUGIN_TENSORFLOW},
	    {"torch", VACCEL_PLUGIN_TORCH},
	    {"jetson", VACCEL_PLUGIN_JETSON},
	    {"generic", VACCEL_PLUGIN_GENERIC},
	    {"debug", VACCEL_PLUGIN_DEBUG},
	    {"remote", VACCEL_PLUGIN_REMOTE},
	    {"all", VACCEL_PLUGIN_ALL},
	};
	uint32_t out = 0;
	size_t pos = 0;
	while (pos <= hint.size()) {
		size_t comma = hint.find(',', pos);
		if (comma == std::string::npos)
			comma = hint.size();
		std::string part = hint.substr(pos, comma - pos);
		pos = comma + 1;
		bool found = false;
		for (const auto &[name, bits] : names)
			if (part == name) {
				out |= bits;
				found = true;
			}
		if (found)
			continue;
		char *end = nullptr;
		errno = 0;
		unsigned long v = std::strtoul(part.c_str(), &end, 0);
		if (part.empty() || *end != '\0' || errno != 0 ||
		    v > UINT32_MAX)
			die(kExitUsage,
			    "--hint: '" + part +
				"' is not a plugin type (cpu, gpu, fpga, "
				"software, tensorflow, torch, jetson, generic, "
				"debug, remote, all) or a number");
		out |= static_cast<uint32_t>(v);
	}
	return out;
}

StdoutToStderr::StdoutToStderr(bool active)
{
	if (!active)
		return;
	std::fflush(stdout);
	std::cout.flush();
	saved_ = dup(STDOUT_FILENO);
	if (saved_ >= 0)
		dup2(STDERR_FILENO, STDOUT_FILENO);
}

StdoutToStderr::~StdoutToStderr()
{
	if (saved_ < 0)
		return;
	std::fflush(stdout);
	std::cout.flush();
	dup2(saved_, STDOUT_FILENO);
	close(saved_);
}

namespace
{

constexpr const char *kFooter = R"(
Exit status: 0 success, 1 the op failed, 2 usage error, 3 vAccel could not
be set up (runtime, plugin, no plugin for the op, unreadable input, agent
not found), 130 benchmark interrupted. `vaccel agent` exits with the
agent's status. See docs/cli.md.)";

// The op subcommands of `run` and `bench`, writing into @p o.
void add_op_commands(CLI::App *parent, OpOptions &o)
{
	auto *noop = parent->add_subcommand(
	    "noop", "The noop op: no work, so it times the call path itself");
	noop->callback([&o] { o.op = "noop"; });

	auto *cls = parent->add_subcommand(
	    "classify", "Image classification of an image file");
	cls->add_option("image", o.image, "Image file (e.g. a JPEG)")
	    ->required();
	cls->add_option("--model", o.model,
			"Model file, registered with the session as a "
			"MODEL resource");
	cls->callback([&o] { o.op = "classify"; });

	auto *sg = parent->add_subcommand(
	    "sgemm",
	    "C = alpha*A*B + beta*C on random row-major float matrices "
	    "(A: m x k, B: k x n); prints a checksum (sum of C) and the time");
	sg->add_option("--m", o.m, "Rows of A and C")
	    ->capture_default_str()
	    ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
	sg->add_option("--n", o.n, "Columns of B and C")
	    ->capture_default_str()
	    ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
	sg->add_option("--k", o.k, "Columns of A, rows of B")
	    ->capture_default_str()
	    ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
	sg->add_option("--alpha", o.alpha)->capture_default_str();
	sg->add_option("--beta", o.beta)->capture_default_str();
	sg->add_option("--seed", o.seed,
		       "Seed of the matrices (splitmix64, docs/cli.md)")
	    ->capture_default_str();
	sg->callback([&o] { o.op = "sgemm"; });

	auto *ex = parent->add_subcommand(
	    "exec",
	    "Call `int function(read, nr_read, write, nr_write)` of a shared "
	    "library with INT32 args (e.g. libmytestlib.so mytestfunc 21)");
	ex->add_option("library", o.library, "Shared library (path or name)")
	    ->required();
	ex->add_option("function", o.function, "Symbol to call")->required();
	ex->add_option("ints", o.ints,
		       "INT32 read args (put -- before negative numbers)");
	ex->add_option("--outputs", o.outputs, "Number of INT32 write args")
	    ->capture_default_str()
	    ->check(CLI::Range(0, 1024));
	ex->callback([&o] { o.op = "exec"; });

	auto *tr = parent->add_subcommand(
	    "torch",
	    "Run a TorchScript model on one input and print its output "
	    "tensor (top-k when it is one row of class scores)");
	tr->add_option("model", o.torch_model,
		       "TorchScript file, or a directory with the model, its "
		       "labels (*.txt) and image settings (*.cfg)")
	    ->required()
	    ->check(CLI::ExistingPath);
	tr->add_option("input", o.input,
		       "Raw float32 values (with --shape), else an image "
		       "prepared as the torch plugin's classification does")
	    ->required()
	    ->check(CLI::ExistingFile);
	tr->add_option("--shape", o.shape,
		       "Dimensions of the raw float32 input, e.g. 1,1,28,28")
	    ->delimiter(',');
	tr->add_option("--top", o.top, "Classes shown for a classifier")
	    ->capture_default_str()
	    ->check(CLI::Range(1, 1000));
	tr->add_option("--labels", o.labels,
		       "Labels file, one per line in class order (default: "
		       "the model directory's first *.txt)")
	    ->check(CLI::ExistingFile);
	tr->callback([&o] { o.op = "torch"; });
}

void add_global_options(CLI::App &app, GlobalOptions &g)
{
	auto *plugins = app.add_option(
	    "--plugins", g.plugins,
	    "Plugins to load, ':'-separated short names (torch), file names "
	    "(libvaccel-torch.so) or paths (sets VACCEL_PLUGINS)");
	auto *remote = app.add_option(
	    "--remote", g.remote,
	    "Run ops on a vaccel-agent at this address (unix:///path, "
	    "tcp://host:port, vsock://cid:port): loads libvaccel-rpc.so with "
	    "VACCEL_RPC_ADDRESS");
	plugins->excludes(remote);
	app.add_option("--log-level", g.log_level,
		       "error, warn, info, debug or 1-4 (sets "
		       "VACCEL_LOG_LEVEL)")
	    ->check(CLI::IsMember(
		{"error", "warn", "info", "debug", "1", "2", "3", "4"}));
	app.add_option("--hint", g.hint,
		       "Session hint: plugin types (cpu,generic,...) or a "
		       "number; matching plugins serve the ops first");
}

// `vaccel [global options] agent ARGS...`: the agent's own options must
// reach it untouched (its -a, --help...), so they are split off before
// CLI11 sees them. Returns the index of "agent" in argv, or 0.
int find_agent(int argc, char **argv)
{
	static const char *with_value[] = {"--plugins", "--remote",
					   "--log-level", "--hint"};
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "agent")
			return i;
		if (a.empty() || a[0] != '-')
			return 0; // another subcommand
		for (const char *o : with_value)
			if (a == o) {
				i++; // skip its value
				break;
			}
	}
	return 0;
}

int run_main(int argc, char **argv)
{
	GlobalOptions g;
	OpOptions op;
	BenchOptions bench;
	bool info_json = false;
	bool run_json = false;

	CLI::App app{"vaccel: inspect vAccel, run and benchmark ops (locally "
		     "or through an agent), and start the agent.",
		     "vaccel"};
	app.set_version_flag("--version",
			     std::string("vaccel ") + VACCEL_VERSION);
	app.footer(kFooter);
	// Global options may also follow the subcommands.
	app.fallthrough();
	add_global_options(app, g);

	const int agent_at = find_agent(argc, argv);
	if (agent_at > 0) {
		try {
			app.parse(agent_at, argv);
		} catch (const CLI::ParseError &e) {
			const int rc = app.exit(e);
			return e.get_exit_code() == 0 ? rc : kExitUsage;
		}
		// The agent reads VACCEL_PLUGINS / VACCEL_LOG_LEVEL itself.
		if (g.plugins)
			setenv("VACCEL_PLUGINS", g.plugins->c_str(), 1);
		if (g.log_level)
			setenv("VACCEL_LOG_LEVEL", g.log_level->c_str(), 1);
		if (g.remote)
			die(kExitUsage, "--remote makes no sense for `agent`");
		return cmd_agent(
		    std::vector<std::string>(argv + agent_at + 1, argv + argc));
	}

	app.require_subcommand(1);
	auto *info = app.add_subcommand(
	    "info", "Version, effective configuration, loaded plugins and the "
		    "ops each implements");
	info->add_flag("--json", info_json, "Print one JSON document");

	auto *run = app.add_subcommand("run", "Run one op once and print its "
					      "result");
	run->require_subcommand(1);
	run->add_flag("--json", run_json, "Print one JSON document");
	add_op_commands(run, op);

	// Listed for --help; `agent ARGS...` is handled before parsing
	// (find_agent), so that the agent's own options reach it.
	auto *agent =
	    app.add_subcommand(
		   "agent", "Start vaccel-agent (next to vaccel, on PATH, or "
			    "$VACCEL_AGENT) with the arguments that follow; "
			    "`vaccel agent --help` lists them")
		->allow_extras()
		->prefix_command();

	auto *bn = app.add_subcommand(
	    "bench", "Latency and throughput of an op over N iterations or T "
		     "seconds (locally, or through an agent with --remote)");
	bn->require_subcommand(1);
	auto *iters = bn->add_option("-n,--iterations", bench.iterations,
				     "Timed calls (default 1000 when "
				     "--duration is not given)");
	auto *dur = bn->add_option("-t,--duration", bench.duration,
				   "Run for this many seconds instead")
			->check(CLI::PositiveNumber);
	iters->excludes(dur);
	bn->add_option("--warmup", bench.warmup,
		       "Untimed calls first, per thread")
	    ->capture_default_str();
	bn->add_option("--threads", bench.threads,
		       "Threads calling at once, each with its own session")
	    ->capture_default_str()
	    ->check(CLI::Range(1U, 1024U));
	bn->add_flag("--json", bench.json, "Print one JSON document");
	bn->add_flag("!--no-progress", bench.progress,
		     "No progress bar (it is drawn on stderr only when stderr "
		     "is a terminal and the run is long)");
	add_op_commands(bn, op);

	std::vector<std::string> digest_paths;
	std::string digest_index;
	auto *dg = app.add_subcommand(
	    "digest", "The digest the agent's model cache knows each model "
		      "(file or model directory) by; --index also writes it "
		      "for VACCEL_RPC_MODEL_DIGESTS");
	dg->add_option("paths", digest_paths, "Models, one resource each")
	    ->required();
	dg->add_option("--index", digest_index,
		       "Add the digests to this index file (entries for "
		       "other models are kept)");

	TopOptions top;
	bool top_once = false;
	auto *tp = app.add_subcommand(
	    "top", "A live view of agents, one or a pool: ready or draining, "
		   "sessions, connections, queue, and per op calls/s, errors, "
		   "p50/p99, from each agent's /metrics (vaccel-agent "
		   "--metrics)");
	tp->add_option(
	      "addresses", top.addresses,
	      "Metrics addresses: HOST:PORT or http://HOST:PORT[/PATH]")
	    ->required();
	tp->add_option("-i,--interval", top.interval,
		       "Seconds between refreshes")
	    ->capture_default_str()
	    ->check(CLI::Range(0.1, 3600.0));
	auto *count = tp->add_option("-n,--count", top.count,
				     "Refreshes before exiting (default: until "
				     "interrupted)");
	tp->add_flag("--once", top_once,
		     "One snapshot, over each agent's life so far, and exit")
	    ->excludes(count);
	tp->add_flag("--json", top.json,
		     "One JSON document per refresh, a line each");

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		const int rc = app.exit(e);
		return e.get_exit_code() == 0 ? rc : kExitUsage;
	}

	if (tp->parsed()) {
		if (top_once)
			top.count = 1;
		return cmd_top(top);
	}
	if (agent->parsed())
		return cmd_agent(agent->remaining());
	const uint32_t hint = parse_hint(g.hint);
	setup_runtime(g);
	if (info->parsed())
		return cmd_info(info_json, g.remote);
	if (dg->parsed())
		return cmd_digest(digest_paths, digest_index);
	if (run->parsed())
		return cmd_run(op, hint, run_json);
	return cmd_bench(op, hint, bench, g);
}

} // namespace

} // namespace vaccel_cli

int main(int argc, char **argv)
{
	try {
		return vaccel_cli::run_main(argc, argv);
	} catch (const vaccel_cli::CliError &e) {
		std::fprintf(stderr, "vaccel: %s\n", e.message.c_str());
		return e.exit;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "vaccel: %s\n", e.what());
		return vaccel_cli::kExitSetup;
	}
}
