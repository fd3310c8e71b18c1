// SPDX-License-Identifier: Apache-2.0
// The compatibility key of the client library: VACCEL_COMPAT (or `compat` in
// the VACCEL_CONFIG file) = "upstream" asks for upstream vAccel's session
// routing (upstream_rules.h); "native" or nothing keeps ours. A program can
// pin the native rules (vaccel-agent does: a guest's wish must never change
// how the host routes): the key is then not read at all.
#pragma once

#include "core/status.h"

#include <string>

namespace vaccel::core
{

// "upstream" -> true, "native" / "" -> false, else VACCEL_EINVAL.
Result<bool> parse_compat(const std::string &value);

// Whether this program pinned the native rules (vaccel/ext.h,
// vaccel_compat_native_only).
bool compat_pinned_native() noexcept;

} // namespace vaccel::core
