// SPDX-License-Identifier: Apache-2.0
#include "capi/funnel.h"
#include "core/dispatch.h"
#include "core/runtime.h"

#include <cstring>
#include <vaccel/ext.h>
#include <vaccel/plugin.h>

using vaccel::capi::guard;
using vaccel::core::runtime;
using vaccel::core::Status;

namespace
{

Status need_runtime()
{
	if (!runtime().initialized())
		return Status(VACCEL_ESESS, "vAccel is not initialized");
	return Status::ok();
}

} // namespace

extern "C" {

int vaccel_plugin_register_ops(struct vaccel_op *ops, size_t nr_ops)
{
	return guard(__func__, [&] {
		return runtime().plugins().register_ops(ops, nr_ops);
	});
}

int vaccel_plugin_load(const char *lib)
{
	return guard(__func__, [&]() -> Status {
		VACCEL_RETURN_IF_ERROR(need_runtime());
		if (lib == nullptr || *lib == '\0')
			return Status(VACCEL_EINVAL,
				      "plugin name is NULL or empty");
		Status st = runtime().plugins().load(
		    lib, runtime().config().version_ignore);
		vaccel::core::arm_exit_cleanup();
		return st;
	});
}

int vaccel_plugin_parse_and_load(const char *lib_str)
{
	return guard(__func__, [&]() -> Status {
		VACCEL_RETURN_IF_ERROR(need_runtime());
		if (lib_str == nullptr)
			return Status(VACCEL_EINVAL, "plugin list is NULL");
		Status st = runtime().plugins().load_list(
		    lib_str, runtime().config().version_ignore);
		vaccel::core::arm_exit_cleanup();
		return st;
	});
}

int vaccel_plugin_load_deferred(void)
{
	return guard(__func__, [&]() -> Status {
		VACCEL_RETURN_IF_ERROR(need_runtime());
		return runtime().load_deferred_plugins();
	});
}

size_t vaccel_plugin_count(void)
{
	return runtime().plugins().list().size();
}

int vaccel_plugin_describe(size_t index, struct vaccel_plugin_desc *desc)
{
	if (desc == nullptr || desc->struct_size < sizeof(vaccel_plugin_desc))
		return VACCEL_EINVAL;
	auto list = runtime().plugins().list();
	if (index >= list.size())
		return VACCEL_ERANGE;
	const auto *p = list[index];
	desc->name = p->name.c_str();
	desc->version = p->version.c_str();
	desc->vaccel_version = p->vaccel_version.c_str();
	desc->path = p->path.c_str();
	desc->type = p->type;
	desc->ops_mask = p->ops_mask();
	return VACCEL_OK;
}

size_t vaccel_plugin_failure_count(void)
{
	return runtime().plugins().failure_count();
}

int vaccel_plugin_failure_describe(size_t index,
				   struct vaccel_plugin_failure *failure)
{
	if (failure == nullptr ||
	    failure->struct_size < sizeof(vaccel_plugin_failure))
		return VACCEL_EINVAL;
	const auto *f = runtime().plugins().failure(index);
	if (f == nullptr)
		return VACCEL_ERANGE;
	failure->entry = f->entry.c_str();
	failure->message = f->status.message().c_str();
	failure->code = f->status.code();
	return VACCEL_OK;
}

int vaccel_plugin_get_op(const char *plugin_name, vaccel_op_type_t op,
			 void **func)
{
	if (plugin_name == nullptr || func == nullptr ||
	    static_cast<unsigned>(vaccel::core::enum_value(op)) >=
		VACCEL_OP_MAX)
		return VACCEL_EINVAL;
	const auto *p = runtime().plugins().find(plugin_name);
	if (p == nullptr)
		return VACCEL_ENOENT;
	if (p->ops[op] == nullptr)
		return VACCEL_ENOTSUP;
	*func = p->ops[op];
	return VACCEL_OK;
}

const char *vaccel_session_op_plugin(struct vaccel_session *sess,
				     vaccel_op_type_t op)
{
	if (!vaccel::core::live(sess) ||
	    static_cast<unsigned>(vaccel::core::enum_value(op)) >=
		VACCEL_OP_MAX)
		return nullptr;
	const auto *e = vaccel::core::find_op(sess, op);
	return e != nullptr ? e->plugin->name.c_str() : nullptr;
}

} // extern "C"
