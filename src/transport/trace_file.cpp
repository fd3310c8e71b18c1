// SPDX-License-Identifier: Apache-2.0
#include "transport/trace_file.h"

#include <vaccel/error.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

namespace vaccel::transport
{

base::Status TraceFile::open(const std::string &path, const char *header)
{
	close();
	std::FILE *f = path == "-" ? stderr : std::fopen(path.c_str(), "w");
	if (f == nullptr)
		return base::Status::error(VACCEL_EIO, "trace file %s: %s",
					   path.c_str(), std::strerror(errno));
	if (f != stderr)
		std::setvbuf(f, nullptr, _IOFBF, 1 << 16);
	std::lock_guard lock(mu_);
	owned_ = f != stderr;
	std::fputs(header, f);
	out_.store(f);
	return base::Status::ok();
}

void TraceFile::close() noexcept
{
	std::lock_guard lock(mu_);
	std::FILE *f = out_.exchange(nullptr);
	if (f == nullptr)
		return;
	if (owned_)
		std::fclose(f);
	else
		std::fflush(f);
}

void TraceFile::line(const char *fmt, ...) noexcept
{
	std::lock_guard lock(mu_);
	std::FILE *f = out_.load();
	if (f == nullptr)
		return;
	va_list ap;
	va_start(ap, fmt);
	std::vfprintf(f, fmt, ap);
	va_end(ap);
}

} // namespace vaccel::transport
