// SPDX-License-Identifier: Apache-2.0
#include "core/log.h"

#include <cstring>
#include <ctime>
#include <sys/time.h>

namespace vaccel::core
{
namespace
{

const char *level_name(int level) noexcept
{
	switch (level) {
	case 1:
		return "error";
	case 2:
		return "warn";
	case 3:
		return "info";
	default:
		return "debug";
	}
}

} // namespace

Logger::~Logger()
{
	close();
}

bool Logger::open(const std::string &path)
{
	std::lock_guard lock(mu_);
	if (file_ != nullptr) {
		std::fclose(file_);
		file_ = nullptr;
	}
	if (path.empty())
		return true;
	file_ = std::fopen(path.c_str(), "ae");
	return file_ != nullptr;
}

void Logger::close()
{
	std::lock_guard lock(mu_);
	if (file_ != nullptr) {
		std::fclose(file_);
		file_ = nullptr;
	}
}

void Logger::vprint(int level, const char *file, int line, const char *fmt,
		    va_list ap) noexcept
{
	// Format outside the lock; one fputs per line keeps lines whole.
	char msg[1024];
	va_list copy;
	va_copy(copy, ap);
	int n = std::vsnprintf(msg, sizeof(msg), fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	write(level, file, line, msg, static_cast<size_t>(n) >= sizeof(msg));
}

void Logger::print(int level, const char *file, int line, const char *text,
		   bool truncated) noexcept
{
	write(level, file, line, text, truncated);
}

void Logger::write(int level, const char *file, int line, const char *msg,
		   bool truncated) noexcept
{
	struct timeval tv {
	};
	gettimeofday(&tv, nullptr);
	struct tm tm {
	};
	localtime_r(&tv.tv_sec, &tm);
	char stamp[40];
	std::strftime(stamp, sizeof(stamp), "%Y.%m.%d-%H:%M:%S", &tm);

	char out[1200];
	int len;
	if (level >= 4 && file != nullptr) {
		const char *base = std::strrchr(file, '/');
		len = std::snprintf(
		    out, sizeof(out), "%s.%02ld - <%s> %s%s [%s:%d]\n", stamp,
		    static_cast<long>(tv.tv_usec / 10000), level_name(level),
		    msg, truncated ? "..." : "",
		    base != nullptr ? base + 1 : file, line);
	} else {
		len = std::snprintf(
		    out, sizeof(out), "%s.%02ld - <%s> %s%s\n", stamp,
		    static_cast<long>(tv.tv_usec / 10000), level_name(level),
		    msg, truncated ? "..." : "");
	}
	if (len < 0)
		return;
	std::lock_guard lock(mu_);
	FILE *sink = file_ != nullptr ? file_ : stderr;
	std::fputs(out, sink);
	std::fflush(sink);
}

} // namespace vaccel::core
