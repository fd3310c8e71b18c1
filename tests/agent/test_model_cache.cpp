// SPDX-License-Identifier: Apache-2.0
// The host model cache in-process (agent/model_cache.h): a model outlives
// its session and is found by digest, budgets and eviction, and many
// connections registering the same and different models at once (also
// under ThreadSanitizer: label "concurrency"). Backends do not matter here
// (noop: a model is its files); tests/security/test_model_cache.cpp runs
// the same rules on a real agent with the torch plugin.
#include "agent_test.h"

#include "transport/content_hash.h"

#include <atomic>
#include <thread>

namespace
{

using namespace agent_test;
using vaccel::agent::ConnId;
using vaccel::agent::Service;

using Blobs = std::vector<std::pair<std::string, std::string>>;

std::string digest_of(const Blobs &blobs)
{
	vaccel::transport::ResourceDigest d;
	for (const auto &[name, data] : blobs)
		d.add(name, data);
	return d.finish();
}

class ModelCacheService : public ::testing::Test
{
protected:
	void SetUp() override { ASSERT_NO_FATAL_FAILURE(restart_runtime()); }
	void TearDown() override
	{
		svc_.reset();
		EXPECT_EQ(vaccel_session_count(), 0U);
		EXPECT_EQ(vaccel_resource_count(), 0U);
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	}

	void make(uint64_t tenant_budget, uint64_t total = uint64_t{1} << 30)
	{
		auto p = permissive_policy();
		p.model_cache_bytes = total;
		p.defaults.quotas.model_cache_bytes = tenant_budget;
		svc_ = std::make_unique<Service>(vaccel::agent::Limits{},
						 std::move(p));
	}

	int64_t session(ConnId conn)
	{
		svc_->open_connection(conn);
		rpc::session::CreateResponse resp;
		EXPECT_EQ(call(*svc_, conn, "CreateSession",
			       rpc::session::CreateRequest(), &resp),
			  RpcCode::Ok);
		return resp.session_id();
	}

	RpcCode upload(ConnId conn, int64_t sess, const Blobs &blobs,
		       int64_t *id)
	{
		return register_blobs(*svc_, conn, sess, blobs, id,
				      rpc::resource::MODEL);
	}

	// RegisterCachedResource; the id (0: not cached).
	RpcCode by_digest(ConnId conn, int64_t sess, const std::string &digest,
			  int64_t *id, uint32_t type = VACCEL_RESOURCE_MODEL)
	{
		rpc::ext::CachedResource req;
		req.set_session_id(sess);
		req.set_resource_type(type);
		req.set_digest(digest);
		rpc::resource::RegisterResponse resp;
		auto r = svc_->handle(conn, vaccel::transport::kServiceData,
				      "RegisterCachedResource",
				      bytes(req.SerializeAsString()));
		*id = 0;
		if (r.status().code() == 0)
			resp.ParseFromString(r.payload());
		*id = resp.resource_id();
		return static_cast<RpcCode>(r.status().code());
	}

	static std::span<const uint8_t> bytes(const std::string &s)
	{
		return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
	}

	std::unique_ptr<Service> svc_;
};

TEST_F(ModelCacheService, ModelOutlivesItsSessionAndIsFoundByDigest)
{
	make(1 << 20);
	const Blobs model = {{"m.bin", std::string(1000, 'w')},
			     {"labels.txt", "a\nb\n"}};
	int64_t id = 0;
	ASSERT_EQ(upload(1, session(1), model, &id), RpcCode::Ok);
	const vaccel_id_t runtime_id = runtime_resource(*svc_, id)->id;
	svc_->close_connection(1);
	EXPECT_EQ(vaccel_resource_count(), 1U); // kept by the cache
	EXPECT_EQ(vaccel_session_count(), 1U);  // the cache's own

	const int64_t s2 = session(2);
	int64_t found = 0;
	ASSERT_EQ(by_digest(2, s2, digest_of(model), &found), RpcCode::Ok);
	ASSERT_NE(found, 0);
	vaccel_resource *res = runtime_resource(*svc_, found, 2);
	ASSERT_NE(res, nullptr);
	EXPECT_EQ(res->id, runtime_id);
	EXPECT_EQ(vaccel_resource_refcount(res), 2); // s2 and the cache

	// Unknown: not an error, id 0. Malformed or not a model: refused.
	EXPECT_EQ(by_digest(2, s2, std::string(64, '0'), &found), RpcCode::Ok);
	EXPECT_EQ(found, 0);
	EXPECT_EQ(by_digest(2, s2, "ABC", &found), RpcCode::InvalidArgument);
	EXPECT_EQ(
	    by_digest(2, s2, digest_of(model), &found, VACCEL_RESOURCE_LIB),
	    RpcCode::InvalidArgument);
	const auto st = svc_->model_cache().stats();
	EXPECT_EQ(st.entries, 1U);
	EXPECT_EQ(st.bytes, 1004U);
	EXPECT_EQ(st.hits, 1U);
	EXPECT_EQ(st.misses, 1U);
	EXPECT_EQ(st.uploads, 1U);
}

// The same model registered twice with one session (two resources of one
// program with the same files): both registrations work, as without the
// cache, by digest (answered "upload it") and by upload (a copy of its own).
TEST_F(ModelCacheService, SameModelTwiceInOneSession)
{
	make(1 << 20);
	const Blobs model = {{"m", std::string(100, 'x')}};
	const int64_t s = session(1);
	int64_t a = 0, b = 0, again = 0;
	ASSERT_EQ(upload(1, s, model, &a), RpcCode::Ok);
	ASSERT_EQ(by_digest(1, s, digest_of(model), &again), RpcCode::Ok);
	EXPECT_EQ(again, 0);
	ASSERT_EQ(upload(1, s, model, &b), RpcCode::Ok);
	ASSERT_NE(b, 0);
	EXPECT_NE(runtime_resource(*svc_, a)->id,
		  runtime_resource(*svc_, b)->id);
	rpc::resource::UnregisterRequest un;
	un.set_session_id(s);
	un.set_resource_id(b);
	ASSERT_EQ(call(*svc_, 1, "UnregisterResource", un), RpcCode::Ok);
	un.set_resource_id(a);
	EXPECT_EQ(call(*svc_, 1, "UnregisterResource", un), RpcCode::Ok);
}

// The tenant's budget holds one model: the next evicts the older, whose
// session keeps its copy until it ends; a model larger than the budget is
// served but not kept.
TEST_F(ModelCacheService, BudgetEvictsTheTenantsLeastRecentlyUsed)
{
	make(1500);
	const Blobs m1 = {{"m", std::string(1000, '1')}};
	const Blobs m2 = {{"m", std::string(1000, '2')}};
	const Blobs big = {{"m", std::string(2000, '3')}};
	const int64_t s = session(1);
	int64_t id1 = 0, id2 = 0, id3 = 0;
	ASSERT_EQ(upload(1, s, m1, &id1), RpcCode::Ok);
	ASSERT_EQ(upload(1, s, m2, &id2), RpcCode::Ok);
	auto st = svc_->model_cache().stats();
	EXPECT_EQ(st.entries, 1U);
	EXPECT_EQ(st.evictions, 1U);
	EXPECT_EQ(vaccel_resource_refcount(runtime_resource(*svc_, id1)), 1);
	ASSERT_EQ(upload(1, s, big, &id3), RpcCode::Ok);
	st = svc_->model_cache().stats();
	EXPECT_EQ(st.entries, 1U); // m2 still; big did not fit
	EXPECT_EQ(st.bytes, 1000U);

	svc_->close_connection(1);
	EXPECT_EQ(vaccel_resource_count(), 1U); // m2 only
	const int64_t s2 = session(2);
	int64_t found = 0;
	ASSERT_EQ(by_digest(2, s2, digest_of(m2), &found), RpcCode::Ok);
	EXPECT_NE(found, 0);
	ASSERT_EQ(by_digest(2, s2, digest_of(m1), &found), RpcCode::Ok);
	EXPECT_EQ(found, 0);
}

// Eight connections registering two models over and over, half by digest
// first as the rpc plugin does: one copy of each, counts that add up.
TEST_F(ModelCacheService, ConcurrentConnectionsShareOneCopyOfEach)
{
	make(1 << 20);
	const Blobs models[2] = {{{"m", std::string(5000, 'a')}},
				 {{"m", std::string(5000, 'b')}}};
	constexpr int kThreads = 8, kRounds = 20;
	std::atomic<int> uploads{0}, failures{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			const ConnId conn = 10 + static_cast<ConnId>(t);
			const int64_t s = session(conn);
			for (int r = 0; r < kRounds; ++r) {
				const Blobs &m = models[(t + r) % 2];
				int64_t id = 0;
				if (t % 2 == 0 &&
				    (by_digest(conn, s, digest_of(m), &id) !=
				     RpcCode::Ok))
					++failures;
				if (id == 0) {
					++uploads;
					if (upload(conn, s, m, &id) !=
					    RpcCode::Ok)
						++failures;
				}
				rpc::resource::UnregisterRequest un;
				un.set_session_id(s);
				un.set_resource_id(id);
				if (call(*svc_, conn, "UnregisterResource",
					 un) != RpcCode::Ok)
					++failures;
			}
			svc_->close_connection(conn);
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(failures.load(), 0);
	const auto st = svc_->model_cache().stats();
	EXPECT_EQ(st.entries, 2U);
	EXPECT_EQ(st.uploads, 2U);
	EXPECT_EQ(st.uploads + st.dedups, static_cast<uint64_t>(uploads));
	EXPECT_EQ(st.hits + st.misses,
		  static_cast<uint64_t>(kThreads / 2 * kRounds));
	EXPECT_EQ(vaccel_resource_count(), 2U);
}

} // namespace
