// SPDX-License-Identifier: Apache-2.0
// Large data through the rpc plugin and a real agent: chunked calls over
// unix and tcp sockets, the shared-memory plane, upstream's GenopStream
// against an agent that answers like upstream's, the agent's memory
// budget, and raw peers that break the streaming and shared-memory rules.
// The agent runs tests/rpc/fixtures/bulk.c through the exec plugin, which
// reads or writes every byte.
#include "../thread_names.h"
#include "rpc_test.h"

#include "rpc/torch.pb.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <random>

using namespace rpc_test;
namespace tp = vaccel::transport;

namespace
{

constexpr size_t kMiB = size_t{1} << 20;

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed)
{
	std::vector<uint8_t> v(n);
	std::mt19937_64 rng(seed);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		const uint64_t x = rng();
		std::memcpy(v.data() + i, &x, 8);
	}
	for (; i < n; ++i)
		v[i] = static_cast<uint8_t>(rng());
	return v;
}

uint64_t fnv1a(const std::vector<uint8_t> &v)
{
	uint64_t h = 1469598103934665603ull;
	for (uint8_t b : v) {
		h ^= b;
		h *= 1099511628211ull;
	}
	return h;
}

// Peak resident memory of @p pid in KiB (VmHWM), 0 if unknown.
size_t peak_rss_kib(pid_t pid)
{
	std::istringstream in(
	    slurp("/proc/" + std::to_string(pid) + "/status"));
	std::string line;
	while (std::getline(in, line))
		if (line.rfind("VmHWM:", 0) == 0)
			return std::stoul(line.substr(6));
	return 0;
}

class LargeData : public ::testing::Test
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

	// Starts an agent (exec plugin unless @p plugins says otherwise; with
	// @p args, on @p listen) and a session.
	void start(const std::vector<std::string> &args = {},
		   const std::string &listen = {}, bool shm = true,
		   const std::string &plugins = TEST_EXEC_PLUGIN)
	{
		agent_ = std::make_unique<Agent>(dir_.path(), "bulk", listen);
		ASSERT_TRUE(agent_->start(plugins, args)) << agent_->log();
		::setenv("VACCEL_RPC_SHM", shm ? "1" : "0", 1);
		// A generous call timeout: a 256 MiB call under ThreadSanitizer
		// on 2 busy cores took over 20 s. These tests check data and
		// memory, not speed.
		ASSERT_NO_FATAL_FAILURE(restart_runtime(
		    TEST_RPC_PLUGIN, agent_->address(), "180000"));
		ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE),
			  VACCEL_OK);
	}

	int transform(const std::vector<uint8_t> &in, std::vector<uint8_t> &out)
	{
		out.assign(in.size(), 0);
		vaccel_arg r{const_cast<uint8_t *>(in.data()), in.size(),
			     VACCEL_ARG_RAW, 0, false};
		vaccel_arg w{out.data(), out.size(), VACCEL_ARG_RAW, 0, false};
		return vaccel_exec(&sess_, TEST_BULK_LIB, "bulk_transform", &r,
				   1, &w, 1);
	}

	static bool transformed(const std::vector<uint8_t> &in,
				const std::vector<uint8_t> &out)
	{
		if (in.size() != out.size())
			return false;
		for (size_t i = 0; i < in.size(); ++i)
			if (out[i] != static_cast<uint8_t>(in[i] * 31u + 7u))
				return false;
		return true;
	}

	int checksum(const std::vector<uint8_t> &in, uint64_t *sum)
	{
		vaccel_arg r{const_cast<uint8_t *>(in.data()), in.size(),
			     VACCEL_ARG_RAW, 0, false};
		vaccel_arg w{sum, sizeof(*sum), VACCEL_ARG_UINT64, 0, false};
		return vaccel_exec(&sess_, TEST_BULK_LIB, "bulk_checksum", &r,
				   1, &w, 1);
	}

	TempDir dir_;
	std::unique_ptr<Agent> agent_;
	vaccel_session sess_{};
};

TEST_F(LargeData, ChunkedOverUnixSocket64MiB)
{
	ASSERT_NO_FATAL_FAILURE(start({}, {}, /*shm=*/false));
	auto in = random_bytes(64 * kMiB, 1);
	std::vector<uint8_t> out;
	ASSERT_EQ(transform(in, out), VACCEL_OK);
	EXPECT_TRUE(transformed(in, out));
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->regions(), 0U); // the socket carried it
	EXPECT_EQ(st->buffered_bytes(), 0U);
}

TEST_F(LargeData, SharedMemory64MiB)
{
	ASSERT_NO_FATAL_FAILURE(start());
	auto in = random_bytes(64 * kMiB, 2);
	std::vector<uint8_t> out;
	ASSERT_EQ(transform(in, out), VACCEL_OK);
	EXPECT_TRUE(transformed(in, out));
	// Again, reusing the pooled region.
	in = random_bytes(64 * kMiB, 3);
	ASSERT_EQ(transform(in, out), VACCEL_OK);
	EXPECT_TRUE(transformed(in, out));
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_GE(st->regions(), 1U);                   // the plane was used
	EXPECT_LE(st->regions(), 2U + early_regions()); // and its region reused
}

TEST_F(LargeData, SharedMemoryManyThreads)
{
	ASSERT_NO_FATAL_FAILURE(start());
	std::atomic<int> good{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < 3; ++i) {
				auto in = random_bytes(
				    (4 + static_cast<size_t>(t)) * kMiB + 17,
				    static_cast<uint32_t>(100 + t * 10 + i));
				std::vector<uint8_t> out;
				if (transform(in, out) == VACCEL_OK &&
				    transformed(in, out))
					++good;
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(good.load(), 12);
}

// 256 MiB through the socket: correct, and the agent's peak memory stays
// a small multiple of the message, not of the number of copies a naive
// path would make.
TEST_F(LargeData, Transfer256MiBWithBoundedAgentMemory)
{
	ASSERT_NO_FATAL_FAILURE(start({}, {}, /*shm=*/false));
	auto in = random_bytes(256 * kMiB, 4);
	uint64_t sum = 0;
	ASSERT_EQ(checksum(in, &sum), VACCEL_OK);
	EXPECT_EQ(sum, fnv1a(in));
	const size_t peak = peak_rss_kib(agent_->pid());
	ASSERT_GT(peak, 0U);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	// (Sanitizer builds add shadow memory to every byte touched.)
	EXPECT_LT(peak, 3 * 256 * 1024U) << "agent peak RSS " << peak << " KiB";
#endif
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->buffered_bytes(), 0U);
}

TEST_F(LargeData, Transfer256MiBThroughSharedMemory)
{
	ASSERT_NO_FATAL_FAILURE(start());
	auto in = random_bytes(256 * kMiB, 5);
	uint64_t sum = 0;
	ASSERT_EQ(checksum(in, &sum), VACCEL_OK);
	EXPECT_EQ(sum, fnv1a(in));
}

// A resource larger than one frame (a model of tens of MiB, say) travels
// as a chunked call: here the bulk library padded to 48 MiB (the dynamic
// loader ignores bytes after the ELF's segments), registered and run from
// the agent's copy, with a small frame limit so that it takes many frames.
TEST_F(LargeData, ResourceLargerThanAFrameIsRegistered)
{
	::setenv("VACCEL_RPC_MAX_FRAME", std::to_string(kMiB).c_str(), 1);
	ASSERT_NO_FATAL_FAILURE(start({}, {}, /*shm=*/false));
	::unsetenv("VACCEL_RPC_MAX_FRAME");
	const std::string path = dir_.path() + "/big-bulk.so";
	{
		std::string lib = slurp(TEST_BULK_LIB);
		ASSERT_FALSE(lib.empty());
		auto pad = random_bytes(48 * kMiB - lib.size(), 9);
		lib.append(reinterpret_cast<const char *>(pad.data()),
			   pad.size());
		std::ofstream(path, std::ios::binary) << lib;
	}
	vaccel_resource res{};
	ASSERT_EQ(vaccel_resource_init(&res, path.c_str(), VACCEL_RESOURCE_LIB),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&res, &sess_), VACCEL_OK);
	auto in = random_bytes(3 * kMiB + 5, 10);
	uint64_t sum = 0;
	vaccel_arg r{in.data(), in.size(), VACCEL_ARG_RAW, 0, false};
	vaccel_arg w{&sum, sizeof(sum), VACCEL_ARG_UINT64, 0, false};
	ASSERT_EQ(vaccel_exec_with_resource(&sess_, &res, "bulk_checksum", &r,
					    1, &w, 1),
		  VACCEL_OK);
	EXPECT_EQ(sum, fnv1a(in));
	EXPECT_EQ(vaccel_resource_unregister(&res, &sess_), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

// Torch input tensors above 4 KiB travel through a shared region (small
// ones stay inline) and the agent runs the model on the region's bytes:
// the noop plugin copies its inputs to its outputs, so every byte, type
// and shape must come back; then the same through the socket alone.
// @p allocate: the largest input (800 KB) is allocated by vAccel
// (vaccel_torch_tensor_allocate()), so with the rpc plugin on a unix socket
// it lives in the shared tensor memory and travels without a copy.
void torch_roundtrip(vaccel_session *sess, const std::string &dir,
		     bool allocate = false)
{
	const std::string model_path = dir + "/model.pt";
	std::ofstream(model_path, std::ios::binary) << "not really a model";
	vaccel_resource model{};
	ASSERT_EQ(vaccel_resource_init(&model, model_path.c_str(),
				       VACCEL_RESOURCE_MODEL),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&model, sess), VACCEL_OK);
	ASSERT_EQ(vaccel_torch_model_load(sess, &model), VACCEL_OK);

	struct Input {
		std::vector<int64_t> dims;
		vaccel_torch_data_type type;
		std::vector<uint8_t> bytes;
	};
	std::vector<Input> inputs = {
	    {{4, 4}, VACCEL_TORCH_FLOAT, random_bytes(64, 11)},
	    {{1, 3, 211, 227},
	     VACCEL_TORCH_FLOAT,
	     random_bytes(3 * 211 * 227 * 4, 12)},
	    {{100003}, VACCEL_TORCH_LONG, random_bytes(100003 * 8, 13)},
	    {{1000}, VACCEL_TORCH_BYTE, random_bytes(1000, 14)}};
	std::vector<vaccel_torch_tensor *> in;
	for (auto &i : inputs) {
		vaccel_torch_tensor *t = nullptr;
		if (allocate && i.type == VACCEL_TORCH_LONG) {
			ASSERT_EQ(vaccel_torch_tensor_allocate(
				      &t, static_cast<int64_t>(i.dims.size()),
				      i.dims.data(), i.type, i.bytes.size()),
				  VACCEL_OK);
			std::memcpy(t->data, i.bytes.data(), i.bytes.size());
		} else {
			ASSERT_EQ(vaccel_torch_tensor_new(
				      &t, static_cast<int64_t>(i.dims.size()),
				      i.dims.data(), i.type),
				  VACCEL_OK);
			ASSERT_EQ(vaccel_torch_tensor_set_data(
				      t, i.bytes.data(), i.bytes.size()),
				  VACCEL_OK);
		}
		in.push_back(t);
	}
	for (int round = 0; round < 2; ++round) {
		std::vector<vaccel_torch_tensor *> out(inputs.size(), nullptr);
		ASSERT_EQ(vaccel_torch_model_run(
			      sess, &model, nullptr, in.data(),
			      static_cast<int>(in.size()), out.data(),
			      static_cast<int>(out.size())),
			  VACCEL_OK);
		for (size_t i = 0; i < inputs.size(); ++i) {
			ASSERT_NE(out[i], nullptr) << i;
			EXPECT_EQ(out[i]->data_type, inputs[i].type) << i;
			ASSERT_EQ(out[i]->nr_dims,
				  static_cast<int64_t>(inputs[i].dims.size()))
			    << i;
			EXPECT_TRUE(std::equal(inputs[i].dims.begin(),
					       inputs[i].dims.end(),
					       out[i]->dims))
			    << i;
			ASSERT_EQ(out[i]->size, inputs[i].bytes.size()) << i;
			EXPECT_EQ(std::memcmp(out[i]->data,
					      inputs[i].bytes.data(),
					      out[i]->size),
				  0)
			    << i;
			vaccel_torch_tensor_delete(out[i]);
		}
	}
	for (auto *t : in)
		vaccel_torch_tensor_delete(t);
	EXPECT_EQ(vaccel_resource_unregister(&model, sess), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&model), VACCEL_OK);
}

TEST_F(LargeData, TorchInputsThroughSharedMemory)
{
	ASSERT_NO_FATAL_FAILURE(start({}, {}, true, TEST_NOOP_PLUGIN));
	ASSERT_NO_FATAL_FAILURE(torch_roundtrip(&sess_, dir_.path()));
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	// Used, and reused the second time; the early block stays unused
	// (the inputs are the program's own memory).
	EXPECT_EQ(st->regions(), 1U + early_regions());
}

// Inputs vAccel allocated live in its shared tensor memory (enabled by the
// rpc plugin on a unix socket): the agent maps that memory once and reads
// them where they lie; the other large input still goes through a leased
// region. Two regions on the agent: the tensor memory's block and the
// leased one (a copy of everything would have needed one).
TEST_F(LargeData, TorchInputsFromSharedTensorMemory)
{
	ASSERT_NO_FATAL_FAILURE(start({}, {}, true, TEST_NOOP_PLUGIN));
	ASSERT_NO_FATAL_FAILURE(torch_roundtrip(&sess_, dir_.path(), true));
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->regions(), 2U + slot_regions());
}

// The same tensors with an agent that offers no shared memory: they go
// through the socket, byte for byte.
TEST_F(LargeData, SharedTensorMemoryFallsBackToTheSocket)
{
	ASSERT_NO_FATAL_FAILURE(
	    start({"--no-shm"}, {}, true, TEST_NOOP_PLUGIN));
	ASSERT_NO_FATAL_FAILURE(torch_roundtrip(&sess_, dir_.path(), true));
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->regions(), 0U);
}

TEST_F(LargeData, TorchInputsThroughTheSocket)
{
	ASSERT_NO_FATAL_FAILURE(start({}, {}, false, TEST_NOOP_PLUGIN));
	ASSERT_NO_FATAL_FAILURE(torch_roundtrip(&sess_, dir_.path()));
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->regions(), 0U);
}

// Own buffers copied with helper threads (VACCEL_RPC_COPY_THREADS,
// plugins/rpc/copies.h): genop arguments there and back (and, below, torch
// inputs) arrive byte for byte, and the helpers run. A forked child that copies
// gets helpers of its own; one that never copies ends without waiting for
// its parent's, which do not exist in it.
TEST_F(LargeData, CopyHelpersMoveOwnBuffersExactly)
{
#ifdef __SANITIZE_THREAD__
	GTEST_SKIP() << "fork of a process that has run threads: not "
			"supported under ThreadSanitizer";
#endif
	::setenv("VACCEL_RPC_COPY_THREADS", "2", 1);
	::setenv("VACCEL_POLL_BUSY_HOST", "1", 1); // share on a busy host
	ASSERT_NO_FATAL_FAILURE(start());
	for (uint32_t i = 0; i < 3; ++i) {
		auto in = random_bytes(8 * kMiB + 5 + i, 40 + i);
		std::vector<uint8_t> out;
		ASSERT_EQ(transform(in, out), VACCEL_OK);
		EXPECT_TRUE(transformed(in, out)) << "round " << i;
	}
	EXPECT_EQ(wait_threads_named("vaccel-copy", 2), 2);
	const auto child_status = [](bool copy) {
		const pid_t child = ::fork();
		if (child == 0) {
			vaccel_session s{};
			bool ok = vaccel_session_init(
				      &s, VACCEL_PLUGIN_REMOTE) == VACCEL_OK;
			if (ok && copy) {
				auto in = random_bytes(4 * kMiB + 1, 50);
				std::vector<uint8_t> out(in.size());
				vaccel_arg r{in.data(), in.size(),
					     VACCEL_ARG_RAW, 0, false};
				vaccel_arg w{out.data(), out.size(),
					     VACCEL_ARG_RAW, 0, false};
				ok = vaccel_exec(&s, TEST_BULK_LIB,
						 "bulk_transform", &r, 1, &w,
						 1) == VACCEL_OK &&
				     transformed(in, out) &&
				     wait_threads_named("vaccel-copy", 2) == 2;
			}
			ok = vaccel_session_release(&s) == VACCEL_OK && ok;
			ok = vaccel_cleanup() == VACCEL_OK && ok;
			::_exit(ok ? 0 : 1);
		}
		int status = -1;
		if (child > 0 && ::waitpid(child, &status, 0) != child)
			status = -1;
		return status;
	};
	for (bool copy : {true, false}) {
		const int status = child_status(copy);
		ASSERT_TRUE(WIFEXITED(status)) << "copy " << copy;
		EXPECT_EQ(WEXITSTATUS(status), 0) << "copy " << copy;
	}
	::unsetenv("VACCEL_RPC_COPY_THREADS");
	::unsetenv("VACCEL_POLL_BUSY_HOST");
}

TEST_F(LargeData, CopyHelpersMoveTorchInputsExactly)
{
	::setenv("VACCEL_RPC_COPY_THREADS", "2", 1);
	::setenv("VACCEL_RPC_COPY_MIN", "262144", 1); // the inputs: 0.5-1 MB
	::setenv("VACCEL_POLL_BUSY_HOST", "1", 1);
	ASSERT_NO_FATAL_FAILURE(start({}, {}, true, TEST_NOOP_PLUGIN));
	ASSERT_NO_FATAL_FAILURE(torch_roundtrip(&sess_, dir_.path()));
	EXPECT_EQ(wait_threads_named("vaccel-copy", 2), 2);
	::unsetenv("VACCEL_RPC_COPY_THREADS");
	::unsetenv("VACCEL_RPC_COPY_MIN");
	::unsetenv("VACCEL_POLL_BUSY_HOST");
}

// The agent's budget for large calls is enforced: a call above it is
// refused (and logged), the connection and the agent carry on.
TEST_F(LargeData, BudgetRefusesWhatDoesNotFit)
{
	ASSERT_NO_FATAL_FAILURE(
	    start({"--max-buffered", std::to_string(16 * kMiB)}, {}, false));
	auto in = random_bytes(32 * kMiB, 6);
	uint64_t sum = 0;
	EXPECT_EQ(checksum(in, &sum), VACCEL_EBUSY);
	in.resize(8 * kMiB);
	ASSERT_EQ(checksum(in, &sum), VACCEL_OK);
	EXPECT_EQ(sum, fnv1a(in));
	EXPECT_NE(agent_->log().find("agent busy"), std::string::npos);
}

TEST_F(LargeData, ChunkedOverTcp)
{
	ASSERT_NO_FATAL_FAILURE(start({}, "tcp://127.0.0.1:0"));
	ASSERT_EQ(agent_->address().rfind("tcp://127.0.0.1:", 0), 0U);
	auto in = random_bytes(24 * kMiB + 5, 7);
	std::vector<uint8_t> out;
	ASSERT_EQ(transform(in, out), VACCEL_OK);
	EXPECT_TRUE(transformed(in, out));
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->regions(), 0U); // never offered over tcp
}

// Against an agent that answers like upstream's (no Hello), large
// requests go out as upstream's GenopStream with split args. Replies
// still have to fit one frame, as with upstream: a clear error if not.
TEST_F(LargeData, UpstreamAgentGetsGenopStream)
{
	ASSERT_NO_FATAL_FAILURE(start({"--no-extensions"}));
	auto in = random_bytes(16 * kMiB + 3, 8);
	uint64_t sum = 0;
	ASSERT_EQ(checksum(in, &sum), VACCEL_OK);
	EXPECT_EQ(sum, fnv1a(in));
	std::vector<uint8_t> out;
	EXPECT_NE(transform(in, out), VACCEL_OK);
	// The connection survived both.
	in.resize(1000);
	ASSERT_EQ(transform(in, out), VACCEL_OK);
	EXPECT_TRUE(transformed(in, out));
}

// ---- raw peers --------------------------------------------------------------

class LargeDataRaw : public LargeData
{
protected:
	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(start());
		ASSERT_TRUE(raw_.connect(agent_->address()));
	}

	static std::string call_header(uint64_t size)
	{
		vaccel::rpc::ext::CallHeader h;
		h.set_service(std::string(tp::kServiceSync));
		h.set_method("Genop");
		h.set_size(size);
		return RawConn::request(std::string(tp::kServiceData), "Call",
					h.SerializeAsString());
	}

	RawConn raw_;
};

TEST_F(LargeDataRaw, CallAboveTheMessageLimitIsRefused)
{
	ASSERT_TRUE(raw_.send_frame(1, tp::MsgType::Request,
				    tp::kFlagRemoteOpen,
				    call_header(uint64_t{8} << 30)));
	auto resp = raw_.read_response();
	ASSERT_TRUE(resp);
	EXPECT_EQ(resp->status().code(),
		  static_cast<int>(tp::RpcCode::ResourceExhausted));
	// Its data is swallowed until the half-close; then the connection
	// is usable.
	ASSERT_TRUE(raw_.send_frame(1, tp::MsgType::Data, tp::kFlagRemoteClosed,
				    std::string(100, 'x')));
	auto stats = raw_.call("vaccel.ext.AgentAdmin", "Stats", "");
	ASSERT_TRUE(stats);
	EXPECT_EQ(stats->status().code(), 0);
}

TEST_F(LargeDataRaw, CallWithMoreBytesThanAnnouncedIsRefused)
{
	ASSERT_TRUE(raw_.send_frame(1, tp::MsgType::Request,
				    tp::kFlagRemoteOpen, call_header(10)));
	ASSERT_TRUE(
	    raw_.send_frame(1, tp::MsgType::Data, 0, std::string(11, 'x')));
	auto resp = raw_.read_response();
	ASSERT_TRUE(resp);
	EXPECT_EQ(resp->status().code(),
		  static_cast<int>(tp::RpcCode::InvalidArgument));
	ASSERT_TRUE(raw_.send_frame(
	    1, tp::MsgType::Data, tp::kFlagRemoteClosed | tp::kFlagNoData, ""));
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->buffered_bytes(), 0U);
}

TEST_F(LargeDataRaw, ClientDyingMidStreamReleasesItsBuffer)
{
	ASSERT_TRUE(raw_.send_frame(1, tp::MsgType::Request,
				    tp::kFlagRemoteOpen,
				    call_header(64 * kMiB)));
	ASSERT_TRUE(
	    raw_.send_frame(1, tp::MsgType::Data, 0, std::string(kMiB, 'x')));
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->buffered_bytes(), 64 * kMiB); // reserved up front
	raw_.stream().close();
	const auto until = Clock::now() + 5s;
	uint64_t left = 1;
	while (left != 0 && Clock::now() < until) {
		std::this_thread::sleep_for(20ms);
		auto s = agent_stats(agent_->address());
		left = s ? s->buffered_bytes() : 1;
	}
	EXPECT_EQ(left, 0U);
}

// As ttrpc's reference server does: INVALID_ARGUMENT on that stream id, and
// the connection goes on.
TEST_F(LargeDataRaw, DataForAnUnknownStreamIsRefused)
{
	ASSERT_TRUE(raw_.send_frame(99, tp::MsgType::Data,
				    tp::kFlagRemoteClosed, "garbage"));
	auto refused = raw_.read_response();
	ASSERT_TRUE(refused);
	EXPECT_EQ(refused->status().code(),
		  static_cast<int>(tp::RpcCode::InvalidArgument));
	auto stats = raw_.call("vaccel.ext.AgentAdmin", "Stats", "");
	ASSERT_TRUE(stats);
	EXPECT_EQ(stats->status().code(), 0);
}

TEST_F(LargeDataRaw, SharedMemoryRulesAreEnforced)
{
	auto map = [&](uint32_t id, uint64_t size, int fd) {
		vaccel::rpc::ext::MapRegion m;
		m.set_region(id);
		m.set_size(size);
		std::span<const int> fds;
		if (fd >= 0)
			fds = std::span(&fd, 1);
		EXPECT_TRUE(raw_.send_frame(
		    id * 2 + 1, tp::MsgType::Request, 0,
		    RawConn::request(std::string(tp::kServiceData), "MapRegion",
				     m.SerializeAsString()),
		    fds));
		auto resp = raw_.read_response();
		return resp ? resp->status().code() : -1;
	};
	const int invalid = static_cast<int>(tp::RpcCode::InvalidArgument);
	// No descriptor.
	EXPECT_EQ(map(1, kMiB, -1), invalid);
	// Not sealed against shrinking: the client could make us fault.
	int loose = ::memfd_create("loose", MFD_CLOEXEC);
	ASSERT_GE(loose, 0);
	ASSERT_EQ(::ftruncate(loose, kMiB), 0);
	EXPECT_EQ(map(2, kMiB, loose), invalid);
	// Sealed but smaller than announced.
	int sealed = ::memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_GE(sealed, 0);
	ASSERT_EQ(::ftruncate(sealed, kMiB), 0);
	ASSERT_EQ(::fcntl(sealed, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	EXPECT_EQ(map(3, 2 * kMiB, sealed), invalid);
	// Right.
	EXPECT_EQ(map(4, kMiB, sealed), 0);
	::close(loose);
	::close(sealed);

	// An arg outside the region.
	vaccel::rpc::ext::ShmGenopRequest g;
	g.set_session_id(1);
	auto *a = g.add_read_args();
	a->set_region(4);
	a->set_offset(kMiB - 10);
	a->set_size(11);
	ASSERT_TRUE(raw_.send_frame(
	    21, tp::MsgType::Request, 0,
	    RawConn::request(std::string(tp::kServiceData), "GenopShm",
			     g.SerializeAsString())));
	auto resp = raw_.read_response();
	ASSERT_TRUE(resp);
	EXPECT_EQ(resp->status().code(), invalid);
	EXPECT_NE(resp->status().message().find("outside region"),
		  std::string::npos);
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	// Region 4, and the regions of the fixture's own client.
	EXPECT_EQ(st->regions(), 1U + early_regions());

	// A torch run's tensors are checked against the region before its
	// session is even looked up.
	const auto torch_run = [&](uint32_t stream, int nr_data,
				   uint64_t offset, uint64_t size,
				   bool inline_too) {
		vaccel::rpc::torch::ModelRunRequest run;
		run.set_session_id(1);
		run.set_model_id(1);
		auto *t = run.add_in_tensors();
		t->add_dims(1024);
		t->set_type(vaccel::rpc::torch::FLOAT);
		if (inline_too)
			t->set_data(std::string(4096, 'x'));
		vaccel::rpc::ext::ShmTorchRunRequest r;
		r.set_run(run.SerializeAsString());
		for (int i = 0; i < nr_data; ++i) {
			auto *d = r.add_data();
			d->set_region(4);
			d->set_offset(offset);
			d->set_size(size);
		}
		EXPECT_TRUE(raw_.send_frame(
		    stream, tp::MsgType::Request, 0,
		    RawConn::request(std::string(tp::kServiceData),
				     "TorchModelRunShm",
				     r.SerializeAsString())));
		auto reply = raw_.read_response();
		return reply ? reply->status().message() : std::string("none");
	};
	EXPECT_NE(
	    torch_run(23, 1, kMiB - 100, 4096, false).find("outside region"),
	    std::string::npos);
	EXPECT_NE(torch_run(25, 2, 0, 4096, false).find("2 shared-memory"),
		  std::string::npos);
	EXPECT_NE(torch_run(27, 1, 0, 4096, true).find("both inline"),
		  std::string::npos);
	raw_.stream().close();
}

} // namespace
