// SPDX-License-Identifier: Apache-2.0
// SHA-256 (OpenSSL's libcrypto), as the exec policy names shared objects.
#pragma once

#include <string>
#include <string_view>

namespace vaccel::agent
{

// Lower-case hex digest of @p data.
std::string sha256_hex(std::string_view data);

} // namespace vaccel::agent
