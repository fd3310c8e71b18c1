// SPDX-License-Identifier: Apache-2.0
// The audit trail's lines: whatever bytes a tenant or launcher puts in a
// name, the line stays one valid JSON object (quotes, backslashes and control
// bytes escaped, everything else as it came).
#include "audit.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <string>

namespace vaccel::agent
{
namespace
{

// The lines written while @p emit runs.
template <class Fn> std::string captured(Fn &&emit)
{
	std::FILE *f = std::tmpfile();
	EXPECT_NE(f, nullptr);
	audit::set_sink(f);
	emit();
	audit::set_sink(nullptr);
	std::string out;
	std::rewind(f);
	char buf[512];
	size_t n = 0;
	while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
		out.append(buf, n);
	std::fclose(f);
	return out;
}

TEST(Audit, EventIsOneLineOfJsonWithItsBytesEscaped)
{
	const std::string detail = std::string("say \"hi\" \\ tab\there\nnew") +
				   '\x01' + '\x7f' + "caf\xc3\xa9 end";
	const std::string line =
	    captured([&] { audit::event("attach", detail); });
	const std::regex shape(
	    R"re(\{"audit":"attach","time":[0-9]+,"detail":"(.*)"\}\n)re");
	std::smatch m;
	ASSERT_TRUE(std::regex_match(line, m, shape)) << line;
	EXPECT_EQ(m[1].str(), "say \\\"hi\\\" \\\\ tab\\u0009here\\u000anew"
			      "\\u0001\\u007fcaf\xc3\xa9 end");
}

TEST(Audit, PlainAndEmptyFieldsAreCopiedWhole)
{
	const std::string line = captured(
	    [] { audit::refused("uid:1000", 7, "Genop/exec", "", "plain"); });
	const std::regex shape(
	    R"re(\{"audit":"refused","time":[0-9]+,"tenant":"uid:1000","conn":7,)re"
	    R"re("op":"Genop/exec","rule":"","detail":"plain"\}\n)re");
	EXPECT_TRUE(std::regex_match(line, shape)) << line;
}

TEST(Audit, NulAndNothingButEscapes)
{
	const std::string detail("\0\"\\\x1f", 4);
	const std::string line = captured([&] { audit::event("k", detail); });
	const std::regex shape(
	    R"re(\{"audit":"k","time":[0-9]+,"detail":"(.*)"\}\n)re");
	std::smatch m;
	ASSERT_TRUE(std::regex_match(line, m, shape)) << line;
	EXPECT_EQ(m[1].str(), "\\u0000\\\"\\\\\\u001f");
}

TEST(Audit, EscapesAtTheEdgesOfAField)
{
	const std::string line = captured([] { audit::event("\"k\"", "\n"); });
	const std::regex shape(
	    R"re(\{"audit":"\\"k\\"","time":[0-9]+,"detail":"\\u000a"\}\n)re");
	EXPECT_TRUE(std::regex_match(line, shape)) << line;
}

} // namespace
} // namespace vaccel::agent
