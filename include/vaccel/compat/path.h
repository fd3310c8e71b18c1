// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/compat/path.h
 * Path helpers that upstream vAccel's library exports. Same names,
 * signatures and return codes as upstream. Unlike upstream, nothing here
 * touches the network: a URL is recognised by its scheme alone.
 */
#pragma once

#include "../utils/path.h"
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Resolve @p uri (a "file://" URI, an http(s)/ftp URL or a plain path)
 *  into @p path (@p size bytes; may be NULL) and its kind (may be NULL, not
 *  both). A local path must exist. */
int path_init_from_uri(char *path, size_t size, vaccel_path_type_t *type,
		       const char *uri);
/** As path_init_from_uri(), into a malloc'd @p *path. */
int path_from_uri(char **path, vaccel_path_type_t *type, const char *uri);
/** True if @p path is an http(s) or ftp URL. */
bool path_is_url(const char *path);
/** The kind of @p path: a URL, an existing directory or an existing file;
 *  VACCEL_ENOTSUP otherwise. */
int path_type(const char *path, vaccel_path_type_t *type);
/** Join the NULL-terminated parts with '/' into @p path (@p size bytes). */
int path_init_from_parts(char *path, size_t size, const char *first_part, ...);
/** Join the NULL-terminated parts with '/' into a malloc'd @p *path. */
int path_from_parts(char **path, const char *first_part, ...);
/** The last component of @p path, into @p name (@p size bytes) or, if
 *  @p alloc_name is not NULL, a malloc'd @p *alloc_name. */
int path_file_name(const char *path, char *name, size_t size,
		   char **alloc_name);
/** Write @p base_path with @p suffix inserted before its file name's
 *  extension into @p path (@p size bytes); @p *ext_len gets the
 *  extension's length (0 if none). */
int path_file_name_add_random_suffix(char *path, size_t size, size_t *ext_len,
				     const char *base_path, const char *suffix);

#ifdef __cplusplus
}
#endif
