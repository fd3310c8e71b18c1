// SPDX-License-Identifier: Apache-2.0
// C entry points of the lifecycle, configuration, logging and error state.
#include "capi/funnel.h"
#include "core/plugin_reason.h"
#include "core/runtime.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vaccel/config.h>
#include <vaccel/core.h>
#include <vaccel/ext.h>
#include <vaccel/log.h>

using vaccel::capi::guard;
using vaccel::core::runtime;
using vaccel::core::Status;

namespace vaccel::capi
{

void set_last_error(int code, const char *fn,
		    const std::string &message) noexcept
{
	(void)code;
	try {
		core::set_thread_error(std::string(fn) + ": " + message);
	} catch (...) {
		core::set_thread_error(message);
	}
}

void clear_last_error() noexcept
{
	core::set_thread_error({});
}

const char *last_error() noexcept
{
	return core::thread_error();
}

int report(const char *fn, const core::Status &st) noexcept
{
	set_last_error(st.code(), fn, st.message());
	vaccel_error("%s: %s", fn, st.message().c_str());
	return st.code();
}

} // namespace vaccel::capi

namespace
{

Status config_fill(struct vaccel_config *config, const char *plugins,
		   int log_level, const char *log_file, bool profiling,
		   bool version_ignore)
{
	if (config == nullptr)
		return Status(VACCEL_EINVAL, "config is NULL");
	if (log_level < VACCEL_LOG_ERROR || log_level > VACCEL_LOG_DEBUG)
		return Status::error(VACCEL_EINVAL,
				     "log level %d is not in 1..4", log_level);
	char *p = plugins ? strdup(plugins) : nullptr;
	char *f = log_file ? strdup(log_file) : nullptr;
	if ((plugins && !p) || (log_file && !f)) {
		free(p);
		free(f);
		return Status(VACCEL_ENOMEM, "out of memory");
	}
	config->plugins = p;
	config->log_level = static_cast<vaccel_log_level_t>(log_level);
	config->log_file = f;
	config->profiling_enabled = profiling;
	config->version_ignore = version_ignore;
	return Status::ok();
}

Status config_fill_from(struct vaccel_config *config,
			const vaccel::core::Config &c)
{
	return config_fill(
	    config, c.plugins.empty() ? nullptr : c.plugins.c_str(),
	    c.log_level, c.log_file.empty() ? nullptr : c.log_file.c_str(),
	    c.profiling_enabled, c.version_ignore);
}

} // namespace

extern "C" {

int vaccel_bootstrap(void)
{
	return guard(__func__, []() -> Status {
		auto cfg = vaccel::core::config_from_environment();
		if (!cfg.is_ok())
			return cfg.status();
		return runtime().bootstrap(cfg.value());
	});
}

int vaccel_bootstrap_with_config(struct vaccel_config *config)
{
	return guard(__func__, [&]() -> Status {
		if (config == nullptr)
			return Status(VACCEL_EINVAL, "config is NULL");
		vaccel::core::Config cfg = vaccel::core::from_c(*config);
		// The struct has no field for it (its layout is upstream's).
		auto compat = vaccel::core::compat_from_environment();
		if (!compat.is_ok())
			return compat.status();
		cfg.upstream_compat = compat.value();
		return runtime().bootstrap(cfg);
	});
}

int vaccel_cleanup(void)
{
	return guard(__func__, [] { return runtime().cleanup(); });
}

bool vaccel_is_initialized(void)
{
	return runtime().initialized();
}

const char *vaccel_rundir(void)
{
	return runtime().initialized() ? runtime().rundir().c_str() : nullptr;
}

const struct vaccel_config *vaccel_config(void)
{
	return runtime().c_config();
}

int vaccel_config_init(struct vaccel_config *config, const char *plugins,
		       vaccel_log_level_t log_level, const char *log_file,
		       bool profiling_enabled, bool version_ignore)
{
	return guard(__func__, [&] {
		return config_fill(config, plugins,
				   vaccel::core::enum_value(log_level),
				   log_file, profiling_enabled, version_ignore);
	});
}

int vaccel_config_init_from_env(struct vaccel_config *config)
{
	return guard(__func__, [&]() -> Status {
		if (config == nullptr)
			return Status(VACCEL_EINVAL, "config is NULL");
		auto cfg = vaccel::core::config_from_environment();
		if (!cfg.is_ok())
			return cfg.status();
		return config_fill_from(config, cfg.value());
	});
}

int vaccel_config_init_from(struct vaccel_config *config,
			    struct vaccel_config *src)
{
	return guard(__func__, [&]() -> Status {
		if (src == nullptr)
			return Status(VACCEL_EINVAL, "source config is NULL");
		return config_fill(config, src->plugins,
				   vaccel::core::enum_value(src->log_level),
				   src->log_file, src->profiling_enabled,
				   src->version_ignore);
	});
}

int vaccel_config_release(struct vaccel_config *config)
{
	if (config == nullptr)
		return VACCEL_EINVAL;
	free(config->plugins);
	free(config->log_file);
	// Back to the defaults, as upstream does: a released config reused
	// without init must not carry the old level or flags.
	*config = {};
	config->log_level = VACCEL_LOG_ERROR;
	return VACCEL_OK;
}

int vaccel_config_new(struct vaccel_config **config, const char *plugins,
		      vaccel_log_level_t log_level, const char *log_file,
		      bool profiling_enabled, bool version_ignore)
{
	if (config == nullptr)
		return VACCEL_EINVAL;
	auto *c = static_cast<struct vaccel_config *>(
	    calloc(1, sizeof(struct vaccel_config)));
	if (c == nullptr)
		return VACCEL_ENOMEM;
	int rc = vaccel_config_init(c, plugins, log_level, log_file,
				    profiling_enabled, version_ignore);
	if (rc != VACCEL_OK) {
		free(c);
		return rc;
	}
	*config = c;
	return VACCEL_OK;
}

int vaccel_config_from_env(struct vaccel_config **config)
{
	if (config == nullptr)
		return VACCEL_EINVAL;
	auto *c = static_cast<struct vaccel_config *>(
	    calloc(1, sizeof(struct vaccel_config)));
	if (c == nullptr)
		return VACCEL_ENOMEM;
	int rc = vaccel_config_init_from_env(c);
	if (rc != VACCEL_OK) {
		free(c);
		return rc;
	}
	*config = c;
	return VACCEL_OK;
}

int vaccel_config_from(struct vaccel_config **config, struct vaccel_config *src)
{
	if (config == nullptr)
		return VACCEL_EINVAL;
	auto *c = static_cast<struct vaccel_config *>(
	    calloc(1, sizeof(struct vaccel_config)));
	if (c == nullptr)
		return VACCEL_ENOMEM;
	int rc = vaccel_config_init_from(c, src);
	if (rc != VACCEL_OK) {
		free(c);
		return rc;
	}
	*config = c;
	return VACCEL_OK;
}

int vaccel_config_delete(struct vaccel_config *config)
{
	int rc = vaccel_config_release(config);
	if (rc != VACCEL_OK)
		return rc;
	free(config);
	return VACCEL_OK;
}

void vaccel_config_print_debug(struct vaccel_config *config)
{
	if (config == nullptr)
		return;
	vaccel_debug("config: plugins=%s log_level=%s log_file=%s "
		     "profiling_enabled=%d version_ignore=%d",
		     config->plugins ? config->plugins : "(none)",
		     vaccel_log_level_to_str(config->log_level),
		     config->log_file ? config->log_file : "(stderr)",
		     config->profiling_enabled, config->version_ignore);
}

int vaccel_log_init(void)
{
	const std::string &file = runtime().config().log_file;
	runtime().log().set_level(runtime().config().log_level);
	return runtime().log().open(file) ? VACCEL_OK : VACCEL_EIO;
}

int vaccel_log_shutdown(void)
{
	runtime().log().close();
	return VACCEL_OK;
}

bool vaccel_log_enabled(vaccel_log_level_t level)
{
	return runtime().log().enabled(level);
}

void vaccel_log_print(vaccel_log_level_t level, const char *file, int line,
		      const char *fmt, ...)
{
	if (fmt == nullptr)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (level == VACCEL_LOG_ERROR) {
		// Kept whether or not it is written: it may be a plugin's
		// reason for the op it fails (core/plugin_reason.h).
		char text[2048];
		const int n = std::vsnprintf(text, sizeof(text), fmt, ap);
		if (n < 0)
			text[0] = '\0';
		vaccel::core::note_error_line(text);
		if (runtime().log().enabled(level))
			runtime().log().print(level, file, line, text,
					      static_cast<size_t>(n) >=
						  sizeof(text));
	} else if (runtime().log().enabled(level)) {
		runtime().log().vprint(level, file, line, fmt, ap);
	}
	va_end(ap);
}

const char *vaccel_last_error(void)
{
	return vaccel::capi::last_error();
}

void vaccel_clear_last_error(void)
{
	vaccel::capi::clear_last_error();
}

} // extern "C"
