// SPDX-License-Identifier: Apache-2.0
/* vaccel/error.h spells the codes as numbers; upstream defines them from
 * <errno.h>. Both must agree, at compile time. */
#include <errno.h>
#include <vaccel/error.h>

#define SAME(code, errno_value)                                                \
	_Static_assert((code) == (errno_value),                                \
		       #code " must equal " #errno_value)

SAME(VACCEL_OK, 0);
SAME(VACCEL_EINVAL, EINVAL);
SAME(VACCEL_ENOMEM, ENOMEM);
SAME(VACCEL_ENOTSUP, ENOTSUP);
SAME(VACCEL_EINPROGRESS, EINPROGRESS);
SAME(VACCEL_EBUSY, EBUSY);
SAME(VACCEL_EEXIST, EEXIST);
SAME(VACCEL_ENOENT, ENOENT);
SAME(VACCEL_ELIBBAD, ELIBBAD);
SAME(VACCEL_ENODEV, ENODEV);
SAME(VACCEL_EIO, EIO);
SAME(VACCEL_ESESS, ECONNRESET);
SAME(VACCEL_EBACKEND, EPROTO);
SAME(VACCEL_ENOEXEC, ENOEXEC);
SAME(VACCEL_ENAMETOOLONG, ENAMETOOLONG);
SAME(VACCEL_EUSERS, EUSERS);
SAME(VACCEL_EPERM, EPERM);
SAME(VACCEL_ELOOP, ELOOP);
SAME(VACCEL_EMLINK, EMLINK);
SAME(VACCEL_ENOSPC, ENOSPC);
SAME(VACCEL_ENOTDIR, ENOTDIR);
SAME(VACCEL_EROFS, EROFS);
SAME(VACCEL_EACCES, EACCES);
SAME(VACCEL_EBADF, EBADF);
SAME(VACCEL_EREMOTEIO, EREMOTEIO);
SAME(VACCEL_EFAULT, EFAULT);
SAME(VACCEL_ERANGE, ERANGE);
SAME(VACCEL_EAGAIN, EAGAIN);
SAME(VACCEL_ENOSYS, ENOSYS);

int main(void)
{
	/* Also at run time, in case a libc defines these as variables. */
	return VACCEL_EINVAL == EINVAL && VACCEL_ENOTSUP == ENOTSUP ? 0 : 1;
}
