// SPDX-License-Identifier: Apache-2.0
// Configuration sources and their merge. Precedence, lowest first:
//   defaults < TOML file ($VACCEL_CONFIG) < VACCEL_* environment < API.
#pragma once

#include "core/status.h"

#include <string>
#include <vaccel/config.h>

namespace vaccel::core
{

struct Config {
	std::string plugins; // ':'-separated
	int log_level = VACCEL_LOG_ERROR;
	std::string log_file; // empty: stderr
	bool profiling_enabled = false;
	bool version_ignore = false;
};

// Apply a TOML document (the text of a config file) on top of `cfg`.
// Unknown top-level keys and wrong types are errors; tables other than
// the known ones are left to their owners (e.g. [rpc]).
Status apply_toml(Config &cfg, const std::string &text,
		  const std::string &origin);

// Apply the VACCEL_* environment variables (and their deprecated aliases).
Status apply_env(Config &cfg);

// defaults + $VACCEL_CONFIG + environment.
Result<Config> config_from_environment();

Config from_c(const struct vaccel_config &c);

// Parsers shared by the file and the environment.
Result<bool> parse_bool(const std::string &s);
Result<int> parse_log_level(const std::string &s);

} // namespace vaccel::core
