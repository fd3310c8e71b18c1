// SPDX-License-Identifier: Apache-2.0
// `vaccel agent [args]`: replaces this process with the vaccel-agent
// binary, passing the arguments through untouched.
#include "cli.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vaccel_cli
{

namespace
{

// VACCEL_AGENT, else the vaccel-agent next to this binary (build tree
// bin/, or the install's bindir), else "" (search PATH).
std::string agent_path()
{
	if (const char *e = std::getenv("VACCEL_AGENT"); e != nullptr && *e)
		return e;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		std::string dir(self);
		dir.resize(dir.rfind('/'));
		std::string p = dir + "/vaccel-agent";
		if (access(p.c_str(), X_OK) == 0)
			return p;
	}
	return "";
}

} // namespace

int cmd_agent(const std::vector<std::string> &args)
{
	const std::string path = agent_path();
	std::vector<std::string> argv_s{path.empty() ? "vaccel-agent" : path};
	argv_s.insert(argv_s.end(), args.begin(), args.end());
	std::vector<char *> argv;
	for (auto &a : argv_s)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	std::fflush(nullptr);
	// exec() skips the exit-time cleanup: remove our runtime's run
	// directory now.
	vaccel_cleanup();
	if (path.empty())
		execvp("vaccel-agent", argv.data());
	else
		execv(path.c_str(), argv.data());
	die(kExitSetup, "cannot start " + argv_s[0] + ": " +
			    std::strerror(errno) +
			    " (install vaccel-agent next to vaccel or on PATH, "
			    "or set VACCEL_AGENT)");
}

} // namespace vaccel_cli
