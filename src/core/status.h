// SPDX-License-Identifier: Apache-2.0
// The core's error idiom is base/status.h (Status, Result<T>); this header
// names them in vaccel::core and adds what only the core's C boundary needs.
#pragma once

#include "base/status.h"

#include <string>

namespace vaccel::core
{

using base::Result;
using base::Status;

// The integer a C caller stored in an enum. C may store any int there, but
// in C++ loading an enum outside its enumerators' range is undefined, so
// values that cross the C boundary are validated as plain integers.
template <class E> inline int enum_value(const E &e) noexcept
{
	static_assert(sizeof(E) == sizeof(int));
	int v;
	__builtin_memcpy(&v, &e, sizeof(v));
	return v;
}

// Per-thread message behind vaccel_last_error(); set on every failure path
// that returns a code to a C caller.
void set_thread_error(const std::string &message) noexcept;
const char *thread_error() noexcept;

} // namespace vaccel::core
