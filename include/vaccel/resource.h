// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/resource.h
 * Resources: models, libraries and data that ops use. A resource is created
 * from a file, a directory, several files, a URL (fetched with libcurl), a
 * buffer or blobs; it is then registered with one or more sessions.
 * Releasing it unregisters it from them first (as upstream vAccel).
 */
#pragma once

#include "blob.h"
#include "id.h"
#include "list.h"
#include "utils/enum.h"
#include "utils/layout.h"
#include "utils/path.h"
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _ENUM_PREFIX VACCEL_RESOURCE
#define VACCEL_RESOURCE_TYPE_ENUM_LIST(VACCEL_ENUM_ITEM)                       \
	VACCEL_ENUM_ITEM(LIB, 0, _ENUM_PREFIX)                                 \
	VACCEL_ENUM_ITEM(DATA, _ENUM_PREFIX)                                   \
	VACCEL_ENUM_ITEM(MODEL, _ENUM_PREFIX)
/** vaccel_resource_type_t: LIB=0, DATA=1, MODEL=2. */
VACCEL_ENUM_DEF_WITH_STR_FUNCS(vaccel_resource_type, _ENUM_PREFIX,
			       VACCEL_RESOURCE_TYPE_ENUM_LIST)
#undef _ENUM_PREFIX

struct vaccel_session;
struct vaccel_resource_state;

/** A resource. Fields are read-only for programs and plugins; the runtime
 *  owns them between init and release. The layout is upstream vAccel's,
 *  field for field (see docs/c-api.md, "Binary compatibility"): this
 *  library keeps its state behind @c state, in the slot of upstream's list
 *  entry, keeps @c sessions an empty list and @c refcount up to date, and
 *  leaves @c sessions_lock zero. */
struct vaccel_resource {
	vaccel_id_t id;        /**< > 0 once initialized */
	vaccel_id_t remote_id; /**< id on a remote agent, set by transports */
	vaccel_resource_type_t type;
	vaccel_path_type_t path_type;
	char **paths; /**< the paths/URLs it was created from */
	size_t nr_paths;
	char *rundir; /**< private directory for its files; may be NULL */
	struct vaccel_blob **blobs; /**< its files, in path order */
	size_t nr_blobs;
	union {
		/** runtime-private */
		struct vaccel_resource_state *state;
		/** upstream's name for this slot; unused here */
		struct vaccel_list_entry entry;
	};
	/** upstream's list of sessions: kept empty, a head pointing at
	 *  itself */
	struct vaccel_list_entry sessions;
	/** unused here; sized as upstream's session-list lock */
	struct vaccel_mutex_slot sessions_lock;
	/** sessions it is registered with, as vaccel_resource_refcount()
	 *  returns it; written atomically by the runtime */
	unsigned int refcount;
	void *plugin_priv; /**< for the plugin that mirrors it remotely */
};

/** Find a live resource by id. @return VACCEL_OK, VACCEL_EINVAL, VACCEL_ENOENT.
 */
int vaccel_resource_get_by_id(struct vaccel_resource **res, vaccel_id_t id);

/** First live resource (lowest id) of @p type. VACCEL_ENOENT if none. */
int vaccel_resource_get_by_type(struct vaccel_resource **res,
				vaccel_resource_type_t type);

/** All live resources of @p type, in a malloc'd array the caller frees.
 *  VACCEL_ENOENT (and *nr_found = 0) if none. */
int vaccel_resource_get_all_by_type(struct vaccel_resource ***res,
				    size_t *nr_found,
				    vaccel_resource_type_t type);

/** Number of sessions @p res is registered with; -VACCEL_EINVAL for NULL. */
long int vaccel_resource_refcount(const struct vaccel_resource *res);

/**
 * Init a resource from @p path: a local file, a local directory (every
 * regular file in it becomes a blob), or an http(s):// URL, downloaded
 * into the resource's rundir (timeout: VACCEL_RESOURCE_FETCH_TIMEOUT seconds,
 * default 30). @return VACCEL_OK, VACCEL_EINVAL (also for a local path that
 * does not exist, as upstream), VACCEL_ENOENT (a directory with no files),
 * VACCEL_EIO, VACCEL_ENOMEM.
 */
int vaccel_resource_init(struct vaccel_resource *res, const char *path,
			 vaccel_resource_type_t type);

/** Init from @p nr_paths files or URLs (all of one kind). */
int vaccel_resource_init_multi(struct vaccel_resource *res, const char **paths,
			       size_t nr_paths, vaccel_resource_type_t type);

/**
 * Init from @p nr_bytes at @p buf (copied). With @p mem_only the bytes stay
 * in memory; otherwise they are also written to `rundir/filename` so that
 * backends needing a path can use it. @p filename may be NULL ("file").
 */
int vaccel_resource_init_from_buf(struct vaccel_resource *res, const void *buf,
				  size_t nr_bytes, vaccel_resource_type_t type,
				  const char *filename, bool mem_only);

/** Init from existing blobs (copied into the resource). */
int vaccel_resource_init_from_blobs(struct vaccel_resource *res,
				    const struct vaccel_blob **blobs,
				    size_t nr_blobs,
				    vaccel_resource_type_t type);

/** Release a resource, unregistering it from every session it is still
 *  registered with (as upstream; the plugins' unregister hooks run). The
 *  struct is zeroed, id included. @return VACCEL_OK; VACCEL_EINVAL (NULL or
 *  not initialized, e.g. released twice). */
int vaccel_resource_release(struct vaccel_resource *res);

/** Allocating forms of the init functions; free with vaccel_resource_delete().
 */
int vaccel_resource_new(struct vaccel_resource **res, const char *path,
			vaccel_resource_type_t type);
int vaccel_resource_multi_new(struct vaccel_resource **res, const char **paths,
			      size_t nr_paths, vaccel_resource_type_t type);
int vaccel_resource_from_buf(struct vaccel_resource **res, const void *buf,
			     size_t nr_bytes, vaccel_resource_type_t type,
			     const char *filename, bool mem_only);
int vaccel_resource_from_blobs(struct vaccel_resource **res,
			       const struct vaccel_blob **blobs,
			       size_t nr_blobs, vaccel_resource_type_t type);
int vaccel_resource_delete(struct vaccel_resource *res);

/** Register @p res with @p sess (and with the session's transport plugin,
 *  if any). @return VACCEL_OK, VACCEL_EINVAL, VACCEL_EEXIST if already
 *  registered with it, or the plugin's error (nothing is registered then). */
int vaccel_resource_register(struct vaccel_resource *res,
			     struct vaccel_session *sess);

/** Undo vaccel_resource_register(). VACCEL_EPERM if not registered. */
int vaccel_resource_unregister(struct vaccel_resource *res,
			       struct vaccel_session *sess);

/** Ask the session's transport plugin to refresh @p res from the remote side
 *  (no-op locally). */
int vaccel_resource_sync(struct vaccel_resource *res,
			 struct vaccel_session *sess);

/**
 * Directory of a resource made from a directory. Copies it into
 * @p out_path (of @p out_path_size bytes) or, when @p alloc_path is not NULL,
 * returns a malloc'd copy there. @return VACCEL_OK, VACCEL_EINVAL
 * (not a directory resource, or no output), VACCEL_ENAMETOOLONG.
 */
int vaccel_resource_directory(struct vaccel_resource *res, char *out_path,
			      size_t out_path_size, char **alloc_path);

#ifdef __cplusplus
}
#endif
