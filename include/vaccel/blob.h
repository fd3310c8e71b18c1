// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/blob.h
 * A blob is one file or buffer of a resource: a name, optionally a path on
 * disk, optionally its bytes in memory.
 */
#pragma once

#include "utils/enum.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _ENUM_PREFIX VACCEL_BLOB
#define VACCEL_BLOB_TYPE_ENUM_LIST(VACCEL_ENUM_ITEM)                           \
	VACCEL_ENUM_ITEM(FILE, 0, _ENUM_PREFIX)                                \
	VACCEL_ENUM_ITEM(BUFFER, _ENUM_PREFIX)                                 \
	VACCEL_ENUM_ITEM(MAPPED, _ENUM_PREFIX)
/** vaccel_blob_type_t: FILE (path on disk), BUFFER (memory only), MAPPED
 *  (file whose bytes are mmap'd). */
VACCEL_ENUM_DEF_WITH_STR_FUNCS(vaccel_blob_type, _ENUM_PREFIX,
			       VACCEL_BLOB_TYPE_ENUM_LIST)
#undef _ENUM_PREFIX

struct vaccel_blob {
	vaccel_blob_type_t type;
	char *name;      /**< file name (basename) */
	char *path;      /**< file path; NULL for BUFFER blobs */
	bool path_owned; /**< release deletes the file at @c path */
	uint8_t *data;   /**< contents, or NULL if not read yet */
	/** the blob owns @c data (a copy, or the mapping of a file it owns);
	 *  false for borrowed bytes and for a file read by vaccel_blob_read().
	 *  Release frees owned data and unmaps every MAPPED blob's bytes. */
	bool data_owned;
	size_t size; /**< bytes in @c data (0 if not read) */
};

/**
 * Write a BUFFER blob's bytes to `dir/filename` (a random suffix is added if
 * @p randomize), turning it into a MAPPED blob that owns the file.
 * @return VACCEL_OK, VACCEL_EINVAL (NULL or empty blob, bad filename),
 * VACCEL_ENOENT (@p dir is NULL or not a directory), VACCEL_EEXIST (the blob
 * has a file already, or the file exists and !randomize), VACCEL_EIO /
 * errno codes. The codes and their order follow upstream vAccel.
 */
int vaccel_blob_persist(struct vaccel_blob *blob, const char *dir,
			const char *filename, bool randomize);

/** Init a FILE blob from an existing regular file (not read yet).
 *  @return VACCEL_OK, VACCEL_EINVAL (also for a missing file, as upstream),
 *  VACCEL_ENOMEM, errno codes of stat(). */
int vaccel_blob_init(struct vaccel_blob *blob, const char *path);

/**
 * Init a blob from memory. If @p dir is NULL the blob is a BUFFER blob named
 * @p filename whose data is @p buf (copied when @p own is true, borrowed
 * otherwise). If @p dir is given the bytes are written to `dir/filename`
 * (see vaccel_blob_persist()).
 */
int vaccel_blob_init_from_buf(struct vaccel_blob *blob, const uint8_t *buf,
			      size_t size, bool own, const char *filename,
			      const char *dir, bool randomize);

/** Free what the blob owns (data, and the file if path_owned). */
int vaccel_blob_release(struct vaccel_blob *blob);

/** Allocating forms; free with vaccel_blob_delete(). */
int vaccel_blob_new(struct vaccel_blob **blob, const char *path);
int vaccel_blob_from_buf(struct vaccel_blob **blob, const uint8_t *buf,
			 size_t size, bool own, const char *filename,
			 const char *dir, bool randomize);
int vaccel_blob_delete(struct vaccel_blob *blob);

/** Read (mmap) a FILE blob's bytes into @c data; the blob becomes MAPPED
 *  and data_owned stays false (upstream's rule). No-op if already read. */
int vaccel_blob_read(struct vaccel_blob *blob);

/** The blob's bytes (reading them if needed); @p size may be NULL.
 *  @return NULL on error. */
uint8_t *vaccel_blob_data(struct vaccel_blob *blob, size_t *size);

/** The blob's path, or NULL for buffer blobs. */
const char *vaccel_blob_path(struct vaccel_blob *blob);

/** True if @p blob is consistent (has a name; a path or data per type). */
bool vaccel_blob_valid(const struct vaccel_blob *blob);

#ifdef __cplusplus
}
#endif
