// SPDX-License-Identifier: Apache-2.0
// The child processes of a process (an agent's tenant workers), from
// /proc: what the tests see of --isolate-tenants from outside.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <fstream>
#include <string>
#include <vector>

namespace agent_test
{

inline std::vector<pid_t> child_pids(pid_t parent)
{
	std::vector<pid_t> out;
	const std::string tasks = "/proc/" + std::to_string(parent) + "/task";
	DIR *d = ::opendir(tasks.c_str());
	if (d == nullptr)
		return out;
	while (dirent *e = ::readdir(d)) {
		std::ifstream f(tasks + "/" + e->d_name + "/children");
		for (pid_t p = 0; f >> p;)
			out.push_back(p);
	}
	::closedir(d);
	return out;
}

} // namespace agent_test
