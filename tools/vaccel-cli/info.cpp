// SPDX-License-Identifier: Apache-2.0
// `vaccel info`: version, effective configuration, loaded plugins and the
// ops each implements (the introspection functions of vaccel/ext.h).
#include "cli.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace vaccel_cli
{

namespace
{

const char *level_name(int level)
{
	switch (level) {
	case VACCEL_LOG_ERROR:
		return "error";
	case VACCEL_LOG_WARN:
		return "warn";
	case VACCEL_LOG_INFO:
		return "info";
	case VACCEL_LOG_DEBUG:
		return "debug";
	default:
		return "?";
	}
}

std::vector<std::string> type_names(unsigned int type)
{
	static const std::pair<unsigned int, const char *> names[] = {
	    {VACCEL_PLUGIN_CPU, "cpu"},
	    {VACCEL_PLUGIN_GPU, "gpu"},
	    {VACCEL_PLUGIN_FPGA, "fpga"},
	    {VACCEL_PLUGIN_SOFTWARE, "software"},
	    {VACCEL_PLUGIN_TENSORFLOW, "tensorflow"},
	    {VACCEL_PLUGIN_TORCH, "torch"},
	    {VACCEL_PLUGIN_JETSON, "jetson"},
	    {VACCEL_PLUGIN_GENERIC, "generic"},
	    {VACCEL_PLUGIN_DEBUG, "debug"},
	    {VACCEL_PLUGIN_REMOTE, "remote"},
	};
	std::vector<std::string> out;
	for (const auto &[bit, name] : names)
		if ((type & bit) != 0)
			out.emplace_back(name);
	return out;
}

// Where libvaccel itself was loaded from.
std::string library_path()
{
	Dl_info info{};
	if (dladdr(reinterpret_cast<void *>(&vaccel_bootstrap), &info) != 0 &&
	    info.dli_fname != nullptr)
		return info.dli_fname;
	return "";
}

nlohmann::json plugin_json(const RemotePlugin &d)
{
	nlohmann::json p;
	p["name"] = d.name;
	p["version"] = d.version;
	p["vaccel_version"] = d.vaccel_version;
	p["type"] = type_names(d.type);
	nlohmann::json ops = nlohmann::json::array();
	for (int op = 0; op < VACCEL_OP_MAX; op++)
		if (((d.ops_mask >> op) & 1U) != 0)
			ops.push_back(
			    op_name(static_cast<vaccel_op_type_t>(op)));
	p["ops"] = ops;
	return p;
}

// With --remote: what the agent serves (null when it does not tell).
nlohmann::json agent_json(const std::string &address)
{
	nlohmann::json a;
	a["address"] = address;
	a["plugins"] = nullptr;
	if (auto list = agent_plugins(address)) {
		a["plugins"] = nlohmann::json::array();
		for (const auto &p : *list)
			a["plugins"].push_back(plugin_json(p));
	}
	return a;
}

std::string env_or(const char *name, const char *fallback)
{
	const char *v = std::getenv(name);
	return v != nullptr ? v : fallback;
}

nlohmann::json collect(const std::optional<std::string> &remote_address)
{
	nlohmann::json j;
	j["version"] = VACCEL_VERSION;
	j["library"] = library_path();
	j["initialized"] = vaccel_is_initialized();
	nlohmann::json cfg = nlohmann::json::object();
	if (const struct vaccel_config *c = vaccel_config()) {
		cfg["plugins"] = c->plugins != nullptr ? c->plugins : "";
		cfg["log_level"] = level_name(c->log_level);
		cfg["log_file"] =
		    c->log_file != nullptr ? c->log_file : "stderr";
		cfg["profiling_enabled"] = c->profiling_enabled;
		cfg["version_ignore"] = c->version_ignore;
	}
	const char *rundir = vaccel_rundir();
	cfg["rundir"] = rundir != nullptr ? rundir : "";
	cfg["config_file"] = env_or("VACCEL_CONFIG", "");
	j["config"] = cfg;

	nlohmann::json plugins = nlohmann::json::array();
	bool remote = false;
	for (size_t i = 0; i < vaccel_plugin_count(); i++) {
		vaccel_plugin_desc d{};
		d.struct_size = sizeof(d);
		if (vaccel_plugin_describe(i, &d) != VACCEL_OK)
			break;
		nlohmann::json p =
		    plugin_json({d.name, d.version ? d.version : "",
				 d.vaccel_version ? d.vaccel_version : "",
				 d.type, d.ops_mask});
		p["path"] = d.path != nullptr ? d.path : "";
		remote = remote || (d.type & VACCEL_PLUGIN_REMOTE) != 0;
		plugins.push_back(p);
	}
	j["plugins"] = plugins;
	nlohmann::json missing = nlohmann::json::array();
	nlohmann::json reasons = nlohmann::json::array();
	for (const auto &m : missing_plugins()) {
		missing.push_back(m.entry);
		reasons.push_back({{"entry", m.entry}, {"message", m.message}});
	}
	j["missing_plugins"] = missing;
	j["plugin_errors"] = reasons;
	if (remote)
		j["config"]["rpc_address"] = env_or(
		    "VACCEL_RPC_ADDRESS",
		    env_or("VACCEL_RPC_ADDR", "tcp://127.0.0.1:65500").c_str());
	if (remote_address)
		j["agent"] = agent_json(*remote_address);
	return j;
}

std::string join(const nlohmann::json &a, const char *sep)
{
	std::string out;
	for (const auto &v : a)
		out += (out.empty() ? "" : sep) + v.get<std::string>();
	return out;
}

void print_plugin(const nlohmann::json &p, bool forwards)
{
	std::printf("  %s %s [%s]\n", p["name"].get<std::string>().c_str(),
		    p["version"].get<std::string>().c_str(),
		    join(p["type"], ",").c_str());
	if (p.contains("path"))
		std::printf("    path: %s\n",
			    p["path"].get<std::string>().c_str());
	if (forwards) {
		std::printf("    ops: forwarded to the agent (below)\n");
		return;
	}
	std::printf("    ops (%zu): %s\n", p["ops"].size(),
		    join(p["ops"], " ").c_str());
}

void print_agent(const nlohmann::json &a)
{
	const std::string addr = a["address"].get<std::string>();
	if (a["plugins"].is_null()) {
		std::printf("\nagent %s: does not say what it serves (an "
			    "upstream agent?)\n",
			    addr.c_str());
		return;
	}
	std::printf("\nagent %s serves (%zu plugins):\n", addr.c_str(),
		    a["plugins"].size());
	for (const auto &p : a["plugins"])
		print_plugin(p, false);
}

} // namespace

int cmd_info(bool json, const std::optional<std::string> &remote)
{
	const nlohmann::json j = collect(remote);
	if (json) {
		std::printf("%s\n", j.dump(2).c_str());
		return kExitOk;
	}
	std::printf("vAccel %s\n", j["version"].get<std::string>().c_str());
	std::printf("library: %s\n", j["library"].get<std::string>().c_str());
	std::printf("\nconfiguration:\n");
	for (const auto &[key, value] : j["config"].items()) {
		std::string v =
		    value.is_string() ? value.get<std::string>() : value.dump();
		std::printf("  %-18s %s\n", key.c_str(),
			    v.empty() ? "(none)" : v.c_str());
	}
	std::printf("\nplugins (%zu loaded):\n", j["plugins"].size());
	for (const auto &p : j["plugins"])
		print_plugin(
		    p, remote && std::find(p["type"].begin(), p["type"].end(),
					   "remote") != p["type"].end());
	for (const auto &e : j["plugin_errors"])
		std::printf("  %s: FAILED TO LOAD: %s\n",
			    e["entry"].get<std::string>().c_str(),
			    e["message"].get<std::string>().c_str());
	if (j.contains("agent"))
		print_agent(j["agent"]);
	return kExitOk;
}

} // namespace vaccel_cli
