// SPDX-License-Identifier: Apache-2.0
/*
 * Small helpers shared by the example programs, so that each example shows
 * only the vAccel calls it is about.
 */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Read a whole file into a malloc'd buffer the caller frees. Prints why on
 * failure. @return 0 or a VACCEL_E* code. */
int example_read_file(const char *path, void **data, size_t *size);

/* The iteration count in argv[idx] if present (default 1). Prints and
 * returns -1 if it is not a non-negative number. */
int example_iterations(int argc, char *argv[], int idx);

#ifdef __cplusplus
}
#endif
