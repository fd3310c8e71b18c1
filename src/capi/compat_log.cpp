// SPDX-License-Identifier: Apache-2.0
// slog_print(): upstream's log macros call it, so plugins and programs built
// against upstream's headers need it to load. It feeds vaccel_log_print(),
// which keeps error lines for vaccel_last_error() as for our own macros.
#include <cstdarg>
#include <cstdio>
#include <vaccel/compat/slog.h>
#include <vaccel/log.h>

namespace
{

vaccel_log_level_t level_of(int flag) noexcept
{
	if ((flag & (VACCEL_SLOG_ERROR | VACCEL_SLOG_FATAL)) != 0)
		return VACCEL_LOG_ERROR;
	if ((flag & VACCEL_SLOG_WARN) != 0)
		return VACCEL_LOG_WARN;
	if ((flag & (VACCEL_SLOG_DEBUG | VACCEL_SLOG_TRACE)) != 0)
		return VACCEL_LOG_DEBUG;
	return VACCEL_LOG_INFO;
}

} // namespace

extern "C" void slog_print(int flag, uint8_t /*new_line*/, const char *fmt, ...)
{
	const vaccel_log_level_t level = level_of(flag);
	// Errors are formatted even when not written: vaccel_log_print() keeps
	// them for vaccel_last_error().
	if (fmt == nullptr ||
	    (level != VACCEL_LOG_ERROR && !vaccel_log_enabled(level)))
		return;
	char text[2048];
	va_list ap;
	va_start(ap, fmt);
	const int n = std::vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	vaccel_log_print(level, nullptr, 0, "%s", text);
}
