// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/log.h
 * Thread-safe logging used by the runtime and by plugins.
 *
 * The macros check the level before formatting anything, so a disabled
 * `vaccel_debug()` on a hot path costs one relaxed atomic load. Messages go
 * to stderr, or to the file named by the configuration's `log_file`.
 */
#pragma once

#include "utils/enum.h"
/* Upstream's log header brings <inttypes.h> in, and plugins written to it
 * print ids with PRId64 without including it themselves. */
#include <inttypes.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _ENUM_PREFIX VACCEL_LOG
#define VACCEL_LOG_LEVEL_ENUM_LIST(VACCEL_ENUM_ITEM)                           \
	VACCEL_ENUM_ITEM(ERROR, 1, _ENUM_PREFIX)                               \
	VACCEL_ENUM_ITEM(WARN, _ENUM_PREFIX)                                   \
	VACCEL_ENUM_ITEM(INFO, _ENUM_PREFIX)                                   \
	VACCEL_ENUM_ITEM(DEBUG, _ENUM_PREFIX)
/** vaccel_log_level_t: VACCEL_LOG_ERROR=1, _WARN=2, _INFO=3, _DEBUG=4. */
VACCEL_ENUM_DEF_WITH_STR_FUNCS(vaccel_log_level, _ENUM_PREFIX,
			       VACCEL_LOG_LEVEL_ENUM_LIST)
#undef _ENUM_PREFIX

/**
 * (Re)open the log sink from the current configuration. Called by
 * bootstrap; programs need not call it. @return VACCEL_OK or VACCEL_EIO if
 * the log file cannot be opened (logging then falls back to stderr).
 */
int vaccel_log_init(void);

/** Flush and close the log file, falling back to stderr. @return VACCEL_OK. */
int vaccel_log_shutdown(void);

/** True if messages of @p level are currently written. Thread-safe. */
bool vaccel_log_enabled(vaccel_log_level_t level);

/**
 * Write one message (printf format) at @p level. Thread-safe: each message
 * is written as one line, never interleaved with another thread's.
 * @p file and @p line may be NULL / 0.
 *
 * The declaration carries no attribute: bindings that parse the preprocessed
 * headers (cffi, pycparser) accept no GNU attribute but `deprecated`, and a
 * preprocessor run for them looks like any GCC run. The format is checked
 * by the logging macros below instead.
 */
void vaccel_log_print(vaccel_log_level_t level, const char *file, int line,
		      const char *fmt, ...);

/* With GCC and Clang, the macros have the compiler check the format and its
 * arguments as printf's: __builtin_printf carries printf's format attribute
 * and sizeof keeps the call unevaluated. Macro bodies never reach a header
 * parser. Elsewhere the check expands to nothing. */
#if defined(__GNUC__) || defined(__clang__)
#define VACCEL_LOG_FORMAT_CHECK_(...)                                          \
	((void)sizeof(__builtin_printf(__VA_ARGS__)))
#else
#define VACCEL_LOG_FORMAT_CHECK_(...) ((void)0)
#endif

#define VACCEL_LOG_AT_(lvl, ...)                                               \
	do {                                                                   \
		VACCEL_LOG_FORMAT_CHECK_(__VA_ARGS__);                         \
		if (vaccel_log_enabled(lvl))                                   \
			vaccel_log_print(lvl, __FILE__, __LINE__,              \
					 __VA_ARGS__);                         \
	} while (0)

#define vaccel_error(...) VACCEL_LOG_AT_(VACCEL_LOG_ERROR, __VA_ARGS__)
#define vaccel_warn(...) VACCEL_LOG_AT_(VACCEL_LOG_WARN, __VA_ARGS__)
#define vaccel_info(...) VACCEL_LOG_AT_(VACCEL_LOG_INFO, __VA_ARGS__)
#define vaccel_debug(...) VACCEL_LOG_AT_(VACCEL_LOG_DEBUG, __VA_ARGS__)
/* upstream has finer and coarser levels; they map onto the nearest ones */
#define vaccel_trace(...) VACCEL_LOG_AT_(VACCEL_LOG_DEBUG, __VA_ARGS__)
#define vaccel_fatal(...) VACCEL_LOG_AT_(VACCEL_LOG_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
