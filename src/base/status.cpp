// SPDX-License-Identifier: Apache-2.0
#include "base/status.h"

#include <cstdio>

namespace vaccel::base
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

} // namespace vaccel::base
