// SPDX-License-Identifier: Apache-2.0
#include "core/status.h"

#include <cstdio>

namespace vaccel::core
{

Status Status::error(int code, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return {code, buf};
}

namespace
{
thread_local std::string t_error;
}

void set_thread_error(const std::string &message) noexcept
{
	try {
		t_error = message;
	} catch (...) {
		t_error.clear();
	}
}

const char *thread_error() noexcept
{
	return t_error.c_str();
}

} // namespace vaccel::core
