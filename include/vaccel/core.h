// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/core.h
 * Lifecycle of the runtime. The library bootstraps itself when it is loaded
 * (from the environment) and cleans up at unload, as upstream does; set
 * VACCEL_BOOTSTRAP_ENABLED=0 / VACCEL_CLEANUP_ENABLED=0 to do it by hand.
 * Nothing here ever exits the process: plugins that fail to load are logged
 * and skipped.
 */
#pragma once

#include "config.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Bootstrap from defaults + VACCEL_CONFIG file + environment. On an
 *  initialized library it starts again, as upstream: everything
 *  vaccel_cleanup() releases is released first (live sessions and resources
 *  are dropped and their structs zeroed), then the new configuration is
 *  applied. @return VACCEL_OK; the config error if the configuration is
 *  malformed (a running library is then left as it was). */
int vaccel_bootstrap(void);

/** Bootstrap with an explicit config (copied; the caller keeps ownership).
 *  @p config must not be NULL. Returns as vaccel_bootstrap(). */
int vaccel_bootstrap_with_config(struct vaccel_config *config);

/** Release every session, resource and plugin and remove the run directory.
 *  Sessions and resources still alive are dropped and their structs zeroed
 *  (id 0, as upstream); a later release of one returns VACCEL_EINVAL. The
 *  automatic cleanup at exit does not write to them.
 *  @return VACCEL_OK, also when not initialized. */
int vaccel_cleanup(void);

/** True between a successful bootstrap and cleanup. */
bool vaccel_is_initialized(void);

/** Top-level run directory (/run/user/<uid>/vaccel/<random>, or under
 *  $TMPDIR when /run/user is not writable); NULL if not initialized; empty
 *  in a program that deferred its plugins until it loads them
 *  (vaccel/ext.h). */
const char *vaccel_rundir(void);

/** The active configuration; NULL if not initialized. Read-only.
 *  (In C++ the function hides the struct's name: write `struct
 *  vaccel_config` for the type.) */
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
const struct vaccel_config *vaccel_config(void);
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#ifdef __cplusplus
}
#endif
