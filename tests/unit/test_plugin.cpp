// SPDX-License-Identifier: Apache-2.0
// The plugin loader (each failure mode, with the fixture plugins), op
// registration checks, introspection, per-op routing by session hint, C++
// plugins that throw, and the session/resource hooks of transport plugins.
#include "test_hooks.h"
#include "test_util.h"

#include <array>
#include <cstring>
#include <dlfcn.h>

using namespace vaccel_test;

namespace
{

std::vector<std::string> loaded_names()
{
	std::vector<std::string> names;
	for (size_t i = 0; i < vaccel_plugin_count(); ++i) {
		struct vaccel_plugin_desc d {
		};
		d.struct_size = sizeof(d);
		if (vaccel_plugin_describe(i, &d) == VACCEL_OK)
			names.emplace_back(d.name);
	}
	return names;
}

std::string op_plugin(vaccel_session *s, vaccel_op_type_t op)
{
	const char *name = vaccel_session_op_plugin(s, op);
	return name != nullptr ? name : "(none)";
}

class Plugin : public RuntimeTest
{
protected:
	static int load(std::string_view name)
	{
		return vaccel_plugin_load(plugin_path(name).c_str());
	}
};

// ---- loading
// -----------------------------------------------------------------

TEST_F(Plugin, LoadFixture)
{
	ASSERT_EQ(vaccel_plugin_count(), 0U);
	ASSERT_EQ(load("test-partial"), VACCEL_OK) << vaccel_last_error();
	ASSERT_EQ(vaccel_plugin_count(), 1U);
	struct vaccel_plugin_desc d {
	};
	d.struct_size = sizeof(d);
	ASSERT_EQ(vaccel_plugin_describe(0, &d), VACCEL_OK);
	EXPECT_STREQ(d.name, "test-partial");
	EXPECT_STREQ(d.version, "0.0.1");
	EXPECT_STREQ(d.vaccel_version, VACCEL_VERSION);
	EXPECT_EQ(std::string(d.path), plugin_path("test-partial"));
	EXPECT_EQ(d.type, static_cast<unsigned>(VACCEL_PLUGIN_GPU));
	EXPECT_EQ(d.ops_mask, uint64_t{1} << VACCEL_OP_BLAS_SGEMM);
}

TEST_F(Plugin, LoadByBareNameFromLibvaccelDir)
{
	ASSERT_EQ(vaccel_plugin_load("libvaccel-test-partial.so"), VACCEL_OK)
	    << vaccel_last_error();
	EXPECT_EQ(loaded_names(), std::vector<std::string>{"test-partial"});
}

TEST_F(Plugin, MissingFileIsEnoent)
{
	EXPECT_EQ(vaccel_plugin_load("/nonexistent/libvaccel-x.so"),
		  VACCEL_ENOENT);
	EXPECT_EQ(vaccel_plugin_load("libvaccel-does-not-exist.so"),
		  VACCEL_ENOENT);
	EXPECT_NE(std::string(vaccel_last_error())
		      .find("libvaccel-does-not-exist.so"),
		  std::string::npos)
	    << vaccel_last_error();
	EXPECT_EQ(vaccel_plugin_count(), 0U);
}

// One entry, three spellings: the short name, the file name and the path
// all reach the same library (src/core/plugin_path.h).
TEST_F(Plugin, ShortNamesFileNamesAndPathsLoad)
{
	ASSERT_EQ(vaccel_plugin_parse_and_load(
		      ("test-partial:libvaccel-test-hooks.so:" +
		       plugin_path("test-cxx"))
			  .c_str()),
		  VACCEL_OK)
	    << vaccel_last_error();
	EXPECT_EQ(loaded_names(),
		  (std::vector<std::string>{"test-partial", "test-hooks",
					    "test-cxx"}));
	EXPECT_EQ(vaccel_plugin_failure_count(), 0U);
	// Found next to libvaccel: recorded with its full path.
	struct vaccel_plugin_desc d {
	};
	d.struct_size = sizeof(d);
	ASSERT_EQ(vaccel_plugin_describe(0, &d), VACCEL_OK);
	EXPECT_EQ(fs::canonical(d.path),
		  fs::canonical(plugin_path("test-partial")));
}

// LD_LIBRARY_PATH's directories come before libvaccel's own.
TEST_F(Plugin, ShortNameSearchesLdLibraryPath)
{
	TempDir dir;
	fs::copy_file(plugin_path("test-partial"),
		      dir.file("libvaccel-elsewhere.so"));
	ScopedEnv env("LD_LIBRARY_PATH", dir.path().string());
	ASSERT_EQ(vaccel_plugin_load("elsewhere"), VACCEL_OK)
	    << vaccel_last_error();
	struct vaccel_plugin_desc d {
	};
	d.struct_size = sizeof(d);
	ASSERT_EQ(vaccel_plugin_describe(0, &d), VACCEL_OK);
	EXPECT_STREQ(d.name, "test-partial");
	EXPECT_EQ(std::string(d.path), fs::canonical(dir.path()).string() +
					   "/libvaccel-elsewhere.so");
}

// A name that resolves to nothing: what was looked for, each directory
// searched (and why), and the plugins that are there.
TEST_F(Plugin, UnknownShortNameSaysWhereItLooked)
{
	TempDir dir;
	fs::copy_file(plugin_path("test-partial"),
		      dir.file("libvaccel-other.so"));
	ScopedEnv env("LD_LIBRARY_PATH", dir.path().string());
	EXPECT_EQ(vaccel_plugin_load("nosuch"), VACCEL_ENOENT);
	const std::string msg = vaccel_last_error();
	const std::string lib_dir = fs::canonical(VACCEL_TEST_LIB_DIR).string();
	EXPECT_NE(msg.find("cannot load plugin nosuch: no libvaccel-nosuch.so "
			   "in " +
			   fs::canonical(dir.path()).string() +
			   " (LD_LIBRARY_PATH), " + lib_dir +
			   " (libvaccel's directory), nor on the system "
			   "library path; plugins there: "),
		  std::string::npos)
	    << msg;
	for (const char *p : {"other", "test-partial", "test-hooks"})
		EXPECT_NE(msg.find(p), std::string::npos) << p << ": " << msg;
	EXPECT_EQ(vaccel_plugin_count(), 0U);
}

// The entries of a list that did not load are kept, with their reasons,
// until cleanup.
TEST_F(Plugin, ListFailuresAreRecorded)
{
	EXPECT_EQ(vaccel_plugin_parse_and_load(
		      "test-partial:nosuch:/nonexistent/libvaccel-x.so"),
		  VACCEL_ENOENT);
	EXPECT_EQ(loaded_names(), std::vector<std::string>{"test-partial"});
	ASSERT_EQ(vaccel_plugin_failure_count(), 2U);
	struct vaccel_plugin_failure f {
	};
	f.struct_size = sizeof(f);
	ASSERT_EQ(vaccel_plugin_failure_describe(0, &f), VACCEL_OK);
	EXPECT_STREQ(f.entry, "nosuch");
	EXPECT_EQ(f.code, VACCEL_ENOENT);
	EXPECT_NE(std::string(f.message).find("libvaccel-nosuch.so"),
		  std::string::npos)
	    << f.message;
	ASSERT_EQ(vaccel_plugin_failure_describe(1, &f), VACCEL_OK);
	EXPECT_STREQ(f.entry, "/nonexistent/libvaccel-x.so");
	EXPECT_EQ(vaccel_plugin_failure_describe(2, &f), VACCEL_ERANGE);
	EXPECT_EQ(vaccel_plugin_failure_describe(0, nullptr), VACCEL_EINVAL);
	struct vaccel_plugin_failure small {
	};
	small.struct_size = sizeof(small) - 1;
	EXPECT_EQ(vaccel_plugin_failure_describe(0, &small), VACCEL_EINVAL);
	// A single load reports to its caller and is not recorded.
	EXPECT_EQ(vaccel_plugin_load("nosuch2"), VACCEL_ENOENT);
	EXPECT_EQ(vaccel_plugin_failure_count(), 2U);
	// A restart forgets them; its own configured list is recorded too.
	reconfigure("nosuch3");
	ASSERT_EQ(vaccel_plugin_failure_count(), 1U);
	ASSERT_EQ(vaccel_plugin_failure_describe(0, &f), VACCEL_OK);
	EXPECT_STREQ(f.entry, "nosuch3");
}

TEST_F(Plugin, NullOrEmptyIsEinval)
{
	EXPECT_EQ(vaccel_plugin_load(nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_plugin_load(""), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_plugin_parse_and_load(nullptr), VACCEL_EINVAL);
}

TEST_F(Plugin, NotAPluginIsElibbad)
{
	ASSERT_TRUE(have_plugin("test-notaplugin"));
	EXPECT_EQ(load("test-notaplugin"), VACCEL_ELIBBAD);
	EXPECT_EQ(vaccel_plugin_count(), 0U);
	// Any shared library without the symbol, e.g. libvaccel itself.
	EXPECT_EQ(
	    vaccel_plugin_load(
		(std::string(VACCEL_TEST_LIB_DIR) + "/libvaccel.so").c_str()),
	    VACCEL_ELIBBAD);
}

TEST_F(Plugin, FailingInitReturnsItsCodeAndLeavesNothing)
{
	ASSERT_EQ(load("test-partial"), VACCEL_OK);
	EXPECT_EQ(load("test-failinit"), VACCEL_EBACKEND);
	EXPECT_EQ(loaded_names(), std::vector<std::string>{"test-partial"});
	// Its init registered a NOOP before failing: no session may see it.
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_ENOTSUP);
	EXPECT_EQ(op_plugin(&sess, VACCEL_OP_NOOP), "(none)");
	void *fn = nullptr;
	EXPECT_EQ(vaccel_plugin_get_op("test-failinit", VACCEL_OP_NOOP, &fn),
		  VACCEL_ENOENT);
	// Not half-registered: a retry fails the same way, not with EEXIST.
	EXPECT_EQ(load("test-failinit"), VACCEL_EBACKEND);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

TEST_F(Plugin, BadVersionIsRefused)
{
	EXPECT_EQ(load("test-badversion"), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_plugin_count(), 0U);
	EXPECT_NE(std::string(vaccel_last_error()).find("99.0.0"),
		  std::string::npos)
	    << vaccel_last_error();
}

TEST_F(Plugin, BadVersionLoadsWithVersionIgnore)
{
	reconfigure(nullptr, /*version_ignore=*/true);
	ASSERT_EQ(load("test-badversion"), VACCEL_OK) << vaccel_last_error();
	EXPECT_EQ(loaded_names(), std::vector<std::string>{"test-badversion"});
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

TEST_F(Plugin, LoadingTwiceIsEexist)
{
	ASSERT_EQ(load("test-partial"), VACCEL_OK);
	EXPECT_EQ(load("test-partial"), VACCEL_EEXIST);
	// Also through another spelling of the same library.
	EXPECT_EQ(vaccel_plugin_load("libvaccel-test-partial.so"),
		  VACCEL_EEXIST);
	EXPECT_EQ(vaccel_plugin_count(), 1U);
}

TEST_F(Plugin, ReloadAfterCleanup)
{
	ASSERT_EQ(load("test-partial"), VACCEL_OK);
	reconfigure(nullptr);
	EXPECT_EQ(vaccel_plugin_count(), 0U);
	EXPECT_EQ(load("test-partial"), VACCEL_OK) << vaccel_last_error();
	EXPECT_EQ(vaccel_plugin_count(), 1U);
}

TEST_F(Plugin, LoadNeedsARuntime)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	EXPECT_EQ(load("test-partial"), VACCEL_ESESS);
	EXPECT_EQ(
	    vaccel_plugin_parse_and_load(plugin_path("test-partial").c_str()),
	    VACCEL_ESESS);
	EXPECT_EQ(vaccel_plugin_count(), 0U);
}

TEST_F(Plugin, ParseAndLoadSkipsBadEntries)
{
	const std::string list =
	    "::" + plugin_path("test-partial") +
	    ":/nonexistent/libvaccel-ghost.so::" + plugin_path("test-cxx") +
	    ":";
	EXPECT_EQ(vaccel_plugin_parse_and_load(list.c_str()), VACCEL_ENOENT);
	EXPECT_EQ(loaded_names(),
		  (std::vector<std::string>{"test-partial", "test-cxx"}));
	EXPECT_NE(log_text().find("libvaccel-ghost.so"), std::string::npos)
	    << log_text();
}

TEST_F(Plugin, ParseAndLoadAllGood)
{
	const std::string list =
	    plugin_path("test-cxx") + ":" + plugin_path("test-partial");
	EXPECT_EQ(vaccel_plugin_parse_and_load(list.c_str()), VACCEL_OK);
	EXPECT_EQ(loaded_names(),
		  (std::vector<std::string>{"test-cxx", "test-partial"}));
	EXPECT_EQ(vaccel_plugin_parse_and_load(""), VACCEL_OK);
}

TEST_F(Plugin, BootstrapLoadsConfiguredPlugins)
{
	const std::string list =
	    plugin_path("test-partial") + ":" + plugin_path("test-cxx");
	reconfigure(list.c_str());
	EXPECT_EQ(loaded_names(),
		  (std::vector<std::string>{"test-partial", "test-cxx"}));
	ASSERT_NE(vaccel_config(), nullptr);
	EXPECT_STREQ(vaccel_config()->plugins, list.c_str());
}

// ---- vaccel_plugin_register_ops
// ----------------------------------------------

int dummy_noop(vaccel_session * /*sess*/)
{
	return VACCEL_OK;
}

TEST_F(Plugin, RegisterOpsRejectsBadInput)
{
	struct vaccel_op op {
	};
	op.type = VACCEL_OP_NOOP;
	op.func = reinterpret_cast<void *>(&dummy_noop);
	op.owner = nullptr;
	EXPECT_EQ(vaccel_plugin_register_ops(nullptr, 1), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_plugin_register_ops(&op, 0), VACCEL_EINVAL);

	op.type = static_cast<vaccel_op_type_t>(VACCEL_OP_MAX);
	EXPECT_EQ(vaccel_plugin_register_ops(&op, 1), VACCEL_EINVAL);
	EXPECT_NE(std::string(vaccel_last_error()).find("out of range"),
		  std::string::npos)
	    << vaccel_last_error();
	// Out of range but representable (C++ forbids loading an enum value
	// outside its enumerators' bit range: UBSan would flag -1).
	op.type = static_cast<vaccel_op_type_t>(31);
	EXPECT_EQ(vaccel_plugin_register_op(&op), VACCEL_EINVAL);

	op.type = VACCEL_OP_NOOP;
	op.func = nullptr;
	EXPECT_EQ(vaccel_plugin_register_ops(&op, 1), VACCEL_EINVAL);
	EXPECT_NE(std::string(vaccel_last_error()).find("NULL function"),
		  std::string::npos)
	    << vaccel_last_error();

	// Outside a plugin's init there is no owner to register for.
	op.func = reinterpret_cast<void *>(&dummy_noop);
	EXPECT_EQ(vaccel_plugin_register_ops(&op, 1), VACCEL_EINVAL);
	struct vaccel_plugin stranger {
	};
	op.owner = &stranger;
	EXPECT_EQ(vaccel_plugin_register_ops(&op, 1), VACCEL_EINVAL);
	EXPECT_NE(std::string(vaccel_last_error()).find("owner"),
		  std::string::npos)
	    << vaccel_last_error();

	// Nothing became routable.
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_ENOTSUP);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

// ---- introspection
// -----------------------------------------------------------

TEST_F(Plugin, Introspection)
{
	REQUIRE_PLUGIN("noop");
	ASSERT_EQ(load("noop"), VACCEL_OK);
	ASSERT_EQ(load("test-partial"), VACCEL_OK);
	ASSERT_EQ(vaccel_plugin_count(), 2U);

	struct vaccel_plugin_desc d {
	};
	d.struct_size = sizeof(d);
	ASSERT_EQ(vaccel_plugin_describe(0, &d), VACCEL_OK);
	EXPECT_STREQ(d.name, "noop");
	EXPECT_EQ(d.type, static_cast<unsigned>(VACCEL_PLUGIN_DEBUG));
	EXPECT_EQ(d.ops_mask, (uint64_t{1} << VACCEL_OP_MAX) - 1);
	ASSERT_EQ(vaccel_plugin_describe(1, &d), VACCEL_OK);
	EXPECT_STREQ(d.name, "test-partial");
	EXPECT_EQ(vaccel_plugin_describe(2, &d), VACCEL_ERANGE);
	EXPECT_EQ(vaccel_plugin_describe(0, nullptr), VACCEL_EINVAL);
	struct vaccel_plugin_desc small {
	};
	small.struct_size = sizeof(small) - 1;
	EXPECT_EQ(vaccel_plugin_describe(0, &small), VACCEL_EINVAL);
	EXPECT_EQ(small.name, nullptr);

	void *fn = nullptr;
	ASSERT_EQ(
	    vaccel_plugin_get_op("test-partial", VACCEL_OP_BLAS_SGEMM, &fn),
	    VACCEL_OK);
	ASSERT_NE(fn, nullptr);
	void *noop_sgemm = nullptr;
	ASSERT_EQ(
	    vaccel_plugin_get_op("noop", VACCEL_OP_BLAS_SGEMM, &noop_sgemm),
	    VACCEL_OK);
	EXPECT_NE(fn, noop_sgemm);
	// Calling the backend directly works.
	using sgemm_fn =
	    int (*)(vaccel_session *, int64_t, int64_t, int64_t, float, float *,
		    int64_t, float *, int64_t, float, float *, int64_t);
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	float a[] = {2}, b[] = {3}, c[] = {1};
	EXPECT_EQ(reinterpret_cast<sgemm_fn>(fn)(&sess, 1, 1, 1, 1.0f, a, 1, b,
						 1, 1.0f, c, 1),
		  VACCEL_OK);
	EXPECT_EQ(c[0], 7.0f);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);

	fn = nullptr;
	EXPECT_EQ(vaccel_plugin_get_op("test-partial", VACCEL_OP_NOOP, &fn),
		  VACCEL_ENOTSUP);
	EXPECT_EQ(fn, nullptr);
	EXPECT_EQ(vaccel_plugin_get_op("nope", VACCEL_OP_NOOP, &fn),
		  VACCEL_ENOENT);
	EXPECT_EQ(vaccel_plugin_get_op("noop", VACCEL_OP_MAX, &fn),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_plugin_get_op(nullptr, VACCEL_OP_NOOP, &fn),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_plugin_get_op("noop", VACCEL_OP_NOOP, nullptr),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_session_op_plugin(nullptr, VACCEL_OP_NOOP), nullptr);
}

// ---- per-op routing
// ----------------------------------------------------------

class Routing : public Plugin
{
protected:
	// C (3x2, ldc 3) = 2 * A (3x4, lda 5) * B (4x2, ldb 2) + 0.5 * C,
	// with padding in every leading dimension that must stay untouched.
	void check_sgemm(vaccel_session *sess, bool expect_computed)
	{
		constexpr int64_t m = 3, n = 2, k = 4, lda = 5, ldb = 2,
				  ldc = 3;
		std::array<float, m * lda> a{};
		std::array<float, k * ldb> b{};
		std::array<float, m * ldc> c{};
		for (size_t i = 0; i < a.size(); ++i)
			a[i] = static_cast<float>(static_cast<int>(i % 7) - 3);
		for (size_t i = 0; i < b.size(); ++i)
			b[i] = static_cast<float>(static_cast<int>(i % 5) - 2);
		for (size_t i = 0; i < c.size(); ++i)
			c[i] = static_cast<float>(i);
		auto expected = c;
		ref_sgemm(m, n, k, 2.0f, a.data(), lda, b.data(), ldb, 0.5f,
			  expected.data(), ldc);
		const auto before = c;
		ASSERT_EQ(vaccel_sgemm(sess, m, n, k, 2.0f, a.data(), lda,
				       b.data(), ldb, 0.5f, c.data(), ldc),
			  VACCEL_OK);
		for (size_t i = 0; i < c.size(); ++i) {
			if (expect_computed) {
				EXPECT_FLOAT_EQ(c[i], expected[i]) << "i=" << i;
			} else {
				EXPECT_EQ(c[i], before[i]) << "i=" << i;
			}
		}
		// Padding columns (j >= n) are never written.
		for (int64_t i = 0; i < m; ++i)
			EXPECT_EQ(c[i * ldc + 2], before[i * ldc + 2]);
	}
};

TEST_F(Routing, HintPrefersMatchingPluginPerOp)
{
	REQUIRE_PLUGIN("noop");
	ASSERT_EQ(load("noop"), VACCEL_OK);
	ASSERT_EQ(load("test-partial"), VACCEL_OK);
	struct vaccel_session gpu {
	};
	ASSERT_EQ(vaccel_session_init(&gpu, VACCEL_PLUGIN_GPU), VACCEL_OK);
	ASSERT_NE(gpu.plugin, nullptr);
	EXPECT_STREQ(gpu.plugin->info->name, "test-partial");
	EXPECT_EQ(op_plugin(&gpu, VACCEL_OP_BLAS_SGEMM), "test-partial");
	// test-partial lacks NOOP: the next plugin in order serves it.
	EXPECT_EQ(op_plugin(&gpu, VACCEL_OP_NOOP), "noop");
	EXPECT_EQ(op_plugin(&gpu, VACCEL_OP_IMAGE_CLASSIFY), "noop");
	EXPECT_EQ(vaccel_noop(&gpu), VACCEL_OK);
	check_sgemm(&gpu, /*expect_computed=*/true);
	EXPECT_EQ(vaccel_session_release(&gpu), VACCEL_OK);
}

TEST_F(Routing, NoHintFollowsLoadOrder)
{
	REQUIRE_PLUGIN("noop");
	ASSERT_EQ(load("noop"), VACCEL_OK);
	ASSERT_EQ(load("test-partial"), VACCEL_OK);
	struct vaccel_session any {
	};
	ASSERT_EQ(vaccel_session_init(&any, 0), VACCEL_OK);
	ASSERT_NE(any.plugin, nullptr);
	EXPECT_STREQ(any.plugin->info->name, "noop");
	EXPECT_EQ(op_plugin(&any, VACCEL_OP_BLAS_SGEMM), "noop");
	check_sgemm(&any, /*expect_computed=*/false); // noop's sgemm
	// A hint that matches nothing is the same as no hint.
	struct vaccel_session fpga {
	};
	ASSERT_EQ(vaccel_session_init(&fpga, VACCEL_PLUGIN_FPGA), VACCEL_OK);
	EXPECT_EQ(op_plugin(&fpga, VACCEL_OP_BLAS_SGEMM), "noop");
	// Updating the hint re-routes.
	ASSERT_EQ(vaccel_session_update(&any, VACCEL_PLUGIN_GPU), VACCEL_OK);
	EXPECT_EQ(op_plugin(&any, VACCEL_OP_BLAS_SGEMM), "test-partial");
	check_sgemm(&any, true);
	ASSERT_NE(any.plugin, nullptr);
	EXPECT_STREQ(any.plugin->info->name, "test-partial");
	EXPECT_EQ(vaccel_session_release(&any), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&fpga), VACCEL_OK);
}

TEST_F(Routing, NoHintFollowsLoadOrderReversed)
{
	REQUIRE_PLUGIN("noop");
	ASSERT_EQ(load("test-partial"), VACCEL_OK);
	ASSERT_EQ(load("noop"), VACCEL_OK);
	struct vaccel_session any {
	};
	ASSERT_EQ(vaccel_session_init(&any, 0), VACCEL_OK);
	EXPECT_EQ(op_plugin(&any, VACCEL_OP_BLAS_SGEMM), "test-partial");
	EXPECT_EQ(op_plugin(&any, VACCEL_OP_NOOP), "noop");
	check_sgemm(&any, true);
	// DEBUG hint: noop first for everything.
	ASSERT_EQ(vaccel_session_update(&any, VACCEL_PLUGIN_DEBUG), VACCEL_OK);
	EXPECT_EQ(op_plugin(&any, VACCEL_OP_BLAS_SGEMM), "noop");
	EXPECT_EQ(vaccel_session_release(&any), VACCEL_OK);
}

TEST_F(Routing, PluginLoadedLaterIsSeenByExistingSession)
{
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_GPU), VACCEL_OK);
	EXPECT_EQ(sess.plugin, nullptr);
	float a[] = {2}, b[] = {3}, c[] = {1};
	EXPECT_EQ(vaccel_sgemm(&sess, 1, 1, 1, 1.0f, a, 1, b, 1, 0.0f, c, 1),
		  VACCEL_ENOTSUP);
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_ENOTSUP);

	ASSERT_EQ(load("test-partial"), VACCEL_OK);
	EXPECT_EQ(vaccel_sgemm(&sess, 1, 1, 1, 1.0f, a, 1, b, 1, 0.0f, c, 1),
		  VACCEL_OK);
	EXPECT_EQ(c[0], 6.0f);
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_ENOTSUP);

	ASSERT_EQ(load("test-cxx"), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_OK);
	EXPECT_EQ(op_plugin(&sess, VACCEL_OP_NOOP), "test-cxx");
	// The session's preferred plugin followed too.
	ASSERT_NE(sess.plugin, nullptr);
	EXPECT_STREQ(sess.plugin->info->name, "test-partial");
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

TEST_F(Routing, ThrowingCxxPluginReturnsEbackend)
{
	ASSERT_EQ(load("test-cxx"), VACCEL_OK) << vaccel_last_error();
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_OK);
	unsigned char text[64] = {}, name[64] = {};
	const char img[] = "not really a jpeg";
	EXPECT_EQ(vaccel_image_classification(&sess, img, text, name,
					      sizeof(img), sizeof(text),
					      sizeof(name)),
		  VACCEL_EBACKEND);
	EXPECT_EQ(
	    vaccel_image_detection(&sess, img, name, sizeof(img), sizeof(name)),
	    VACCEL_EBACKEND);
	EXPECT_NE(log_text().find("test-cxx"), std::string::npos) << log_text();
	// Still usable afterwards.
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

// ---- transport hooks
// ---------------------------------------------------------

// Reaches the counters of the test-hooks plugin: dlopen() returns the handle
// the runtime loaded (and keeps the library, and so its counters, mapped
// across the runtime's cleanup).
class Hooks : public Plugin
{
protected:
	void SetUp() override
	{
		Plugin::SetUp();
		handle_ = dlopen(plugin_path("test-hooks").c_str(), RTLD_NOW);
		ASSERT_NE(handle_, nullptr) << dlerror();
		get_ = reinterpret_cast<test_hooks_get_fn>(
		    dlsym(handle_, TEST_HOOKS_GET));
		reset_ = reinterpret_cast<test_hooks_reset_fn>(
		    dlsym(handle_, TEST_HOOKS_RESET));
		set_fail_ = reinterpret_cast<test_hooks_set_fail_fn>(
		    dlsym(handle_, TEST_HOOKS_SET_FAIL));
		ASSERT_TRUE(get_ && reset_ && set_fail_);
		reset_();
		ASSERT_EQ(load("test-hooks"), VACCEL_OK) << vaccel_last_error();
		ASSERT_EQ(get_()->init, 1);
		ASSERT_EQ(vaccel_resource_init_from_buf(
			      &res_, "abc", 3, VACCEL_RESOURCE_DATA, "r", true),
			  VACCEL_OK);
	}
	void TearDown() override
	{
		if (res_.state != nullptr) {
			EXPECT_EQ(vaccel_resource_release(&res_), VACCEL_OK);
		}
		Plugin::TearDown(); // unloads: fini runs
		if (get_ != nullptr) {
			EXPECT_EQ(get_()->fini, 1);
		}
		if (handle_ != nullptr)
			dlclose(handle_);
	}
	const test_hooks_counters &n() const { return *get_(); }

	void *handle_ = nullptr;
	test_hooks_get_fn get_ = nullptr;
	test_hooks_reset_fn reset_ = nullptr;
	test_hooks_set_fail_fn set_fail_ = nullptr;
	struct vaccel_resource res_ {
	};
};

TEST_F(Hooks, SessionAndResourceHooksRunForPreferredTransport)
{
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(n().session_init, 1);
	EXPECT_EQ(n().last_session_id, sess.id);
	EXPECT_TRUE(sess.is_virtio);
	ASSERT_NE(sess.plugin, nullptr);
	EXPECT_STREQ(sess.plugin->info->name, "test-hooks");

	ASSERT_EQ(vaccel_resource_register(&res_, &sess), VACCEL_OK);
	EXPECT_EQ(n().resource_register, 1);
	EXPECT_EQ(n().last_resource_id, res_.id);
	EXPECT_EQ(vaccel_resource_sync(&res_, &sess), VACCEL_OK);
	EXPECT_EQ(n().resource_sync, 1);
	ASSERT_EQ(vaccel_session_update(&sess, VACCEL_PLUGIN_REMOTE),
		  VACCEL_OK);
	EXPECT_EQ(n().session_update, 1);
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_OK);
	EXPECT_EQ(n().noop, 1);
	ASSERT_EQ(vaccel_resource_unregister(&res_, &sess), VACCEL_OK);
	EXPECT_EQ(n().resource_unregister, 1);

	const vaccel_id_t id = sess.id;
	ASSERT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(n().session_release, 1);
	EXPECT_EQ(n().last_session_id, id);
}

TEST_F(Hooks, NotCalledForSessionsPreferringAnotherPlugin)
{
	ASSERT_EQ(load("test-partial"), VACCEL_OK);
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_GPU), VACCEL_OK);
	EXPECT_FALSE(sess.is_virtio);
	ASSERT_EQ(vaccel_resource_register(&res_, &sess), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_sync(&res_, &sess), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_unregister(&res_, &sess), VACCEL_OK);
	ASSERT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(n().session_init, 0);
	EXPECT_EQ(n().resource_register, 0);
	EXPECT_EQ(n().resource_sync, 0);
	EXPECT_EQ(n().resource_unregister, 0);
	EXPECT_EQ(n().session_release, 0);
}

TEST_F(Hooks, FailedRegisterHookLeavesResourceUnregistered)
{
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	set_fail_(TEST_HOOKS_RESOURCE_REGISTER, VACCEL_EREMOTEIO);
	EXPECT_EQ(vaccel_resource_register(&res_, &sess), VACCEL_EREMOTEIO);
	EXPECT_EQ(n().resource_register, 1);
	EXPECT_FALSE(vaccel_session_has_resource(&sess, &res_));
	EXPECT_EQ(vaccel_resource_refcount(&res_), 0);
	struct vaccel_resource *r = nullptr;
	EXPECT_EQ(vaccel_session_resource_by_id(&sess, &r, res_.id),
		  VACCEL_ENOENT);
	EXPECT_EQ(vaccel_resource_unregister(&res_, &sess), VACCEL_EPERM);
	EXPECT_EQ(n().resource_unregister, 0);
	// Neither object is held busy by the failed registration.
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&res_), VACCEL_OK);

	// With the hook healthy again, registration works.
	set_fail_(TEST_HOOKS_RESOURCE_REGISTER, VACCEL_OK);
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_init_from_buf(
		      &res_, "abc", 3, VACCEL_RESOURCE_DATA, "r", true),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&res_, &sess), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_refcount(&res_), 1);
	ASSERT_EQ(vaccel_resource_unregister(&res_, &sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

TEST_F(Hooks, FailedSessionInitHookLeavesNoSession)
{
	set_fail_(TEST_HOOKS_SESSION_INIT, VACCEL_EREMOTEIO);
	const size_t before = vaccel_session_count();
	struct vaccel_session sess {
	};
	EXPECT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_REMOTE),
		  VACCEL_EREMOTEIO);
	EXPECT_EQ(n().session_init, 1);
	EXPECT_EQ(sess.id, 0);
	EXPECT_EQ(sess.state, nullptr);
	EXPECT_EQ(vaccel_session_count(), before);
	EXPECT_EQ(n().session_release, 0);
	// No stray session directory either.
	size_t entries = 0;
	for ([[maybe_unused]] const auto &e :
	     fs::directory_iterator(vaccel_rundir()))
		++entries;
	EXPECT_EQ(entries, 0U);
}

TEST_F(Hooks, FailedSyncHookIsReported)
{
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&res_, &sess), VACCEL_OK);
	set_fail_(TEST_HOOKS_RESOURCE_SYNC, VACCEL_EIO);
	EXPECT_EQ(vaccel_resource_sync(&res_, &sess), VACCEL_EIO);
	EXPECT_EQ(n().resource_sync, 1);
	ASSERT_EQ(vaccel_resource_unregister(&res_, &sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

TEST(HooksEnv, FailRegisterFromEnvironment)
{
	CleanVaccelEnv env;
	ScopedEnv fail("TEST_HOOKS_FAIL_REGISTER", "71");
	void *h = dlopen(plugin_path("test-hooks").c_str(), RTLD_NOW);
	ASSERT_NE(h, nullptr) << dlerror();
	auto reset =
	    reinterpret_cast<test_hooks_reset_fn>(dlsym(h, TEST_HOOKS_RESET));
	ASSERT_NE(reset, nullptr);
	reset();
	const std::string list = plugin_path("test-hooks");
	ASSERT_EQ(rebootstrap(list.c_str()), VACCEL_OK);
	struct vaccel_session sess {
	};
	struct vaccel_resource res {
	};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_init_from_buf(
		      &res, "abc", 3, VACCEL_RESOURCE_DATA, "r", true),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_resource_register(&res, &sess), VACCEL_EBACKEND);
	EXPECT_EQ(vaccel_resource_refcount(&res), 0);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	reset();
	dlclose(h);
}

} // namespace

// ---- hooks of local (non-transport) plugins
// ------------------------------------

TEST_F(Routing, LocalPluginUnregisterHookSeesEveryUnregistration)
{
	ASSERT_EQ(load("noop"), VACCEL_OK);
	ASSERT_EQ(load("test-partial"), VACCEL_OK);
	void *h =
	    dlopen(plugin_path("test-partial").c_str(), RTLD_NOW | RTLD_NOLOAD);
	ASSERT_NE(h, nullptr);
	auto calls = reinterpret_cast<int (*)()>(
	    dlsym(h, "test_partial_unregister_calls"));
	auto last = reinterpret_cast<long long (*)()>(
	    dlsym(h, "test_partial_last_unregistered"));
	ASSERT_NE(calls, nullptr);
	ASSERT_NE(last, nullptr);
	const int before = calls();

	vaccel_session s1{};
	vaccel_session s2{};
	ASSERT_EQ(vaccel_session_init(&s1, 0), VACCEL_OK);
	ASSERT_EQ(vaccel_session_init(&s2, VACCEL_PLUGIN_GPU), VACCEL_OK);
	const char data[] = "payload";
	vaccel_resource res{};
	ASSERT_EQ(vaccel_resource_init_from_buf(&res, data, sizeof(data),
						VACCEL_RESOURCE_DATA, "d.bin",
						true),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&res, &s1), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&res, &s2), VACCEL_OK);
	EXPECT_EQ(calls(), before); // registering does not call it

	ASSERT_EQ(vaccel_resource_unregister(&res, &s1), VACCEL_OK);
	EXPECT_EQ(calls(), before + 1);
	EXPECT_EQ(last(), res.id);
	ASSERT_EQ(vaccel_resource_unregister(&res, &s2), VACCEL_OK);
	EXPECT_EQ(calls(), before + 2);
	// A refused unregistration does not reach the plugin.
	EXPECT_EQ(vaccel_resource_unregister(&res, &s2), VACCEL_EPERM);
	EXPECT_EQ(calls(), before + 2);

	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s1), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s2), VACCEL_OK);
	dlclose(h);
}
