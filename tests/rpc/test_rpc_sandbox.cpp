// SPDX-License-Identifier: Apache-2.0
// The rpc plugin as a guest with sandbox memory runs it (docs/guests.md,
// "Sandbox memory"), on the host: the ivshmem device is a sysfs-like tree
// (VACCEL_RPC_IVSHMEM_DEVICES) whose resource2 is the memory file a real
// agent was given (--sandbox-memory-fd), and the agent listens on tcp
// loopback, a guest's kind of transport (no descriptors). Tensors vAccel
// allocates and vaccel_buffer_alloc() buffers live in that memory and
// travel by offset, which the agent's counters show; the program's own
// memory is copied into it; every result is byte-exact and equal to the
// results without the memory, and a device the agent did not write, or
// whose token is not the agent's, leaves the plugin copying as before.
// A process adopts one sandbox memory for its life, as a guest process
// does: each test needs a process of its own, which is how ctest runs them.
#include "bulk_reference.h"
#include "http_get.h"
#include "prom_check.h"
#include "rpc_test.h"

#include "transport/sandbox_memory.h"

#include <vaccel.hpp>

#include <sys/mman.h>

#include <cstring>
#include <map>
#include <random>

using namespace rpc_test;
namespace tp = vaccel::transport;

namespace
{

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kMemory = 16 * kMiB;
// Envelopes, ids and small values: what may still cross the socket when
// the data travels by offset.
constexpr double kEnvelopes = 64 * 1024;
constexpr size_t kTorchBytes = kMiB;   // each torch input
constexpr size_t kArgBytes = 2 * kMiB; // each genop input and output

// Where vAccel put @p p: "sandbox" (adopted device memory), "memfd", or
// "other".
std::string memory_of(const void *p, size_t n)
{
	vaccel_shared_memory_place pl{};
	pl.struct_size = sizeof(pl);
	if (vaccel_shared_memory_find(p, n, &pl) != VACCEL_OK)
		return "other";
	return pl.fd < 0 ? "sandbox" : "memfd";
}

// A sealed memfd, inherited by the agent (no close-on-exec).
int memory_file()
{
	const int fd = ::memfd_create("test-sandbox", MFD_ALLOW_SEALING);
	EXPECT_GE(fd, 0);
	EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(kMemory)), 0);
	EXPECT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

// What the guest's calls gave back, compared between runs.
struct Results {
	std::vector<uint8_t> torch_allocated, torch_own, buffer_out, malloc_out;
	bool operator==(const Results &) const = default;
};

class Sandbox : public ::testing::Test
{
protected:
	void SetUp() override
	{
		memory_ = memory_file();
		write_file(dir_.file("model.pt"), "any bytes: noop copies");
		// An unrelated device first, as a real bus has.
		make_device("0000:00:01.0", "0x8086", "0x7000", "");
	}
	void TearDown() override
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		for (const char *v :
		     {"VACCEL_RPC_SHM", "VACCEL_RPC_IVSHMEM_DEVICES"})
			::unsetenv(v);
		::close(memory_);
		if (other_ >= 0)
			::close(other_);
	}

	void make_device(const std::string &name, const std::string &vendor,
			 const std::string &device, const std::string &memory)
	{
		const std::string d = dir_.file("devices/" + name);
		std::filesystem::create_directories(d);
		write_file(d + "/vendor", vendor + "\n");
		write_file(d + "/device", device + "\n");
		if (!memory.empty())
			std::filesystem::create_symlink(memory,
							d + "/resource2");
	}
	// The ivshmem device, its BAR the memory file @p fd.
	void ivshmem_device(int fd)
	{
		make_device("0000:00:02.0", "0x1af4", "0x1110",
			    "/proc/" + std::to_string(::getpid()) + "/fd/" +
				std::to_string(fd));
	}

	// An agent given the sandbox memory, with its /metrics; the client
	// runtime with the rpc plugin as a guest would have it.
	void start(bool shm = true)
	{
		agent_ = std::make_unique<Agent>(dir_.path(), "vm",
						 "tcp://127.0.0.1:0");
		ASSERT_TRUE(agent_->start(
		    std::string(TEST_EXEC_PLUGIN) + ":" + TEST_NOOP_PLUGIN,
		    {"--metrics", "127.0.0.1:0", "--sandbox-memory-fd",
		     std::to_string(memory_)}))
		    << agent_->log();
		port_ = agent_test::metrics_port(slurp(dir_.file("vm.out")));
		ASSERT_NE(port_, 0U) << slurp(dir_.file("vm.out"));
		::setenv("VACCEL_RPC_SHM", shm ? "1" : "0", 1);
		::setenv("VACCEL_RPC_IVSHMEM_DEVICES",
			 dir_.file("devices").c_str(), 1);
		ASSERT_NO_FATAL_FAILURE(restart_runtime(
		    TEST_RPC_PLUGIN, agent_->address(), "60000"));
		ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE),
			  VACCEL_OK);
	}

	// Bytes the agent counted on @p path in @p direction.
	double bytes(const std::string &path, const std::string &direction)
	{
		const agent_test::Http h =
		    agent_test::http_get(port_, "/metrics");
		EXPECT_EQ(h.status, 200);
		return agent_test::parse_exposition(h.body).sum(
		    "vaccel_agent_bytes_total",
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

	// A torch run (noop copies each input to an output) on one tensor
	// vAccel allocated and one in the program's memory, then
	// bulk_transform on vaccel_buffer_alloc() buffers and on the
	// program's; checks every result and notes where the inputs lay.
	Results run_all(std::map<std::string, std::string> *where)
	{
		Results res;
		// Torch outputs come back in one reply: they must fit a
		// frame together.
		constexpr size_t tn = kTorchBytes;
		const int64_t dims[] = {static_cast<int64_t>(tn / 4)};
		vaccel_resource model{};
		EXPECT_EQ(vaccel_resource_init(&model,
					       dir_.file("model.pt").c_str(),
					       VACCEL_RESOURCE_MODEL),
			  VACCEL_OK);
		EXPECT_EQ(vaccel_resource_register(&model, &sess_), VACCEL_OK);
		EXPECT_EQ(vaccel_torch_model_load(&sess_, &model), VACCEL_OK);
		vaccel_torch_tensor *in[2] = {nullptr, nullptr};
		vaccel_torch_tensor *out[2] = {nullptr, nullptr};
		std::vector<uint8_t> own(tn);
		EXPECT_EQ(vaccel_torch_tensor_allocate(&in[0], 1, dims,
						       VACCEL_TORCH_FLOAT, tn),
			  VACCEL_OK);
		EXPECT_EQ(vaccel_torch_tensor_new(&in[1], 1, dims,
						  VACCEL_TORCH_FLOAT),
			  VACCEL_OK);
		fill_random(in[0]->data, tn, 1);
		fill_random(own.data(), tn, 2);
		EXPECT_EQ(vaccel_torch_tensor_set_data(in[1], own.data(), tn),
			  VACCEL_OK);
		EXPECT_EQ(vaccel_torch_model_run(&sess_, &model, nullptr, in, 2,
						 out, 2),
			  VACCEL_OK);
		for (int i = 0; i < 2; ++i) {
			EXPECT_TRUE(
			    out[i] != nullptr && out[i]->size == tn &&
			    std::memcmp(out[i]->data, in[i]->data, tn) == 0)
			    << "torch output " << i;
			auto *b = static_cast<uint8_t *>(out[i]->data);
			(i == 0 ? res.torch_allocated : res.torch_own)
			    .assign(b, b + tn);
		}
		(*where)["torch allocated"] = memory_of(in[0]->data, tn);
		(*where)["torch own"] = memory_of(own.data(), tn);
		for (auto *t : {in[0], in[1], out[0], out[1]})
			if (t != nullptr)
				vaccel_torch_tensor_delete(t);
		EXPECT_EQ(vaccel_resource_unregister(&model, &sess_),
			  VACCEL_OK);
		EXPECT_EQ(vaccel_resource_release(&model), VACCEL_OK);

		constexpr size_t n = kArgBytes;
		vaccel::Buffer bin(n), bout(n);
		fill_random(bin.data(), n, 3);
		EXPECT_EQ(transform(bin.data(), bout.data(), n), VACCEL_OK);
		auto *bo = static_cast<uint8_t *>(bout.data());
		res.buffer_out.assign(bo, bo + n);
		EXPECT_EQ(res.buffer_out,
			  transformed(static_cast<uint8_t *>(bin.data()), n));
		(*where)["buffer"] = memory_of(bin.data(), n);

		std::vector<uint8_t> min(n), mout(n);
		fill_random(min.data(), n, 4);
		EXPECT_EQ(transform(min.data(), mout.data(), n), VACCEL_OK);
		EXPECT_EQ(mout, transformed(min.data(), n));
		res.malloc_out = mout;
		(*where)["malloc"] = memory_of(min.data(), n);
		return res;
	}

	TempDir dir_;
	int memory_ = -1, other_ = -1;
	std::unique_ptr<Agent> agent_;
	uint32_t port_ = 0;
	vaccel_session sess_{};
};

TEST_F(Sandbox, TensorsAndBuffersTravelByOffset)
{
	ivshmem_device(memory_);
	ASSERT_NO_FATAL_FAILURE(start());
	std::map<std::string, std::string> where;
	const Results got = run_all(&where);
	// vAccel's allocations live in the device; the program's do not.
	EXPECT_EQ(where["torch allocated"], "sandbox");
	EXPECT_EQ(where["buffer"], "sandbox");
	EXPECT_EQ(where["torch own"], "other");
	EXPECT_EQ(where["malloc"], "other");
	// Every input byte reached the agent through the memory (the own
	// tensor and the malloc'd arg copied in by the plugin), and the
	// genop outputs came back there; only the torch outputs, which
	// the backend allocates, take the reply.
	constexpr double t = kTorchBytes, a = kArgBytes;
	EXPECT_EQ(bytes("shm_in_place", "in"), 2 * t + 2 * a);
	EXPECT_EQ(bytes("shm_in_place", "out"), 2 * a);
	EXPECT_LT(bytes("socket", "in"), kEnvelopes);
	EXPECT_LT(bytes("socket", "out"), 2 * t + kEnvelopes);
	// One region on the agent's connection: the sandbox memory.
	auto st = agent_stats(agent_->address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->regions(), 1U);
	EXPECT_FALSE(got.buffer_out.empty());
}

TEST_F(Sandbox, SameResultsWithoutIt)
{
	ivshmem_device(memory_);
	ASSERT_NO_FATAL_FAILURE(start());
	std::map<std::string, std::string> where;
	const Results with = run_all(&where);
	EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
	sess_ = {};
	// VACCEL_RPC_SHM=0, a new agent: every byte through the socket
	// (inputs, and the outputs' current bytes, which travel too).
	ASSERT_NO_FATAL_FAILURE(start(false));
	const Results without = run_all(&where);
	EXPECT_TRUE(with == without);
	EXPECT_EQ(bytes("shm_in_place", "in"), 0.0);
	EXPECT_EQ(bytes("shm", "in"), 0.0);
	EXPECT_GT(bytes("socket", "in"), 8.0 * kMiB);
}

// A device whose memory the agent never wrote (no header): not used; the
// plugin copies, with the same results.
TEST_F(Sandbox, MemoryWithoutTheAgentsHeaderIsNotUsed)
{
	other_ = memory_file();
	ivshmem_device(other_);
	ASSERT_NO_FATAL_FAILURE(start());
	std::map<std::string, std::string> where;
	run_all(&where);
	EXPECT_EQ(where["buffer"], "other");
	EXPECT_EQ(bytes("shm_in_place", "in"), 0.0);
	EXPECT_EQ(agent_stats(agent_->address())->regions(), 0U);
}

// A device with a header like the agent's but another token (a guest that
// lies, or one given another memory): the agent refuses to map it, and the
// plugin copies, with the same results.
TEST_F(Sandbox, ForgedTokenIsRefusedAndDataIsCopied)
{
	other_ = memory_file();
	void *p = ::mmap(nullptr, kMemory, PROT_READ | PROT_WRITE, MAP_SHARED,
			 other_, 0);
	ASSERT_NE(p, MAP_FAILED);
	tp::SandboxHeader h;
	h.size = kMemory;
	h.token.fill(0x5a);
	tp::write_sandbox_header({static_cast<uint8_t *>(p), kMemory}, h);
	::munmap(p, kMemory);
	ivshmem_device(other_);
	ASSERT_NO_FATAL_FAILURE(start());
	std::map<std::string, std::string> where;
	run_all(&where);
	// The guest's own memory, which the agent does not see.
	EXPECT_EQ(where["buffer"], "sandbox");
	EXPECT_EQ(bytes("shm_in_place", "in"), 0.0);
	EXPECT_GT(bytes("socket", "in"), 8.0 * kMiB);
	EXPECT_NE(agent_->log().find("sandbox.token"), std::string::npos)
	    << agent_->log();
}

} // namespace
