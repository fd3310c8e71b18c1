// SPDX-License-Identifier: Apache-2.0
// Sessions: lifecycle, lookups, the resources registered with them, their
// run directory, and ops when no plugin implements them.
#include "test_util.h"

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

using namespace vaccel_test;

namespace
{

class Session : public RuntimeTest
{
protected:
	// A small DATA resource from a buffer, kept in memory.
	void make_resource(vaccel_resource *res,
			   vaccel_resource_type_t type = VACCEL_RESOURCE_DATA)
	{
		const char bytes[] = "0123456789";
		ASSERT_EQ(vaccel_resource_init_from_buf(
			      res, bytes, sizeof(bytes), type, "r.bin", true),
			  VACCEL_OK);
	}
};

TEST_F(Session, InitAndRelease)
{
	const size_t before = vaccel_session_count();
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_CPU), VACCEL_OK);
	EXPECT_GT(sess.id, 0);
	EXPECT_EQ(sess.hint, static_cast<unsigned>(VACCEL_PLUGIN_CPU));
	EXPECT_NE(sess.state, nullptr);
	EXPECT_EQ(sess.plugin, nullptr); // no plugin loaded
	EXPECT_FALSE(sess.is_virtio);
	EXPECT_EQ(vaccel_session_count(), before + 1);

	struct vaccel_session other {
	};
	ASSERT_EQ(vaccel_session_init(&other, 0), VACCEL_OK);
	EXPECT_NE(other.id, sess.id);
	EXPECT_EQ(vaccel_session_count(), before + 2);

	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(sess.id, 0);
	EXPECT_EQ(sess.state, nullptr);
	EXPECT_EQ(vaccel_session_release(&other), VACCEL_OK);
	EXPECT_EQ(vaccel_session_count(), before);
}

TEST_F(Session, NullAndDoubleRelease)
{
	EXPECT_EQ(vaccel_session_init(nullptr, 0), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_session_release(nullptr), VACCEL_EINVAL);
	struct vaccel_session never {
	};
	EXPECT_EQ(vaccel_session_release(&never), VACCEL_EINVAL);
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	ASSERT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_session_count(), 0U);
}

// Upstream parity: releasing a session unregisters its resources (it was
// VACCEL_EBUSY here before).
TEST_F(Session, ReleaseWithRegisteredResourcesUnregistersThem)
{
	struct vaccel_session sess {
	};
	struct vaccel_resource res {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	make_resource(&res);
	ASSERT_EQ(vaccel_resource_register(&res, &sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(sess.id, 0);
	EXPECT_EQ(sess.state, nullptr);
	EXPECT_EQ(vaccel_session_count(), 0U);
	// The resource lives on, registered nowhere.
	EXPECT_EQ(vaccel_resource_refcount(&res), 0);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(Session, GetById)
{
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	struct vaccel_session *found = nullptr;
	ASSERT_EQ(vaccel_session_get_by_id(&found, sess.id), VACCEL_OK);
	EXPECT_EQ(found, &sess);
	const vaccel_id_t id = sess.id;
	EXPECT_EQ(vaccel_session_get_by_id(nullptr, id), VACCEL_EINVAL);
	ASSERT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	found = nullptr;
	EXPECT_EQ(vaccel_session_get_by_id(&found, id), VACCEL_ENOENT);
	EXPECT_EQ(found, nullptr);
	EXPECT_EQ(vaccel_session_get_by_id(&found, 0), VACCEL_ENOENT);
	EXPECT_EQ(vaccel_session_get_by_id(&found, -5), VACCEL_ENOENT);
}

TEST_F(Session, NewAndDelete)
{
	struct vaccel_session *sess = nullptr;
	ASSERT_EQ(vaccel_session_new(&sess, VACCEL_PLUGIN_GPU), VACCEL_OK);
	ASSERT_NE(sess, nullptr);
	EXPECT_GT(sess->id, 0);
	EXPECT_EQ(sess->hint, static_cast<unsigned>(VACCEL_PLUGIN_GPU));
	EXPECT_EQ(vaccel_session_count(), 1U);
	EXPECT_EQ(vaccel_session_delete(sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_count(), 0U);
	EXPECT_EQ(vaccel_session_new(nullptr, 0), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_session_delete(nullptr), VACCEL_EINVAL);
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	sess = nullptr;
	EXPECT_EQ(vaccel_session_new(&sess, 0), VACCEL_ESESS);
	EXPECT_EQ(sess, nullptr);
}

TEST_F(Session, DeleteOfSessionWithResourcesUnregistersThem)
{
	struct vaccel_session *sess = nullptr;
	struct vaccel_resource res {
	};
	ASSERT_EQ(vaccel_session_new(&sess, 0), VACCEL_OK);
	make_resource(&res);
	ASSERT_EQ(vaccel_resource_register(&res, sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_delete(sess), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_refcount(&res), 0);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(Session, ResourceLookups)
{
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	struct vaccel_resource data1 {
	}, model{}, data2{}, unregistered{};
	make_resource(&data1, VACCEL_RESOURCE_DATA);
	make_resource(&model, VACCEL_RESOURCE_MODEL);
	make_resource(&data2, VACCEL_RESOURCE_DATA);
	make_resource(&unregistered, VACCEL_RESOURCE_DATA);
	// Registered out of id order: "first" means earliest registered.
	ASSERT_EQ(vaccel_resource_register(&data2, &sess), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&model, &sess), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&data1, &sess), VACCEL_OK);

	EXPECT_TRUE(vaccel_session_has_resource(&sess, &data1));
	EXPECT_TRUE(vaccel_session_has_resource(&sess, &model));
	EXPECT_FALSE(vaccel_session_has_resource(&sess, &unregistered));
	EXPECT_FALSE(vaccel_session_has_resource(nullptr, &data1));
	EXPECT_FALSE(vaccel_session_has_resource(&sess, nullptr));

	struct vaccel_resource *r = nullptr;
	ASSERT_EQ(vaccel_session_resource_by_id(&sess, &r, model.id),
		  VACCEL_OK);
	EXPECT_EQ(r, &model);
	r = nullptr;
	EXPECT_EQ(vaccel_session_resource_by_id(&sess, &r, unregistered.id),
		  VACCEL_ENOENT);
	EXPECT_EQ(r, nullptr);
	EXPECT_EQ(vaccel_session_resource_by_id(&sess, nullptr, model.id),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_session_resource_by_id(nullptr, &r, model.id),
		  VACCEL_EINVAL);

	ASSERT_EQ(
	    vaccel_session_resource_by_type(&sess, &r, VACCEL_RESOURCE_DATA),
	    VACCEL_OK);
	EXPECT_EQ(r, &data2);
	r = nullptr;
	EXPECT_EQ(
	    vaccel_session_resource_by_type(&sess, &r, VACCEL_RESOURCE_LIB),
	    VACCEL_ENOENT);
	EXPECT_EQ(r, nullptr);

	struct vaccel_resource **all = nullptr;
	size_t n = 99;
	ASSERT_EQ(vaccel_session_resources_by_type(&sess, &all, &n,
						   VACCEL_RESOURCE_DATA),
		  VACCEL_OK);
	ASSERT_EQ(n, 2U);
	EXPECT_EQ(all[0], &data2);
	EXPECT_EQ(all[1], &data1);
	free(all);
	all = nullptr;
	n = 99;
	EXPECT_EQ(vaccel_session_resources_by_type(&sess, &all, &n,
						   VACCEL_RESOURCE_LIB),
		  VACCEL_ENOENT);
	EXPECT_EQ(n, 0U);
	EXPECT_EQ(all, nullptr);
	EXPECT_EQ(vaccel_session_resources_by_type(&sess, nullptr, &n,
						   VACCEL_RESOURCE_DATA),
		  VACCEL_EINVAL);

	for (auto *res : {&data1, &model, &data2})
		ASSERT_EQ(vaccel_resource_unregister(res, &sess), VACCEL_OK);
	EXPECT_EQ(
	    vaccel_session_resource_by_type(&sess, &r, VACCEL_RESOURCE_MODEL),
	    VACCEL_ENOENT);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	for (auto *res : {&data1, &model, &data2, &unregistered})
		EXPECT_EQ(vaccel_resource_release(res), VACCEL_OK);
}

TEST_F(Session, RundirLivesWithTheSession)
{
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	const std::string dir = sess.rundir;
	ASSERT_FALSE(dir.empty());
	EXPECT_TRUE(fs::is_directory(dir)) << dir;
	// Inside the runtime's rundir.
	EXPECT_EQ(dir.rfind(vaccel_rundir(), 0), 0U) << dir;
	// A backend may leave files in it: they go with the session.
	{
		std::ofstream(dir + "/scratch.bin") << "x";
	}
	struct vaccel_session other {
	};
	ASSERT_EQ(vaccel_session_init(&other, 0), VACCEL_OK);
	EXPECT_NE(std::string(other.rundir), dir);
	ASSERT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_FALSE(fs::exists(dir)) << dir;
	EXPECT_TRUE(fs::is_directory(other.rundir));
	ASSERT_EQ(vaccel_session_release(&other), VACCEL_OK);
}

// The directory session @p id would have.
std::string session_dir(vaccel_id_t id)
{
	return std::string(vaccel_rundir()) + "/session." + std::to_string(id);
}

// vaccel_session_prepare_rundir() makes the next session's directory
// before it is asked for; that session gets exactly that directory, and
// it goes with the session as any other.
TEST_F(Session, NextSessionsDirectoryMadeAhead)
{
	struct vaccel_session first {
	};
	ASSERT_EQ(vaccel_session_init(&first, 0), VACCEL_OK);
	const std::string next = session_dir(first.id + 1);
	EXPECT_FALSE(fs::exists(next));
	ASSERT_EQ(vaccel_session_prepare_rundir(), VACCEL_OK);
	EXPECT_TRUE(fs::is_directory(next)) << next;
	EXPECT_TRUE(fs::is_empty(next));
	ASSERT_EQ(vaccel_session_prepare_rundir(), VACCEL_OK)
	    << "prepared already: nothing to do";
	// Taken as it is, not made again (which would empty it).
	{
		std::ofstream(next + "/marker") << "x";
	}
	struct vaccel_session second {
	};
	ASSERT_EQ(vaccel_session_init(&second, 0), VACCEL_OK);
	EXPECT_EQ(second.id, first.id + 1);
	EXPECT_EQ(std::string(second.rundir), next);
	EXPECT_TRUE(fs::exists(next + "/marker")) << "made again, not claimed";
	ASSERT_EQ(vaccel_session_release(&second), VACCEL_OK);
	EXPECT_FALSE(fs::exists(next)) << "released with its session";
	ASSERT_EQ(vaccel_session_release(&first), VACCEL_OK);
}

// A directory prepared for one run directory is not claimed after a
// re-bootstrap (a new run directory): the session makes its own there.
TEST_F(Session, PreparedDirectoryStaysWithItsRunDirectory)
{
	ASSERT_EQ(vaccel_session_prepare_rundir(), VACCEL_OK);
	const std::string old_rundir = vaccel_rundir();
	reconfigure(nullptr);
	ASSERT_NE(std::string(vaccel_rundir()), old_rundir);
	EXPECT_FALSE(fs::exists(old_rundir)) << "cleanup removes it all";
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	EXPECT_EQ(std::string(sess.rundir).rfind(vaccel_rundir(), 0), 0U);
	EXPECT_TRUE(fs::is_directory(sess.rundir));
	ASSERT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	EXPECT_EQ(vaccel_session_prepare_rundir(), VACCEL_ESESS);
	ASSERT_EQ(rebootstrap(nullptr, VACCEL_LOG_ERROR, nullptr), VACCEL_OK);
}

TEST_F(Session, OpWithoutPluginIsNotSupported)
{
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_ENOTSUP);
	EXPECT_NE(std::string(vaccel_last_error()).find("noop: "),
		  std::string::npos)
	    << vaccel_last_error();
	float a[1] = {1}, b[1] = {1}, c[1] = {0};
	EXPECT_EQ(vaccel_sgemm(&sess, 1, 1, 1, 1.0f, a, 1, b, 1, 0.0f, c, 1),
		  VACCEL_ENOTSUP);
	EXPECT_EQ(c[0], 0.0f);
	EXPECT_EQ(vaccel_session_op_plugin(&sess, VACCEL_OP_NOOP), nullptr);
	const std::string text = log_text();
	EXPECT_NE(text.find("noop: "), std::string::npos) << text;
	EXPECT_NE(text.find("blas_sgemm: no loaded plugin"), std::string::npos)
	    << text;
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

// A failing op's message names the op, the plugin and the reason the plugin
// logged during the call; a failure without one gets the code, never a
// reason left over from an earlier call.
TEST_F(Session, FailingOpCarriesThePluginsReason)
{
	ASSERT_EQ(vaccel_plugin_load(plugin_path("test-partial").c_str()),
		  VACCEL_OK);
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_GPU), VACCEL_OK);
	float a[1] = {1}, b[1] = {1}, c[1] = {0};
	EXPECT_EQ(vaccel_sgemm(&sess, -1, 1, 1, 1.0f, a, 1, b, 1, 0.0f, c, 1),
		  VACCEL_EINVAL);
	EXPECT_STREQ(vaccel_last_error(),
		     "blas_sgemm: plugin test-partial: sizes must not be "
		     "negative (m=-1 n=1 k=1)");
	// lda < k: refused without a reason.
	EXPECT_EQ(vaccel_sgemm(&sess, 1, 1, 1, 1.0f, a, 0, b, 1, 0.0f, c, 1),
		  VACCEL_EINVAL);
	EXPECT_STREQ(vaccel_last_error(),
		     "blas_sgemm: plugin test-partial returned 22");
	// An error logged outside any op explains no later failure either.
	vaccel_error("[test-partial] not about the next call");
	EXPECT_EQ(vaccel_sgemm(&sess, 1, 1, 1, 1.0f, a, 0, b, 1, 0.0f, c, 1),
		  VACCEL_EINVAL);
	EXPECT_STREQ(vaccel_last_error(),
		     "blas_sgemm: plugin test-partial returned 22");
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

// Another thread's error lines, logged while this thread's op runs, never
// become its reason.
TEST_F(Session, OtherThreadsErrorsAreNotTheReason)
{
	ASSERT_EQ(vaccel_plugin_load(plugin_path("test-partial").c_str()),
		  VACCEL_OK);
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_GPU), VACCEL_OK);
	std::atomic<bool> stop{false};
	std::thread noisy([&stop] {
		for (int i = 0; i < 20000 && !stop.load(); ++i)
			vaccel_error("[test-partial] another thread's line");
	});
	float a[1] = {1}, b[1] = {1}, c[1] = {0};
	for (int i = 0; i < 1000; ++i) {
		ASSERT_EQ(
		    vaccel_sgemm(&sess, 1, 1, 1, 1.0f, a, 0, b, 1, 0.0f, c, 1),
		    VACCEL_EINVAL);
		ASSERT_STREQ(vaccel_last_error(),
			     "blas_sgemm: plugin test-partial returned 22");
	}
	stop = true;
	noisy.join();
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

TEST_F(Session, OpOnInvalidSessionIsEinval)
{
	EXPECT_EQ(vaccel_noop(nullptr), VACCEL_EINVAL);
	struct vaccel_session never {
	};
	EXPECT_EQ(vaccel_noop(&never), VACCEL_EINVAL);
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	ASSERT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&sess), VACCEL_EINVAL);
}

TEST_F(Session, UpdateChangesHint)
{
	struct vaccel_session sess {
	};
	ASSERT_EQ(vaccel_session_init(&sess, VACCEL_PLUGIN_CPU), VACCEL_OK);
	EXPECT_EQ(vaccel_session_update(&sess, VACCEL_PLUGIN_GPU), VACCEL_OK);
	EXPECT_EQ(sess.hint, static_cast<unsigned>(VACCEL_PLUGIN_GPU));
	EXPECT_EQ(vaccel_session_update(nullptr, 0), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_session_update(&sess, 0), VACCEL_EINVAL);
}

TEST_F(Session, Count)
{
	EXPECT_EQ(vaccel_session_count(), 0U);
	std::vector<vaccel_session> sessions(5);
	for (size_t i = 0; i < sessions.size(); ++i) {
		ASSERT_EQ(vaccel_session_init(&sessions[i], 0), VACCEL_OK);
		EXPECT_EQ(vaccel_session_count(), i + 1);
	}
	for (size_t i = 0; i < sessions.size(); ++i) {
		ASSERT_EQ(vaccel_session_release(&sessions[i]), VACCEL_OK);
		EXPECT_EQ(vaccel_session_count(), sessions.size() - i - 1);
	}
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
TEST_F(Session, DeprecatedSpellings)
{
	struct vaccel_session sess {
	};
	struct vaccel_resource res {
	};
	ASSERT_EQ(vaccel_sess_init(&sess, 0), VACCEL_OK);
	make_resource(&res);
	EXPECT_FALSE(vaccel_sess_has_resource(&sess, &res));
	ASSERT_EQ(vaccel_resource_register(&res, &sess), VACCEL_OK);
	EXPECT_TRUE(vaccel_sess_has_resource(&sess, &res));
	EXPECT_EQ(vaccel_sess_update(&sess, VACCEL_PLUGIN_FPGA), VACCEL_OK);
	EXPECT_EQ(vaccel_sess_free(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_refcount(&res), 0);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}
#pragma GCC diagnostic pop

} // namespace
