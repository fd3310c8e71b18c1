// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/error.h
 * Return codes of every C function. The values are the Linux errno numbers,
 * as upstream vAccel defines them, so programs may compare against either.
 * They are spelled as numbers so that this header pulls in no Linux-specific
 * header (<errno.h> includes <linux/errno.h>); a test checks each against
 * <errno.h>. Programs that use EINVAL & co. include <errno.h> themselves.
 */
#pragma once

enum {
	VACCEL_OK = 0,            /**< success */
	VACCEL_EINVAL = 22,       /**< invalid argument (EINVAL) */
	VACCEL_ENOMEM = 12,       /**< out of memory (ENOMEM) */
	VACCEL_ENOTSUP = 95,      /**< no plugin implements the op (ENOTSUP) */
	VACCEL_EINPROGRESS = 115, /**< operation in progress (EINPROGRESS) */
	VACCEL_EBUSY = 16,        /**< object busy, e.g. still in use (EBUSY) */
	VACCEL_EEXIST = 17,       /**< already exists (EEXIST) */
	VACCEL_ENOENT = 2,        /**< no such object or file (ENOENT) */
	VACCEL_ELIBBAD = 80,      /**< plugin library unusable (ELIBBAD) */
	VACCEL_ENODEV = 19,       /**< no such device (ENODEV) */
	VACCEL_EIO = 5,           /**< I/O error (EIO) */
	VACCEL_ESESS = 104,       /**< session error (ECONNRESET) */
	VACCEL_EBACKEND = 71,     /**< backend failure (EPROTO) */
	VACCEL_ENOEXEC = 8,       /**< bad executable format (ENOEXEC) */
	VACCEL_ENAMETOOLONG = 36, /**< name too long (ENAMETOOLONG) */
	VACCEL_EUSERS = 87,       /**< too many users (EUSERS) */
	VACCEL_EPERM = 1,         /**< not permitted (EPERM) */
	VACCEL_ELOOP = 40,        /**< too many symlinks (ELOOP) */
	VACCEL_EMLINK = 31,       /**< too many links (EMLINK) */
	VACCEL_ENOSPC = 28,       /**< no space left (ENOSPC) */
	VACCEL_ENOTDIR = 20,      /**< not a directory (ENOTDIR) */
	VACCEL_EROFS = 30,        /**< read-only file system (EROFS) */
	VACCEL_EACCES = 13,       /**< permission denied (EACCES) */
	VACCEL_EBADF = 9,         /**< bad file descriptor (EBADF) */
	VACCEL_EREMOTEIO = 121,   /**< remote I/O error (EREMOTEIO) */
	VACCEL_EFAULT = 14,       /**< bad address (EFAULT) */
	VACCEL_ERANGE = 34, /**< out of range, e.g. no more args (ERANGE) */
	VACCEL_EAGAIN = 11, /**< try again (EAGAIN) */
	VACCEL_ENOSYS = 38, /**< function not implemented (ENOSYS) */
};
