// SPDX-License-Identifier: Apache-2.0
// Shared fixture of the plugin tests: the runtime, bootstrapped with only
// the plugin under test, and one session.
#pragma once

#include <gtest/gtest.h>
#include <vaccel.h>

#include <cstdint>
#include <string>

namespace vaccel_test
{

// Restarts the runtime with @p plugins (':'-separated) and no other config.
inline void restart_runtime(const char *plugins)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init(&cfg, plugins, VACCEL_LOG_ERROR, nullptr,
				     false, false),
		  VACCEL_OK);
	int rc = vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	ASSERT_EQ(rc, VACCEL_OK);
	ASSERT_EQ(vaccel_plugin_count(), 1U);
}

class PluginTest : public ::testing::Test
{
protected:
	explicit PluginTest(const char *plugin) : plugin_(plugin) {}

	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(restart_runtime(plugin_));
		ASSERT_EQ(vaccel_session_init(&sess_, 0), VACCEL_OK);
	}

	void TearDown() override
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	}

	// A resource registered with the session; released by the caller
	// through release().
	void make_resource(vaccel_resource *res, const std::string &path,
			   vaccel_resource_type_t type)
	{
		ASSERT_EQ(vaccel_resource_init(res, path.c_str(), type),
			  VACCEL_OK);
		ASSERT_EQ(vaccel_resource_register(res, &sess_), VACCEL_OK);
	}

	void release(vaccel_resource *res)
	{
		EXPECT_EQ(vaccel_resource_unregister(res, &sess_), VACCEL_OK);
		EXPECT_EQ(vaccel_resource_release(res), VACCEL_OK);
	}

	// An int32 argument viewing @p v.
	static vaccel_arg i32_arg(int32_t *v)
	{
		vaccel_arg a{};
		a.buf = v;
		a.size = sizeof(*v);
		a.type = VACCEL_ARG_INT32;
		return a;
	}

	const char *plugin_;
	vaccel_session sess_{};
};

} // namespace vaccel_test
