// SPDX-License-Identifier: Apache-2.0
#include "core/registry.h"

#include "core/plugin_path.h"
#include "core/runtime.h"
#include "core/upstream_rules.h"

#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <vaccel/log.h>
#include <vaccel/version.h>

namespace vaccel::core
{
namespace
{

struct Version {
	int major = 0, minor = 0, patch = 0;
};

bool parse_version(const char *s, Version &v)
{
	if (s == nullptr)
		return false;
	if (*s == 'v')
		++s;
	return std::sscanf(s, "%d.%d.%d", &v.major, &v.minor, &v.patch) == 3;
}

} // namespace

uint64_t Plugin::ops_mask() const noexcept
{
	uint64_t m = 0;
	for (size_t i = 0; i < ops.size(); ++i)
		if (ops[i] != nullptr)
			m |= uint64_t{1} << i;
	return m;
}

bool Plugin::has_session_hooks() const noexcept
{
	return desc != nullptr && desc->info != nullptr &&
	       desc->info->session_init != nullptr;
}

Status check_plugin_version(const char *plugin_vaccel_version,
			    bool version_ignore)
{
	if (version_ignore)
		return Status::ok();
	Version pv;
	Version ours;
	if (!parse_version(plugin_vaccel_version, pv))
		return Status::error(
		    VACCEL_EINVAL,
		    "cannot parse the plugin's vaccel_version '%s'",
		    plugin_vaccel_version ? plugin_vaccel_version : "(null)");
	parse_version(VACCEL_VERSION, ours);
	if (pv.major != ours.major)
		return Status::error(
		    VACCEL_EINVAL,
		    "built for vAccel %s, incompatible with %s (set "
		    "VACCEL_VERSION_IGNORE=1 to load anyway)",
		    plugin_vaccel_version, VACCEL_VERSION);
	if (pv.minor != ours.minor || pv.patch != ours.patch)
		vaccel_warn("plugin built for vAccel %s, running %s",
			    plugin_vaccel_version, VACCEL_VERSION);
	return Status::ok();
}

namespace
{

// Opens the library an entry names (plugin_path.h says where it is looked
// for).
Result<std::pair<void *, std::string>> open_plugin(const std::string &entry)
{
	const std::vector<SearchDir> dirs = plugin_search_dirs();
	const PluginLocation loc = locate_plugin(entry, dirs);
	void *dl = dlopen(loc.path.c_str(), RTLD_NOW | RTLD_LOCAL);
	if (dl != nullptr)
		return std::pair{dl, loc.path};
	const char *e = dlerror();
	const std::string why = e != nullptr ? e : "unknown error";
	// A file found here that does not load: its loader error is the
	// useful one (a missing dependency, a wrong architecture...).
	if (!loc.system_search)
		return Status::error(VACCEL_ENOENT, "cannot load plugin %s: %s",
				     entry.c_str(), why.c_str());
	// The system search's failure may be "not found" or a found file
	// that does not load: both are told.
	return Status::error(
	    VACCEL_ENOENT, "cannot load plugin %s: %s (system loader: %s)",
	    entry.c_str(), plugin_not_found(entry, dirs).c_str(), why.c_str());
}

} // namespace

Status PluginRegistry::load(const std::string &lib, bool version_ignore)
{
	if (lib.empty())
		return Status(VACCEL_EINVAL, "empty plugin name");
	auto opened = open_plugin(lib);
	if (!opened)
		return opened.status();
	auto [dl, path] = std::move(opened).value();
	auto *sym = static_cast<vaccel_plugin **>(dlsym(dl, "vaccel_plugin"));
	if (sym == nullptr || *sym == nullptr || (*sym)->info == nullptr ||
	    (*sym)->info->name == nullptr) {
		dlclose(dl);
		return Status::error(VACCEL_ELIBBAD,
				     "%s is not a vAccel plugin (no valid "
				     "'vaccel_plugin' symbol)",
				     lib.c_str());
	}
	auto p = std::make_unique<Plugin>();
	p->desc = *sym;
	p->dl_handle = dl;
	p->path = path;
	Status st = init_plugin(std::move(p), version_ignore);
	if (!st.is_ok())
		dlclose(dl);
	return st;
}

Status PluginRegistry::add_static(vaccel_plugin *desc, bool version_ignore)
{
	if (desc == nullptr || desc->info == nullptr ||
	    desc->info->name == nullptr)
		return Status(VACCEL_EINVAL,
			      "invalid static plugin descriptor");
	auto p = std::make_unique<Plugin>();
	p->desc = desc;
	p->path = "(static)";
	return init_plugin(std::move(p), version_ignore);
}

Status PluginRegistry::init_plugin(std::unique_ptr<Plugin> p,
				   bool version_ignore)
{
	// Serialized so that two loads of one plugin cannot both pass the
	// duplicate check; register_ops (called from init) takes mu_ only.
	std::lock_guard load_lock(load_mu_);
	vaccel_plugin_info *info = p->desc->info;
	p->name = info->name;
	p->version = info->version ? info->version : "";
	p->vaccel_version = info->vaccel_version ? info->vaccel_version : "";
	p->type = static_cast<unsigned int>(info->type);
	if (info->init == nullptr)
		return Status::error(VACCEL_ELIBBAD,
				     "plugin %s has no init function",
				     p->name.c_str());
	Status vst = check_plugin_version(info->vaccel_version, version_ignore);
	if (!vst.is_ok())
		return Status::error(vst.code(), "plugin %s: %s",
				     p->name.c_str(), vst.message().c_str());
	{
		std::shared_lock lock(mu_);
		for (const auto &q : plugins_)
			if (q->name == p->name || q->desc == p->desc)
				return Status::error(
				    VACCEL_EEXIST,
				    "plugin %s is already loaded (from %s)",
				    p->name.c_str(), q->path.c_str());
	}
	// init() registers ops through register_ops(), which finds the plugin
	// through desc->state; the plugin is published only if init succeeds.
	p->desc->dl_handle = p->dl_handle;
	p->desc->state = p.get();
	int rc = info->init();
	if (rc != VACCEL_OK) {
		p->desc->state = nullptr;
		return Status::error(rc, "plugin %s: init failed with %d",
				     p->name.c_str(), rc);
	}
	p->initialized = true;
	vaccel_debug("loaded plugin %s %s (%s)", p->name.c_str(),
		     p->version.c_str(), p->path.c_str());
	std::unique_lock lock(mu_);
	plugins_.push_back(std::move(p));
	tables_.clear();
	generation_.fetch_add(1, std::memory_order_acq_rel);
	return Status::ok();
}

Status PluginRegistry::load_list(const std::string &list, bool version_ignore)
{
	Status first;
	size_t start = 0;
	while (start <= list.size()) {
		size_t end = list.find(':', start);
		if (end == std::string::npos)
			end = list.size();
		std::string entry = list.substr(start, end - start);
		start = end + 1;
		if (entry.empty())
			continue;
		Status st = load(entry, version_ignore);
		if (!st.is_ok()) {
			vaccel_error("%s; skipping it", st.message().c_str());
			std::unique_lock lock(mu_);
			failures_.push_back({entry, st});
			if (first.is_ok())
				first = st;
		}
	}
	return first;
}

Status PluginRegistry::register_ops(const vaccel_op *ops, size_t n)
{
	if (ops == nullptr || n == 0)
		return Status(VACCEL_EINVAL, "no ops given");
	std::unique_lock lock(mu_);
	// Validate all before changing anything.
	for (size_t i = 0; i < n; ++i) {
		const vaccel_op &op = ops[i];
		const int type = enum_value(op.type);
		if (type < 0 || type >= VACCEL_OP_MAX)
			return Status::error(VACCEL_EINVAL,
					     "op %zu: type %d out of range", i,
					     type);
		if (op.func == nullptr)
			return Status::error(VACCEL_EINVAL,
					     "op %zu (%s): NULL function", i,
					     vaccel_op_type_to_str(op.type));
		if (op.owner == nullptr || op.owner->state == nullptr)
			return Status::error(
			    VACCEL_EINVAL,
			    "op %zu (%s): owner is not a plugin being loaded",
			    i, vaccel_op_type_to_str(op.type));
	}
	for (size_t i = 0; i < n; ++i) {
		auto *p = static_cast<Plugin *>(ops[i].owner->state);
		p->ops[ops[i].type] = ops[i].func;
	}
	tables_.clear();
	generation_.fetch_add(1, std::memory_order_acq_rel);
	return Status::ok();
}

const DispatchTable *PluginRegistry::table_for(unsigned int hint)
{
	{
		std::shared_lock lock(mu_);
		auto it = tables_.find(hint);
		if (it != tables_.end())
			return it->second;
	}
	std::unique_lock lock(mu_);
	auto it = tables_.find(hint);
	if (it != tables_.end())
		return it->second;
	auto t = std::make_unique<DispatchTable>();
	t->generation = generation_.load(std::memory_order_acquire);
	t->hint = hint;
	std::vector<Plugin *> order;
	if (upstream_rules()) {
		// One plugin serves every op of the session, or none does.
		if (Plugin *p = upstream_session_plugin(plugins_, hint))
			order.push_back(p);
	} else {
		// Preference order: plugins matching the hint, then the
		// rest; each group in load order.
		for (const auto &p : plugins_)
			if (hint != 0 && (p->type & hint) != 0)
				order.push_back(p.get());
		for (const auto &p : plugins_)
			if (hint == 0 || (p->type & hint) == 0)
				order.push_back(p.get());
	}
	t->primary = order.empty() ? nullptr : order.front();
	for (size_t op = 0; op < VACCEL_OP_MAX; ++op) {
		for (Plugin *p : order) {
			if (p->ops[op] != nullptr) {
				t->ops[op] = {p->ops[op], p};
				break;
			}
		}
	}
	const DispatchTable *raw = t.get();
	all_tables_.push_back(std::move(t));
	tables_[hint] = raw;
	return raw;
}

void PluginRegistry::set_upstream_rules(bool on)
{
	std::unique_lock lock(mu_);
	upstream_rules_.store(on, std::memory_order_release);
	tables_.clear();
	generation_.fetch_add(1, std::memory_order_acq_rel);
}

void PluginRegistry::unload_all()
{
	std::vector<std::unique_ptr<Plugin>> plugins;
	{
		std::unique_lock lock(mu_);
		plugins.swap(plugins_);
		failures_.clear();
		tables_.clear();
		generation_.fetch_add(1, std::memory_order_acq_rel);
	}
	for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
		Plugin &p = **it;
		if (p.initialized && p.desc->info->fini != nullptr) {
			int rc = p.desc->info->fini();
			if (rc != VACCEL_OK)
				vaccel_warn("plugin %s: fini returned %d",
					    p.name.c_str(), rc);
		}
		p.desc->state = nullptr;
		p.desc->dl_handle = nullptr;
		if (p.dl_handle != nullptr)
			dlclose(p.dl_handle);
	}
	std::unique_lock lock(mu_);
	all_tables_.clear();
}

std::vector<const Plugin *> PluginRegistry::list()
{
	std::shared_lock lock(mu_);
	std::vector<const Plugin *> out;
	out.reserve(plugins_.size());
	for (const auto &p : plugins_)
		out.push_back(p.get());
	return out;
}

size_t PluginRegistry::failure_count()
{
	std::shared_lock lock(mu_);
	return failures_.size();
}

const LoadFailure *PluginRegistry::failure(size_t index)
{
	std::shared_lock lock(mu_);
	return index < failures_.size() ? &failures_[index] : nullptr;
}

const Plugin *PluginRegistry::find(const std::string &name)
{
	std::shared_lock lock(mu_);
	for (const auto &p : plugins_)
		if (p->name == name)
			return p.get();
	return nullptr;
}

} // namespace vaccel::core
