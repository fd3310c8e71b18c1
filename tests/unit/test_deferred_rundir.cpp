// SPDX-License-Identifier: Apache-2.0
// A program that defers its plugins (vaccel_defer_plugin_loading,
// vaccel/ext.h; vaccel-agent does, to listen first) gets no run directory
// until it loads them: its bootstrap does no work on the file system, and
// no session or resource that needs a directory can be made before (never
// one at the file system's root). This executable exports the symbol
// (tests/unit/CMakeLists.txt), so every bootstrap here defers.
#include "test_util.h"

#include <vaccel/ext.h>

using namespace vaccel_test;

extern "C" {
__attribute__((
    visibility("default"))) extern const int vaccel_defer_plugin_loading;
const int vaccel_defer_plugin_loading = 1;
}

namespace
{

// What needs the run directory, tried while there is none: each fails
// with VACCEL_EIO and leaves nothing behind.
void expect_nothing_made()
{
	ASSERT_NE(vaccel_rundir(), nullptr);
	EXPECT_STREQ(vaccel_rundir(), "") << "made before it was asked for";
	EXPECT_EQ(vaccel_session_prepare_rundir(), VACCEL_OK);
	vaccel_session s{};
	EXPECT_EQ(vaccel_session_init(&s, 0), VACCEL_EIO);
	EXPECT_EQ(s.id, 0U);
	const std::string bytes = "written to a file";
	vaccel_resource res{};
	EXPECT_EQ(vaccel_resource_init_from_buf(
		      &res, bytes.data(), bytes.size(), VACCEL_RESOURCE_DATA,
		      "data.bin", false),
		  VACCEL_EIO);
	for (const auto &e : fs::directory_iterator("/")) {
		const std::string name = e.path().filename().string();
		EXPECT_NE(name.rfind("session.", 0), 0U) << e.path();
		EXPECT_NE(name.rfind("resource.", 0), 0U) << e.path();
	}
}

TEST(DeferredRunDir, MadeWhenTheDeferredPluginsLoad)
{
	const std::string uid = std::to_string(::geteuid());
	// Where /run/user/<uid> exists it is the base, whatever TMPDIR says.
	const bool tmpdir_is_base = !fs::is_directory("/run/user/" + uid);
	TempDir tmp;
	const fs::path tmpdir = tmp.path() / "tmp";
	fs::create_directory(tmpdir);
	ScopedEnv env("TMPDIR", tmpdir.string());
	const fs::path base = tmpdir / ("vaccel-" + uid);

	ASSERT_EQ(rebootstrap(plugin_path("noop").c_str()), VACCEL_OK);
	ASSERT_NO_FATAL_FAILURE(expect_nothing_made());
	if (tmpdir_is_base) {
		EXPECT_FALSE(fs::exists(base))
		    << "bootstrap touched the file system";
	}

	ASSERT_EQ(vaccel_plugin_load_deferred(), VACCEL_OK);
	const std::string rundir = vaccel_rundir();
	ASSERT_FALSE(rundir.empty());
	EXPECT_TRUE(fs::is_directory(rundir));
	if (tmpdir_is_base) {
		EXPECT_EQ(fs::path(rundir).parent_path(), base);
	}
	EXPECT_EQ(vaccel_plugin_load_deferred(), VACCEL_OK) << "again: nothing";
	EXPECT_EQ(std::string(vaccel_rundir()), rundir) << "made once";

	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
	EXPECT_EQ(fs::path(s.rundir).parent_path(), fs::path(rundir));
	EXPECT_TRUE(fs::is_directory(s.rundir));
	EXPECT_EQ(vaccel_noop(&s), VACCEL_OK) << "the deferred plugin serves";
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);

	// Bootstrapped again: deferred again, the old directory gone.
	ASSERT_EQ(rebootstrap(plugin_path("noop").c_str()), VACCEL_OK);
	EXPECT_FALSE(fs::exists(rundir)) << "left behind by cleanup";
	ASSERT_NO_FATAL_FAILURE(expect_nothing_made());
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

} // namespace
