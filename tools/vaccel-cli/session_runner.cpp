// SPDX-License-Identifier: Apache-2.0
#include "session_runner.h"

namespace vaccel_cli
{

namespace
{

std::string loaded_plugin_names()
{
	std::string out;
	for (size_t i = 0; i < vaccel_plugin_count(); i++) {
		vaccel_plugin_desc d{};
		d.struct_size = sizeof(d);
		if (vaccel_plugin_describe(i, &d) != VACCEL_OK)
			break;
		out += (out.empty() ? "" : ", ") + std::string(d.name);
	}
	return out.empty() ? "none" : out;
}

} // namespace

SessionRunner::SessionRunner(vaccel_op_type_t type, uint32_t hint)
    : OpRunner(type)
{
	int rc = vaccel_session_init(&sess_, hint);
	if (rc != VACCEL_OK)
		die(kExitSetup, "cannot create a vAccel session: " +
				    std::string(error_name(rc)) + ": " +
				    vaccel_last_error());
	live_ = true;
	if (vaccel_session_op_plugin(&sess_, type) == nullptr) {
		release();
		die(kExitSetup, "no loaded plugin implements " + op_name(type) +
				    " (loaded: " + loaded_plugin_names() +
				    "); set VACCEL_PLUGINS or use --plugins / "
				    "--remote");
	}
}

void SessionRunner::release()
{
	for (auto *r : resources_) {
		vaccel_resource_unregister(r, &sess_);
		vaccel_resource_delete(r);
	}
	resources_.clear();
	if (live_)
		vaccel_session_release(&sess_);
	live_ = false;
}

vaccel_resource *SessionRunner::add_resource(const std::string &path,
					     vaccel_resource_type_t t)
{
	vaccel_resource *r = nullptr;
	int rc = vaccel_resource_new(&r, path.c_str(), t);
	if (rc != VACCEL_OK)
		die(kExitSetup, "cannot load " + path + ": " + error_name(rc) +
				    ": " + vaccel_last_error());
	rc = vaccel_resource_register(r, &sess_);
	if (rc != VACCEL_OK) {
		std::string msg = vaccel_last_error();
		vaccel_resource_delete(r);
		die(kExitSetup, "cannot register " + path + ": " +
				    error_name(rc) + ": " + msg);
	}
	resources_.push_back(r);
	return r;
}

} // namespace vaccel_cli
