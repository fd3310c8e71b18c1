// SPDX-License-Identifier: Apache-2.0
// Op arguments in vAccel buffers (vaccel_buffer_alloc(), vaccel/buffer.h)
// through the rpc plugin and a real agent on a unix socket: with shared
// memory on they travel by reference and the agent reads and writes them
// in place, which its counters show (bytes on the path "shm_in_place",
// nothing of them on the socket or in a staging region); arguments in the
// program's own memory in the same call are copied as before; with shared
// memory off, or an agent without it, the same calls give the same bytes
// through the socket. The agent runs tests/rpc/fixtures/bulk.c through the
// exec plugin (every byte read or written) and, where built, sgemm through
// the blas plugin. Raw peers that name places outside what they mapped are
// refused.
#include "../unit/residency.h"
#include "bulk_reference.h"
#include "http_get.h"
#include "prom_check.h"
#include "rpc_test.h"

#include "rpc/genop.pb.h"

#include <vaccel.hpp>

#include <sys/mman.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

using namespace rpc_test;
namespace tp = vaccel::transport;

namespace
{

using vaccel_test::kernel_populates;
using vaccel_test::resident_pages;

constexpr size_t kMiB = size_t{1} << 20;

uint64_t fnv1a(std::initializer_list<std::span<const uint8_t>> parts)
{
	uint64_t h = 1469598103934665603ull;
	for (auto part : parts)
		for (uint8_t b : part) {
			h ^= b;
			h *= 1099511628211ull;
		}
	return h;
}

bool in_shared_memory(const void *p, size_t n)
{
	vaccel_shared_memory_place pl{};
	pl.struct_size = sizeof(pl);
	return vaccel_shared_memory_find(p, n, &pl) == VACCEL_OK;
}

class Buffers : public ::testing::Test
{
protected:
	void TearDown() override
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		::unsetenv("VACCEL_RPC_SHM");
		if (agent_) {
			EXPECT_TRUE(wait_agent_idle(agent_->address(), 10000ms))
			    << agent_->log();
		}
	}

	// An agent with @p plugins (and @p args), its /metrics on loopback,
	// and a session through the rpc plugin with shared memory @p shm.
	void start(bool shm = true,
		   const std::string &plugins = TEST_EXEC_PLUGIN,
		   std::vector<std::string> args = {})
	{
		args.insert(args.end(), {"--metrics", "127.0.0.1:0"});
		agent_ = std::make_unique<Agent>(dir_.path(), "buffers");
		ASSERT_TRUE(agent_->start(plugins, args)) << agent_->log();
		port_ =
		    agent_test::metrics_port(slurp(dir_.file("buffers.out")));
		ASSERT_NE(port_, 0U) << slurp(dir_.file("buffers.out"));
		::setenv("VACCEL_RPC_SHM", shm ? "1" : "0", 1);
		ASSERT_NO_FATAL_FAILURE(restart_runtime(
		    TEST_RPC_PLUGIN, agent_->address(), "60000"));
		ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE),
			  VACCEL_OK);
	}

	// Bytes the agent counted on @p path ("socket", "shm",
	// "shm_in_place") in @p direction, all tenants.
	double bytes(const std::string &path, const std::string &direction)
	{
		const agent_test::Http h =
		    agent_test::http_get(port_, "/metrics");
		EXPECT_EQ(h.status, 200);
		const auto ex = agent_test::parse_exposition(h.body);
		return ex.sum("vaccel_agent_bytes_total",
			      {"path=\"" + path + "\"",
			       "direction=\"" + direction + "\""});
	}

	int transform(const void *in, void *out, size_t n)
	{
		vaccel_arg r{const_cast<void *>(in), static_cast<uint32_t>(n),
			     VACCEL_ARG_RAW, 0, false};
		vaccel_arg w{out, static_cast<uint32_t>(n), VACCEL_ARG_RAW, 0,
			     false};
		return vaccel_exec(&sess_, TEST_BULK_LIB, "bulk_transform", &r,
				   1, &w, 1);
	}

	TempDir dir_;
	std::unique_ptr<Agent> agent_;
	uint32_t port_ = 0;
	vaccel_session sess_{};
};

// Request and reply envelopes, ids and small values: what may still cross
// the socket (or a reply slot) when the data travels by reference.
constexpr double kEnvelopes = 64 * 1024;

TEST_F(Buffers, InputAndOutputAreUsedInPlace)
{
	ASSERT_NO_FATAL_FAILURE(start());
	constexpr size_t n = 3 * kMiB + 5;
	vaccel::Buffer in(n);
	vaccel::Buffer out(n);
	ASSERT_TRUE(in_shared_memory(in.data(), n));
	ASSERT_TRUE(in_shared_memory(out.data(), n));
	for (uint32_t round = 0; round < 2; ++round) {
		fill_random(in.data(), n, 10 + round);
		std::memset(out.data(), 0xee, n);
		ASSERT_EQ(transform(in.data(), out.data(), n), VACCEL_OK);
		const auto want =
		    transformed(static_cast<const uint8_t *>(in.data()), n);
		ASSERT_EQ(std::memcmp(out.data(), want.data(), n), 0)
		    << "round " << round;
	}
	// Every byte of both rounds in place, none staged or on the socket.
	EXPECT_EQ(bytes("shm_in_place", "in"), 2.0 * n);
	EXPECT_EQ(bytes("shm_in_place", "out"), 2.0 * n);
	EXPECT_LT(bytes("shm", "in"), kEnvelopes);
	EXPECT_LT(bytes("shm", "out"), kEnvelopes);
	EXPECT_LT(bytes("socket", "in"), kEnvelopes);
	EXPECT_LT(bytes("socket", "out"), kEnvelopes);
	// One region on the agent: the buffers' block (no staging region).
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->regions(), 1U + slot_regions());
}

// No size threshold applies to buffers: a small call by reference too.
TEST_F(Buffers, SmallArgumentsTravelByReferenceToo)
{
	ASSERT_NO_FATAL_FAILURE(start());
	constexpr size_t n = 100;
	vaccel::Buffer in(n);
	vaccel::Buffer out(n);
	fill_random(in.data(), n, 3);
	ASSERT_EQ(transform(in.data(), out.data(), n), VACCEL_OK);
	const auto want = transformed(static_cast<uint8_t *>(in.data()), n);
	EXPECT_EQ(std::memcmp(out.data(), want.data(), n), 0);
	EXPECT_EQ(bytes("shm_in_place", "in"), double(n));
	EXPECT_EQ(bytes("shm_in_place", "out"), double(n));
}

// An argument inside a buffer, not at its start, is named at its offset.
TEST_F(Buffers, ArgumentsInsideOneBuffer)
{
	ASSERT_NO_FATAL_FAILURE(start());
	constexpr size_t n = kMiB + 3;
	vaccel::Buffer both(3 * kMiB);
	auto *in = static_cast<uint8_t *>(both.data()) + 17;
	auto *out = static_cast<uint8_t *>(both.data()) + kMiB + 4096 + 1;
	fill_random(in, n, 4);
	ASSERT_EQ(transform(in, out, n), VACCEL_OK);
	const auto want = transformed(in, n);
	EXPECT_EQ(std::memcmp(out, want.data(), n), 0);
	EXPECT_EQ(bytes("shm_in_place", "in"), double(n));
}

// Some arguments in buffers, some in the program's own memory (a large one
// staged in a leased region, a small one inline): each on its own path,
// one call, the right bytes.
TEST_F(Buffers, MixedArguments)
{
	ASSERT_NO_FATAL_FAILURE(start());
	constexpr size_t big = 2 * kMiB + 7;
	vaccel::Buffer shared(big);
	std::vector<uint8_t> own(big);
	std::vector<uint8_t> tiny(100);
	fill_random(shared.data(), big, 5);
	fill_random(own.data(), big, 6);
	fill_random(tiny.data(), tiny.size(), 7);
	vaccel::Buffer sum(sizeof(uint64_t));
	vaccel_arg r[] = {
	    {shared.data(), static_cast<uint32_t>(big), VACCEL_ARG_RAW, 0,
	     false},
	    {own.data(), static_cast<uint32_t>(big), VACCEL_ARG_RAW, 0, false},
	    {tiny.data(), static_cast<uint32_t>(tiny.size()), VACCEL_ARG_RAW, 0,
	     false}};
	vaccel_arg w{sum.data(), sizeof(uint64_t), VACCEL_ARG_UINT64, 0, false};
	ASSERT_EQ(
	    vaccel_exec(&sess_, TEST_BULK_LIB, "bulk_checksum", r, 3, &w, 1),
	    VACCEL_OK);
	const auto *s = static_cast<const uint8_t *>(shared.data());
	EXPECT_EQ(*sum.as<uint64_t>().data(),
		  fnv1a({{s, big}, {own.data(), big}, {tiny.data(), 100}}));
	EXPECT_EQ(bytes("shm_in_place", "in"), double(big));
	EXPECT_EQ(bytes("shm_in_place", "out"), double(sizeof(uint64_t)));
	EXPECT_GE(bytes("shm", "in"), double(big)); // the staged copy

	// Input in a buffer, output in the program's memory, and the reverse.
	std::vector<uint8_t> out(big);
	ASSERT_EQ(transform(shared.data(), out.data(), big), VACCEL_OK);
	EXPECT_EQ(out, transformed(s, big));
	vaccel::Buffer out2(big);
	ASSERT_EQ(transform(own.data(), out2.data(), big), VACCEL_OK);
	EXPECT_EQ(
	    std::memcmp(out2.data(), transformed(own.data(), big).data(), big),
	    0);
}

// Shared memory off in the client: the buffers are ordinary memory and the
// same call gives the same bytes through the socket.
TEST_F(Buffers, SharedMemoryOffGivesTheSameBytes)
{
	ASSERT_NO_FATAL_FAILURE(start(/*shm=*/false));
	constexpr size_t n = 3 * kMiB + 5;
	vaccel::Buffer in(n);
	vaccel::Buffer out(n);
	fill_random(in.data(), n, 10);
	ASSERT_EQ(transform(in.data(), out.data(), n), VACCEL_OK);
	const auto want = transformed(static_cast<uint8_t *>(in.data()), n);
	EXPECT_EQ(std::memcmp(out.data(), want.data(), n), 0);
	EXPECT_EQ(bytes("shm_in_place", "in"), 0.0);
	EXPECT_GE(bytes("socket", "in"), double(n));
	EXPECT_GE(bytes("socket", "out"), double(n));
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->regions(), 0U);
}

// The plugin gives the first VACCEL_RPC_SHM_PREWARM bytes of shared memory
// their pages on its start-up thread (VACCEL_RPC_START_AHEAD); a first small
// buffer lands at the start of them, and the rest of that range fills in
// without the program touching it.
TEST_F(Buffers, PluginPrewarmsSharedMemoryWhenItLoads)
{
	if (!kernel_populates())
		GTEST_FAIL()
		    << "this kernel cannot populate memory (Linux 5.14+)";
	::setenv("VACCEL_RPC_START_AHEAD", "1", 1); // even on 2 CPUs
	::setenv("VACCEL_RPC_SHM_PREWARM", "1048576", 1);
	::setenv("VACCEL_POLL_BUSY_HOST", "1", 1); // even on a busy host
	ASSERT_NO_FATAL_FAILURE(start());
	vaccel::Buffer first(64 * 1024);
	vaccel_shared_memory_place pl{};
	pl.struct_size = sizeof(pl);
	ASSERT_EQ(vaccel_shared_memory_find(first.data(), 1, &pl), VACCEL_OK);
	ASSERT_EQ(pl.offset, 0U);
	const size_t page = ::sysconf(_SC_PAGESIZE);
	const auto *base = static_cast<const uint8_t *>(first.data());
	const auto until = std::chrono::steady_clock::now() + 20s;
	while (resident_pages(base, kMiB) < kMiB / page &&
	       std::chrono::steady_clock::now() < until)
		std::this_thread::sleep_for(1ms);
	EXPECT_EQ(resident_pages(base, kMiB), kMiB / page);
	EXPECT_EQ(resident_pages(base + kMiB, kMiB), 0U)
	    << "more than VACCEL_RPC_SHM_PREWARM";
	::unsetenv("VACCEL_RPC_SHM_PREWARM");
}

// VACCEL_RPC_SHM_PREWARM=0: only what is allocated gets pages.
TEST_F(Buffers, NoPrewarmWhenTurnedOff)
{
	::setenv("VACCEL_RPC_START_AHEAD", "1", 1);
	::setenv("VACCEL_RPC_SHM_PREWARM", "0", 1);
	::setenv("VACCEL_POLL_BUSY_HOST", "1", 1);
	ASSERT_NO_FATAL_FAILURE(start());
	vaccel::Buffer first(64 * 1024);
	const auto *base = static_cast<const uint8_t *>(first.data());
	std::this_thread::sleep_for(200ms); // what a thread would have done
	EXPECT_EQ(resident_pages(base + 64 * 1024, kMiB), 0U);
	::unsetenv("VACCEL_RPC_SHM_PREWARM");
}

// An agent that offers no shared memory: buffers in shared memory on the
// client's side go through the socket, byte for byte.
TEST_F(Buffers, AgentWithoutSharedMemoryGetsCopies)
{
	ASSERT_NO_FATAL_FAILURE(start(true, TEST_EXEC_PLUGIN, {"--no-shm"}));
	constexpr size_t n = kMiB + 1;
	vaccel::Buffer in(n);
	vaccel::Buffer out(n);
	ASSERT_TRUE(in_shared_memory(in.data(), n));
	fill_random(in.data(), n, 11);
	ASSERT_EQ(transform(in.data(), out.data(), n), VACCEL_OK);
	const auto want = transformed(static_cast<uint8_t *>(in.data()), n);
	EXPECT_EQ(std::memcmp(out.data(), want.data(), n), 0);
	EXPECT_EQ(bytes("shm_in_place", "in"), 0.0);
	EXPECT_GE(bytes("socket", "in"), double(n));
}

TEST_F(Buffers, ManyThreadsEachWithTheirBuffers)
{
	ASSERT_NO_FATAL_FAILURE(start());
	std::atomic<int> good{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; ++t)
		threads.emplace_back([&, t] {
			const size_t n =
			    (1 + static_cast<size_t>(t)) * kMiB + 9;
			vaccel::Buffer in(n);
			vaccel::Buffer out(n);
			for (int i = 0; i < 3; ++i) {
				fill_random(
				    in.data(), n,
				    static_cast<uint32_t>(50 + t * 10 + i));
				if (transform(in.data(), out.data(), n) !=
				    VACCEL_OK)
					continue;
				const auto want = transformed(
				    static_cast<uint8_t *>(in.data()), n);
				if (std::memcmp(out.data(), want.data(), n) ==
				    0)
					++good;
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(good.load(), 12);
}

// The agent maps at most 64 regions per connection. Arguments in blocks
// beyond that are copied instead, in the same call, with the right result;
// the refusal is remembered, so the next call does not ask again.
TEST_F(Buffers, BlocksTheAgentRefusesAreCopied)
{
	ASSERT_NO_FATAL_FAILURE(start());
	constexpr size_t kBlock = 16 * kMiB; // one buffer, one block
	constexpr size_t kArgs = 70;
	constexpr size_t n = 100;
	std::vector<vaccel::Buffer> buffers;
	std::vector<vaccel_arg> in;
	std::vector<std::span<const uint8_t>> parts;
	for (size_t i = 0; i < kArgs; ++i) {
		auto &b = buffers.emplace_back(kBlock);
		fill_random(b.data(), n, static_cast<uint32_t>(100 + i));
		in.push_back({b.data(), n, VACCEL_ARG_RAW, 0, false});
		parts.emplace_back(static_cast<const uint8_t *>(b.data()), n);
	}
	uint64_t want = 1469598103934665603ull;
	for (auto part : parts)
		for (uint8_t byte : part) {
			want ^= byte;
			want *= 1099511628211ull;
		}
	const auto map_calls = [&](const std::string &code) {
		const agent_test::Http h =
		    agent_test::http_get(port_, "/metrics");
		return agent_test::parse_exposition(h.body).sum(
		    "vaccel_agent_calls_total",
		    {"method=\"MapRegion\"", "code=\"" + code + "\""});
	};
	for (int round = 0; round < 2; ++round) {
		uint64_t sum = 0;
		vaccel_arg w{&sum, sizeof(sum), VACCEL_ARG_UINT64, 0, false};
		ASSERT_EQ(vaccel_exec(&sess_, TEST_BULK_LIB, "bulk_checksum",
				      in.data(), in.size(), &w, 1),
			  VACCEL_OK);
		EXPECT_EQ(sum, want) << "round " << round;
	}
	const double mapped = map_calls("OK");
	const double refused = map_calls("RESOURCE_EXHAUSTED");
	EXPECT_EQ(mapped, 64.0);
	EXPECT_EQ(mapped + refused, double(kArgs) + double(slot_regions()))
	    << "each block asked for once, over both rounds";
	EXPECT_EQ(bytes("shm_in_place", "in"),
		  2.0 * n * double(64 - slot_regions()));
}

#ifdef TEST_BLAS_PLUGIN
// sgemm on the agent's blas plugin with A, B and C in buffers (C read for
// beta and written in place) gives the bits the same call gives from the
// program's own memory, and is right against a float64 reference.
TEST_F(Buffers, SgemmInPlace)
{
	ASSERT_NO_FATAL_FAILURE(start(true, TEST_BLAS_PLUGIN));
	constexpr int64_t m = 130, n = 70, k = 90;
	constexpr int64_t lda = k + 3, ldb = n, ldc = n + 5;
	constexpr float alpha = 1.5F, beta = 0.5F;
	const size_t na = m * lda, nb = k * ldb, nc = m * ldc;
	vaccel::Buffer a(na * sizeof(float));
	vaccel::Buffer b(nb * sizeof(float));
	vaccel::Buffer c(nc * sizeof(float));
	std::mt19937 rng(12);
	std::uniform_real_distribution<float> u(-1.0F, 1.0F);
	for (float &x : a.as<float>())
		x = u(rng);
	for (float &x : b.as<float>())
		x = u(rng);
	for (float &x : c.as<float>())
		x = u(rng);
	const std::vector<float> own_a(a.as<float>().begin(),
				       a.as<float>().end());
	const std::vector<float> own_b(b.as<float>().begin(),
				       b.as<float>().end());
	std::vector<float> own_c(c.as<float>().begin(), c.as<float>().end());
	const std::vector<float> c0 = own_c;

	vaccel::Session sess(VACCEL_PLUGIN_REMOTE);
	sess.sgemm(m, n, k, alpha, a.as<float>(), lda, b.as<float>(), ldb, beta,
		   c.as<float>(), ldc);
	// A and B read, C written (sgemm's C is a write arg that travels
	// both ways), (m - 1) * ld + cols floats each.
	const auto span = [](int64_t rows, int64_t cols, int64_t ld) {
		return double(((rows - 1) * ld + cols) *
			      int64_t{sizeof(float)});
	};
	EXPECT_EQ(bytes("shm_in_place", "in"),
		  span(m, k, lda) + span(k, n, ldb));
	EXPECT_EQ(bytes("shm_in_place", "out"), span(m, n, ldc));
	sess.sgemm(m, n, k, alpha, own_a, lda, own_b, ldb, beta, own_c, ldc);
	EXPECT_EQ(std::memcmp(c.data(), own_c.data(), nc * sizeof(float)), 0)
	    << "the same op on the same bytes, by reference and by copy";
	double worst = 0;
	for (int64_t i = 0; i < m; ++i)
		for (int64_t j = 0; j < n; ++j) {
			double want = beta * double(c0[i * ldc + j]);
			for (int64_t p = 0; p < k; ++p)
				want += alpha * double(own_a[i * lda + p]) *
					double(own_b[p * ldb + j]);
			worst = std::max(
			    worst,
			    std::fabs(want - c.as<float>()[i * ldc + j]));
		}
	EXPECT_LT(worst, 1e-3);
	// The padding of C (columns n..ldc) is left as it was.
	EXPECT_EQ(c.as<float>()[n], c0[n]);
}
#endif

// ---- raw peers: places that were never handed over ------------------------

class BuffersRaw : public Buffers
{
protected:
	void SetUp() override { ASSERT_NO_FATAL_FAILURE(start()); }

	// Maps a sealed memfd of @p size bytes as @p region on @p conn,
	// as client memory; the reply's status code.
	static int map(RawConn &conn, uint32_t region, uint64_t size,
		       uint32_t stream)
	{
		const int fd = ::memfd_create("buffers-test",
					      MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0 ||
		    ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0)
			return -1;
		vaccel::rpc::ext::MapRegion m;
		m.set_region(region);
		m.set_size(size);
		m.set_client_memory(true);
		const bool sent = conn.send_frame(
		    stream, tp::MsgType::Request, 0,
		    RawConn::request(std::string(tp::kServiceData), "MapRegion",
				     m.SerializeAsString()),
		    std::span(&fd, 1));
		::close(fd);
		auto resp = sent ? conn.read_response() : std::nullopt;
		return resp ? resp->status().code() : -1;
	}

	// A GenopShm whose one read (or write) arg is [offset, +size) of
	// @p region; the reply.
	static std::optional<vaccel::rpc::ttrpc::Response>
	genop(RawConn &conn, uint32_t stream, bool write, uint32_t region,
	      uint64_t offset, uint64_t size)
	{
		vaccel::rpc::ext::ShmGenopRequest g;
		g.set_session_id(1);
		auto *op = g.add_read_args();
		op->set_buf(std::string(1, static_cast<char>(VACCEL_OP_NOOP)));
		op->set_size(1);
		op->set_arg_type(vaccel::rpc::genop::UINT8);
		auto *a = write ? g.add_write_args() : g.add_read_args();
		a->set_region(region);
		a->set_offset(offset);
		a->set_size(size);
		a->set_arg_type(vaccel::rpc::genop::RAW);
		if (!conn.send_frame(
			stream, tp::MsgType::Request, 0,
			RawConn::request(std::string(tp::kServiceData),
					 "GenopShm", g.SerializeAsString())))
			return std::nullopt;
		return conn.read_response();
	}
};

TEST_F(BuffersRaw, PlacesOutsideTheMappingAreRefused)
{
	RawConn raw;
	ASSERT_TRUE(raw.connect(agent_->address()));
	ASSERT_EQ(map(raw, 4, kMiB, 1), 0);
	const int invalid = static_cast<int>(tp::RpcCode::InvalidArgument);
	struct Lie {
		bool write;
		uint64_t offset, size;
	};
	const Lie lies[] = {
	    {false, kMiB - 10, 11},           // runs past the end
	    {true, kMiB - 10, 11},            // an output too
	    {false, kMiB + 1, 0},             // starts past the end
	    {false, UINT64_MAX, 2},           // offset + size wraps around
	    {true, 8, UINT64_MAX - 4},        // so does this one
	    {false, 0, UINT64_MAX},           // larger than any mapping
	    {true, uint64_t{1} << 63, kMiB}}; // far outside
	uint32_t stream = 3;
	for (const Lie &l : lies) {
		auto resp = genop(raw, stream, l.write, 4, l.offset, l.size);
		stream += 2;
		ASSERT_TRUE(resp) << "the agent must answer, not crash";
		EXPECT_EQ(resp->status().code(), invalid)
		    << l.offset << "+" << l.size;
		EXPECT_NE(resp->status().message().find("outside region 4"),
			  std::string::npos)
		    << resp->status().message();
	}
	// The agent and the connection carry on.
	auto stats = raw.call("vaccel.ext.AgentAdmin", "Stats", "");
	ASSERT_TRUE(stats);
	EXPECT_EQ(stats->status().code(), 0);
}

// A region is the connection's own: another connection cannot name it,
// nor a region nobody mapped.
TEST_F(BuffersRaw, RegionsOfOtherConnectionsCannotBeNamed)
{
	RawConn owner;
	RawConn other;
	ASSERT_TRUE(owner.connect(agent_->address()));
	ASSERT_TRUE(other.connect(agent_->address()));
	ASSERT_EQ(map(owner, 5, kMiB, 1), 0);
	const int not_found = static_cast<int>(tp::RpcCode::NotFound);
	for (uint32_t region : {5U, 6U}) {
		auto resp = genop(other, 1 + 2 * region, false, region, 0, 64);
		ASSERT_TRUE(resp);
		EXPECT_EQ(resp->status().code(), not_found);
		EXPECT_NE(resp->status().message().find(
			      "region " + std::to_string(region) +
			      " is not mapped on this connection"),
			  std::string::npos)
		    << resp->status().message();
	}
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	// Region 5, and the regions of the fixture's own client.
	EXPECT_EQ(st->regions(), 1U + early_regions());
}

} // namespace
