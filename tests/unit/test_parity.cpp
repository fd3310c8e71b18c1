// SPDX-License-Identifier: Apache-2.0
// Behaviour a program can see, as upstream vAccel has it (issue 19): error
// codes, blob and config semantics, the string helper, re-bootstrap,
// releasing objects still in use, ids after clean-up, the version. And the
// one deliberate difference, per-op routing, with upstream's rules on
// request (VACCEL_COMPAT=upstream or `compat` in the config file).
#include "test_util.h"

#include <cstring>
#include <string>

using namespace vaccel_test;

namespace
{

class Parity : public RuntimeTest
{
protected:
	void make_resource(vaccel_resource *res)
	{
		const char bytes[] = "0123456789";
		ASSERT_EQ(vaccel_resource_init_from_buf(
			      res, bytes, sizeof(bytes), VACCEL_RESOURCE_DATA,
			      "r.bin", true),
			  VACCEL_OK);
	}
};

TEST_F(Parity, MissingModelPathIsEinval)
{
	vaccel_resource res{};
	const std::string missing = tmp_.file("no-model.pt");
	EXPECT_EQ(
	    vaccel_resource_init(&res, missing.c_str(), VACCEL_RESOURCE_MODEL),
	    VACCEL_EINVAL);
	EXPECT_EQ(res.id, 0);
	vaccel_blob blob{};
	EXPECT_EQ(vaccel_blob_init(&blob, missing.c_str()), VACCEL_EINVAL);
}

TEST_F(Parity, BlobPersistWithoutADirectoryIsEnoent)
{
	const uint8_t bytes[] = {1, 2, 3};
	vaccel_blob b{};
	ASSERT_EQ(vaccel_blob_init_from_buf(&b, bytes, sizeof(bytes), true,
					    "b.bin", nullptr, false),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_blob_persist(&b, nullptr, "b.bin", false),
		  VACCEL_ENOENT);
	EXPECT_EQ(
	    vaccel_blob_persist(&b, tmp_.file("nope").c_str(), "b.bin", false),
	    VACCEL_ENOENT);
	EXPECT_EQ(b.type, VACCEL_BLOB_BUFFER); // untouched
	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_OK);
}

TEST_F(Parity, ReadBlobDoesNotOwnItsData)
{
	const std::string path = tmp_.write("m.bin", "model bytes");
	vaccel_blob b{};
	ASSERT_EQ(vaccel_blob_init(&b, path.c_str()), VACCEL_OK);
	EXPECT_FALSE(b.data_owned);
	ASSERT_EQ(vaccel_blob_read(&b), VACCEL_OK);
	EXPECT_EQ(b.type, VACCEL_BLOB_MAPPED);
	EXPECT_FALSE(b.data_owned);
	ASSERT_NE(b.data, nullptr);
	EXPECT_EQ(std::memcmp(b.data, "model bytes", 11), 0);
	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_OK);
	EXPECT_EQ(b.data, nullptr);
	EXPECT_EQ(read_text(path), "model bytes"); // not the blob's file
}

TEST_F(Parity, ConfigReleaseResetsEveryField)
{
	struct vaccel_config c {
	};
	ASSERT_EQ(vaccel_config_init(&c, "noop", VACCEL_LOG_DEBUG, "x.log",
				     true, true),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_config_release(&c), VACCEL_OK);
	EXPECT_EQ(c.plugins, nullptr);
	EXPECT_EQ(c.log_level, VACCEL_LOG_ERROR);
	EXPECT_EQ(c.log_file, nullptr);
	EXPECT_FALSE(c.profiling_enabled);
	EXPECT_FALSE(c.version_ignore);
}

TEST_F(Parity, TruncatingStrToLowerSucceeds)
{
	char buf[3];
	EXPECT_EQ(vaccel_str_to_lower("ABCD", buf, sizeof(buf), nullptr),
		  VACCEL_OK);
	EXPECT_STREQ(buf, "ab");
}

TEST_F(Parity, BootstrapOfARunningLibraryRestartsIt)
{
	vaccel_session sess{};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_bootstrap(), VACCEL_OK);
	EXPECT_TRUE(vaccel_is_initialized());
	// The restart released what the cleanup releases.
	EXPECT_EQ(vaccel_session_count(), 0U);
	EXPECT_EQ(sess.id, 0);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_EINVAL);

	struct vaccel_config c {
	};
	ASSERT_EQ(vaccel_config_init(&c, nullptr, VACCEL_LOG_WARN, nullptr,
				     false, false),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_bootstrap_with_config(&c), VACCEL_OK);
	EXPECT_EQ(vaccel_config()->log_level, VACCEL_LOG_WARN);
	EXPECT_EQ(vaccel_config_release(&c), VACCEL_OK);
}

TEST_F(Parity, ReleasingASessionUnregistersItsResources)
{
	vaccel_session sess{};
	vaccel_resource res{};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	ASSERT_NO_FATAL_FAILURE(make_resource(&res));
	ASSERT_EQ(vaccel_resource_register(&res, &sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(sess.id, 0);
	EXPECT_EQ(vaccel_resource_refcount(&res), 0);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	EXPECT_EQ(res.id, 0);
}

TEST_F(Parity, ReleasingARegisteredResourceUnregistersIt)
{
	vaccel_session s1{}, s2{};
	vaccel_resource res{};
	ASSERT_EQ(vaccel_session_init(&s1, 0), VACCEL_OK);
	ASSERT_EQ(vaccel_session_init(&s2, 0), VACCEL_OK);
	ASSERT_NO_FATAL_FAILURE(make_resource(&res));
	ASSERT_EQ(vaccel_resource_register(&res, &s1), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&res, &s2), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	EXPECT_EQ(res.id, 0);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	vaccel_resource *found = nullptr;
	EXPECT_EQ(
	    vaccel_session_resource_by_type(&s1, &found, VACCEL_RESOURCE_DATA),
	    VACCEL_ENOENT);
	EXPECT_EQ(vaccel_session_release(&s1), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s2), VACCEL_OK);
}

TEST_F(Parity, CleanupZeroesTheIdsOfLiveObjects)
{
	vaccel_session sess{};
	vaccel_resource res{};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	ASSERT_NO_FATAL_FAILURE(make_resource(&res));
	ASSERT_EQ(vaccel_resource_register(&res, &sess), VACCEL_OK);
	ASSERT_GT(sess.id, 0);
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	EXPECT_EQ(sess.id, 0);
	EXPECT_EQ(res.id, 0);
	EXPECT_EQ(res.nr_blobs, 0U);
	// Gone already: a late release says so and touches nothing.
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_EINVAL);
	ASSERT_EQ(rebootstrap(), VACCEL_OK); // for TearDown
}

TEST_F(Parity, VersionIsUpstreams)
{
	// Upstream's bindings ask for vaccel >= 0.8.0: the release whose API
	// this one follows.
	EXPECT_STREQ(VACCEL_VERSION, "0.8.0");
	EXPECT_EQ(VACCEL_VERSION_MAJOR, 0);
	EXPECT_EQ(VACCEL_VERSION_MINOR, 8);
}

// ---- upstream's session routing, on request --------------------------------

// exec then noop: with no hint, upstream's rules give a session the first
// local plugin, exec, which has no image classification; per op, noop has.
class UpstreamRouting : public Parity
{
protected:
	void SetUp() override
	{
		Parity::SetUp();
		if (!have_plugin("exec") || !have_plugin("noop"))
			GTEST_SKIP() << "needs the exec and noop plugins";
		plugins_ = plugin_path("exec") + ":" + plugin_path("noop");
	}

	static int classify(vaccel_session *s)
	{
		unsigned char text[64];
		unsigned char name[64];
		const char img[] = "img";
		return vaccel_image_classification(s, img, text, name,
						   sizeof(img), sizeof(text),
						   sizeof(name));
	}

	std::string plugins_;
};

TEST_F(UpstreamRouting, DefaultRoutesPerOp)
{
	reconfigure(plugins_.c_str());
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
	EXPECT_STREQ(vaccel_session_op_plugin(&s, VACCEL_OP_IMAGE_CLASSIFY),
		     "noop");
	EXPECT_EQ(classify(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
}

TEST_F(UpstreamRouting, EnvKeyGivesOnePluginPerSession)
{
	ScopedEnv compat("VACCEL_COMPAT", "upstream");
	reconfigure(plugins_.c_str());
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_session_op_plugin(&s, VACCEL_OP_IMAGE_CLASSIFY),
		  nullptr);
	EXPECT_STREQ(vaccel_session_op_plugin(&s, VACCEL_OP_NOOP), "exec");
	EXPECT_EQ(classify(&s), VACCEL_ENOTSUP);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);

	// A hint that matches noop's type picks it for every op.
	vaccel_session dbg{};
	ASSERT_EQ(vaccel_session_init(&dbg, VACCEL_PLUGIN_DEBUG), VACCEL_OK);
	EXPECT_EQ(classify(&dbg), VACCEL_OK);
	EXPECT_STREQ(vaccel_session_op_plugin(&dbg, VACCEL_OP_NOOP), "noop");
	EXPECT_EQ(vaccel_session_release(&dbg), VACCEL_OK);
}

TEST_F(UpstreamRouting, SessionInitFailsWhenNoPluginMatches)
{
	// Per op: a session without plugins is created; its ops fail later.
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);

	ScopedEnv compat("VACCEL_COMPAT", "upstream");
	reconfigure(nullptr);
	EXPECT_EQ(vaccel_session_init(&s, 0), VACCEL_ENOTSUP);
	EXPECT_EQ(s.id, 0);
	EXPECT_EQ(vaccel_session_count(), 0U);

	// A remote hint needs a transport plugin.
	reconfigure(plugins_.c_str());
	EXPECT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE),
		  VACCEL_ENOTSUP);
	ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_session_update(&s, VACCEL_PLUGIN_REMOTE),
		  VACCEL_ENOTSUP);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
}

TEST_F(UpstreamRouting, UpdateKeepsThePluginOfASessionWithResources)
{
	ScopedEnv compat("VACCEL_COMPAT", "upstream");
	reconfigure(plugins_.c_str());
	vaccel_session s{};
	vaccel_resource res{};
	ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
	ASSERT_NO_FATAL_FAILURE(make_resource(&res));
	ASSERT_EQ(vaccel_resource_register(&res, &s), VACCEL_OK);
	EXPECT_EQ(vaccel_session_update(&s, VACCEL_PLUGIN_DEBUG),
		  VACCEL_ENOTSUP);
	EXPECT_EQ(classify(&s), VACCEL_ENOTSUP); // still exec's
	ASSERT_EQ(vaccel_resource_unregister(&res, &s), VACCEL_OK);
	EXPECT_EQ(vaccel_session_update(&s, VACCEL_PLUGIN_DEBUG), VACCEL_OK);
	EXPECT_EQ(classify(&s), VACCEL_OK); // noop's now
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(UpstreamRouting, ConfigFileKey)
{
	const std::string file =
	    tmp_.write("vaccel.toml", "compat = \"upstream\"\n"
				      "plugins = \"" +
					  plugins_ + "\"\n");
	ScopedEnv cfg("VACCEL_CONFIG", file);
	ASSERT_EQ(vaccel_bootstrap(), VACCEL_OK);
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
	EXPECT_EQ(classify(&s), VACCEL_ENOTSUP);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);

	// The environment wins over the file, as for every key.
	ScopedEnv native("VACCEL_COMPAT", "native");
	ASSERT_EQ(vaccel_bootstrap(), VACCEL_OK);
	ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
	EXPECT_EQ(classify(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
}

TEST_F(UpstreamRouting, MalformedValueIsRefused)
{
	ScopedEnv compat("VACCEL_COMPAT", "sideways");
	EXPECT_EQ(vaccel_bootstrap(), VACCEL_EINVAL);
	EXPECT_TRUE(vaccel_is_initialized()); // left as it was
	struct vaccel_config c {
	};
	EXPECT_EQ(vaccel_config_init_from_env(&c), VACCEL_EINVAL);
}

} // namespace
