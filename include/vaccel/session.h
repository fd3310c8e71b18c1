// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/session.h
 * Sessions: the context every op runs in. The session's @c hint (a
 * VACCEL_PLUGIN_* bitmask) orders the loaded plugins: plugins whose type
 * matches come first, then the rest, each group in load order. Each op goes
 * to the first plugin in that order that implements it.
 */
#pragma once

#include "id.h"
#include "list.h"
#include "resource.h"
#include "utils/layout.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vaccel_plugin;
struct vaccel_session_state;

/** Bytes of vaccel_session::rundir, NUL included: Linux's PATH_MAX, as
 * upstream sizes it. */
#define VACCEL_SESSION_RUNDIR_MAX 4096

/*
 * The layout is upstream vAccel's, field for field, so that binaries built
 * against upstream's headers read the same offsets (see docs/c-api.md,
 * "Binary compatibility"). The fields between @c rundir and @c plugin are
 * upstream's own bookkeeping: this library keeps its state behind @c state,
 * which shares the first of them, keeps the resource lists empty and
 * leaves the rest zero.
 */
struct vaccel_session {
	vaccel_id_t id;        /**< > 0 once initialized */
	vaccel_id_t remote_id; /**< id on a remote agent, set by transports */
	unsigned int hint;     /**< plugin preference, VACCEL_PLUGIN_* bits */
	bool is_virtio;        /**< served by a transport plugin */
	/** private directory of the session; empty when not initialized */
	char rundir[VACCEL_SESSION_RUNDIR_MAX];
	union {
		/** runtime-private */
		struct vaccel_session_state *state;
		/** upstream's name for this slot; unused here */
		struct vaccel_list_entry entry;
	};
	/** upstream's per-type resource lists: kept empty (heads pointing at
	 *  themselves); this library lists resources elsewhere */
	struct vaccel_list_entry resources[VACCEL_LAYOUT_RESOURCE_SLOTS];
	/** unused here; sized as upstream's per-type resource counts */
	size_t resource_counts[VACCEL_LAYOUT_RESOURCE_SLOTS];
	/** unused here; sized as upstream's resource-list lock */
	struct vaccel_mutex_slot resources_lock;
	struct vaccel_plugin *plugin; /**< first plugin in preference order */
	void *priv;                   /**< for the transport plugin */
};

/** Find a live session by id. @return VACCEL_OK, VACCEL_EINVAL, VACCEL_ENOENT.
 */
int vaccel_session_get_by_id(struct vaccel_session **sess, vaccel_id_t id);

/**
 * Initialize @p sess with plugin hint @p flags. Works without any plugin
 * loaded (ops then return VACCEL_ENOTSUP). If the preferred plugin has a
 * session_init hook it is called. @return VACCEL_OK, VACCEL_EINVAL,
 * VACCEL_ENOMEM, VACCEL_ESESS (runtime not initialized), or the hook's code.
 */
int vaccel_session_init(struct vaccel_session *sess, uint32_t flags);

/** Release a session, unregistering the resources still registered with it
 *  first (as upstream vAccel). The struct is zeroed, id included.
 *  @return VACCEL_OK; VACCEL_EINVAL (NULL, not initialized, released twice).
 */
int vaccel_session_release(struct vaccel_session *sess);

/** Allocating forms; free with vaccel_session_delete(). */
int vaccel_session_new(struct vaccel_session **sess, uint32_t flags);
int vaccel_session_delete(struct vaccel_session *sess);

/** True if @p res is registered with @p sess. */
bool vaccel_session_has_resource(struct vaccel_session *sess,
				 struct vaccel_resource *res);

/** The resource with id @p id registered with @p sess. VACCEL_ENOENT if none.
 */
int vaccel_session_resource_by_id(struct vaccel_session *sess,
				  struct vaccel_resource **res, vaccel_id_t id);

/** The first (earliest registered) resource of @p type in @p sess. */
int vaccel_session_resource_by_type(struct vaccel_session *sess,
				    struct vaccel_resource **res,
				    vaccel_resource_type_t type);

/** All resources of @p type in @p sess, in a malloc'd array the caller frees.
 */
int vaccel_session_resources_by_type(struct vaccel_session *sess,
				     struct vaccel_resource ***resources,
				     size_t *nr_found,
				     vaccel_resource_type_t type);

/** Change the hint; the op routing follows. Transport hooks stay with the
 *  plugin chosen at init. Must not run concurrently with ops or other
 *  updates on the same session (the hint is a plain field). */
int vaccel_session_update(struct vaccel_session *sess, uint32_t flags);

/* Deprecated upstream spellings. */
__attribute__((deprecated("use vaccel_session_init()"))) int
vaccel_sess_init(struct vaccel_session *sess, uint32_t flags);
__attribute__((deprecated("use vaccel_session_update()"))) int
vaccel_sess_update(struct vaccel_session *sess, uint32_t flags);
__attribute__((deprecated("use vaccel_session_release()"))) int
vaccel_sess_free(struct vaccel_session *sess);
__attribute__((deprecated("use vaccel_session_has_resource()"))) bool
vaccel_sess_has_resource(struct vaccel_session *sess,
			 struct vaccel_resource *res);

#ifdef __cplusplus
}
#endif
