// SPDX-License-Identifier: Apache-2.0
#include "capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vaccel::agent
{

void make_undumpable() noexcept
{
	::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

core::Status drop_capabilities()
{
	// The bounding set needs CAP_SETPCAP to shrink: without it (not
	// root) there is nothing above the empty permitted set to limit.
	for (int cap = 0; cap <= CAP_LAST_CAP; ++cap)
		if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
		    errno != EPERM && errno != EINVAL)
			return core::Status::error(
			    VACCEL_EIO, "capabilities: bounding set: %s",
			    std::strerror(errno));
	::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	__user_cap_header_struct header{};
	header.version = _LINUX_CAPABILITY_VERSION_3;
	__user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
	if (::syscall(SYS_capset, &header, data) != 0)
		return core::Status::error(VACCEL_EIO,
					   "capabilities: capset: %s",
					   std::strerror(errno));
	return core::Status::ok();
}

} // namespace vaccel::agent
