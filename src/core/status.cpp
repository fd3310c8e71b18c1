// SPDX-License-Identifier: Apache-2.0
#include "core/status.h"

namespace vaccel::core
{

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
