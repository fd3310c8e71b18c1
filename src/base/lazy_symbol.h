// SPDX-License-Identifier: Apache-2.0
// Libraries loaded on first use instead of at program start (lazy_curl.cpp,
// agent/lazy_microhttpd.cpp): the symbol lookup both do, typed.
#pragma once

#include <dlfcn.h>

namespace vaccel::base
{

// Points *@p out at @p lib's @p name; false when it has none.
template <class F> bool find_symbol(void *lib, const char *name, F *out)
{
	*out = reinterpret_cast<F>(dlsym(lib, name));
	return *out != nullptr;
}

} // namespace vaccel::base
