// SPDX-License-Identifier: Apache-2.0
// Why a plugin call failed. Plugins, upstream's included, say why with
// vaccel_error() and return only a code, so the runtime keeps the last line
// each thread logs at error level; a line logged during the call is the
// plugin's reason, and the message behind vaccel_last_error() carries it:
// "<op>: plugin <name>: <reason>". Only lines logged after the call began
// count, so a stale line never explains a later failure.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace vaccel::core
{

// Error lines logged so far by every thread; each line gets the next
// number. Read on every op before the plugin runs: a plain load of a line
// written only when something fails (a thread-local would cost a
// __tls_get_addr call per op in a shared library).
inline std::atomic<uint64_t> g_error_lines{0};

// Where a plugin call begins; pass it to the functions below. A line this
// thread logs later gets a larger number, whatever other threads log.
inline uint64_t error_mark() noexcept
{
	return g_error_lines.load(std::memory_order_relaxed);
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
