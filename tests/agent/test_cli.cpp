// SPDX-License-Identifier: Apache-2.0
// vaccel-agent's command line.
#include "cli.h"

#include "transport/transport.h"

#include <gtest/gtest.h>

namespace
{

using vaccel::agent::parse_cli;
using vaccel::agent::parse_vaccel_config;

TEST(Cli, Defaults)
{
	auto o = parse_cli({"vaccel-agent"});
	ASSERT_TRUE(o);
	EXPECT_EQ(o->address, "tcp://127.0.0.1:65500");
	EXPECT_GE(o->workers, 2U);
	EXPECT_EQ(o->max_frame, vaccel::transport::kDefaultMaxFrame);
	EXPECT_FALSE(o->vaccel_config);
	EXPECT_FALSE(o->help);
}

TEST(Cli, Options)
{
	auto o = parse_cli({"a", "-a", "unix:///tmp/x.sock", "--workers=3",
			    "--max-frame", "65536", "--vaccel-config",
			    "plugins=libvaccel-noop.so:libvaccel-exec.so,"
			    "log_level=4,profiling_enabled=true"});
	ASSERT_TRUE(o) << o.status().message();
	EXPECT_EQ(o->address, "unix:///tmp/x.sock");
	EXPECT_EQ(o->workers, 3U);
	EXPECT_EQ(o->max_frame, 65536U);
	ASSERT_TRUE(o->vaccel_config);
	EXPECT_EQ(*o->vaccel_config->plugins,
		  "libvaccel-noop.so:libvaccel-exec.so");
	EXPECT_EQ(*o->vaccel_config->log_level, 4);
	EXPECT_TRUE(*o->vaccel_config->profiling_enabled);
	EXPECT_FALSE(o->vaccel_config->version_ignore);
	EXPECT_TRUE(parse_cli({"a", "--help"})->help);
}

TEST(Cli, FairProgressOptions)
{
	auto d = parse_cli({"a"});
	ASSERT_TRUE(d);
	EXPECT_EQ(d->read_timeout_ms, 30000U);
	EXPECT_EQ(d->idle_timeout_ms, 60000U);
	EXPECT_EQ(d->write_timeout_ms, 30000U);
	EXPECT_EQ(d->max_queued_reply, uint64_t{64} << 20);
	auto o = parse_cli({"a", "--read-timeout-ms", "500",
			    "--idle-timeout-ms=0", "--write-timeout-ms", "1000",
			    "--max-queued-reply", "1048576"});
	ASSERT_TRUE(o) << o.status().message();
	EXPECT_EQ(o->read_timeout_ms, 500U);
	EXPECT_EQ(o->idle_timeout_ms, 0U);
	EXPECT_EQ(o->write_timeout_ms, 1000U);
	EXPECT_EQ(o->max_queued_reply, 1048576U);
	EXPECT_FALSE(parse_cli({"a", "--read-timeout-ms", "-1"}));
	EXPECT_FALSE(parse_cli({"a", "--max-queued-reply", "100"}));
}

TEST(Cli, DrainGrace)
{
	EXPECT_EQ(parse_cli({"a"})->drain_grace_s, 30U);
	EXPECT_EQ(parse_cli({"a", "--drain-grace", "0"})->drain_grace_s, 0U);
	EXPECT_EQ(parse_cli({"a", "--drain-grace=3600"})->drain_grace_s, 3600U);
	auto bad = parse_cli({"a", "--drain-grace", "3601"});
	ASSERT_FALSE(bad);
	EXPECT_NE(bad.status().message().find("--drain-grace '3601'"),
		  std::string::npos);
	EXPECT_FALSE(parse_cli({"a", "--drain-grace", "-1"}));
	EXPECT_FALSE(parse_cli({"a", "--drain-grace"}));
}

TEST(Cli, LargeDataAndLatencyOptions)
{
	auto d = parse_cli({"a"});
	ASSERT_TRUE(d);
	EXPECT_EQ(d->max_message, uint64_t{1} << 30);
	EXPECT_EQ(d->max_buffered, uint64_t{2} << 30);
	EXPECT_TRUE(d->shm);
	EXPECT_TRUE(d->extensions);
	EXPECT_EQ(d->spin_us, 2000U);
	EXPECT_EQ(d->inline_us, 50U);
	auto o =
	    parse_cli({"a", "--max-message", "16777216",
		       "--max-buffered=33554432", "--no-shm", "--no-extensions",
		       "--spin-us", "0", "--inline-us", "0"});
	ASSERT_TRUE(o) << o.status().message();
	EXPECT_EQ(o->max_message, 16777216U);
	EXPECT_EQ(o->max_buffered, 33554432U);
	EXPECT_FALSE(o->shm);
	EXPECT_FALSE(o->extensions);
	EXPECT_EQ(o->spin_us, 0U);
	EXPECT_EQ(o->inline_us, 0U);
	EXPECT_FALSE(parse_cli({"a", "--inline-us", "soon"}));
	EXPECT_FALSE(parse_cli({"a", "--max-message", "1000"}));
	EXPECT_FALSE(parse_cli({"a", "--max-buffered", "lots"}));
	EXPECT_FALSE(parse_cli({"a", "--spin-us", "-1"}));
	EXPECT_FALSE(parse_cli({"a", "--spin-us", "2000000"}));
	EXPECT_TRUE(d->trace.empty());
	auto t = parse_cli({"a", "--trace", "/tmp/t.tsv"});
	ASSERT_TRUE(t);
	EXPECT_EQ(t->trace, "/tmp/t.tsv");
	EXPECT_FALSE(parse_cli({"a", "--trace="}));
	EXPECT_FALSE(parse_cli({"a", "--trace"}));
}

TEST(Cli, Errors)
{
	EXPECT_FALSE(parse_cli({"a", "--nope"}));
	EXPECT_FALSE(parse_cli({"a", "-a"}));
	EXPECT_FALSE(parse_cli({"a", "-a", "carrier-pigeon://x"}));
	EXPECT_FALSE(parse_cli({"a", "--workers", "0"}));
	EXPECT_FALSE(parse_cli({"a", "--workers", "two"}));
	EXPECT_FALSE(parse_cli({"a", "--max-frame", "10"}));
	EXPECT_FALSE(parse_cli({"a", "--max-frame", "999999999"}));
}

TEST(Cli, Tls)
{
	auto o = parse_cli({"a", "-a", "tcp://0.0.0.0:7000", "--tls-cert", "c",
			    "--tls-key", "k", "--tls-client-ca", "ca",
			    "--tls-handshake-ms", "500"});
	ASSERT_TRUE(o) << o.status().message();
	EXPECT_EQ(o->tls_cert, "c");
	EXPECT_EQ(o->tls_key, "k");
	EXPECT_EQ(o->tls_client_ca, "ca");
	EXPECT_EQ(o->tls_handshake_ms, 500U);
	// All three or none; TCP only; the certificate names the tenant.
	EXPECT_FALSE(parse_cli({"a", "--tls-cert", "c", "--tls-key", "k"}));
	EXPECT_FALSE(parse_cli({"a", "-a", "unix:///tmp/s", "--tls-cert", "c",
				"--tls-key", "k", "--tls-client-ca", "ca"}));
	EXPECT_FALSE(parse_cli({"a", "--tls-cert", "c", "--tls-key", "k",
				"--tls-client-ca", "ca", "--tenant", "t"}));
	EXPECT_FALSE(parse_cli({"a", "--tls-handshake-ms", "0"}));
}

// The VM's memory file: a descriptor number, never passed on to a tenant's
// worker (the memory goes there with each connection instead).
TEST(Cli, SandboxMemory)
{
	auto o = parse_cli({"a", "--sandbox-memory-fd", "5"});
	ASSERT_TRUE(o) << o.status().message();
	EXPECT_EQ(o->sandbox_memory_fd, 5);
	EXPECT_EQ(parse_cli({"a"})->sandbox_memory_fd, -1);
	EXPECT_FALSE(parse_cli({"a", "--sandbox-memory-fd", "x"}));
	EXPECT_FALSE(parse_cli({"a", "--sandbox-memory-fd", "-1"}));
	const auto w = vaccel::agent::worker_command_line(
	    {"vaccel-agent", "-a", "unix:///s", "--sandbox-memory-fd", "5",
	     "--sandbox-memory-fd=6", "--isolate-tenants"});
	EXPECT_EQ(w,
		  (std::vector<std::string>{"vaccel-agent", "-a", "unix:///s",
					    "--isolate-tenants"}));
}

TEST(Cli, VaccelConfig)
{
	auto c = parse_vaccel_config("log_level=debug,log_file=/tmp/l,"
				     "version_ignore=false");
	ASSERT_TRUE(c);
	EXPECT_EQ(*c->log_level, 4);
	EXPECT_EQ(*c->log_file, "/tmp/l");
	EXPECT_FALSE(*c->version_ignore);
	EXPECT_FALSE(parse_vaccel_config("log_level=9"));
	EXPECT_FALSE(parse_vaccel_config("profiling_enabled=maybe"));
	EXPECT_FALSE(parse_vaccel_config("colour=blue"));
	EXPECT_FALSE(parse_vaccel_config("plugins"));
}

} // namespace
