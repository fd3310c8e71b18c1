// SPDX-License-Identifier: Apache-2.0
// vaccel_shared_memory_*: the C face of core/host_arena.h.
#include "core/runtime.h"

#include <vaccel/error.h>
#include <vaccel/ext.h>

namespace
{

bool place_usable(const struct vaccel_shared_memory_place *place)
{
	return place != nullptr &&
	       place->struct_size >= sizeof(struct vaccel_shared_memory_place);
}

void fill(struct vaccel_shared_memory_place *place,
	  const vaccel::core::HostArena::Place &where)
{
	place->fd = where.fd;
	place->block = where.block;
	place->block_size = where.block_size;
	place->offset = where.offset;
}

} // namespace

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

int vaccel_shared_memory_first_block(size_t bytes,
				     struct vaccel_shared_memory_place *place)
{
	if (!place_usable(place))
		return VACCEL_EINVAL;
	vaccel::core::HostArena::Place where;
	const int rc =
	    vaccel::core::runtime().host_arena().first_block(bytes, where);
	if (rc == VACCEL_OK)
		fill(place, where);
	return rc;
}

int vaccel_shared_memory_find(const void *data, size_t len,
			      struct vaccel_shared_memory_place *place)
{
	if (!place_usable(place))
		return VACCEL_EINVAL;
	auto where = vaccel::core::runtime().host_arena().find(data, len);
	if (!where)
		return VACCEL_ENOENT;
	fill(place, *where);
	return VACCEL_OK;
}

} // extern "C"
