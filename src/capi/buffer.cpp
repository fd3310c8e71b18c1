// SPDX-License-Identifier: Apache-2.0
// vaccel_buffer_*: the C face of core/shared_buffers.h.
#include "capi/funnel.h"
#include "core/runtime.h"

#include <vaccel/buffer.h>
#include <vaccel/error.h>

using vaccel::capi::guard;
using vaccel::core::runtime;
using vaccel::core::Status;

extern "C" {

int vaccel_buffer_alloc(size_t size, void **data)
{
	return guard("vaccel_buffer_alloc", [&]() -> Status {
		if (data == nullptr)
			return Status(VACCEL_EINVAL, "data is NULL");
		auto p = runtime().buffers().allocate(size);
		if (!p)
			return p.status();
		*data = *p;
		return Status::ok();
	});
}

int vaccel_buffer_free(void *data)
{
	if (data == nullptr)
		return VACCEL_OK;
	return guard("vaccel_buffer_free",
		     [&] { return runtime().buffers().release(data); });
}

} // extern "C"
