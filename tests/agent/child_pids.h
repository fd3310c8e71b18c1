// SPDX-License-Identifier: Apache-2.0
// The child processes of a process (an agent's tenant workers), from
// /proc: what the tests see of --isolate-tenants from outside.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace agent_test
{

// Every process whose parent is @p parent. By the ppid of each process
// rather than /proc/<parent>/task/*/children: those list a child under the
// thread that forked it, and a child whose forking thread has just ended
// (a connection's reader) is briefly listed under none.
inline std::vector<pid_t> child_pids(pid_t parent)
{
	std::vector<pid_t> out;
	DIR *d = ::opendir("/proc");
	if (d == nullptr)
		return out;
	while (dirent *e = ::readdir(d)) {
		char *end = nullptr;
		const long pid = std::strtol(e->d_name, &end, 10);
		if (*e->d_name == '\0' || *end != '\0')
			continue;
		std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
		std::string stat;
		std::getline(f, stat);
		// "pid (comm) state ppid ...": comm may hold spaces and ')'.
		const auto close = stat.rfind(')');
		if (close == std::string::npos)
			continue;
		char state = 0;
		long ppid = 0;
		std::istringstream rest(stat.substr(close + 1));
		if (rest >> state >> ppid && ppid == parent && state != 'Z')
			out.push_back(static_cast<pid_t>(pid));
	}
	::closedir(d);
	return out;
}

} // namespace agent_test
