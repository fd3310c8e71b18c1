// SPDX-License-Identifier: Apache-2.0
// The one way C entry points run C++ code: nothing unwinds across the C ABI.
// guard() runs a body returning Status (or int), catches everything, maps it
// to a vAccel code, records the message for vaccel_last_error() and logs it.
#pragma once

#include "core/status.h"

#include <new>
#include <type_traits>
#include <vaccel/error.h>

namespace vaccel::capi
{

// Per-thread message behind vaccel_last_error().
void set_last_error(int code, const char *fn,
		    const std::string &message) noexcept;
void clear_last_error() noexcept;
const char *last_error() noexcept;

// Returns the Status' code after recording (and logging at error level) its
// message, prefixed with the entry point's name.
int report(const char *fn, const core::Status &st) noexcept;

template <class F> int guard(const char *fn, F &&body) noexcept
{
	try {
		if constexpr (std::is_same_v<std::invoke_result_t<F>, int>) {
			return body();
		} else {
			core::Status st = body();
			if (st.is_ok())
				return VACCEL_OK;
			return report(fn, st);
		}
	} catch (const std::bad_alloc &) {
		return report(fn, core::Status(VACCEL_ENOMEM, "out of memory"));
	} catch (const std::exception &e) {
		return report(fn, core::Status(VACCEL_EINVAL, e.what()));
	} catch (...) {
		return report(fn,
			      core::Status(VACCEL_EINVAL, "unknown exception"));
	}
}

} // namespace vaccel::capi
