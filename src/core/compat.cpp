// SPDX-License-Identifier: Apache-2.0
#include "core/compat.h"

#include <algorithm>
#include <cctype>

// Defined (and exported) by a program that must never take the upstream
// rules, whatever its environment says: vaccel-agent. Weak: absent in every
// other program.
extern "C" __attribute__((weak)) const int vaccel_compat_native_only;

namespace vaccel::core
{

Result<bool> parse_compat(const std::string &value)
{
	std::string v = value;
	std::transform(v.begin(), v.end(), v.begin(),
		       [](unsigned char c) { return std::tolower(c); });
	if (v == "upstream")
		return true;
	if (v == "native" || v.empty())
		return false;
	return Status::error(VACCEL_EINVAL,
			     "compat '%s' is not 'upstream' or 'native'",
			     value.c_str());
}

bool compat_pinned_native() noexcept
{
	return &vaccel_compat_native_only != nullptr &&
	       vaccel_compat_native_only != 0;
}

} // namespace vaccel::core
