// SPDX-License-Identifier: Apache-2.0
#include "shared_buffers.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <vaccel/error.h>

namespace vaccel::core
{

Result<void *> SharedBuffers::allocate(size_t size)
{
	if (size == 0)
		return Status(VACCEL_EINVAL, "size 0");
	void *p = arena_.allocate_buffer(size);
	if (p == nullptr) {
		if (::posix_memalign(&p, HostArena::kAlign, size) != 0)
			return Status::error(VACCEL_ENOMEM,
					     "%zu bytes: out of memory", size);
		std::memset(p, 0, size); // zeroed, as the arena's are
	}
	try {
		std::lock_guard lock(mu_);
		live_.insert(p);
	} catch (const std::bad_alloc &) {
		if (!arena_.release(p))
			std::free(p);
		return Status::error(VACCEL_ENOMEM, "%zu bytes: out of memory",
				     size);
	}
	return p;
}

Status SharedBuffers::release(void *p)
{
	{
		std::lock_guard lock(mu_);
		if (live_.erase(p) == 0)
			return Status::error(VACCEL_EINVAL,
					     "%p is not a buffer from "
					     "vaccel_buffer_alloc() (or was "
					     "freed already)",
					     p);
	}
	if (!arena_.release(p))
		std::free(p);
	return Status::ok();
}

} // namespace vaccel::core
