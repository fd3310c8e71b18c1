// SPDX-License-Identifier: Apache-2.0
// Lifecycle (bootstrap / cleanup), the configuration API and its sources
// (defaults < VACCEL_CONFIG file < environment), logging and
// vaccel_last_error().
#include "test_util.h"

#include <cstring>
#include <thread>

using namespace vaccel_test;

namespace
{

class Core : public RuntimeTest
{
};

// ---- lifecycle
// ---------------------------------------------------------------

TEST_F(Core, BootstrapSetsStateAndRundir)
{
	EXPECT_TRUE(vaccel_is_initialized());
	const char *rd = vaccel_rundir();
	ASSERT_NE(rd, nullptr);
	EXPECT_TRUE(fs::is_directory(rd)) << rd;
	const struct vaccel_config *cfg = vaccel_config();
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(cfg->log_level, VACCEL_LOG_ERROR);
	EXPECT_EQ(cfg->plugins, nullptr);
	ASSERT_NE(cfg->log_file, nullptr);
	EXPECT_EQ(std::string(cfg->log_file), log_file_);
	EXPECT_FALSE(cfg->profiling_enabled);
	EXPECT_FALSE(cfg->version_ignore);
}

TEST_F(Core, CleanupRemovesRundirAndResetsState)
{
	const std::string rd = vaccel_rundir();
	ASSERT_TRUE(fs::is_directory(rd));
	// Something inside the rundir must go too.
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	ASSERT_EQ(vaccel_session_release(&sess), VACCEL_OK);

	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	EXPECT_FALSE(vaccel_is_initialized());
	EXPECT_EQ(vaccel_rundir(), nullptr);
	EXPECT_EQ(vaccel_config(), nullptr);
	EXPECT_FALSE(fs::exists(rd)) << rd;
	// Cleanup when not initialized is fine.
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	// Objects cannot be created without a runtime.
	EXPECT_EQ(vaccel_session_init(&sess, 0), VACCEL_ESESS);
	EXPECT_EQ(vaccel_session_count(), 0U);
}

TEST_F(Core, RebootstrapGetsAFreshRundir)
{
	const std::string first = vaccel_rundir();
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	ASSERT_EQ(rebootstrap(), VACCEL_OK);
	ASSERT_NE(vaccel_rundir(), nullptr);
	EXPECT_NE(std::string(vaccel_rundir()), first);
	EXPECT_TRUE(fs::is_directory(vaccel_rundir()));
}

// Upstream parity: bootstrapping a running library restarts it with the
// new configuration (it was VACCEL_EEXIST here before).
TEST_F(Core, DoubleBootstrapRestarts)
{
	const std::string first = vaccel_rundir();
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init(&cfg, nullptr, VACCEL_LOG_DEBUG, nullptr,
				     false, false),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_bootstrap_with_config(&cfg), VACCEL_OK);
	EXPECT_EQ(vaccel_config()->log_level, VACCEL_LOG_DEBUG);
	EXPECT_NE(std::string(vaccel_rundir()), first);
	EXPECT_FALSE(fs::exists(first));
	EXPECT_EQ(vaccel_bootstrap(), VACCEL_OK);
	EXPECT_EQ(vaccel_config()->log_level, VACCEL_LOG_ERROR);
	EXPECT_EQ(vaccel_config_release(&cfg), VACCEL_OK);
}

// A bad configuration is refused before anything is torn down.
TEST_F(Core, BadRebootstrapKeepsTheRunningLibrary)
{
	const std::string first = vaccel_rundir();
	struct vaccel_config cfg {
	};
	cfg.log_level = static_cast<vaccel_log_level_t>(9);
	EXPECT_EQ(vaccel_bootstrap_with_config(&cfg), VACCEL_EINVAL);
	ASSERT_TRUE(vaccel_is_initialized());
	EXPECT_EQ(std::string(vaccel_rundir()), first);
}

TEST_F(Core, BootstrapWithNullConfigIsEinval)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	EXPECT_EQ(vaccel_bootstrap_with_config(nullptr), VACCEL_EINVAL);
	EXPECT_FALSE(vaccel_is_initialized());
	EXPECT_NE(std::strstr(vaccel_last_error(), "NULL"), nullptr)
	    << vaccel_last_error();
	EXPECT_NE(
	    std::strstr(vaccel_last_error(), "vaccel_bootstrap_with_config"),
	    nullptr)
	    << vaccel_last_error();
}

TEST_F(Core, BootstrapWithInvalidLogLevelIsEinval)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	struct vaccel_config cfg {
	};
	cfg.log_level = static_cast<vaccel_log_level_t>(0);
	EXPECT_EQ(vaccel_bootstrap_with_config(&cfg), VACCEL_EINVAL);
	EXPECT_FALSE(vaccel_is_initialized());
	cfg.log_level = static_cast<vaccel_log_level_t>(5);
	EXPECT_EQ(vaccel_bootstrap_with_config(&cfg), VACCEL_EINVAL);
	EXPECT_FALSE(vaccel_is_initialized());
	EXPECT_NE(std::strstr(vaccel_last_error(), "log level"), nullptr)
	    << vaccel_last_error();
}

TEST_F(Core, BootstrapCopiesTheConfig)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init(&cfg, nullptr, VACCEL_LOG_INFO,
				     log_file_.c_str(), true, true),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_bootstrap_with_config(&cfg), VACCEL_OK);
	ASSERT_EQ(vaccel_config_release(&cfg), VACCEL_OK);
	const struct vaccel_config *active = vaccel_config();
	ASSERT_NE(active, nullptr);
	EXPECT_EQ(active->log_level, VACCEL_LOG_INFO);
	ASSERT_NE(active->log_file, nullptr);
	EXPECT_EQ(std::string(active->log_file), log_file_);
	EXPECT_TRUE(active->profiling_enabled);
	EXPECT_TRUE(active->version_ignore);
}

TEST_F(Core, CleanupFreesObjectsTheProgramLeaked)
{
	TempDir d;
	std::string f = d.write("model.bin", "abc");
	auto *sess =
	    static_cast<vaccel_session *>(calloc(1, sizeof(vaccel_session)));
	auto *res =
	    static_cast<vaccel_resource *>(calloc(1, sizeof(vaccel_resource)));
	ASSERT_EQ(vaccel_session_init(sess, 0), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_init(res, f.c_str(), VACCEL_RESOURCE_DATA),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(res, sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_count(), 1U);
	EXPECT_EQ(vaccel_resource_count(), 1U);
	// Scribble over the program's structs: cleanup must not read them.
	std::memset(sess, 0xa5, sizeof(*sess));
	std::memset(res, 0xa5, sizeof(*res));
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	free(sess);
	free(res);
	ASSERT_EQ(rebootstrap(), VACCEL_OK);
	EXPECT_EQ(vaccel_session_count(), 0U);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	// The file the resource was made from is the program's: still there.
	EXPECT_TRUE(fs::exists(f));
}

// ---- vaccel_config_*
// ---------------------------------------------------------

TEST(Config, InitCopiesStrings)
{
	std::string plugins = "a.so:b.so";
	std::string log = "/tmp/x.log";
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init(&cfg, plugins.c_str(), VACCEL_LOG_WARN,
				     log.c_str(), true, false),
		  VACCEL_OK);
	ASSERT_NE(cfg.plugins, nullptr);
	EXPECT_NE(cfg.plugins, plugins.c_str());
	plugins[0] = 'z';
	EXPECT_STREQ(cfg.plugins, "a.so:b.so");
	EXPECT_STREQ(cfg.log_file, "/tmp/x.log");
	EXPECT_EQ(cfg.log_level, VACCEL_LOG_WARN);
	EXPECT_TRUE(cfg.profiling_enabled);
	EXPECT_FALSE(cfg.version_ignore);
	EXPECT_EQ(vaccel_config_release(&cfg), VACCEL_OK);
	EXPECT_EQ(cfg.plugins, nullptr);
	EXPECT_EQ(cfg.log_file, nullptr);
	// Releasing twice is safe.
	EXPECT_EQ(vaccel_config_release(&cfg), VACCEL_OK);
	EXPECT_EQ(vaccel_config_release(nullptr), VACCEL_EINVAL);
}

TEST(Config, InitRejectsBadArguments)
{
	struct vaccel_config cfg {
	};
	EXPECT_EQ(vaccel_config_init(nullptr, nullptr, VACCEL_LOG_ERROR,
				     nullptr, false, false),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_config_init(&cfg, nullptr,
				     static_cast<vaccel_log_level_t>(0),
				     nullptr, false, false),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_config_init(&cfg, "x", VACCEL_LOG_MAX, nullptr, false,
				     false),
		  VACCEL_EINVAL);
	// Nothing was written on failure.
	EXPECT_EQ(cfg.plugins, nullptr);
	// NULL strings are allowed.
	EXPECT_EQ(vaccel_config_init(&cfg, nullptr, VACCEL_LOG_DEBUG, nullptr,
				     false, true),
		  VACCEL_OK);
	EXPECT_EQ(cfg.plugins, nullptr);
	EXPECT_EQ(cfg.log_file, nullptr);
	EXPECT_TRUE(cfg.version_ignore);
	EXPECT_EQ(vaccel_config_release(&cfg), VACCEL_OK);
}

TEST(Config, InitFromIsADeepCopy)
{
	struct vaccel_config src {
	};
	ASSERT_EQ(vaccel_config_init(&src, "p.so", VACCEL_LOG_INFO, "l.log",
				     false, true),
		  VACCEL_OK);
	struct vaccel_config dst {
	};
	ASSERT_EQ(vaccel_config_init_from(&dst, &src), VACCEL_OK);
	EXPECT_NE(dst.plugins, src.plugins);
	EXPECT_NE(dst.log_file, src.log_file);
	EXPECT_EQ(vaccel_config_release(&src), VACCEL_OK);
	EXPECT_STREQ(dst.plugins, "p.so");
	EXPECT_STREQ(dst.log_file, "l.log");
	EXPECT_EQ(dst.log_level, VACCEL_LOG_INFO);
	EXPECT_TRUE(dst.version_ignore);
	EXPECT_EQ(vaccel_config_release(&dst), VACCEL_OK);
	EXPECT_EQ(vaccel_config_init_from(&dst, nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_config_init_from(nullptr, &src), VACCEL_EINVAL);
}

TEST(Config, NewFromDelete)
{
	struct vaccel_config *a = nullptr;
	ASSERT_EQ(vaccel_config_new(&a, "x.so", VACCEL_LOG_WARN, nullptr, true,
				    false),
		  VACCEL_OK);
	ASSERT_NE(a, nullptr);
	EXPECT_STREQ(a->plugins, "x.so");
	struct vaccel_config *b = nullptr;
	ASSERT_EQ(vaccel_config_from(&b, a), VACCEL_OK);
	ASSERT_NE(b, nullptr);
	EXPECT_NE(b, a);
	EXPECT_STREQ(b->plugins, "x.so");
	EXPECT_TRUE(b->profiling_enabled);
	EXPECT_EQ(vaccel_config_delete(a), VACCEL_OK);
	EXPECT_EQ(vaccel_config_delete(b), VACCEL_OK);
	EXPECT_EQ(vaccel_config_delete(nullptr), VACCEL_EINVAL);
	struct vaccel_config *c = nullptr;
	EXPECT_EQ(vaccel_config_new(&c, nullptr,
				    static_cast<vaccel_log_level_t>(6), nullptr,
				    false, false),
		  VACCEL_EINVAL);
	EXPECT_EQ(c, nullptr);
	EXPECT_EQ(vaccel_config_new(nullptr, nullptr, VACCEL_LOG_ERROR, nullptr,
				    false, false),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_config_from(nullptr, nullptr), VACCEL_EINVAL);
	vaccel_config_print_debug(nullptr); // ignored, no crash
}

// ---- configuration sources
// ---------------------------------------------------

class ConfigSources : public ::testing::Test
{
protected:
	std::string write_config(std::string_view toml)
	{
		return dir_.write("vaccel.toml", toml);
	}
	CleanVaccelEnv env_;
	TempDir dir_;
};

TEST_F(ConfigSources, DefaultsWithEmptyEnvironment)
{
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init_from_env(&cfg), VACCEL_OK);
	EXPECT_EQ(cfg.plugins, nullptr);
	EXPECT_EQ(cfg.log_level, VACCEL_LOG_ERROR);
	EXPECT_EQ(cfg.log_file, nullptr);
	EXPECT_FALSE(cfg.profiling_enabled);
	EXPECT_FALSE(cfg.version_ignore);
	EXPECT_EQ(vaccel_config_release(&cfg), VACCEL_OK);
	EXPECT_EQ(vaccel_config_init_from_env(nullptr), VACCEL_EINVAL);
}

TEST_F(ConfigSources, FileOverridesDefaults)
{
	std::string path = write_config(R"(
plugins = ["libvaccel-a.so", "libvaccel-b.so"]
log_level = "info"
log_file = "/tmp/from-file.log"
profiling_enabled = true
version_ignore = true

[rpc]
address = "unix:///tmp/sock" # other components' tables are left alone
)");
	ScopedEnv e("VACCEL_CONFIG", path);
	struct vaccel_config *cfg = nullptr;
	ASSERT_EQ(vaccel_config_from_env(&cfg), VACCEL_OK)
	    << vaccel_last_error();
	EXPECT_STREQ(cfg->plugins, "libvaccel-a.so:libvaccel-b.so");
	EXPECT_EQ(cfg->log_level, VACCEL_LOG_INFO);
	EXPECT_STREQ(cfg->log_file, "/tmp/from-file.log");
	EXPECT_TRUE(cfg->profiling_enabled);
	EXPECT_TRUE(cfg->version_ignore);
	EXPECT_EQ(vaccel_config_delete(cfg), VACCEL_OK);
}

TEST_F(ConfigSources, EnvironmentOverridesFile)
{
	std::string path = write_config(R"(
plugins = "from-file.so"
log_level = 3
profiling_enabled = true
)");
	ScopedEnv e1("VACCEL_CONFIG", path);
	ScopedEnv e2("VACCEL_PLUGINS", "from-env.so");
	ScopedEnv e3("VACCEL_LOG_LEVEL", "debug");
	ScopedEnv e4("VACCEL_PROFILING_ENABLED", "0");
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init_from_env(&cfg), VACCEL_OK);
	EXPECT_STREQ(cfg.plugins, "from-env.so");
	EXPECT_EQ(cfg.log_level, VACCEL_LOG_DEBUG);
	EXPECT_FALSE(cfg.profiling_enabled);
	EXPECT_EQ(vaccel_config_release(&cfg), VACCEL_OK);
}

TEST_F(ConfigSources, LogLevelSpellings)
{
	const std::pair<const char *, vaccel_log_level_t> cases[] = {
	    {"1", VACCEL_LOG_ERROR},   {"error", VACCEL_LOG_ERROR},
	    {"WARN", VACCEL_LOG_WARN}, {"warning", VACCEL_LOG_WARN},
	    {"3", VACCEL_LOG_INFO},    {"Debug", VACCEL_LOG_DEBUG},
	};
	for (const auto &[text, level] : cases) {
		ScopedEnv e("VACCEL_LOG_LEVEL", text);
		struct vaccel_config cfg {
		};
		ASSERT_EQ(vaccel_config_init_from_env(&cfg), VACCEL_OK) << text;
		EXPECT_EQ(cfg.log_level, level) << text;
		EXPECT_EQ(vaccel_config_release(&cfg), VACCEL_OK);
	}
}

TEST_F(ConfigSources, DeprecatedAliases)
{
	{
		ScopedEnv e1("VACCEL_BACKENDS", "old.so");
		ScopedEnv e2("VACCEL_DEBUG_LEVEL", "4");
		ScopedEnv e3("VACCEL_IGNORE_VERSION", "1");
		struct vaccel_config cfg {
		};
		ASSERT_EQ(vaccel_config_init_from_env(&cfg), VACCEL_OK);
		EXPECT_STREQ(cfg.plugins, "old.so");
		EXPECT_EQ(cfg.log_level, VACCEL_LOG_DEBUG);
		EXPECT_TRUE(cfg.version_ignore);
		EXPECT_EQ(vaccel_config_release(&cfg), VACCEL_OK);
	}
	// The new names win over the old ones.
	ScopedEnv e1("VACCEL_BACKENDS", "old.so");
	ScopedEnv e2("VACCEL_PLUGINS", "new.so");
	ScopedEnv e3("VACCEL_DEBUG_LEVEL", "4");
	ScopedEnv e4("VACCEL_LOG_LEVEL", "2");
	ScopedEnv e5("VACCEL_IGNORE_VERSION", "1");
	ScopedEnv e6("VACCEL_VERSION_IGNORE", "false");
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init_from_env(&cfg), VACCEL_OK);
	EXPECT_STREQ(cfg.plugins, "new.so");
	EXPECT_EQ(cfg.log_level, VACCEL_LOG_WARN);
	EXPECT_FALSE(cfg.version_ignore);
	EXPECT_EQ(vaccel_config_release(&cfg), VACCEL_OK);
}

TEST_F(ConfigSources, BootstrapUsesEnvironment)
{
	std::string log = dir_.file("env.log");
	ScopedEnv e1("VACCEL_LOG_LEVEL", "info");
	ScopedEnv e2("VACCEL_LOG_FILE", log);
	ScopedEnv e3("VACCEL_VERSION_IGNORE", "yes");
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	ASSERT_EQ(vaccel_bootstrap(), VACCEL_OK) << vaccel_last_error();
	const struct vaccel_config *cfg = vaccel_config();
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(cfg->log_level, VACCEL_LOG_INFO);
	EXPECT_STREQ(cfg->log_file, log.c_str());
	EXPECT_TRUE(cfg->version_ignore);
	vaccel_info("marker-info-%d", 17);
	vaccel_debug("marker-debug-%d", 18);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	std::string text = read_text(log);
	EXPECT_NE(text.find("marker-info-17"), std::string::npos) << text;
	EXPECT_EQ(text.find("marker-debug-18"), std::string::npos) << text;
}

// Each malformed source makes both config_init_from_env and bootstrap fail
// with the documented code, leaving the runtime uninitialized.
struct BadSource {
	const char *name;
	const char *toml;          // nullptr: no file
	const char *log_level_env; // nullptr: unset
	int code;
};

class MalformedConfig : public ConfigSources,
			public ::testing::WithParamInterface<BadSource>
{
};

TEST_P(MalformedConfig, IsRejected)
{
	const BadSource &p = GetParam();
	std::optional<ScopedEnv> cfg_env;
	std::optional<ScopedEnv> lvl_env;
	if (p.toml != nullptr)
		cfg_env.emplace("VACCEL_CONFIG", write_config(p.toml));
	if (p.log_level_env != nullptr)
		lvl_env.emplace("VACCEL_LOG_LEVEL", p.log_level_env);

	struct vaccel_config cfg {
	};
	EXPECT_EQ(vaccel_config_init_from_env(&cfg), p.code);
	EXPECT_EQ(cfg.plugins, nullptr);

	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	EXPECT_EQ(vaccel_bootstrap(), p.code);
	EXPECT_FALSE(vaccel_is_initialized());
	EXPECT_NE(std::string(vaccel_last_error()), "");
	EXPECT_NE(std::strstr(vaccel_last_error(), "vaccel_bootstrap"), nullptr)
	    << vaccel_last_error();
}

INSTANTIATE_TEST_SUITE_P(
    Sources, MalformedConfig,
    ::testing::Values(
	BadSource{"TomlSyntax", "log_level = \n[[[", nullptr, VACCEL_EINVAL},
	BadSource{"UnknownKey", "no_such_key = 1\n", nullptr, VACCEL_EINVAL},
	BadSource{"WrongTypeBool", "profiling_enabled = \"maybe\"\n", nullptr,
		  VACCEL_EINVAL},
	BadSource{"WrongTypeLevel", "log_level = true\n", nullptr,
		  VACCEL_EINVAL},
	BadSource{"WrongTypeBoolFromInt", "version_ignore = 1\n", nullptr,
		  VACCEL_EINVAL},
	BadSource{"WrongTypeLogFile", "log_file = 5\n", nullptr, VACCEL_EINVAL},
	BadSource{"LevelOutOfRange", "log_level = 7\n", nullptr, VACCEL_EINVAL},
	BadSource{"PluginsNotStrings", "plugins = [1, 2]\n", nullptr,
		  VACCEL_EINVAL},
	BadSource{"BadLogLevelEnv", nullptr, "loud", VACCEL_EINVAL}),
    [](const auto &tpi) { return std::string(tpi.param.name); });

TEST_F(ConfigSources, MissingConfigFileIsEnoent)
{
	ScopedEnv e("VACCEL_CONFIG", dir_.file("does-not-exist.toml"));
	struct vaccel_config cfg {
	};
	EXPECT_EQ(vaccel_config_init_from_env(&cfg), VACCEL_ENOENT);
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	EXPECT_EQ(vaccel_bootstrap(), VACCEL_ENOENT);
	EXPECT_FALSE(vaccel_is_initialized());
	EXPECT_NE(std::strstr(vaccel_last_error(), "does-not-exist.toml"),
		  nullptr)
	    << vaccel_last_error();
}

TEST_F(ConfigSources, BadBooleanEnvIsEinval)
{
	ScopedEnv e("VACCEL_PROFILING_ENABLED", "perhaps");
	struct vaccel_config cfg {
	};
	EXPECT_EQ(vaccel_config_init_from_env(&cfg), VACCEL_EINVAL);
}

TEST_F(ConfigSources, MissingPluginIsSkippedOthersLoad)
{
	std::string log = dir_.file("skip.log");
	std::string list =
	    "/nonexistent/libvaccel-ghost.so:" + plugin_path("test-partial");
	ScopedEnv e1("VACCEL_PLUGINS", list);
	ScopedEnv e2("VACCEL_LOG_FILE", log);
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	ASSERT_EQ(vaccel_bootstrap(), VACCEL_OK) << vaccel_last_error();
	ASSERT_EQ(vaccel_plugin_count(), 1U);
	struct vaccel_plugin_desc d {
	};
	d.struct_size = sizeof(d);
	ASSERT_EQ(vaccel_plugin_describe(0, &d), VACCEL_OK);
	EXPECT_STREQ(d.name, "test-partial");
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	std::string text = read_text(log);
	EXPECT_NE(text.find("libvaccel-ghost.so"), std::string::npos) << text;
}

// ---- logging
// -----------------------------------------------------------------

TEST_F(Core, LogFileHonoursLevel)
{
	TempDir d;
	std::string log = d.file("levels.log");
	ASSERT_EQ(rebootstrap(nullptr, VACCEL_LOG_WARN, log.c_str()),
		  VACCEL_OK);
	EXPECT_TRUE(vaccel_log_enabled(VACCEL_LOG_ERROR));
	EXPECT_TRUE(vaccel_log_enabled(VACCEL_LOG_WARN));
	EXPECT_FALSE(vaccel_log_enabled(VACCEL_LOG_INFO));
	EXPECT_FALSE(vaccel_log_enabled(VACCEL_LOG_DEBUG));
	vaccel_error("marker-error-%d", 1);
	vaccel_warn("marker-warn-%d", 2);
	vaccel_info("marker-info-%d", 3);
	vaccel_debug("marker-debug-%d", 4);
	vaccel_log_print(VACCEL_LOG_INFO, nullptr, 0, "marker-direct-info");
	vaccel_log_print(VACCEL_LOG_WARN, nullptr, 0, "marker-direct-warn");
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	std::string text = read_text(log);
	EXPECT_NE(text.find("marker-error-1"), std::string::npos) << text;
	EXPECT_NE(text.find("marker-warn-2"), std::string::npos) << text;
	EXPECT_NE(text.find("marker-direct-warn"), std::string::npos) << text;
	EXPECT_EQ(text.find("marker-info-3"), std::string::npos) << text;
	EXPECT_EQ(text.find("marker-debug-4"), std::string::npos) << text;
	EXPECT_EQ(text.find("marker-direct-info"), std::string::npos) << text;
	// One message per line.
	size_t markers = 0;
	std::istringstream in(text);
	for (std::string line; std::getline(in, line);)
		markers += line.find("marker-") != std::string::npos;
	EXPECT_EQ(markers, 3U) << text;
}

TEST_F(Core, FailuresAreLoggedAndKeptInLastError)
{
	struct vaccel_session *found = nullptr;
	EXPECT_EQ(vaccel_session_get_by_id(&found, 987654), VACCEL_ENOENT);
	EXPECT_EQ(found, nullptr);
	std::string err = vaccel_last_error();
	EXPECT_NE(err.find("vaccel_session_get_by_id"), std::string::npos)
	    << err;
	EXPECT_NE(err.find("987654"), std::string::npos) << err;
	EXPECT_NE(log_text().find("987654"), std::string::npos) << log_text();
	// Success does not clear it (errno-like).
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	EXPECT_EQ(std::string(vaccel_last_error()), err);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

TEST(LastError, IsPerThread)
{
	struct vaccel_session *found = nullptr;
	EXPECT_EQ(vaccel_session_get_by_id(&found, 424242), VACCEL_ENOENT);
	std::string mine = vaccel_last_error();
	std::string theirs = "unset";
	std::thread t([&] { theirs = vaccel_last_error(); });
	t.join();
	EXPECT_EQ(theirs, "");
	EXPECT_EQ(std::string(vaccel_last_error()), mine);
}

} // namespace
