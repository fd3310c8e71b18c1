// SPDX-License-Identifier: Apache-2.0
#include "core/config.h"

#include "core/compat.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

namespace vaccel::core
{
namespace
{

std::string lower(std::string s)
{
	std::transform(s.begin(), s.end(), s.begin(),
		       [](unsigned char c) { return std::tolower(c); });
	return s;
}

// Reads `name`, falling back to a deprecated alias with a warning on stderr
// (the logger is not configured yet when this runs).
const char *env_with_alias(const char *name, const char *old_name)
{
	const char *v = std::getenv(name);
	if (v != nullptr || old_name == nullptr)
		return v;
	v = std::getenv(old_name);
	if (v != nullptr)
		std::fprintf(stderr,
			     "vaccel: %s is deprecated, use %s instead\n",
			     old_name, name);
	return v;
}

Status apply_compat(Config &cfg, const std::string &value,
		    const std::string &origin)
{
	// Never read where the native rules are pinned (the agent).
	if (compat_pinned_native())
		return Status::ok();
	auto c = parse_compat(value);
	if (!c)
		return Status::error(VACCEL_EINVAL, "%s: %s", origin.c_str(),
				     c.status().message().c_str());
	cfg.upstream_compat = c.value();
	return Status::ok();
}

Status apply_compat_toml(Config &cfg, const toml::node &node,
			 const std::string &origin)
{
	auto s = node.value_exact<std::string>();
	if (!s)
		return Status::error(VACCEL_EINVAL,
				     "config %s: compat must be a string",
				     origin.c_str());
	return apply_compat(cfg, *s, "config " + origin);
}

Status apply_compat_env(Config &cfg)
{
	if (const char *v = std::getenv("VACCEL_COMPAT"))
		return apply_compat(cfg, v, "VACCEL_COMPAT");
	return Status::ok();
}

Result<toml::table> parse_toml(const std::string &text,
			       const std::string &origin)
{
	try {
		return toml::parse(text, origin);
	} catch (const toml::parse_error &e) {
		std::ostringstream os;
		os << e.description() << " at " << e.source().begin;
		return Status::error(VACCEL_EINVAL, "config %s: %s",
				     origin.c_str(), os.str().c_str());
	}
}

// The text of the VACCEL_CONFIG file; empty when none is named.
Result<std::string> config_file_text()
{
	const char *path = std::getenv("VACCEL_CONFIG");
	if (path == nullptr || *path == '\0')
		return std::string();
	std::ifstream in(path);
	if (!in)
		return Status::error(VACCEL_ENOENT,
				     "VACCEL_CONFIG: cannot read '%s'", path);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

} // namespace

Result<bool> parse_bool(const std::string &raw)
{
	const std::string s = lower(raw);
	if (s == "1" || s == "true" || s == "yes" || s == "on")
		return true;
	if (s == "0" || s == "false" || s == "no" || s == "off" || s.empty())
		return false;
	return Status::error(VACCEL_EINVAL,
			     "'%s' is not a boolean (use 1/0, true/false)",
			     raw.c_str());
}

Result<int> parse_log_level(const std::string &raw)
{
	const std::string s = lower(raw);
	if (s == "error" || s == "1")
		return VACCEL_LOG_ERROR;
	if (s == "warn" || s == "warning" || s == "2")
		return VACCEL_LOG_WARN;
	if (s == "info" || s == "3")
		return VACCEL_LOG_INFO;
	if (s == "debug" || s == "4")
		return VACCEL_LOG_DEBUG;
	return Status::error(
	    VACCEL_EINVAL,
	    "log level '%s' is not one of 1-4 or error/warn/info/debug",
	    raw.c_str());
}

Status apply_toml(Config &cfg, const std::string &text,
		  const std::string &origin)
{
	auto parsed = parse_toml(text, origin);
	if (!parsed)
		return parsed.status();
	const toml::table doc = std::move(parsed).value();
	for (const auto &[key, node] : doc) {
		const std::string k(key.str());
		if (node.is_table())
			continue; // sections of other components, e.g. [rpc]
		if (k == "plugins") {
			if (auto s = node.value_exact<std::string>()) {
				cfg.plugins = *s;
			} else if (const auto *arr = node.as_array()) {
				std::string joined;
				for (const auto &el : *arr) {
					auto v = el.value_exact<std::string>();
					if (!v)
						return Status::error(
						    VACCEL_EINVAL,
						    "config %s: plugins must "
						    "be strings",
						    origin.c_str());
					if (!joined.empty())
						joined += ':';
					joined += *v;
				}
				cfg.plugins = joined;
			} else {
				return Status::error(
				    VACCEL_EINVAL,
				    "config %s: plugins must be a string or an "
				    "array of strings",
				    origin.c_str());
			}
		} else if (k == "log_level") {
			Result<int> lvl = Status(VACCEL_EINVAL, "");
			if (auto i = node.value_exact<int64_t>())
				lvl = parse_log_level(std::to_string(*i));
			else if (auto s = node.value_exact<std::string>())
				lvl = parse_log_level(*s);
			if (!lvl)
				return Status::error(
				    VACCEL_EINVAL,
				    "config %s: log_level must be 1-4 or "
				    "error/warn/info/debug",
				    origin.c_str());
			cfg.log_level = lvl.value();
		} else if (k == "log_file") {
			auto s = node.value_exact<std::string>();
			if (!s)
				return Status::error(
				    VACCEL_EINVAL,
				    "config %s: log_file must be a string",
				    origin.c_str());
			cfg.log_file = *s;
		} else if (k == "profiling_enabled" || k == "version_ignore") {
			auto b = node.value_exact<bool>();
			if (!b)
				return Status::error(
				    VACCEL_EINVAL,
				    "config %s: %s must be true or false",
				    origin.c_str(), k.c_str());
			(k == "profiling_enabled" ? cfg.profiling_enabled
						  : cfg.version_ignore) = *b;
		} else if (k == "compat") {
			VACCEL_RETURN_IF_ERROR(
			    apply_compat_toml(cfg, node, origin));
		} else {
			return Status::error(VACCEL_EINVAL,
					     "config %s: unknown key '%s'",
					     origin.c_str(), k.c_str());
		}
	}
	return Status::ok();
}

Status apply_env(Config &cfg)
{
	if (const char *v = env_with_alias("VACCEL_PLUGINS", "VACCEL_BACKENDS"))
		cfg.plugins = v;
	if (const char *v =
		env_with_alias("VACCEL_LOG_LEVEL", "VACCEL_DEBUG_LEVEL")) {
		auto lvl = parse_log_level(v);
		if (!lvl)
			return Status::error(VACCEL_EINVAL,
					     "VACCEL_LOG_LEVEL: %s",
					     lvl.status().message().c_str());
		cfg.log_level = lvl.value();
	}
	if (const char *v = std::getenv("VACCEL_LOG_FILE"))
		cfg.log_file = v;
	if (const char *v = std::getenv("VACCEL_PROFILING_ENABLED")) {
		auto b = parse_bool(v);
		if (!b)
			return Status::error(VACCEL_EINVAL,
					     "VACCEL_PROFILING_ENABLED: %s",
					     b.status().message().c_str());
		cfg.profiling_enabled = b.value();
	}
	if (const char *v = env_with_alias("VACCEL_VERSION_IGNORE",
					   "VACCEL_IGNORE_VERSION")) {
		auto b = parse_bool(v);
		if (!b)
			return Status::error(VACCEL_EINVAL,
					     "VACCEL_VERSION_IGNORE: %s",
					     b.status().message().c_str());
		cfg.version_ignore = b.value();
	}
	return apply_compat_env(cfg);
}

Result<Config> config_from_environment()
{
	Config cfg;
	auto text = config_file_text();
	if (!text)
		return text.status();
	if (!text.value().empty())
		VACCEL_RETURN_IF_ERROR(apply_toml(
		    cfg, text.value(), std::getenv("VACCEL_CONFIG")));
	VACCEL_RETURN_IF_ERROR(apply_env(cfg));
	return cfg;
}

Result<bool> compat_from_environment()
{
	Config cfg;
	auto text = config_file_text();
	if (!text)
		return text.status();
	if (!text.value().empty()) {
		const std::string origin = std::getenv("VACCEL_CONFIG");
		auto doc = parse_toml(text.value(), origin);
		if (!doc)
			return doc.status();
		if (const toml::node *n = doc.value().get("compat"))
			VACCEL_RETURN_IF_ERROR(
			    apply_compat_toml(cfg, *n, origin));
	}
	VACCEL_RETURN_IF_ERROR(apply_compat_env(cfg));
	return cfg.upstream_compat;
}

Config from_c(const struct vaccel_config &c)
{
	Config cfg;
	cfg.plugins = c.plugins != nullptr ? c.plugins : "";
	cfg.log_level = enum_value(c.log_level);
	cfg.log_file = c.log_file != nullptr ? c.log_file : "";
	cfg.profiling_enabled = c.profiling_enabled;
	cfg.version_ignore = c.version_ignore;
	return cfg;
}

} // namespace vaccel::core
