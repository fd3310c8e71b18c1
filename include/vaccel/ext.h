// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/ext.h
 * Extensions of this implementation beyond upstream vAccel's API. Programs
 * that must also build against upstream should guard uses with
 * `#ifdef VACCEL_HAS_EXT`.
 */
#pragma once

#include "id.h"
#include "op.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VACCEL_HAS_EXT 1

#ifdef __cplusplus
extern "C" {
#endif

struct vaccel_session;

/**
 * Message of the last failed vAccel call made by this thread ("" if none),
 * like errno: successful calls do not clear it. The pointer is valid until
 * this thread's next failing call. Never NULL.
 */
const char *vaccel_last_error(void);

/**
 * Forget this thread's last error message (vaccel_last_error() then gives
 * ""), as setting errno to 0 before a call: a server that runs many
 * clients' calls on one thread clears it before each.
 */
void vaccel_clear_last_error(void);

/** Number of loaded plugins. */
size_t vaccel_plugin_count(void);

/** Description of a loaded plugin (see vaccel_plugin_describe()). */
struct vaccel_plugin_desc {
	size_t struct_size; /**< set by the caller to sizeof(struct ...) */
	const char *name;   /**< valid until cleanup */
	const char *version;
	const char *vaccel_version;
	const char *path;  /**< library it was loaded from */
	unsigned int type; /**< VACCEL_PLUGIN_* bits */
	uint64_t ops_mask; /**< bit N set: implements vaccel_op_type_t N */
};

/**
 * Describe the @p index-th loaded plugin (load order).
 * @return VACCEL_OK, VACCEL_EINVAL (NULL / bad struct_size), VACCEL_ERANGE.
 */
int vaccel_plugin_describe(size_t index, struct vaccel_plugin_desc *desc);

/** An entry of the plugin list that did not load (see below). */
struct vaccel_plugin_failure {
	size_t struct_size;  /**< set by the caller to sizeof(struct ...) */
	const char *entry;   /**< as listed ("torch", a path...); valid until
				cleanup */
	const char *message; /**< why it did not load */
	int code;            /**< its VACCEL_E* code */
};

/**
 * Number of entries of the plugin lists loaded since bootstrap (the
 * configuration's `plugins`, VACCEL_PLUGINS, vaccel_plugin_parse_and_load())
 * that failed to load and were skipped.
 */
size_t vaccel_plugin_failure_count(void);

/**
 * Describe the @p index-th such failure (in order) into @p failure.
 * @return VACCEL_OK, VACCEL_EINVAL (NULL / bad struct_size), VACCEL_ERANGE.
 */
int vaccel_plugin_failure_describe(size_t index,
				   struct vaccel_plugin_failure *failure);

/**
 * Deferred plugin loading, for programs that must answer before their
 * plugins are loaded (vaccel-agent listens while libtorch loads). A program
 * that defines and exports
 *
 *     const int vaccel_defer_plugin_loading = 1;
 *
 * (e.g. linked with -Wl,--export-dynamic-symbol=vaccel_defer_plugin_loading)
 * gets a bootstrap, the automatic one included, that keeps the configured
 * plugin list without loading it, and leaves vAccel's run directory for
 * later too; this call makes the directory, then loads the list. Until
 * then no plugin serves any op, vaccel_rundir() is empty and sessions and
 * resources cannot be made (VACCEL_EIO). Failures are recorded as at
 * bootstrap (vaccel_plugin_failure_count()).
 * @return VACCEL_OK (also when nothing was deferred or it was loaded
 *         already), the first failed entry's code, VACCEL_EIO when the run
 *         directory cannot be made, VACCEL_EINVAL when not initialized.
 */
int vaccel_plugin_load_deferred(void);

/**
 * Upstream vAccel's session routing, on request. By default each op of a
 * session goes to the first plugin, in the session's preference order, that
 * implements it. With VACCEL_COMPAT=upstream (or `compat = "upstream"` in the
 * VACCEL_CONFIG file), read at every bootstrap, a session gets one plugin
 * chosen by upstream's rules when it is created, vaccel_session_init() fails
 * with VACCEL_ENOTSUP when they choose none, and an op that plugin lacks
 * fails with VACCEL_ENOTSUP (docs/configuration.md). A program that defines
 * and exports
 *
 *     const int vaccel_compat_native_only = 1;
 *
 * (as vaccel-agent does) keeps the native routing: the key is not read.
 */

/**
 * The function a plugin registered for @p op (for tools and benchmarks that
 * call a backend directly). @return VACCEL_OK, VACCEL_EINVAL,
 * VACCEL_ENOENT (no such plugin), VACCEL_ENOTSUP (plugin lacks the op).
 */
int vaccel_plugin_get_op(const char *plugin_name, vaccel_op_type_t op,
			 void **func);

/**
 * Name of the plugin that serves @p op for @p sess under the routing rules,
 * or NULL if none does.
 */
const char *vaccel_session_op_plugin(struct vaccel_session *sess,
				     vaccel_op_type_t op);

/**
 * Makes the run directory of the session this process creates next, so that
 * vaccel_session_init() finds it made instead of waiting for the file
 * system (a mkdir, which on an overlay or journaled file system is a
 * visible part of a short-lived program's first result). For a thread with
 * nothing better to do: the agent calls it when a session ends, the rpc
 * plugin on its start-up thread. One directory is prepared at a time; a
 * session created meanwhile makes its own as before.
 * @return VACCEL_OK (made, made already, or not needed), VACCEL_ESESS
 *         (vAccel is not initialized).
 */
int vaccel_session_prepare_rundir(void);

/** Live sessions / resources in this process (for tools and tests). */
size_t vaccel_session_count(void);
size_t vaccel_resource_count(void);

/**
 * Shared memory for tensor data, for transports (zero-copy inputs).
 *
 * Once enabled (by a transport plugin, e.g. the rpc plugin on a unix
 * socket), the data of tensors of at least @p min_bytes that vAccel
 * allocates (vaccel_torch_tensor_allocate() and its tf/tflite forms) lives
 * in memfd-backed shared memory, which the transport can hand to a local
 * peer by block and offset instead of copying it on every call. Nothing
 * changes for programs: release/delete free such data, take_data() returns
 * a malloc'd copy, and after fork() the child's tensors are its own copy as
 * with ordinary memory. Cannot be disabled; the smallest @p min_bytes wins.
 * @return VACCEL_OK.
 */
int vaccel_shared_memory_enable(size_t min_bytes);

/**
 * Shared memory that a transport mapped itself, for tensor data and
 * buffers (vaccel_buffer_alloc()), instead of memfds: inside a VM, the
 * memory the host shares with the guest is a device (the rpc plugin adopts
 * the VM's ivshmem BAR). vAccel's shared memory then comes from
 * [@p base + @p offset, @p base + @p size) only, and what does not fit
 * there from the C heap. The mapping must stay for the process's life.
 * Enables shared memory as vaccel_shared_memory_enable(@p min_bytes) does.
 * @return VACCEL_OK, VACCEL_EINVAL (NULL @p base, @p offset not below
 *         @p size, or either not aligned to 4096 bytes), VACCEL_EEXIST
 *         (shared memory is in use already: memfds, or adopted memory).
 */
int vaccel_shared_memory_adopt(void *base, size_t size, size_t offset,
			       size_t min_bytes);

/**
 * Gives the first @p bytes (at most 64 MiB) of vAccel's shared memory their
 * pages now, so that the first tensors allocated there need none: a new
 * process's first allocation otherwise waits while the kernel allocates
 * and zeroes every page of it. Takes as long as that would, so call it
 * from a thread of your own while the program starts; the rpc plugin does
 * so on its start-up thread (VACCEL_RPC_START_AHEAD, VACCEL_RPC_SHM_PREWARM).
 * The memory counts as the process's from then on. Allocations made
 * meanwhile are safe. Where the kernel cannot populate memory (before
 * Linux 5.14), the pages come by faults as before.
 * @return VACCEL_OK, VACCEL_ENOTSUP (shared memory is off, or adopted
 *         device memory), VACCEL_ENOMEM (no memfd could be made).
 */
int vaccel_shared_memory_prewarm(size_t bytes);

/** Where bytes in vAccel's shared memory lie (vaccel_shared_memory_find()). */
struct vaccel_shared_memory_place {
	size_t struct_size; /**< set by the caller to sizeof(struct ...) */
	/** the memfd, vAccel's, open for the process's life; -1 for adopted
	 * memory (vaccel_shared_memory_adopt()), whose offset counts from the
	 * adopted base */
	int fd;
	uint64_t block;    /**< id of that memfd in this process (1, 2, ...) */
	size_t block_size; /**< its size in bytes (sealed against shrinking) */
	size_t offset;     /**< where the bytes start in it */
};

/**
 * Makes the first block of vAccel's shared memory now, of at least @p bytes
 * (and at least 16 MiB), if there is none, and says where it is (*@p place:
 * its memfd, id and size, offset 0). For a transport that maps that memory
 * on its peer ahead of the first tensors allocated there (the rpc plugin
 * does so with its connection at load). An allocation larger than what is
 * left of the block goes to another block. Gives the block no pages
 * (vaccel_shared_memory_prewarm() does). In a forked child whose copy of
 * the block could not be made a memfd again, fd is -1: nothing to map.
 * @return VACCEL_OK, VACCEL_EINVAL (NULL @p place or a wrong struct_size),
 *         VACCEL_ENOTSUP (shared memory is off, or adopted device memory),
 *         VACCEL_ENOMEM (no memfd could be made).
 */
int vaccel_shared_memory_first_block(size_t bytes,
				     struct vaccel_shared_memory_place *place);

/**
 * Whether [@p data, @p data + @p len) lies inside one allocation from
 * vAccel's shared memory, and where.
 * @return VACCEL_OK (and *@p place filled), VACCEL_ENOENT (ordinary memory),
 *         VACCEL_EINVAL (NULL @p place or a wrong struct_size).
 */
int vaccel_shared_memory_find(const void *data, size_t len,
			      struct vaccel_shared_memory_place *place);

#ifdef __cplusplus
}
#endif
