// SPDX-License-Identifier: Apache-2.0
// Why a plugin call failed. Plugins, upstream's included, say why with
// vaccel_error() and return only a code, so the runtime keeps the last line
// each thread logs at error level; a line logged during the call is the
// plugin's reason, and the message behind vaccel_last_error() carries it:
// "<op>: plugin <name>: <reason>". Only lines logged after the call began
// count, so a stale line never explains a later failure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vaccel::core
{

// Error lines this thread has logged: a plain counter, read on every op
// before the plugin runs (one thread-local load).
inline thread_local uint64_t t_error_lines = 0;

// Where a plugin call begins; pass it to the functions below.
inline uint64_t error_mark() noexcept
{
	return t_error_lines;
}

// Records @p line, just logged at error level by this thread.
void note_error_line(std::string_view line) noexcept;

// The last error line this thread logged since @p mark, without the
// "[<plugin>] " tag plugins put on their log lines (the message names the
// plugin already); empty if none.
std::string plugin_reason(uint64_t mark, std::string_view plugin);

// "<what>: plugin <plugin>: <reason>", or "<what>: plugin <plugin>
// returned <rc>" when the plugin logged no reason since @p mark.
std::string plugin_failure(std::string_view what, std::string_view plugin,
			   int rc, uint64_t mark) noexcept;

} // namespace vaccel::core
