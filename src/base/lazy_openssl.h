// SPDX-License-Identifier: Apache-2.0
// OpenSSL loaded on first use (lazy_openssl.cpp): whether it could be.
#pragma once

#include <string>

namespace vaccel::base
{

// Loads libcrypto and libssl if that was not done yet. Empty when both are
// in; otherwise why not (the dynamic loader's words), for an error that
// names the missing library instead of a crash in the first TLS call.
const std::string &openssl_load_error();

} // namespace vaccel::base
