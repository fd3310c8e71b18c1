// SPDX-License-Identifier: Apache-2.0
// `vaccel run <op>`: one call, its result and how long it took.
#include "cli.h"

#include <chrono>
#include <cstdio>

namespace vaccel_cli
{

// A plugin that did not load would make the op silently go to another
// plugin, or to none: refuse to run instead.
void require_plugins_loaded()
{
	std::string list;
	for (const auto &m : missing_plugins())
		list += (list.empty() ? "" : "; ") + m.message;
	if (!list.empty())
		die(kExitSetup, list);
}

int cmd_run(const OpOptions &o, uint32_t hint, bool json)
{
	require_plugins_loaded();
	auto runner = make_runner(o, hint);
	const std::string plugin = serving_plugin(*runner);

	int rc = 0;
	std::string error;
	std::chrono::steady_clock::duration took{};
	{
		StdoutToStderr quiet(json);
		const auto t0 = std::chrono::steady_clock::now();
		rc = runner->call();
		took = std::chrono::steady_clock::now() - t0;
		if (rc != VACCEL_OK)
			error = vaccel_last_error();
	}
	const double us =
	    std::chrono::duration<double, std::micro>(took).count();

	nlohmann::json j;
	j["op"] = o.op;
	j["plugin"] = plugin;
	j["ok"] = rc == VACCEL_OK;
	j["time_us"] = us;
	if (rc != VACCEL_OK) {
		j["error"] = {
		    {"code", rc}, {"name", error_name(rc)}, {"message", error}};
		if (json)
			std::printf("%s\n", j.dump(2).c_str());
		std::fprintf(stderr, "vaccel: %s failed: %s (%d): %s\n",
			     o.op.c_str(), error_name(rc).c_str(), rc,
			     error.c_str());
		return kExitOpFailed;
	}
	runner->report(j);
	const double flops = sgemm_flops(*runner);
	if (flops > 0 && us > 0)
		j["gflops"] = flops / us / 1e3;
	if (json) {
		std::printf("%s\n", j.dump(2).c_str());
		return kExitOk;
	}
	for (const auto &line : runner->lines())
		std::printf("%s\n", line.c_str());
	if (flops > 0)
		std::printf("time: %.3f ms (%.3f GFLOP/s) on plugin %s\n",
			    us / 1e3, j["gflops"].get<double>(),
			    plugin.c_str());
	else
		std::printf("time: %.3f us on plugin %s\n", us, plugin.c_str());
	return kExitOk;
}

} // namespace vaccel_cli
