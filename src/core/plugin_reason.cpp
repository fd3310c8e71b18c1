// SPDX-License-Identifier: Apache-2.0
#include "core/plugin_reason.h"

namespace vaccel::core
{

namespace
{
// The last error line of this thread and its number (g_error_lines).
thread_local std::string t_last_line;
thread_local uint64_t t_last_number = 0;
} // namespace

void note_error_line(std::string_view line) noexcept
{
	try {
		t_last_line.assign(line);
	} catch (...) {
		t_last_line.clear();
	}
	t_last_number =
	    g_error_lines.fetch_add(1, std::memory_order_relaxed) + 1;
}

std::string plugin_reason(uint64_t mark, std::string_view plugin)
{
	if (t_last_number <= mark)
		return {};
	std::string_view line = t_last_line;
	// A tag is the plugin's own name in brackets, then one space.
	if (!plugin.empty() && line.size() > plugin.size() + 3 &&
	    line[0] == '[' && line.substr(1, plugin.size()) == plugin &&
	    line.substr(plugin.size() + 1, 2) == "] ")
		line.remove_prefix(plugin.size() + 3);
	return std::string(line);
}

std::string plugin_failure(std::string_view what, std::string_view plugin,
			   int rc, uint64_t mark) noexcept
{
	try {
		std::string msg(what);
		msg += ": plugin ";
		msg += plugin;
		const std::string reason = plugin_reason(mark, plugin);
		if (reason.empty()) {
			msg += " returned ";
			msg += std::to_string(rc);
		} else {
			msg += ": ";
			msg += reason;
		}
		return msg;
	} catch (...) {
		return {};
	}
}

} // namespace vaccel::core
