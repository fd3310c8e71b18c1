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
	// Upstream's session routing (compat.h); not in the public struct,
	// whose layout is upstream's: read from VACCEL_COMPAT / the file only.
	bool upstream_compat = false;
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

// The compat key alone (file, then VACCEL_COMPAT), for a bootstrap whose
// other settings come from a struct vaccel_config. False when the program
// pinned the native rules.
Result<bool> compat_from_environment();

Config from_c(const struct vaccel_config &c);

// Parsers shared by the file and the environment.
Result<bool> parse_bool(const std::string &s);
Result<int> parse_log_level(const std::string &s);

} // namespace vaccel::core
