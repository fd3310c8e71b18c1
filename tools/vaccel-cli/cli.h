// SPDX-License-Identifier: Apache-2.0
// Shared declarations of the `vaccel` command-line tool (docs/cli.md).
#pragma once

#include <vaccel.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vaccel_cli
{

// Exit statuses (docs/cli.md). Scripts rely on them: never renumber.
enum Exit : int {
	kExitOk = 0, // success
	kExitOpFailed =
	    1,          // the op (or a benchmark iteration) returned an error
	kExitUsage = 2, // bad command line
	kExitSetup = 3, // vAccel could not be set up: runtime, plugins, no
			// plugin for the op, unreadable input, no agent
	kExitInterrupted = 130, // SIGINT during a benchmark (summary printed)
};

// A failure that ends the command with @c exit and @c message on stderr.
struct CliError {
	int exit;
	std::string message;
};

[[noreturn]] void die(int exit, std::string message);

// Options of the top-level command that shape the runtime.
struct GlobalOptions {
	std::optional<std::string> plugins;
	std::optional<std::string> remote;
	std::optional<std::string> log_level;
	std::string hint; // session hint: names or a number
};

// Applies @p g (environment, then a restart of the runtime if anything
// changed). Throws CliError(kExitSetup) if vAccel cannot start.
void setup_runtime(const GlobalOptions &g);

// A plugin named in the configuration that did not load, and why.
struct PluginFailure {
	std::string entry;
	std::string message;
};
std::vector<PluginFailure> missing_plugins();

// Exits with kExitSetup when a configured plugin did not load (run.cpp).
void require_plugins_loaded();

// The session hint of --hint ("cpu,generic", "0x80", ...).
uint32_t parse_hint(const std::string &hint);

// Which op to run and its inputs (shared by `run` and `bench`).
struct OpOptions {
	std::string op; // noop, classify, sgemm, exec, torch
	// classify
	std::string image;
	std::optional<std::string> model;
	// sgemm
	int64_t m = 256;
	int64_t n = 256;
	int64_t k = 256;
	float alpha = 1.0F;
	float beta = 0.0F;
	uint64_t seed = 1;
	// exec
	std::string library;
	std::string function;
	std::vector<int32_t> ints;
	int outputs = 1;
	// torch (torch_input.h)
	std::string torch_model; // a TorchScript file or a model directory
	std::string input;       // raw float32 (with shape) or an image
	std::vector<int64_t> shape;
	int top = 5;
	std::optional<std::string> labels;
};

// One op, prepared once (session, inputs) and called many times.
class OpRunner
{
public:
	virtual ~OpRunner() = default;
	// One call; returns the vAccel code.
	virtual int call() = 0;
	// What the last successful call produced, for `run`'s report.
	virtual void report(nlohmann::json &out) const = 0;
	// Text lines of report() for humans.
	virtual std::vector<std::string> lines() const = 0;
	[[nodiscard]] vaccel_op_type_t op_type() const { return type_; }
	[[nodiscard]] vaccel_session *session() { return &sess_; }

protected:
	explicit OpRunner(vaccel_op_type_t type) : type_(type) {}
	vaccel_op_type_t type_;
	vaccel_session sess_{};
};

// Makes the runner for @p o with a new session of @p hint. Throws
// CliError(kExitSetup) when the inputs cannot be read or the session not
// made, or when no plugin implements the op.
std::unique_ptr<OpRunner> make_runner(const OpOptions &o, uint32_t hint);

// The runner of `torch` (torch_run.cpp).
std::unique_ptr<OpRunner> make_torch_runner(const OpOptions &o, uint32_t hint);

// Name of the plugin serving the runner's op.
std::string serving_plugin(OpRunner &r);

// The deterministic matrix generator of `run sgemm` (docs/cli.md): a
// splitmix64 stream; each value is the top 24 bits of the next output
// mapped to [-1, 1).
class MatrixRng
{
public:
	explicit MatrixRng(uint64_t seed) : x_(seed) {}
	float next()
	{
		x_ += 0x9e3779b97f4a7c15ULL;
		uint64_t z = x_;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		return static_cast<float>(z >> 40) / 8388608.0F - 1.0F;
	}

private:
	uint64_t x_;
};

// While alive, whatever the process writes to stdout (e.g. a library run
// by exec) goes to stderr, so that stdout holds only our JSON document.
class StdoutToStderr
{
public:
	explicit StdoutToStderr(bool active);
	~StdoutToStderr();
	StdoutToStderr(const StdoutToStderr &) = delete;
	StdoutToStderr &operator=(const StdoutToStderr &) = delete;

private:
	int saved_ = -1;
};

// A plugin an agent serves (AgentAdmin/Plugins).
struct RemotePlugin {
	std::string name;
	std::string version;
	std::string vaccel_version;
	unsigned int type = 0; // VACCEL_PLUGIN_* bits
	uint64_t ops_mask = 0; // bit N: implements vaccel_op_type_t N
};
// The plugins of the agent at @p address, in load order; nullopt when the
// agent does not tell (an upstream one). Throws CliError(kExitSetup) when
// it cannot be asked.
std::optional<std::vector<RemotePlugin>>
agent_plugins(const std::string &address);

// Subcommand entry points; each returns the exit status. @p remote: the
// agent's address with --remote.
int cmd_info(bool json, const std::optional<std::string> &remote);
int cmd_run(const OpOptions &o, uint32_t hint, bool json);
struct BenchOptions {
	uint64_t iterations = 0; // 0: use duration (or the default count)
	double duration = 0;     // seconds; 0: use iterations
	uint64_t warmup = 10;
	unsigned threads = 1;
	bool json = false;
	bool progress = true;
};
int cmd_bench(const OpOptions &o, uint32_t hint, const BenchOptions &b,
	      const GlobalOptions &g);
int cmd_agent(const std::vector<std::string> &args);
// Prints each model's digest; with @p index, also writes them there.
int cmd_digest(const std::vector<std::string> &paths, const std::string &index);
struct TopOptions {
	std::vector<std::string> addresses; // agents' --metrics addresses
	double interval = 2;                // seconds between refreshes
	uint64_t count = 0;                 // refreshes; 0: until interrupted
	bool json = false;                  // one JSON document per refresh
};
// A live view of the agents at @p t.addresses (top.cpp); kExitSetup when
// an agent of the last refresh could not be read.
int cmd_top(const TopOptions &t);

// "VACCEL_OP_IMAGE_CLASSIFY" -> "image_classify".
std::string op_name(vaccel_op_type_t op);

// "EINVAL" for VACCEL_EINVAL, "E<n>" for unknown codes.
std::string error_name(int rc);

// Floating-point operations of one call of an sgemm runner (0 for others).
double sgemm_flops(const OpRunner &r);

} // namespace vaccel_cli
