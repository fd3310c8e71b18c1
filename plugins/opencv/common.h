// SPDX-License-Identifier: Apache-2.0
// Shared by the opencv plugin's sources: the error type its internals throw
// and the op entry points turn into a vAccel code plus a logged message.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace ocv
{

class PluginError : public std::runtime_error
{
public:
	PluginError(int code, const std::string &msg)
	    : std::runtime_error(msg), code_(code)
	{
	}
	[[nodiscard]] int code() const noexcept { return code_; }

private:
	int code_;
};

__attribute__((format(printf, 1, 2))) inline std::string
strformat(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = std::vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	std::string out;
	if (n < 0) {
		out = fmt;
	} else if (static_cast<size_t>(n) < sizeof(small)) {
		out.assign(small, static_cast<size_t>(n));
	} else {
		out.resize(static_cast<size_t>(n) + 1);
		std::vsnprintf(out.data(), out.size(), fmt, ap2);
		out.resize(static_cast<size_t>(n));
	}
	va_end(ap2);
	return out;
}

// Throws PluginError(code, formatted message).
#define OCV_FAIL(code, ...)                                                    \
	throw ::ocv::PluginError((code), ::ocv::strformat(__VA_ARGS__))

} // namespace ocv
