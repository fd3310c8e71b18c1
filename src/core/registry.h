// SPDX-License-Identifier: Apache-2.0
// Plugin registry and per-op routing.
//
// Plugins are kept in load order. A session's routing is a DispatchTable:
// for every op type, the function of the first plugin, in the session's
// preference order, that implements it. Tables are immutable once built and
// shared by every session with the same hint; loading a plugin or
// registering ops bumps the generation, and sessions rebuild lazily on their
// next call. Retired tables stay alive until cleanup so that a call racing
// with a plugin load never reads freed memory. The hot path is therefore one
// acquire load and one compare, with no lock.
#pragma once

#include "core/status.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vaccel/op.h>
#include <vaccel/plugin.h>
#include <vector>

namespace vaccel::core
{

struct Plugin {
	std::string name;
	std::string version;
	std::string vaccel_version;
	std::string path;
	unsigned int type = 0;
	void *dl_handle = nullptr; // nullptr for plugins linked in statically
	vaccel_plugin *desc = nullptr;
	std::array<void *, VACCEL_OP_MAX> ops{};
	bool initialized = false; // init() succeeded: fini() is owed

	[[nodiscard]] uint64_t ops_mask() const noexcept;
	[[nodiscard]] bool has_session_hooks() const noexcept;
};

// An entry of a plugin list that did not load, and why.
struct LoadFailure {
	std::string entry;
	Status status;
};

struct OpEntry {
	void *func = nullptr;
	Plugin *plugin = nullptr;
};

struct DispatchTable {
	uint64_t generation = 0;
	unsigned int hint = 0;
	Plugin *primary = nullptr; // first plugin in preference order
	std::array<OpEntry, VACCEL_OP_MAX> ops{};
};

class PluginRegistry
{
public:
	PluginRegistry() = default;
	PluginRegistry(const PluginRegistry &) = delete;
	PluginRegistry &operator=(const PluginRegistry &) = delete;

	// dlopen + version check + init. version_ignore: skip the major check.
	Status load(const std::string &lib, bool version_ignore);
	// Load each entry of a ':'-separated list; failures are logged,
	// recorded (failure()) and skipped. Returns the first failure (or OK).
	Status load_list(const std::string &list, bool version_ignore);
	// Register a plugin that is linked into the program (no dlopen).
	Status add_static(vaccel_plugin *desc, bool version_ignore);

	Status register_ops(const vaccel_op *ops, size_t n);

	// fini() every plugin (reverse load order), dlclose, forget everything.
	void unload_all();

	// Routing for a hint; never null while initialized.
	const DispatchTable *table_for(unsigned int hint);
	// Route each session to the one plugin upstream's rules pick
	// (upstream_rules.h) instead of per op. Set at bootstrap.
	void set_upstream_rules(bool on);
	[[nodiscard]] bool upstream_rules() const noexcept
	{
		return upstream_rules_.load(std::memory_order_acquire);
	}
	[[nodiscard]] uint64_t generation() const noexcept
	{
		return generation_.load(std::memory_order_acquire);
	}

	// Snapshot for introspection (pointers stay valid until unload_all).
	std::vector<const Plugin *> list();
	const Plugin *find(const std::string &name);
	// The list entries that failed to load since the last unload_all(),
	// in order (pointers stay valid until then).
	size_t failure_count();
	const LoadFailure *failure(size_t index);

private:
	Status init_plugin(std::unique_ptr<Plugin> p, bool version_ignore);

	std::mutex
	    load_mu_; // one load at a time: duplicate check + init + publish
	std::shared_mutex mu_;
	std::vector<std::unique_ptr<Plugin>> plugins_;
	std::deque<LoadFailure> failures_; // a deque: elements never move
	std::atomic<uint64_t> generation_{1};
	std::atomic<bool> upstream_rules_{false};
	std::map<unsigned int, const DispatchTable *> tables_; // current gen
	std::vector<std::unique_ptr<DispatchTable>> all_tables_;
};

// Version check: same major, unless ignored. "v" prefix accepted.
Status check_plugin_version(const char *plugin_vaccel_version,
			    bool version_ignore);

} // namespace vaccel::core
