// SPDX-License-Identifier: Apache-2.0
// Where a plugin named in VACCEL_PLUGINS (or vaccel_plugin_load(), the CLI's
// --plugins, vaccel-vm's -p: all reach the runtime's loader) is found. One
// entry may be
//   - a short name:  "torch"               -> libvaccel-torch.so
//   - a file name:   "libvaccel-torch.so"  (anything with ".so" in it)
//   - a path:        "/opt/x/libfoo.so", "./libfoo.so" (anything with '/')
// A file name is looked for in each directory of LD_LIBRARY_PATH, then in
// the directory libvaccel.so was loaded from (so that a build or install
// tree works as it is), then by dlopen()'s own search (ld.so.cache, the
// system directories), which cannot be listed beforehand.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vaccel::core
{

// A directory the loader searches, and why, for messages.
struct SearchDir {
	std::string path;
	std::string origin; // "LD_LIBRARY_PATH", "libvaccel's directory"
};

// The file an entry names: "torch" -> "libvaccel-torch.so",
// "libvaccel-torch" -> "libvaccel-torch.so"; paths and file names as
// they are.
std::string plugin_file_name(std::string_view entry);

// The directories searched for file names, in order, without repeats:
// @p ld_library_path's (':'-separated; empty parts, which would mean the
// current directory, skipped) then @p own_dir.
std::vector<SearchDir> plugin_search_dirs(std::string_view ld_library_path,
					  const std::string &own_dir);
// The same for this process: LD_LIBRARY_PATH and libvaccel's directory.
std::vector<SearchDir> plugin_search_dirs();

// What to hand to dlopen() for an entry.
struct PluginLocation {
	std::string path;
	// Found in none of the searched directories: @c path is the bare file
	// name, for dlopen()'s search of the system directories.
	bool system_search = false;
};
PluginLocation locate_plugin(std::string_view entry,
			     const std::vector<SearchDir> &dirs);

// Short names of the plugins (libvaccel-NAME.so) in @p dir, sorted.
std::vector<std::string> plugins_in(const std::string &dir);

// Why @p entry was not found: each directory searched and the plugins
// there, e.g. "no libvaccel-x.so in /b/lib (libvaccel's directory), nor on
// the system library path; plugins there: exec, noop, rpc".
std::string plugin_not_found(std::string_view entry,
			     const std::vector<SearchDir> &dirs);

} // namespace vaccel::core
