// SPDX-License-Identifier: Apache-2.0
#include "core/plugin_path.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace vaccel::core
{
namespace
{

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "libvaccel-";
constexpr std::string_view kSuffix = ".so";

bool is_path(std::string_view entry)
{
	return entry.find('/') != std::string_view::npos;
}

bool is_file_name(std::string_view entry)
{
	return entry.find(kSuffix) != std::string_view::npos;
}

// Directory holding libvaccel.so.
std::string own_dir()
{
	Dl_info info{};
	if (dladdr(reinterpret_cast<void *>(&own_dir), &info) == 0 ||
	    info.dli_fname == nullptr)
		return {};
	std::error_code ec;
	const fs::path p = fs::canonical(info.dli_fname, ec);
	return (ec ? fs::path(info.dli_fname) : p).parent_path().string();
}

bool is_regular(const fs::path &p)
{
	std::error_code ec;
	return fs::is_regular_file(p, ec);
}

void add_dir(std::vector<SearchDir> &dirs, std::string path, const char *origin)
{
	if (path.empty())
		return;
	std::error_code ec;
	const fs::path canon = fs::weakly_canonical(path, ec);
	if (!ec)
		path = canon.string();
	for (const auto &d : dirs)
		if (d.path == path)
			return;
	dirs.push_back({std::move(path), origin});
}

} // namespace

std::string plugin_file_name(std::string_view entry)
{
	if (is_path(entry) || is_file_name(entry))
		return std::string(entry);
	if (entry.starts_with(kPrefix))
		return std::string(entry) + std::string(kSuffix);
	return std::string(kPrefix) + std::string(entry) + std::string(kSuffix);
}

std::vector<SearchDir> plugin_search_dirs(std::string_view ld_library_path,
					  const std::string &own)
{
	std::vector<SearchDir> dirs;
	size_t start = 0;
	while (start <= ld_library_path.size()) {
		size_t end = ld_library_path.find(':', start);
		if (end == std::string_view::npos)
			end = ld_library_path.size();
		add_dir(dirs,
			std::string(ld_library_path.substr(start, end - start)),
			"LD_LIBRARY_PATH");
		start = end + 1;
	}
	add_dir(dirs, own, "libvaccel's directory");
	return dirs;
}

std::vector<SearchDir> plugin_search_dirs()
{
	const char *env = std::getenv("LD_LIBRARY_PATH");
	return plugin_search_dirs(env != nullptr ? env : "", own_dir());
}

PluginLocation locate_plugin(std::string_view entry,
			     const std::vector<SearchDir> &dirs)
{
	const std::string file = plugin_file_name(entry);
	if (is_path(file))
		return {file, false};
	for (const auto &d : dirs) {
		fs::path p = fs::path(d.path) / file;
		if (is_regular(p))
			return {p.string(), false};
	}
	return {file, true};
}

std::vector<std::string> plugins_in(const std::string &dir)
{
	std::vector<std::string> out;
	std::error_code ec;
	for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
	     it.increment(ec)) {
		const std::string name = it->path().filename().string();
		if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix))
			continue;
		out.push_back(
		    name.substr(kPrefix.size(),
				name.size() - kPrefix.size() - kSuffix.size()));
	}
	std::sort(out.begin(), out.end());
	return out;
}

std::string plugin_not_found(std::string_view entry,
			     const std::vector<SearchDir> &dirs)
{
	const std::string file = plugin_file_name(entry);
	if (is_path(file))
		return "no such file";
	std::string where;
	std::vector<std::string> found;
	for (const auto &d : dirs) {
		where += d.path + " (" + d.origin + "), ";
		for (auto &p : plugins_in(d.path))
			if (std::find(found.begin(), found.end(), p) ==
			    found.end())
				found.push_back(std::move(p));
	}
	std::string msg = "no " + file + " " +
			  (where.empty() ? "" : "in " + where + "nor ") +
			  "on the system library path";
	if (found.empty())
		return msg + "; no plugins there";
	std::sort(found.begin(), found.end());
	msg += "; plugins there: ";
	for (size_t i = 0; i < found.size(); ++i)
		msg += (i == 0 ? "" : ", ") + found[i];
	return msg;
}

} // namespace vaccel::core
