// SPDX-License-Identifier: Apache-2.0
// The header-only C++ API: vaccel::Session, vaccel::Resource, vaccel::Error
// and vaccel::check().
#include "test_util.h"

#include <vaccel.hpp>

#include <array>
#include <cstddef>
#include <type_traits>

using namespace vaccel_test;

namespace
{

static_assert(!std::is_copy_constructible_v<vaccel::Session>);
static_assert(std::is_nothrow_move_constructible_v<vaccel::Session>);
static_assert(!std::is_copy_constructible_v<vaccel::Resource>);
static_assert(std::is_nothrow_move_constructible_v<vaccel::Resource>);

std::span<const std::byte> bytes_of(std::string_view s)
{
	return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

class Cxx : public RuntimeTest
{
protected:
	void load_noop()
	{
		ASSERT_EQ(vaccel_plugin_load(plugin_path("noop").c_str()),
			  VACCEL_OK)
		    << vaccel_last_error();
	}
};

TEST(CxxError, CheckThrowsWithCodeAndMessage)
{
	EXPECT_NO_THROW(vaccel::check(VACCEL_OK, "fine"));
	try {
		vaccel::check(VACCEL_ENOENT, "my_call");
		FAIL() << "check did not throw";
	} catch (const vaccel::Error &e) {
		EXPECT_EQ(e.code(), VACCEL_ENOENT);
		EXPECT_NE(std::string(e.what()).find("my_call failed (2)"),
			  std::string::npos)
		    << e.what();
	}
	// An Error is a std::runtime_error.
	EXPECT_THROW(vaccel::check(VACCEL_EINVAL, "x"), std::runtime_error);
}

TEST_F(Cxx, ErrorCarriesTheRuntimeMessage)
{
	try {
		vaccel::Resource r(tmp_.file("missing.bin"),
				   vaccel::ResourceType::Data);
		FAIL() << "no exception";
	} catch (const vaccel::Error &e) {
		// Upstream's code for a missing path (it was ENOENT here).
		EXPECT_EQ(e.code(), VACCEL_EINVAL);
		EXPECT_NE(std::string(e.what()).find("missing.bin"),
			  std::string::npos)
		    << e.what();
	}
	EXPECT_EQ(vaccel_resource_count(), 0U);
}

TEST_F(Cxx, NoopThroughNoopPlugin)
{
	REQUIRE_PLUGIN("noop");
	load_noop();
	vaccel::Session s;
	EXPECT_GT(s.id(), 0);
	ASSERT_NE(s.get(), nullptr);
	EXPECT_NO_THROW(s.noop());
	EXPECT_STREQ(vaccel_session_op_plugin(s.get(), VACCEL_OP_NOOP), "noop");
}

TEST_F(Cxx, OpWithoutPluginThrowsEnotsup)
{
	vaccel::Session s;
	try {
		s.noop();
		FAIL() << "no exception";
	} catch (const vaccel::Error &e) {
		EXPECT_EQ(e.code(), VACCEL_ENOTSUP);
	}
}

TEST_F(Cxx, ClassifyReturnsNoopTag)
{
	REQUIRE_PLUGIN("noop");
	load_noop();
	vaccel::Session s;
	const std::string tag = s.classify(bytes_of("fake image bytes"));
	EXPECT_EQ(tag, "This is a dummy classification tag!");
	EXPECT_EQ(tag.size(), std::strlen(tag.c_str())); // trimmed
}

TEST_F(Cxx, SgemmComputesThroughPlugin)
{
	ASSERT_EQ(vaccel_plugin_load(plugin_path("test-partial").c_str()),
		  VACCEL_OK);
	vaccel::Session s(VACCEL_PLUGIN_GPU);
	const std::array<float, 6> a{1, 2, 3, 4, 5, 6}; // 2x3
	const std::array<float, 6> b{1, 0, 0, 1, 1, 1}; // 3x2
	std::array<float, 4> c{1, 1, 1, 1};
	s.sgemm(2, 2, 3, 1.0f, a, 3, b, 2, 1.0f, c, 2);
	// A*B = [[4,5],[10,11]], + C
	EXPECT_EQ(c, (std::array<float, 4>{5, 6, 11, 12}));
}

TEST_F(Cxx, SgemmValidatesSpans)
{
	ASSERT_EQ(vaccel_plugin_load(plugin_path("test-partial").c_str()),
		  VACCEL_OK);
	vaccel::Session s(VACCEL_PLUGIN_GPU);
	std::vector<float> a(6), b(6), c(4, 7.0f);
	auto expect_einval = [&](auto &&call) {
		try {
			call();
			ADD_FAILURE() << "no exception";
		} catch (const vaccel::Error &e) {
			EXPECT_EQ(e.code(), VACCEL_EINVAL) << e.what();
		}
	};
	// A needs (m-1)*lda + k = 1*3 + 3 = 6 floats: give 5.
	expect_einval([&] {
		s.sgemm(2, 2, 3, 1, std::span(a).first(5), 3, b, 2, 0, c, 2);
	});
	expect_einval([&] {
		s.sgemm(2, 2, 3, 1, a, 3, std::span(b).first(5), 2, 0, c, 2);
	});
	expect_einval([&] {
		s.sgemm(2, 2, 3, 1, a, 3, b, 2, 0, std::span(c).first(3), 2);
	});
	expect_einval([&] { s.sgemm(-1, 2, 3, 1, a, 3, b, 2, 0, c, 2); });
	expect_einval([&] { s.sgemm(2, 2, 3, 1, a, 2, b, 2, 0, c, 2); });
	// A larger lda needs a larger span.
	expect_einval([&] { s.sgemm(2, 2, 3, 1, a, 4, b, 2, 0, c, 2); });
	// Nothing reached the backend.
	EXPECT_EQ(c, std::vector<float>(4, 7.0f));
	// Empty sizes are fine.
	std::vector<float> none;
	EXPECT_NO_THROW(s.sgemm(0, 0, 0, 1, none, 0, none, 0, 0, none, 0));
}

TEST_F(Cxx, SessionThrowsWithoutRuntime)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	try {
		vaccel::Session s;
		FAIL() << "no exception";
	} catch (const vaccel::Error &e) {
		EXPECT_EQ(e.code(), VACCEL_ESESS);
	}
	EXPECT_EQ(vaccel_session_count(), 0U);
}

TEST_F(Cxx, MoveSession)
{
	vaccel::Session a;
	const vaccel_id_t id = a.id();
	ASSERT_GT(id, 0);
	vaccel::Session b(std::move(a));
	EXPECT_EQ(b.id(), id);
	EXPECT_EQ(a.id(), 0); // NOLINT(bugprone-use-after-move): defined state
	EXPECT_EQ(a.get(), nullptr);
	EXPECT_EQ(vaccel_session_count(), 1U);

	vaccel::Session c;
	EXPECT_EQ(vaccel_session_count(), 2U);
	c = std::move(b); // releases c's own session
	EXPECT_EQ(c.id(), id);
	EXPECT_EQ(vaccel_session_count(), 1U);
	vaccel_session *found = nullptr;
	ASSERT_EQ(vaccel_session_get_by_id(&found, id), VACCEL_OK);
	EXPECT_EQ(found, c.get());
	vaccel::Session &alias = c;
	c = std::move(alias); // self-move keeps it
	EXPECT_EQ(c.id(), id);
	{
		vaccel::Session gone(std::move(c));
	}
	EXPECT_EQ(vaccel_session_count(), 0U);
}

TEST_F(Cxx, MoveResource)
{
	auto r = vaccel::Resource::from_buffer(
	    bytes_of("payload"), vaccel::ResourceType::Data, "p.bin", true);
	const vaccel_id_t id = r.id();
	ASSERT_GT(id, 0);
	vaccel::Resource r2(std::move(r));
	EXPECT_EQ(r2.id(), id);
	EXPECT_EQ(r.id(), 0); // NOLINT(bugprone-use-after-move)
	EXPECT_EQ(vaccel_resource_count(), 1U);
	auto r3 = vaccel::Resource::from_buffer(bytes_of("other"),
						vaccel::ResourceType::Model);
	EXPECT_EQ(vaccel_resource_count(), 2U);
	r3 = std::move(r2); // releases r3's resource
	EXPECT_EQ(r3.id(), id);
	EXPECT_EQ(vaccel_resource_count(), 1U);
	ASSERT_EQ(r3.get()->nr_blobs, 1U);
	EXPECT_EQ(r3.get()->type, VACCEL_RESOURCE_DATA);
}

TEST_F(Cxx, ResourceFromPathsAndFiles)
{
	const std::string f1 = tmp_.write("a.bin", "A");
	const std::string f2 = tmp_.write("b.bin", "B");
	vaccel::Resource one(f1, vaccel::ResourceType::Model);
	EXPECT_EQ(one.get()->nr_blobs, 1U);
	vaccel::Resource two(std::vector<std::string>{f1, f2},
			     vaccel::ResourceType::Lib);
	EXPECT_EQ(two.get()->nr_blobs, 2U);
	EXPECT_EQ(two.get()->type, VACCEL_RESOURCE_LIB);
	auto on_disk = vaccel::Resource::from_buffer(
	    bytes_of("xyz"), vaccel::ResourceType::Data, "d.bin", false);
	ASSERT_NE(on_disk.get()->rundir, nullptr);
	EXPECT_TRUE(fs::exists(std::string(on_disk.get()->rundir) + "/d.bin"));
}

// Upstream parity makes the order free: a Resource destroyed while
// registered takes itself off the Session, whose release then has nothing
// of it left to touch.
TEST_F(Cxx, ResourceMayBeDestroyedBeforeItsSession)
{
	vaccel::Session s;
	vaccel_session *raw = s.get();
	{
		vaccel::Resource r = vaccel::Resource::from_buffer(
		    bytes_of("model"), vaccel::ResourceType::Model);
		s.register_resource(r);
	}
	vaccel_resource *found = nullptr;
	EXPECT_EQ(
	    vaccel_session_resource_by_type(raw, &found, VACCEL_RESOURCE_MODEL),
	    VACCEL_ENOENT);
	EXPECT_EQ(vaccel_resource_count(), 0U);
}

TEST_F(Cxx, SessionUnregistersOnDestruction)
{
	vaccel::Resource r = vaccel::Resource::from_buffer(
	    bytes_of("model"), vaccel::ResourceType::Model);
	{
		vaccel::Session s;
		s.register_resource(r);
		EXPECT_EQ(vaccel_resource_refcount(r.get()), 1);
		EXPECT_TRUE(vaccel_session_has_resource(s.get(), r.get()));
		vaccel::Session t;
		t.register_resource(r);
		EXPECT_EQ(vaccel_resource_refcount(r.get()), 2);
		t.unregister_resource(r);
		EXPECT_EQ(vaccel_resource_refcount(r.get()), 1);
		try {
			t.unregister_resource(r);
			ADD_FAILURE() << "no exception";
		} catch (const vaccel::Error &e) {
			EXPECT_EQ(e.code(), VACCEL_EPERM);
		}
		try {
			s.register_resource(r);
			ADD_FAILURE() << "no exception";
		} catch (const vaccel::Error &e) {
			EXPECT_EQ(e.code(), VACCEL_EEXIST);
		}
	}
	EXPECT_EQ(vaccel_resource_refcount(r.get()), 0);
	EXPECT_EQ(vaccel_session_count(), 0U);
	// The resource itself is still alive (the Resource owns it).
	EXPECT_EQ(vaccel_resource_count(), 1U);
	EXPECT_NE(r.get()->state, nullptr);
}

TEST_F(Cxx, MovedSessionKeepsItsRegistrations)
{
	vaccel::Resource r = vaccel::Resource::from_buffer(
	    bytes_of("model"), vaccel::ResourceType::Model);
	{
		vaccel::Session a;
		a.register_resource(r);
		vaccel::Session b(std::move(a));
		EXPECT_EQ(vaccel_resource_refcount(r.get()), 1);
		EXPECT_TRUE(vaccel_session_has_resource(b.get(), r.get()));
	} // b unregisters; a has nothing
	EXPECT_EQ(vaccel_resource_refcount(r.get()), 0);
	EXPECT_EQ(vaccel_session_count(), 0U);
}

} // namespace
