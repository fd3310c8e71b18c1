// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/compat/slog.h
 * The logging entry point that upstream vAccel's log macros expand to.
 * Upstream plugins and programs call it directly; libvaccel exports it so
 * that they run against this library unchanged. New code uses vaccel/log.h.
 */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Message kinds, as bits (upstream's values). */
enum vaccel_slog_flag {
	VACCEL_SLOG_NOTAG = 1 << 0,
	VACCEL_SLOG_NOTE = 1 << 1,
	VACCEL_SLOG_INFO = 1 << 2,
	VACCEL_SLOG_WARN = 1 << 3,
	VACCEL_SLOG_DEBUG = 1 << 4,
	VACCEL_SLOG_TRACE = 1 << 5,
	VACCEL_SLOG_ERROR = 1 << 6,
	VACCEL_SLOG_FATAL = 1 << 7,
};

/**
 * Log a printf-style message through vAccel's logger, at the level that
 * @p flag maps to: ERROR and FATAL to error, WARN to warn, DEBUG and TRACE
 * to debug, anything else to info. Each call writes one line, so
 * @p new_line is accepted and ignored.
 */
void slog_print(int flag, uint8_t new_line, const char *fmt, ...);

#ifdef __cplusplus
}
#endif
