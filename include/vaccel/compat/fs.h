// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/compat/fs.h
 * File-system helpers that upstream vAccel's library exports and its
 * programs call (e.g. fs_file_read() to load an image). Same names,
 * signatures and return codes as upstream: VACCEL_OK, or a VACCEL_E* code
 * (the errno value) on failure. Paths are limited to PATH_MAX bytes.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Called by fs_dir_process_files() for each regular file; @p idx counts
 *  the files seen so far. Non-zero stops the walk. */
typedef int (*fs_path_callback_t)(const char *path, int idx, va_list args);

bool fs_path_exists(const char *path);
bool fs_path_is_dir(const char *path);
bool fs_path_is_file(const char *path);

/** Walk @p path recursively, calling @p func (may be NULL) on each regular
 *  file with the trailing arguments. @return the number of files, or a
 *  negated VACCEL_E* code (the callback's own code, negated, if it stops
 *  the walk). */
int fs_dir_process_files(const char *path, fs_path_callback_t func, ...);

/** Create @p path and its missing parents (mode 0700). VACCEL_EEXIST if it
 *  is a directory already, VACCEL_ENOTDIR if it is something else. */
int fs_dir_create(const char *path);
/** Create a directory named @p path plus a random suffix ("_XXXXXX", or
 *  "XXXXXX" inside @p path if it ends in '/'), creating parents. The name
 *  goes to a malloc'd @p *final_path, or back into @p path (of @p size
 *  bytes) when @p final_path is NULL. */
int fs_dir_create_unique(char *path, size_t size, char **final_path);
/** rmdir(2) @p path. */
int fs_dir_remove(const char *path);

/** Create the file @p path (0700, never overwriting); VACCEL_EEXIST if it
 *  exists. Its descriptor goes to @p *fd, or is closed if @p fd is NULL. */
int fs_file_create(const char *path, int *fd);
/** Create a file named @p path with "_XXXXXX" inserted before its
 *  extension; the name goes to @p *final_path (malloc'd) or back into
 *  @p path, as fs_dir_create_unique(). */
int fs_file_create_unique(char *path, size_t size, char **final_path, int *fd);
/** remove(3) @p path. */
int fs_file_remove(const char *path);

/** Read a whole non-empty file into a malloc'd buffer. */
int fs_file_read(const char *path, void **data, size_t *size);
/** Map a whole non-empty file privately (read/write, copy on write);
 *  munmap() it when done. */
int fs_file_read_mmap(const char *path, void **data, size_t *size);

#ifdef __cplusplus
}
#endif
