// SPDX-License-Identifier: Apache-2.0
// vaccel_shared_memory_*: the C face of core/host_arena.h.
#include "core/runtime.h"

#include <vaccel/error.h>
#include <vaccel/ext.h>

extern "C" {

int vaccel_shared_memory_enable(size_t min_bytes)
{
	vaccel::core::runtime().host_arena().enable(min_bytes);
	return VACCEL_OK;
}

int vaccel_shared_memory_adopt(void *base, size_t size, size_t offset,
			       size_t min_bytes)
{
	return vaccel::core::runtime().host_arena().adopt(base, size, offset,
							  min_bytes);
}

int vaccel_shared_memory_prewarm(size_t bytes)
{
	return vaccel::core::runtime().host_arena().prewarm(bytes);
}

int vaccel_shared_memory_find(const void *data, size_t len,
			      struct vaccel_shared_memory_place *place)
{
	if (place == nullptr ||
	    place->struct_size < sizeof(struct vaccel_shared_memory_place))
		return VACCEL_EINVAL;
	auto where = vaccel::core::runtime().host_arena().find(data, len);
	if (!where)
		return VACCEL_ENOENT;
	place->fd = where->fd;
	place->block = where->block;
	place->block_size = where->block_size;
	place->offset = where->offset;
	return VACCEL_OK;
}

} // extern "C"
