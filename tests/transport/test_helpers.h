// SPDX-License-Identifier: Apache-2.0
// Shared bits of the transport tests.
#pragma once

#include "transport/transport.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>

namespace vaccel::transport::test
{

inline std::span<const uint8_t> bytes(std::string_view s)
{
	return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

inline std::pair<Stream, Stream> stream_pair()
{
	int sv[2];
	EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	return {Stream(sv[0]), Stream(sv[1])};
}

// A private directory under TMPDIR, removed (with what is left in it) at
// the end of the test.
class TempDir
{
public:
	TempDir()
	{
		const char *base = std::getenv("TMPDIR");
		std::string tmpl = std::string(base ? base : "/tmp") +
				   "/vaccel-transport-XXXXXX";
		char *p = ::mkdtemp(tmpl.data());
		EXPECT_NE(p, nullptr);
		path_ = tmpl;
	}
	~TempDir()
	{
		std::string cmd = "rm -rf '" + path_ + "'";
		[[maybe_unused]] int rc = std::system(cmd.c_str());
	}
	[[nodiscard]] const std::string &path() const { return path_; }

private:
	std::string path_;
};

} // namespace vaccel::transport::test
