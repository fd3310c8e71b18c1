// SPDX-License-Identifier: Apache-2.0
// How many threads of this process carry a name (pthread_setname_np): tests
// of components that start named threads of their own.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

inline int threads_named(const std::string &name)
{
	int n = 0;
	for (const auto &e :
	     std::filesystem::directory_iterator("/proc/self/task")) {
		std::ifstream f(e.path() / "comm");
		std::string comm;
		std::getline(f, comm);
		n += comm == name;
	}
	return n;
}

// Threads name themselves once they run: waits up to @p ms for @p want of
// them; returns the count seen last.
inline int wait_threads_named(const std::string &name, int want, int ms = 5000)
{
	int n = threads_named(name);
	for (int waited = 0; n < want && waited < ms; waited += 5) {
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
		n = threads_named(name);
	}
	return n;
}
