// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/buffer.h
 * Buffers for op arguments that can reach an agent without copies (an
 * extension of this implementation; programs that must also build against
 * upstream vAccel guard uses with `#ifdef VACCEL_HAS_BUFFER`).
 *
 * An argument of any op (vaccel_sgemm()'s matrices, vaccel_exec()'s and
 * vaccel_genop()'s args, an image, ...) that lies entirely inside one buffer
 * from vaccel_buffer_alloc() travels by reference where the transport can
 * do that: through the rpc plugin to a local agent (unix socket, shared
 * memory on), the agent reads inputs and writes outputs in the buffer
 * itself, with no copy on either side. Everywhere else (no transport, a
 * remote agent, shared memory off) the buffer is ordinary memory and the op
 * behaves exactly as with any other memory. Arguments in other memory are
 * copied as before, in the same call.
 */
#pragma once

#include <stddef.h>

#define VACCEL_HAS_BUFFER 1

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Allocate @p size bytes for op arguments, zeroed and aligned to 4096 bytes.
 * The memory comes from vAccel's shared memory when a transport enabled it
 * (vaccel_shared_memory_enable(); the rpc plugin does so when it loads with
 * a local agent), else from the C heap: a buffer allocated before such a
 * plugin loaded stays ordinary memory. After fork() a child's buffers are
 * its own copy, as with malloc().
 * @param size bytes (at least 1).
 * @param data out: the buffer; written only on success. Free it with
 *        vaccel_buffer_free(), never with free().
 * @return VACCEL_OK, VACCEL_EINVAL (@p size 0 or @p data NULL),
 *         VACCEL_ENOMEM.
 */
int vaccel_buffer_alloc(size_t size, void **data);

/**
 * Free a buffer from vaccel_buffer_alloc(). NULL is accepted and ignored.
 * @return VACCEL_OK, VACCEL_EINVAL (@p data is not a live buffer from
 *         vaccel_buffer_alloc(): nothing is freed).
 */
int vaccel_buffer_free(void *data);

#ifdef __cplusplus
}
#endif
