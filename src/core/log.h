// SPDX-License-Identifier: Apache-2.0
// Thread-safe logger behind vaccel_log_print(). The level check is one
// relaxed atomic load so that disabled debug logging costs nothing on hot
// paths; writing takes a mutex so lines never interleave.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

namespace vaccel::core
{

class Logger
{
public:
	Logger() = default;
	~Logger();
	Logger(const Logger &) = delete;
	Logger &operator=(const Logger &) = delete;

	[[nodiscard]] bool enabled(int level) const noexcept
	{
		return level <= level_.load(std::memory_order_relaxed);
	}
	void set_level(int level) noexcept
	{
		level_.store(level, std::memory_order_relaxed);
	}
	// Empty path: stderr. Returns false (and keeps stderr) if it cannot
	// open.
	bool open(const std::string &path);
	void close();
	void vprint(int level, const char *file, int line, const char *fmt,
		    va_list ap) noexcept;
	// One message formatted already (@p truncated: cut to fit).
	void print(int level, const char *file, int line, const char *text,
		   bool truncated) noexcept;

private:
	void write(int level, const char *file, int line, const char *msg,
		   bool truncated) noexcept;

	std::atomic<int> level_{1}; // VACCEL_LOG_ERROR until configured
	std::mutex mu_;
	FILE *file_ = nullptr; // nullptr: stderr
};

} // namespace vaccel::core
