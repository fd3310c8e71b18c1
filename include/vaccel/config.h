// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/config.h
 * Runtime configuration. vaccel_bootstrap() (and the automatic bootstrap at
 * load) merges, lowest to highest precedence: built-in defaults < TOML file
 * named by VACCEL_CONFIG < VACCEL_* environment variables. A config passed to
 * vaccel_bootstrap_with_config() is used as is, replacing all three.
 * docs/configuration.md lists every key and variable.
 */
#pragma once

#include "log.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vaccel_config {
	/** ':'-separated plugin libraries to load (names or paths); may be NULL
	 */
	char *plugins;
	/** messages up to this level are written */
	vaccel_log_level_t log_level;
	/** log file path; NULL means stderr */
	char *log_file;
	/** collect profiling samples in prof regions */
	bool profiling_enabled;
	/** load plugins whose vAccel major version differs from ours */
	bool version_ignore;
};

/**
 * Fill @p config with the given values; strings are copied.
 * @param config out, not NULL. @param plugins, @p log_file may be NULL.
 * @return VACCEL_OK, VACCEL_EINVAL (NULL config or level out of range),
 *         VACCEL_ENOMEM. Release with vaccel_config_release().
 */
int vaccel_config_init(struct vaccel_config *config, const char *plugins,
		       vaccel_log_level_t log_level, const char *log_file,
		       bool profiling_enabled, bool version_ignore);

/**
 * Fill @p config from defaults, the VACCEL_CONFIG file and the environment
 * (the same merge bootstrap does). @return VACCEL_OK, VACCEL_EINVAL for a
 * malformed value or file (the message is logged), VACCEL_ENOENT if
 * VACCEL_CONFIG names a missing file, VACCEL_ENOMEM.
 */
int vaccel_config_init_from_env(struct vaccel_config *config);

/** Deep-copy @p config_src into @p config. Both not NULL. */
int vaccel_config_init_from(struct vaccel_config *config,
			    struct vaccel_config *config_src);

/** Free the strings of @p config (not the struct). Safe to call twice. */
int vaccel_config_release(struct vaccel_config *config);

/** Allocating forms of the above; free with vaccel_config_delete(). */
int vaccel_config_new(struct vaccel_config **config, const char *plugins,
		      vaccel_log_level_t log_level, const char *log_file,
		      bool profiling_enabled, bool version_ignore);
int vaccel_config_from_env(struct vaccel_config **config);
int vaccel_config_from(struct vaccel_config **config,
		       struct vaccel_config *config_src);

/** Release and free a config from vaccel_config_new/from*(). NULL: EINVAL. */
int vaccel_config_delete(struct vaccel_config *config);

/** Log every field at debug level. NULL is ignored. */
void vaccel_config_print_debug(struct vaccel_config *config);

#ifdef __cplusplus
}
#endif
