// SPDX-License-Identifier: Apache-2.0
// slog_print(): the entry point upstream's log macros expand to, written
// through our logger at the level each slog flag maps to.
#include "test_util.h"

#include <vaccel/compat/slog.h>

#include <sstream>

using vaccel_test::RuntimeTest;

namespace
{

class CompatLog : public RuntimeTest
{
protected:
	// The line of the log that holds @p marker, or "" if none does.
	std::string line_with(const std::string &text,
			      const std::string &marker)
	{
		std::istringstream in(text);
		for (std::string line; std::getline(in, line);)
			if (line.find(marker) != std::string::npos)
				return line;
		return "";
	}
};

TEST_F(CompatLog, FlagsMapToLevels)
{
	reconfigure(nullptr, false, VACCEL_LOG_INFO);
	slog_print(VACCEL_SLOG_ERROR, 1, "slog-error-%d", 1);
	slog_print(VACCEL_SLOG_FATAL, 1, "slog-fatal-%d", 2);
	slog_print(VACCEL_SLOG_WARN, 1, "slog-warn-%s", "3");
	slog_print(VACCEL_SLOG_INFO, 1, "slog-info-%d", 4);
	slog_print(VACCEL_SLOG_NOTE, 0, "slog-note-%d", 5);
	slog_print(VACCEL_SLOG_DEBUG, 1, "slog-debug-%d", 6);
	slog_print(VACCEL_SLOG_TRACE, 1, "slog-trace-%d", 7);
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	const std::string text = log_text();
	EXPECT_NE(line_with(text, "slog-error-1").find("<error>"),
		  std::string::npos)
	    << text;
	EXPECT_NE(line_with(text, "slog-fatal-2").find("<error>"),
		  std::string::npos)
	    << text;
	EXPECT_NE(line_with(text, "slog-warn-3").find("<warn>"),
		  std::string::npos)
	    << text;
	EXPECT_NE(line_with(text, "slog-info-4").find("<info>"),
		  std::string::npos)
	    << text;
	EXPECT_NE(line_with(text, "slog-note-5").find("<info>"),
		  std::string::npos)
	    << text;
	// Below the configured level.
	EXPECT_EQ(text.find("slog-debug-6"), std::string::npos) << text;
	EXPECT_EQ(text.find("slog-trace-7"), std::string::npos) << text;
}

TEST_F(CompatLog, NullFormatIsIgnored)
{
	slog_print(VACCEL_SLOG_ERROR, 1, nullptr);
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	EXPECT_EQ(log_text().find("<error>"), std::string::npos);
}

} // namespace
