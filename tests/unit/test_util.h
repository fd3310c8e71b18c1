// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the unit tests: plugin paths, scoped environment
// variables and temporary files, and a fixture that gives each test a
// freshly bootstrapped runtime with a known configuration.
#pragma once

#include <vaccel.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace vaccel_test
{

namespace fs = std::filesystem;

// Full path of libvaccel-<name>.so in the build tree.
inline std::string plugin_path(std::string_view name)
{
	return std::string(VACCEL_TEST_LIB_DIR) + "/libvaccel-" +
	       std::string(name) + ".so";
}

inline bool have_plugin(std::string_view name)
{
	return fs::exists(plugin_path(name));
}

#define REQUIRE_PLUGIN(name)                                                   \
	do {                                                                   \
		if (!::vaccel_test::have_plugin(name))                         \
			GTEST_SKIP() << ::vaccel_test::plugin_path(name)       \
				     << " is not built";                       \
	} while (0)

// Sets (or unsets, with nullopt) an environment variable for a scope.
class ScopedEnv
{
public:
	ScopedEnv(std::string name, std::optional<std::string> value)
	    : name_(std::move(name))
	{
		if (const char *old = std::getenv(name_.c_str()))
			old_ = old;
		if (value)
			setenv(name_.c_str(), value->c_str(), 1);
		else
			unsetenv(name_.c_str());
	}
	ScopedEnv(const ScopedEnv &) = delete;
	ScopedEnv &operator=(const ScopedEnv &) = delete;
	~ScopedEnv()
	{
		if (old_)
			setenv(name_.c_str(), old_->c_str(), 1);
		else
			unsetenv(name_.c_str());
	}

private:
	std::string name_;
	std::optional<std::string> old_;
};

// Every variable the configuration reads, cleared for a test's duration so
// that the caller's environment cannot change the outcome.
class CleanVaccelEnv
{
public:
	CleanVaccelEnv()
	{
		for (const char *v :
		     {"VACCEL_CONFIG", "VACCEL_PLUGINS", "VACCEL_BACKENDS",
		      "VACCEL_LOG_LEVEL", "VACCEL_DEBUG_LEVEL",
		      "VACCEL_LOG_FILE", "VACCEL_PROFILING_ENABLED",
		      "VACCEL_VERSION_IGNORE", "VACCEL_IGNORE_VERSION",
		      "VACCEL_RESOURCE_FETCH_TIMEOUT", "VACCEL_COMPAT"})
			vars_.emplace_back(
			    std::make_unique<ScopedEnv>(v, std::nullopt));
	}

private:
	std::vector<std::unique_ptr<ScopedEnv>> vars_;
};

// A private temporary directory, removed with everything in it.
class TempDir
{
public:
	TempDir()
	{
		std::string tmpl =
		    (fs::temp_directory_path() / "vaccel-test-XXXXXX").string();
		if (mkdtemp(tmpl.data()) == nullptr)
			throw std::runtime_error("mkdtemp failed");
		path_ = tmpl;
	}
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;
	~TempDir()
	{
		std::error_code ec;
		fs::remove_all(path_, ec);
	}
	[[nodiscard]] const fs::path &path() const { return path_; }
	[[nodiscard]] std::string file(std::string_view name) const
	{
		return (path_ / name).string();
	}
	// Writes `content` to `name` in the directory; returns its path.
	std::string write(std::string_view name, std::string_view content) const
	{
		std::string p = file(name);
		std::ofstream out(p, std::ios::binary);
		out.write(content.data(),
			  static_cast<std::streamsize>(content.size()));
		return p;
	}

private:
	fs::path path_;
};

inline std::string read_text(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

// Re-bootstraps the runtime with an explicit configuration.
inline int rebootstrap(const char *plugins = nullptr,
		       vaccel_log_level_t level = VACCEL_LOG_ERROR,
		       const char *log_file = nullptr,
		       bool version_ignore = false)
{
	(void)vaccel_cleanup();
	struct vaccel_config cfg {
	};
	int rc = vaccel_config_init(&cfg, plugins, level, log_file, false,
				    version_ignore);
	if (rc != VACCEL_OK)
		return rc;
	rc = vaccel_bootstrap_with_config(&cfg);
	(void)vaccel_config_release(&cfg);
	return rc;
}

// Each test starts from a runtime bootstrapped with no plugins and errors
// logged to a private file (so that tests may look for messages), and
// cleans up afterwards.
class RuntimeTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		log_file_ = tmp_.file("vaccel.log");
		ASSERT_EQ(
		    rebootstrap(nullptr, VACCEL_LOG_ERROR, log_file_.c_str()),
		    VACCEL_OK);
		ASSERT_TRUE(vaccel_is_initialized());
	}
	void TearDown() override { EXPECT_EQ(vaccel_cleanup(), VACCEL_OK); }

	// Re-bootstrap with plugins / version_ignore, keeping the log file.
	void reconfigure(const char *plugins, bool version_ignore = false,
			 vaccel_log_level_t level = VACCEL_LOG_ERROR)
	{
		ASSERT_EQ(rebootstrap(plugins, level, log_file_.c_str(),
				      version_ignore),
			  VACCEL_OK);
	}

	[[nodiscard]] std::string log_text() const
	{
		return read_text(log_file_);
	}

	CleanVaccelEnv env_;
	TempDir tmp_;
	std::string log_file_;
};

// Naive row-major reference: C = alpha * A * B + beta * C.
inline void ref_sgemm(int64_t m, int64_t n, int64_t k, float alpha,
		      const float *a, int64_t lda, const float *b, int64_t ldb,
		      float beta, float *c, int64_t ldc)
{
	for (int64_t i = 0; i < m; ++i)
		for (int64_t j = 0; j < n; ++j) {
			double acc = 0;
			for (int64_t p = 0; p < k; ++p)
				acc += static_cast<double>(a[i * lda + p]) *
				       b[p * ldb + j];
			c[i * ldc + j] = static_cast<float>(
			    alpha * acc + beta * c[i * ldc + j]);
		}
}

} // namespace vaccel_test
