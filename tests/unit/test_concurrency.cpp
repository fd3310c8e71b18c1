// SPDX-License-Identifier: Apache-2.0
// Many threads using the runtime at once: object churn, ops on one shared
// session while plugins load, registrations on a shared session, and id
// lookups racing with creation. Bounded loops only; runs under TSan in CI,
// so the test code itself shares nothing without synchronization.
#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <barrier>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace vaccel_test;

namespace
{

constexpr int kThreads = 8;
#if defined(__SANITIZE_THREAD__)
constexpr int kIterations = 200; // TSan is ~10x slower
#else
constexpr int kIterations = 500;
#endif

// 2x2 sgemm with a known result; returns true if the call succeeded and
// computed it.
bool sgemm_ok(vaccel_session *sess, float seed)
{
	float a[4] = {seed, 1, 0, 1}; // [[s,1],[0,1]]
	float b[4] = {1, 2, 3, 4};    // [[1,2],[3,4]]
	float c[4] = {-1, -1, -1, -1};
	if (vaccel_sgemm(sess, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2) !=
	    VACCEL_OK)
		return false;
	return c[0] == seed + 3 && c[1] == 2 * seed + 4 && c[2] == 3 &&
	       c[3] == 4;
}

class Concurrency : public RuntimeTest
{
protected:
	void SetUp() override
	{
		RuntimeTest::SetUp();
		// test-cxx serves NOOP, test-partial serves BLAS_SGEMM.
		const std::string list =
		    plugin_path("test-partial") + ":" + plugin_path("test-cxx");
		reconfigure(list.c_str());
		ASSERT_EQ(vaccel_plugin_count(), 2U);
	}
};

TEST_F(Concurrency, ObjectChurn)
{
	std::array<char, 4096> payload{};
	for (size_t i = 0; i < payload.size(); ++i)
		payload[i] = static_cast<char>(i);
	std::atomic<int> failures{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t) {
		threads.emplace_back([&, t] {
			for (int i = 0; i < kIterations; ++i) {
				struct vaccel_session sess {
				};
				struct vaccel_resource res {
				};
				const bool mem_only = (i % 2) == 0;
				bool ok =
				    vaccel_session_init(
					&sess, VACCEL_PLUGIN_GPU) == VACCEL_OK;
				ok = ok &&
				     vaccel_resource_init_from_buf(
					 &res, payload.data(), payload.size(),
					 VACCEL_RESOURCE_DATA, "chunk.bin",
					 mem_only) == VACCEL_OK;
				ok = ok && vaccel_resource_register(
					       &res, &sess) == VACCEL_OK;
				ok = ok &&
				     vaccel_session_has_resource(&sess, &res);
				ok = ok && vaccel_noop(&sess) == VACCEL_OK;
				ok = ok &&
				     sgemm_ok(&sess, static_cast<float>(t));
				ok = ok && vaccel_resource_unregister(
					       &res, &sess) == VACCEL_OK;
				ok = ok &&
				     vaccel_resource_release(&res) == VACCEL_OK;
				ok = ok &&
				     vaccel_session_release(&sess) == VACCEL_OK;
				if (!ok) {
					failures.fetch_add(1);
					return; // leave the objects to cleanup
				}
			}
		});
	}
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(failures.load(), 0);
	EXPECT_EQ(vaccel_session_count(), 0U);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	// Nothing left in the run directory either.
	size_t entries = 0;
	for ([[maybe_unused]] const auto &e :
	     fs::directory_iterator(vaccel_rundir()))
		++entries;
	EXPECT_EQ(entries, 0U);
}

TEST_F(Concurrency, SharedSessionWhilePluginsLoad)
{
	struct vaccel_session shared {
	};
	ASSERT_EQ(vaccel_session_init(&shared, 0), VACCEL_OK);
	const uint64_t loads_wanted = have_plugin("noop") ? 2 : 1;

	constexpr int kOpThreads = 4;
	constexpr int kRegThreads = 2;
	constexpr int kResPerThread = 4;
	std::atomic<bool> loaded{false};
	std::atomic<int> op_failures{0}, reg_failures{0};
	std::atomic<int> load_rc{VACCEL_OK};
	std::barrier start(kOpThreads + kRegThreads + 1);

	// Each registering thread owns its resources.
	std::vector<std::vector<vaccel_resource>> owned(
	    kRegThreads, std::vector<vaccel_resource>(kResPerThread));
	for (auto &v : owned)
		for (auto &r : v)
			ASSERT_EQ(
			    vaccel_resource_init_from_buf(
				&r, "data", 4, VACCEL_RESOURCE_DATA, "d", true),
			    VACCEL_OK);

	std::vector<std::thread> threads;
	for (int t = 0; t < kOpThreads; ++t)
		threads.emplace_back([&, t] {
			start.arrive_and_wait();
			// Keep calling until the loads are done, then a bit
			// more: every call must succeed throughout.
			for (int i = 0; i < 4 * kIterations; ++i) {
				if (vaccel_noop(&shared) != VACCEL_OK ||
				    !sgemm_ok(&shared, static_cast<float>(t)))
					op_failures.fetch_add(1);
				if (i >= kIterations && loaded.load())
					break;
			}
		});
	for (int t = 0; t < kRegThreads; ++t)
		threads.emplace_back([&, t] {
			start.arrive_and_wait();
			for (int i = 0; i < kIterations; ++i) {
				auto &r = owned[static_cast<size_t>(
				    t)][static_cast<size_t>(i) % kResPerThread];
				if (vaccel_resource_register(&r, &shared) !=
					VACCEL_OK ||
				    !vaccel_session_has_resource(&shared, &r) ||
				    vaccel_resource_refcount(&r) != 1 ||
				    vaccel_resource_unregister(&r, &shared) !=
					VACCEL_OK)
					reg_failures.fetch_add(1);
			}
		});
	threads.emplace_back([&] {
		start.arrive_and_wait();
		std::this_thread::yield();
		// Each load bumps the routing generation under the callers.
		int rc = vaccel_plugin_load(plugin_path("test-hooks").c_str());
		if (rc == VACCEL_OK && loads_wanted > 1)
			rc = vaccel_plugin_load(plugin_path("noop").c_str());
		load_rc.store(rc);
		loaded.store(true);
	});
	for (auto &th : threads)
		th.join();

	EXPECT_EQ(load_rc.load(), VACCEL_OK);
	EXPECT_EQ(op_failures.load(), 0);
	EXPECT_EQ(reg_failures.load(), 0);
	EXPECT_EQ(vaccel_plugin_count(), 2U + loads_wanted);
	// Loaded later, so with hint 0 the earlier plugins still serve.
	EXPECT_STREQ(vaccel_session_op_plugin(&shared, VACCEL_OP_NOOP),
		     "test-cxx");
	EXPECT_STREQ(vaccel_session_op_plugin(&shared, VACCEL_OP_BLAS_SGEMM),
		     "test-partial");
	struct vaccel_resource **none = nullptr;
	size_t n = 0;
	EXPECT_EQ(vaccel_session_resources_by_type(&shared, &none, &n,
						   VACCEL_RESOURCE_DATA),
		  VACCEL_ENOENT);
	EXPECT_EQ(vaccel_session_release(&shared), VACCEL_OK);
	for (auto &v : owned)
		for (auto &r : v)
			EXPECT_EQ(vaccel_resource_release(&r), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_count(), 0U);
}

// Right after a plugin load every caller of a shared session finds its
// routing stale at once and refreshes it concurrently.
TEST_F(Concurrency, FirstCallsAfterLoadRefreshTogether)
{
	struct vaccel_session shared {
	};
	ASSERT_EQ(vaccel_session_init(&shared, VACCEL_PLUGIN_GPU), VACCEL_OK);
	std::vector<std::string> plugins{"test-hooks"};
	if (have_plugin("noop"))
		plugins.emplace_back("noop");
	const size_t rounds = plugins.size();
	constexpr int kCallers = 6;
	std::barrier sync(kCallers + 1);
	std::atomic<int> failures{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kCallers; ++t)
		threads.emplace_back([&, t] {
			for (size_t r = 0; r < rounds; ++r) {
				sync.arrive_and_wait(); // a load happens now
				sync.arrive_and_wait(); // the load is done
				if (vaccel_noop(&shared) != VACCEL_OK ||
				    !sgemm_ok(&shared, static_cast<float>(t)) ||
				    vaccel_session_op_plugin(
					&shared, VACCEL_OP_BLAS_SGEMM) ==
					nullptr)
					failures.fetch_add(1);
			}
		});
	std::vector<int> rcs;
	for (const auto &name : plugins) {
		sync.arrive_and_wait();
		rcs.push_back(vaccel_plugin_load(plugin_path(name).c_str()));
		sync.arrive_and_wait();
	}
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(rcs, std::vector<int>(rounds, VACCEL_OK));
	EXPECT_EQ(failures.load(), 0);
	ASSERT_NE(shared.plugin, nullptr);
	EXPECT_STREQ(shared.plugin->info->name, "test-partial");
	EXPECT_EQ(vaccel_session_release(&shared), VACCEL_OK);
}

// Lookups by id race with creation: a lookup either misses or returns a
// fully initialized object with that id. Objects are released only after
// the lookups stop, so that dereferencing what a lookup returned is
// race-free by construction of the test.
TEST_F(Concurrency, LookupsRaceWithCreation)
{
	constexpr int kCreators = 4;
	constexpr int kLookers = 4;
	constexpr int kPerCreator = 100;
	// Ids are allocated process-wide in increasing order: probe the range
	// the creators will use.
	struct vaccel_session probe_s {
	};
	struct vaccel_resource probe_r {
	};
	ASSERT_EQ(vaccel_session_init(&probe_s, 0), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_init_from_buf(
		      &probe_r, "p", 1, VACCEL_RESOURCE_DATA, "p", true),
		  VACCEL_OK);
	const vaccel_id_t s_base = probe_s.id;
	const vaccel_id_t r_base = probe_r.id;
	const vaccel_id_t span = kCreators * kPerCreator + 2;

	std::vector<std::vector<vaccel_session>> sessions(
	    kCreators, std::vector<vaccel_session>(kPerCreator));
	std::vector<std::vector<vaccel_resource>> resources(
	    kCreators, std::vector<vaccel_resource>(kPerCreator));
	std::atomic<int> creators_done{0};
	std::atomic<int> create_failures{0}, bad_lookups{0};
	std::atomic<long> hits{0};

	std::vector<std::thread> threads;
	for (int c = 0; c < kCreators; ++c)
		threads.emplace_back([&, c] {
			for (int i = 0; i < kPerCreator; ++i) {
				auto &s = sessions[static_cast<size_t>(c)]
						  [static_cast<size_t>(i)];
				auto &r = resources[static_cast<size_t>(c)]
						   [static_cast<size_t>(i)];
				if (vaccel_session_init(&s, 0) != VACCEL_OK ||
				    vaccel_resource_init_from_buf(
					&r, "x", 1, VACCEL_RESOURCE_MODEL, "x",
					true) != VACCEL_OK)
					create_failures.fetch_add(1);
			}
			creators_done.fetch_add(1);
		});
	for (int l = 0; l < kLookers; ++l)
		threads.emplace_back([&, l] {
			vaccel_id_t k = l;
			auto once = [&] {
				const vaccel_id_t off = k++ % span;
				vaccel_session *s = nullptr;
				int rc =
				    vaccel_session_get_by_id(&s, s_base + off);
				if (rc == VACCEL_OK) {
					hits.fetch_add(1);
					if (s->id != s_base + off ||
					    s->state == nullptr)
						bad_lookups.fetch_add(1);
				} else if (rc != VACCEL_ENOENT) {
					bad_lookups.fetch_add(1);
				}
				vaccel_resource *r = nullptr;
				rc =
				    vaccel_resource_get_by_id(&r, r_base + off);
				if (rc == VACCEL_OK) {
					hits.fetch_add(1);
					if (r->id != r_base + off ||
					    r->state == nullptr)
						bad_lookups.fetch_add(1);
				} else if (rc != VACCEL_ENOENT) {
					bad_lookups.fetch_add(1);
				}
				// By type: whatever comes back is complete.
				rc = vaccel_resource_get_by_type(
				    &r, VACCEL_RESOURCE_MODEL);
				if (rc == VACCEL_OK &&
				    (r->id <= 0 ||
				     r->type != VACCEL_RESOURCE_MODEL))
					bad_lookups.fetch_add(1);
			};
			while (creators_done.load() < kCreators)
				once();
			for (int i = 0; i < 200; ++i)
				once();
		});
	for (auto &th : threads)
		th.join();

	EXPECT_EQ(create_failures.load(), 0);
	EXPECT_EQ(bad_lookups.load(), 0);
	EXPECT_GT(hits.load(), 0);
	EXPECT_EQ(vaccel_session_count(), 1U + kCreators * kPerCreator);
	EXPECT_EQ(vaccel_resource_count(), 1U + kCreators * kPerCreator);
	for (auto &v : sessions)
		for (auto &s : v)
			EXPECT_EQ(vaccel_session_release(&s), VACCEL_OK);
	for (auto &v : resources)
		for (auto &r : v)
			EXPECT_EQ(vaccel_resource_release(&r), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&probe_s), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&probe_r), VACCEL_OK);
	EXPECT_EQ(vaccel_session_count(), 0U);
	EXPECT_EQ(vaccel_resource_count(), 0U);
}

// The directory session @p id would have.
std::string session_dir_of(vaccel_id_t id)
{
	return std::string(vaccel_rundir()) + "/session." + std::to_string(id);
}

// Sessions created on several threads while another keeps preparing: each
// gets a directory of its own that exists while it lives, and nothing but
// at most one prepared directory is left when they are gone.
TEST_F(Concurrency, PreparingSessionDirsWhileThreadsCreateSessions)
{
	std::atomic<bool> stop{false};
	std::atomic<int> bad{0};
	std::thread preparer([&] {
		while (!stop.load())
			if (vaccel_session_prepare_rundir() != VACCEL_OK)
				++bad;
	});
	std::vector<std::thread> threads;
	for (int t = 0; t < 3; ++t)
		threads.emplace_back([&] {
			for (int i = 0; i < 50; ++i) {
				struct vaccel_session s {
				};
				if (vaccel_session_init(&s, 0) != VACCEL_OK) {
					++bad;
					continue;
				}
				const std::string dir = s.rundir;
				// Its own: there, and empty (no other
				// session's "mine" in it).
				if (dir != session_dir_of(s.id) ||
				    !fs::is_directory(dir) ||
				    !fs::is_empty(dir))
					++bad;
				std::ofstream(dir + "/mine") << s.id;
				if (vaccel_session_release(&s) != VACCEL_OK ||
				    fs::exists(dir))
					++bad;
			}
		});
	for (auto &th : threads)
		th.join();
	stop = true;
	preparer.join();
	EXPECT_EQ(bad.load(), 0);
	size_t left = 0;
	for (const auto &e : fs::directory_iterator(vaccel_rundir())) {
		if (e.path().filename().string().rfind("session.", 0) != 0)
			continue;
		++left;
		EXPECT_TRUE(fs::is_empty(e.path())) << e.path();
	}
	EXPECT_LE(left, 1U);
}

// fork() while another thread prepares session directories: the child
// (which has no such thread) creates its sessions without waiting for one.
TEST_F(Concurrency, ForkWhilePreparingSessionDirs)
{
	std::atomic<bool> stop{false};
	std::thread preparer([&] {
		while (!stop.load())
			(void)vaccel_session_prepare_rundir();
	});
	int hung = 0, failed = 0;
	for (int i = 0; i < 20; ++i) {
		const pid_t pid = ::fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			::alarm(10); // a child stuck on a lock dies of SIGALRM
			struct vaccel_session s {
			};
			int rc = vaccel_session_init(&s, 0);
			if (rc == VACCEL_OK)
				rc = vaccel_session_release(&s);
			::_exit(rc == VACCEL_OK ? 0 : 1);
		}
		int status = 0;
		ASSERT_EQ(::waitpid(pid, &status, 0), pid);
		if (WIFSIGNALED(status))
			++hung;
		else if (WEXITSTATUS(status) != 0)
			++failed;
	}
	stop = true;
	preparer.join();
	EXPECT_EQ(hung, 0);
	EXPECT_EQ(failed, 0);
}

} // namespace
