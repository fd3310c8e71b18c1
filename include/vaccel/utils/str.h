// SPDX-License-Identifier: Apache-2.0
/** @file vaccel/utils/str.h  String helpers used by the enum helpers. */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Lower-case an ASCII string.
 *
 * @param str          in: NUL-terminated source; must not be NULL.
 * @param lower        out: caller buffer of @p size bytes; unused when
 *                     @p alloc_lower is given.
 * @param size         size of @p lower in bytes.
 * @param alloc_lower  out, may be NULL: if given, receives a newly malloc'd
 *                     lower-case copy that the caller frees.
 * @return VACCEL_OK, also when @p lower is too small: it then holds the
 *         truncated, terminated prefix (as upstream vAccel); VACCEL_EINVAL
 *         for NULL @p str or no output given; VACCEL_ENOMEM.
 */
int vaccel_str_to_lower(const char *str, char *lower, size_t size,
			char **alloc_lower);

#ifdef __cplusplus
}
#endif
