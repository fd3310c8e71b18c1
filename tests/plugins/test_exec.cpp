// SPDX-License-Identifier: Apache-2.0
// The exec plugin: runs real functions from shared libraries, maps failures
// to upstream's codes, and keeps per-resource handles loaded between calls.
#include "plugin_test.h"

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace
{

using vaccel_test::PluginTest;

class ExecTest : public PluginTest
{
protected:
	ExecTest() : PluginTest(TEST_EXEC_PLUGIN) {}

	void SetUp() override
	{
		unsetenv("VACCEL_EXEC_DLCLOSE_ENABLED");
		unsetenv("VACCEL_EXEC_DLCLOSE");
		unsetenv("VACCEL_EXEC_DLOPEN_MODE");
		PluginTest::SetUp();
	}

	void TearDown() override
	{
		PluginTest::TearDown();
		unsetenv("VACCEL_EXEC_DLCLOSE_ENABLED");
		unsetenv("VACCEL_EXEC_DLOPEN_MODE");
	}

	// Calls @p symbol of @p lib with one int32 in and out; returns the
	// op's code and the output in *out.
	int exec(const char *lib, const char *symbol, int32_t in, int32_t *out)
	{
		vaccel_arg read = i32_arg(&in);
		vaccel_arg write = i32_arg(out);
		return vaccel_exec(&sess_, lib, symbol, &read, 1, &write, 1);
	}

	int exec_res(vaccel_resource *res, const char *symbol, int32_t in,
		     int32_t *out)
	{
		vaccel_arg read = i32_arg(&in);
		vaccel_arg write = i32_arg(out);
		return vaccel_exec_with_resource(&sess_, res, symbol, &read, 1,
						 &write, 1);
	}
};

TEST_F(ExecTest, DescribesItself)
{
	vaccel_plugin_desc d{};
	d.struct_size = sizeof(d);
	ASSERT_EQ(vaccel_plugin_describe(0, &d), VACCEL_OK);
	EXPECT_STREQ(d.name, "exec");
	EXPECT_EQ(d.type, static_cast<unsigned>(VACCEL_PLUGIN_SOFTWARE |
						VACCEL_PLUGIN_GENERIC |
						VACCEL_PLUGIN_CPU));
	EXPECT_EQ(d.ops_mask,
		  (uint64_t{1} << VACCEL_OP_NOOP) |
		      (uint64_t{1} << VACCEL_OP_EXEC) |
		      (uint64_t{1} << VACCEL_OP_EXEC_WITH_RESOURCE));
	EXPECT_EQ(vaccel_noop(&sess_), VACCEL_OK);
}

TEST_F(ExecTest, MytestlibDoublesItsInput)
{
	if (std::string(TEST_MYTESTLIB).empty())
		GTEST_SKIP() << "examples not built";
	int32_t out = 0;
	ASSERT_EQ(exec(TEST_MYTESTLIB, "mytestfunc", 10, &out), VACCEL_OK);
	EXPECT_EQ(out, 20);
}

TEST_F(ExecTest, RepeatedCallsKeepTheLibraryLoaded)
{
	int32_t out = 0;
	for (int32_t i = 1; i <= 3; i++) {
		ASSERT_EQ(exec(TEST_FIXTURE_LIB, "fixture_count", 0, &out),
			  VACCEL_OK);
		EXPECT_EQ(out, i) << "state lost between calls";
	}
}

TEST_F(ExecTest, DlcloseEnabledUnloadsAfterEachCall)
{
	setenv("VACCEL_EXEC_DLCLOSE_ENABLED", "1", 1);
	int32_t out = 0;
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(exec(TEST_FIXTURE_LIB, "fixture_count", 0, &out),
			  VACCEL_OK);
		EXPECT_EQ(out, 1) << "library was not unloaded";
	}
}

TEST_F(ExecTest, LazyAndNowModesBothWork)
{
	for (const char *mode : {"lazy", "NOW", "bogus"}) {
		setenv("VACCEL_EXEC_DLOPEN_MODE", mode, 1);
		int32_t out = 0;
		ASSERT_EQ(exec(TEST_FIXTURE_LIB, "fixture_double", 21, &out),
			  VACCEL_OK)
		    << mode;
		EXPECT_EQ(out, 42) << mode;
	}
}

TEST_F(ExecTest, MissingLibraryIsInvalid)
{
	int32_t out = 0;
	EXPECT_EQ(exec("/nonexistent/libnothere.so", "fixture_double", 1, &out),
		  VACCEL_EINVAL);
}

TEST_F(ExecTest, MissingSymbolIsNotImplemented)
{
	int32_t out = 0;
	EXPECT_EQ(exec(TEST_FIXTURE_LIB, "no_such_function", 1, &out),
		  VACCEL_ENOSYS);
}

TEST_F(ExecTest, FailingFunctionIsBackendError)
{
	int32_t out = 0;
	EXPECT_EQ(exec(TEST_FIXTURE_LIB, "fixture_fail", 1, &out),
		  VACCEL_EBACKEND);
}

TEST_F(ExecTest, NullOrShortOutputBufferFailsCleanly)
{
	int32_t in = 5;
	vaccel_arg read = i32_arg(&in);

	vaccel_arg null_out{};
	null_out.size = sizeof(int32_t);
	null_out.type = VACCEL_ARG_INT32;
	EXPECT_EQ(vaccel_exec(&sess_, TEST_FIXTURE_LIB, "fixture_double", &read,
			      1, &null_out, 1),
		  VACCEL_EBACKEND);

	int16_t small = 0x1234;
	vaccel_arg short_out{};
	short_out.buf = &small;
	short_out.size = sizeof(small);
	short_out.type = VACCEL_ARG_INT16;
	EXPECT_EQ(vaccel_exec(&sess_, TEST_FIXTURE_LIB, "fixture_double", &read,
			      1, &short_out, 1),
		  VACCEL_EBACKEND);
	EXPECT_EQ(small, 0x1234);

	if (!std::string(TEST_MYTESTLIB).empty()) {
		EXPECT_EQ(vaccel_exec(&sess_, TEST_MYTESTLIB, "mytestfunc",
				      &read, 1, &short_out, 1),
			  VACCEL_EBACKEND);
		EXPECT_EQ(small, 0x1234);
	}

	// an output count without an output array
	EXPECT_EQ(vaccel_exec(&sess_, TEST_FIXTURE_LIB, "fixture_double", &read,
			      1, nullptr, 1),
		  VACCEL_EINVAL);
}

TEST_F(ExecTest, UnresolvedDependencyFailsToLoad)
{
	// Loaded on its own, the library's undefined symbol cannot bind.
	int32_t out = 0;
	EXPECT_EQ(exec(TEST_NEEDS_DEP_LIB, "fixture_scale", 2, &out),
		  VACCEL_EINVAL);
}

TEST_F(ExecTest, WithResourceCallsTheLibrary)
{
	vaccel_resource lib{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&lib, TEST_FIXTURE_LIB, VACCEL_RESOURCE_LIB));
	int32_t out = 0;
	ASSERT_EQ(exec_res(&lib, "fixture_double", 10, &out), VACCEL_OK);
	EXPECT_EQ(out, 20);
	EXPECT_EQ(exec_res(&lib, "no_such_function", 10, &out), VACCEL_ENOSYS);
	EXPECT_EQ(exec_res(&lib, "fixture_fail", 10, &out), VACCEL_EBACKEND);
	release(&lib);
}

TEST_F(ExecTest, WithResourceHandlesAreCached)
{
	vaccel_resource lib{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&lib, TEST_FIXTURE_LIB, VACCEL_RESOURCE_LIB));
	int32_t out = 0;
	for (int32_t i = 1; i <= 3; i++) {
		ASSERT_EQ(exec_res(&lib, "fixture_count", 0, &out), VACCEL_OK);
		EXPECT_EQ(out, i);
	}
	release(&lib);
}

TEST_F(ExecTest, WithResourceLoadsDependenciesFirst)
{
	const char *paths[] = {TEST_DEP_LIB, TEST_NEEDS_DEP_LIB};
	vaccel_resource lib{};
	ASSERT_EQ(
	    vaccel_resource_init_multi(&lib, paths, 2, VACCEL_RESOURCE_LIB),
	    VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&lib, &sess_), VACCEL_OK);
	int32_t out = 0;
	ASSERT_EQ(exec_res(&lib, "fixture_scale", 7, &out), VACCEL_OK);
	EXPECT_EQ(out, 21);
	// again: served from the cache
	ASSERT_EQ(exec_res(&lib, "fixture_scale", 5, &out), VACCEL_OK);
	EXPECT_EQ(out, 15);
	release(&lib);
}

TEST_F(ExecTest, WithResourceDependencyAndMytestlib)
{
	if (std::string(TEST_MYTESTLIB).empty())
		GTEST_SKIP() << "examples not built";
	const char *paths[] = {TEST_DEP_LIB, TEST_MYTESTLIB};
	vaccel_resource lib{};
	ASSERT_EQ(
	    vaccel_resource_init_multi(&lib, paths, 2, VACCEL_RESOURCE_LIB),
	    VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&lib, &sess_), VACCEL_OK);
	for (int i = 0; i < 2; i++) {
		int32_t out = 0;
		ASSERT_EQ(exec_res(&lib, "mytestfunc", 10, &out), VACCEL_OK);
		EXPECT_EQ(out, 20);
	}
	release(&lib);
}

TEST_F(ExecTest, WithResourceFromBytesIsASeparateCopy)
{
	void *bytes = nullptr;
	size_t size = 0;
	{
		FILE *f = std::fopen(TEST_FIXTURE_LIB, "rb");
		ASSERT_NE(f, nullptr);
		std::fseek(f, 0, SEEK_END);
		size = static_cast<size_t>(std::ftell(f));
		std::fseek(f, 0, SEEK_SET);
		bytes = std::malloc(size);
		ASSERT_EQ(std::fread(bytes, 1, size, f), size);
		std::fclose(f);
	}
	vaccel_resource copy{};
	ASSERT_EQ(vaccel_resource_init_from_buf(
		      &copy, bytes, size, VACCEL_RESOURCE_LIB, "lib.so", false),
		  VACCEL_OK);
	std::free(bytes);
	ASSERT_EQ(vaccel_resource_register(&copy, &sess_), VACCEL_OK);
	vaccel_resource orig{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&orig, TEST_FIXTURE_LIB, VACCEL_RESOURCE_LIB));

	int32_t out = 0;
	ASSERT_EQ(exec_res(&orig, "fixture_count", 0, &out), VACCEL_OK);
	ASSERT_EQ(exec_res(&orig, "fixture_count", 0, &out), VACCEL_OK);
	EXPECT_EQ(out, 2);
	// another file, another copy of the library's state
	ASSERT_EQ(exec_res(&copy, "fixture_count", 0, &out), VACCEL_OK);
	EXPECT_EQ(out, 1);
	release(&orig);
	release(&copy);
}

TEST_F(ExecTest, WithResourceMemoryOnlyCannotBeLoaded)
{
	const char bytes[] = "not a library";
	vaccel_resource mem{};
	ASSERT_EQ(vaccel_resource_init_from_buf(&mem, bytes, sizeof(bytes),
						VACCEL_RESOURCE_LIB, "lib.so",
						true),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&mem, &sess_), VACCEL_OK);
	int32_t out = 0;
	EXPECT_EQ(exec_res(&mem, "fixture_double", 1, &out), VACCEL_EINVAL);
	release(&mem);
}

TEST_F(ExecTest, WithResourceBadLibraryIsInvalid)
{
	vaccel_resource notlib{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&notlib, std::string(TEST_DATA_DIR) + "/imagenet.txt",
			  VACCEL_RESOURCE_LIB));
	int32_t out = 0;
	EXPECT_EQ(exec_res(&notlib, "fixture_double", 1, &out), VACCEL_EINVAL);
	// a failed load is not cached: still failing, not crashing
	EXPECT_EQ(exec_res(&notlib, "fixture_double", 1, &out), VACCEL_EINVAL);
	release(&notlib);
}

TEST_F(ExecTest, ReleasedResourceIdIsNotServedStaleHandles)
{
	// Resource A (fixture lib) is cached, then released; resource B,
	// which may reuse A's id, must get its own libraries.
	vaccel_resource a{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&a, TEST_FIXTURE_LIB, VACCEL_RESOURCE_LIB));
	int32_t out = 0;
	ASSERT_EQ(exec_res(&a, "fixture_double", 3, &out), VACCEL_OK);
	release(&a);

	const char *paths[] = {TEST_DEP_LIB, TEST_NEEDS_DEP_LIB};
	vaccel_resource b{};
	ASSERT_EQ(vaccel_resource_init_multi(&b, paths, 2, VACCEL_RESOURCE_LIB),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&b, &sess_), VACCEL_OK);
	EXPECT_EQ(exec_res(&b, "fixture_double", 3, &out), VACCEL_ENOSYS);
	ASSERT_EQ(exec_res(&b, "fixture_scale", 3, &out), VACCEL_OK);
	EXPECT_EQ(out, 9);
	release(&b);
}

TEST_F(ExecTest, WithResourceIsThreadSafe)
{
	vaccel_resource lib{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&lib, TEST_FIXTURE_LIB, VACCEL_RESOURCE_LIB));
	constexpr int kThreads = 8;
	constexpr int kCalls = 200;
	std::vector<int> failures(kThreads, 0);
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; t++) {
		threads.emplace_back([&, t] {
			for (int i = 0; i < kCalls; i++) {
				int32_t out = 0;
				if (exec_res(&lib, "fixture_double", i, &out) !=
					VACCEL_OK ||
				    out != 2 * i)
					failures[t]++;
			}
		});
	}
	for (auto &th : threads)
		th.join();
	for (int t = 0; t < kThreads; t++)
		EXPECT_EQ(failures[t], 0) << "thread " << t;
	release(&lib);
}

} // namespace
