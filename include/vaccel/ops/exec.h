// SPDX-License-Identifier: Apache-2.0
/** @file vaccel/ops/exec.h  Call a function of a shared library. */
#pragma once

#include "../arg.h"
#include "../resource.h"
#include "../session.h"
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Have the plugin dlopen() @p library and call its @p fn_symbol with the
 * args, i.e. `int fn(struct vaccel_arg *read, size_t nr_read,
 * struct vaccel_arg *write, size_t nr_write)`.
 * @param library, fn_symbol in, not NULL.
 * @param read     in: @p nr_read args the function reads (NULL if 0).
 * @param write    in/out: @p nr_write args it fills (NULL if 0).
 * The args stay owned by the caller.
 * @return VACCEL_OK; VACCEL_EINVAL; VACCEL_ENOTSUP if no plugin implements
 *         exec; else the plugin's or the function's code.
 */
int vaccel_exec(struct vaccel_session *sess, const char *library,
		const char *fn_symbol, struct vaccel_arg *read, size_t nr_read,
		struct vaccel_arg *write, size_t nr_write);

/**
 * As vaccel_exec(), with the library given by @p resource (a
 * VACCEL_RESOURCE_LIB resource registered with @p sess).
 * @return as vaccel_exec(); VACCEL_EPERM if @p resource is not registered
 *         with @p sess.
 */
int vaccel_exec_with_resource(struct vaccel_session *sess,
			      struct vaccel_resource *resource,
			      const char *fn_symbol, struct vaccel_arg *read,
			      size_t nr_read, struct vaccel_arg *write,
			      size_t nr_write);

#ifdef __cplusplus
}
#endif
