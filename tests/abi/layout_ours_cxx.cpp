// SPDX-License-Identifier: Apache-2.0
// layout_ours.c as C++ sees the headers: C++ plugins (and vaccel.hpp)
// must agree with C programs on every offset.
#include <cstddef>
#include <vaccel.h>

#define VACCEL_ABI_SIZE(s, size, align)                                        \
	static_assert(sizeof(struct s) == (size), "sizeof " #s);               \
	static_assert(alignof(struct s) == (align), "alignof " #s);
#define VACCEL_ABI_FIELD(s, f, off, size)                                      \
	static_assert(offsetof(struct s, f) == (off), "offset " #s "." #f);    \
	static_assert(sizeof(static_cast<struct s *>(nullptr)->f) == (size),   \
		      "size " #s "." #f);

#if defined(__x86_64__)
#include "upstream_layout.def"
#endif
