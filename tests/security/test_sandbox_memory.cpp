// SPDX-License-Identifier: Apache-2.0
// Sandbox memory (agent/sandbox_memory.h, docs/protocol.md): the memory a
// VM shares with its agent through an ivshmem device, handed to a real
// agent as its launcher would (--sandbox-memory-fd, or Launcher/Attach with
// shm_fd), and spoken to the way a guest could, with no rpc plugin in
// between: the memory is offered to its own sandbox's connections only,
// mapped only by a client that sends the token back, and every place a
// client names in it is checked; lies are refused with a reason while the
// agent serves on, and two sandboxes never reach each other's memory.
#include "agent_process.h"

#include "transport/sandbox_memory.h"

#include <sys/mman.h>

#include <cstring>
#include <random>

namespace
{

using namespace security_test;

constexpr size_t kMemory = size_t{1} << 20;
// Where the tests put a call's input and output, after the header.
constexpr uint64_t kIn = tr::kSandboxHeaderSize;
constexpr uint64_t kOut = 512 * 1024;
constexpr uint64_t kDoubles = 1024;

// A memory file as vaccel-vm makes one, mapped here too (the test plays
// the guest, which sees the same bytes).
class MemoryFile
{
public:
	explicit MemoryFile(bool sealed = true, size_t size = kMemory)
	    : size_(size)
	{
		fd_ = ::memfd_create("test-sandbox", MFD_ALLOW_SEALING);
		EXPECT_GE(fd_, 0);
		EXPECT_EQ(::ftruncate(fd_, static_cast<off_t>(size)), 0);
		if (sealed) {
			EXPECT_EQ(::fcntl(fd_, F_ADD_SEALS,
					  F_SEAL_SHRINK | F_SEAL_GROW),
				  0);
		}
		void *p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd_, 0);
		EXPECT_NE(p, MAP_FAILED);
		base_ = static_cast<uint8_t *>(p);
	}
	~MemoryFile()
	{
		::munmap(base_, size_);
		::close(fd_);
	}
	MemoryFile(const MemoryFile &) = delete;
	MemoryFile &operator=(const MemoryFile &) = delete;

	[[nodiscard]] int fd() const { return fd_; }
	[[nodiscard]] uint8_t *at(uint64_t offset) const
	{
		return base_ + offset;
	}
	// The token the agent wrote (empty when there is no header).
	[[nodiscard]] std::string token() const
	{
		auto h = tr::read_sandbox_header({base_, size_});
		if (!h)
			return {};
		return {reinterpret_cast<const char *>(h->token.data()),
			h->token.size()};
	}

private:
	int fd_ = -1;
	uint8_t *base_ = nullptr;
	size_t size_ = 0;
};

std::vector<std::string> features(Client &c)
{
	rpc::ext::Hello hello;
	hello.set_version(1);
	Reply r = c.raw(tr::kServiceAdmin, "Hello", hello.SerializeAsString());
	EXPECT_EQ(r.code, RpcCode::Ok) << r.message;
	rpc::ext::Hello answer;
	answer.ParseFromString(r.payload);
	return {answer.features().begin(), answer.features().end()};
}

bool offers(Client &c, const std::string &feature)
{
	const auto f = features(c);
	return std::find(f.begin(), f.end(), feature) != f.end();
}

Reply map_memory(Client &c, const std::string &token,
		 uint32_t region = tr::kSandboxRegion)
{
	rpc::ext::MapSandboxMemory req;
	req.set_region(region);
	req.set_token(token);
	return c.raw(tr::kServiceData, "MapSandboxMemory",
		     req.SerializeAsString());
}

void inline_arg(rpc::ext::ShmArg *a, vaccel_arg_type_t type,
		const std::string &bytes)
{
	a->set_arg_type(static_cast<uint32_t>(type));
	a->set_buf(bytes);
	a->set_size(bytes.size());
}

template <class T> std::string bytes_of(T v)
{
	return {reinterpret_cast<const char *>(&v), sizeof(v)};
}

// minmax through noop (which copies the input to the output), input and
// output named in @p region.
Reply minmax(Client &c, int64_t sess, uint64_t in_off, uint64_t in_size,
	     uint64_t out_off, uint64_t out_size,
	     uint32_t region = tr::kSandboxRegion)
{
	rpc::ext::ShmGenopRequest req;
	req.set_session_id(sess);
	inline_arg(req.add_read_args(), VACCEL_ARG_UINT8,
		   bytes_of(static_cast<uint8_t>(VACCEL_OP_MINMAX)));
	auto *in = req.add_read_args();
	in->set_region(region);
	in->set_offset(in_off);
	in->set_size(in_size);
	in->set_arg_type(VACCEL_ARG_FLOAT64_ARRAY);
	inline_arg(req.add_read_args(), VACCEL_ARG_INT32,
		   bytes_of(static_cast<int32_t>(kDoubles)));
	inline_arg(req.add_read_args(), VACCEL_ARG_INT32, bytes_of(0));
	inline_arg(req.add_read_args(), VACCEL_ARG_INT32, bytes_of(0));
	auto *out = req.add_write_args();
	out->set_region(region);
	out->set_offset(out_off);
	out->set_size(out_size);
	out->set_arg_type(VACCEL_ARG_FLOAT64_ARRAY);
	for (int i = 0; i < 2; ++i) {
		auto *m = req.add_write_args();
		m->set_arg_type(VACCEL_ARG_FLOAT64);
		m->set_size(sizeof(double));
	}
	return c.raw(tr::kServiceData, "GenopShm", req.SerializeAsString());
}

Reply good_minmax(Client &c, int64_t sess, uint32_t region = tr::kSandboxRegion)
{
	return minmax(c, sess, kIn, kDoubles * 8, kOut, kDoubles * 8, region);
}

// A torch run whose one input is [offset, +size) of the sandbox memory.
Reply torch_run(Client &c, uint64_t offset, uint64_t size)
{
	rpc::torch::ModelRunRequest run;
	run.set_session_id(1);
	run.set_model_id(1);
	auto *t = run.add_in_tensors();
	t->add_dims(static_cast<int64_t>(size / 4));
	t->set_type(rpc::torch::FLOAT);
	run.set_nr_out_tensors(1);
	rpc::ext::ShmTorchRunRequest req;
	req.set_run(run.SerializeAsString());
	auto *d = req.add_data();
	d->set_region(tr::kSandboxRegion);
	d->set_offset(offset);
	d->set_size(size);
	return c.raw(tr::kServiceData, "TorchModelRunShm",
		     req.SerializeAsString());
}

void fill(uint8_t *p, size_t n, uint32_t seed)
{
	std::mt19937 rng(seed);
	for (size_t i = 0; i < n; ++i)
		p[i] = static_cast<uint8_t>(rng());
}

// An agent serving one VM, given its memory at start (vaccel-vm's way).
class OwnAgent : public ::testing::Test
{
protected:
	// Starts the agent on @p address with @p memory's file.
	bool start(const MemoryFile &memory, const std::string &address)
	{
		write_text(dir_.file("policy.toml"),
			   "[default]\nops = [\"all\"]\n");
		const int fd = memory.fd();
		agent_ = std::make_unique<AgentProcess>(
		    dir_.path(),
		    std::vector<std::string>{
			"-a", address, "--policy", dir_.file("policy.toml"),
			"--sandbox-memory-fd", std::to_string(fd)},
		    TEST_NOOP_PLUGIN, std::vector<std::string>{},
		    [fd] { ::fcntl(fd, F_SETFD, 0); });
		return agent_->start();
	}

	TempDir dir_;
	std::unique_ptr<AgentProcess> agent_;
};

TEST_F(OwnAgent, MemoryIsMappedWithItsTokenAndUsedInPlace)
{
	MemoryFile memory;
	ASSERT_TRUE(start(memory, "tcp://127.0.0.1:0")) << agent_->err();
	const std::string token = memory.token();
	ASSERT_EQ(token.size(), tr::kSandboxTokenSize)
	    << "the agent wrote no header";

	Client c(agent_->address());
	ASSERT_TRUE(c.connected());
	EXPECT_TRUE(offers(c, "sandbox-shm"));
	// Descriptors cannot come over tcp: no memfd plane here.
	EXPECT_FALSE(offers(c, "shm"));
	const int64_t sess = c.session();
	ASSERT_NE(sess, 0);
	// Nothing is mapped before the token came back.
	Reply r = good_minmax(c, sess);
	EXPECT_EQ(r.code, RpcCode::NotFound) << r.message;

	r = map_memory(c, token);
	ASSERT_EQ(r.code, RpcCode::Ok) << r.message;
	// Again, as the next guest process on a shared connection does.
	EXPECT_EQ(map_memory(c, token).code, RpcCode::Ok);

	fill(memory.at(kIn), kDoubles * 8, 7);
	std::memset(memory.at(kOut), 0, kDoubles * 8);
	r = good_minmax(c, sess);
	ASSERT_EQ(r.code, RpcCode::Ok) << r.message;
	EXPECT_EQ(std::memcmp(memory.at(kIn), memory.at(kOut), kDoubles * 8), 0)
	    << "the output was not written in place";
}

TEST_F(OwnAgent, WrongTokenIsRefusedAndMapsNothing)
{
	MemoryFile memory;
	ASSERT_TRUE(start(memory, "unix://" + dir_.file("vm.sock")))
	    << agent_->err();
	Client c(agent_->address());
	ASSERT_TRUE(c.connected());
	// A unix socket (QEMU's virtio-serial chardev): both planes.
	EXPECT_TRUE(offers(c, "sandbox-shm"));
	EXPECT_TRUE(offers(c, "shm"));
	std::string wrong = memory.token();
	wrong[0] = static_cast<char>(wrong[0] ^ 1);
	for (const std::string &t : {wrong, std::string(), std::string(64, 'x'),
				     memory.token().substr(1)}) {
		Reply r = map_memory(c, t);
		EXPECT_EQ(r.code, RpcCode::PermissionDenied) << r.message;
		EXPECT_NE(r.message.find("token does not match"),
			  std::string::npos)
		    << r.message;
	}
	EXPECT_NE(agent_->err().find("sandbox.token"), std::string::npos);
	const int64_t sess = c.session();
	Reply r = good_minmax(c, sess);
	EXPECT_EQ(r.code, RpcCode::NotFound) << r.message;
	// The connection is fine, and the right token still works.
	EXPECT_EQ(c.noop(sess).code, RpcCode::Ok);
	EXPECT_EQ(map_memory(c, memory.token()).code, RpcCode::Ok);
	EXPECT_EQ(good_minmax(c, sess).code, RpcCode::Ok);
	// Region 0 means inline data; another name for it is taken already.
	EXPECT_EQ(map_memory(c, memory.token(), 0).code,
		  RpcCode::InvalidArgument);
}

TEST_F(OwnAgent, LyingPlacesAreRefusedAndTheAgentServesOn)
{
	MemoryFile memory;
	ASSERT_TRUE(start(memory, "tcp://127.0.0.1:0")) << agent_->err();
	Client c(agent_->address());
	ASSERT_TRUE(c.connected());
	ASSERT_EQ(map_memory(c, memory.token()).code, RpcCode::Ok);
	const int64_t sess = c.session();
	ASSERT_NE(sess, 0);
	const uint64_t n = kDoubles * 8;
	struct Lie {
		const char *what;
		uint64_t in_off, in_size, out_off, out_size;
	};
	const Lie lies[] = {
	    {"input past the end", kMemory - 8, n, kOut, n},
	    {"input at the end", kMemory, n, kOut, n},
	    {"input offset far beyond", uint64_t{1} << 40, n, kOut, n},
	    {"offset + size wraps", UINT64_MAX - 7, n, kOut, n},
	    {"size wraps with the offset", 8, UINT64_MAX - 4, kOut, n},
	    {"input larger than the memory", 0, kMemory + 8, kOut, n},
	    {"input above 4 GiB", 0, uint64_t{5} << 30, kOut, n},
	    {"output past the end", kIn, n, kMemory - 16, n},
	    {"output offset wraps", kIn, n, UINT64_MAX, n},
	};
	for (const Lie &l : lies) {
		Reply r =
		    minmax(c, sess, l.in_off, l.in_size, l.out_off, l.out_size);
		EXPECT_EQ(r.code, RpcCode::InvalidArgument)
		    << l.what << ": " << r.message;
		EXPECT_NE(r.message.find("outside region"), std::string::npos)
		    << l.what << ": " << r.message;
	}
	// A region it never mapped.
	Reply r = minmax(c, sess, kIn, n, kOut, n, tr::kSandboxRegion + 1);
	EXPECT_EQ(r.code, RpcCode::NotFound) << r.message;
	// The torch run's places are checked the same way.
	for (auto [off, size] : {std::pair<uint64_t, uint64_t>{kMemory - 4, 64},
				 {UINT64_MAX - 3, 64},
				 {0, 0},
				 {4, kMemory}}) {
		r = torch_run(c, off, size);
		EXPECT_EQ(r.code, RpcCode::InvalidArgument) << r.message;
	}
	// Served on: the same connection, and a new one.
	EXPECT_TRUE(agent_->alive());
	EXPECT_EQ(good_minmax(c, sess).code, RpcCode::Ok);
	Client other(agent_->address());
	EXPECT_NE(other.session(), 0);
}

TEST_F(OwnAgent, UnsealedMemoryIsRefusedAtStart)
{
	MemoryFile memory(false);
	EXPECT_FALSE(start(memory, "tcp://127.0.0.1:0"));
	EXPECT_NE(agent_->err().find("F_SEAL_SHRINK"), std::string::npos)
	    << agent_->err();
}

// Sandboxes a launcher attached to one agent, each with its memory.
class AttachedMemory : public ::testing::TestWithParam<bool>
{
protected:
	void SetUp() override
	{
		std::vector<std::string> args = {
		    "-a", "unix://" + dir_.file("main.sock"), "--admin-socket",
		    "unix://" + dir_.file("admin.sock")};
		if (GetParam())
			args.emplace_back("--isolate-tenants");
		agent_ = std::make_unique<AgentProcess>(dir_.path(), args);
		ASSERT_TRUE(agent_->start()) << agent_->err();
		admin_ = std::make_unique<Client>(
		    tr::parse_address("unix://" + dir_.file("admin.sock"))
			.value());
		ASSERT_TRUE(admin_->connected());
	}

	// Attaches sandbox @p name with @p memory; its address.
	tr::Address attach(const std::string &name, const MemoryFile &memory)
	{
		rpc::ext::AttachRequest req;
		req.set_address("unix://" + dir_.file(name + ".sock"));
		req.set_tenant(name);
		req.set_policy("ops = [\"minmax\", \"noop\"]\n");
		req.set_shm_fd(true);
		const int fd = memory.fd();
		Reply r = admin_->raw(tr::kServiceLauncher, "Attach",
				      req.SerializeAsString(), 10000ms,
				      std::span(&fd, 1));
		EXPECT_EQ(r.code, RpcCode::Ok) << r.message;
		rpc::ext::AttachResponse out;
		out.ParseFromString(r.payload);
		EXPECT_EQ(out.shm_size(), kMemory);
		return tr::parse_address(out.address()).value();
	}

	TempDir dir_;
	std::unique_ptr<AgentProcess> agent_;
	std::unique_ptr<Client> admin_;
};

TEST_P(AttachedMemory, EachSandboxReachesOnlyItsOwnMemory)
{
	MemoryFile a, b;
	Client ca(attach("sandbox-a", a));
	Client cb(attach("sandbox-b", b));
	ASSERT_TRUE(ca.connected() && cb.connected());
	ASSERT_NE(a.token(), b.token());
	// The main listener has no sandbox memory.
	Client main(
	    tr::parse_address("unix://" + dir_.file("main.sock")).value());
	EXPECT_FALSE(offers(main, "sandbox-shm"));
	EXPECT_EQ(map_memory(main, a.token()).code, RpcCode::Unimplemented);

	EXPECT_TRUE(offers(ca, "sandbox-shm"));
	// B's token means nothing on A's listener, and the reverse.
	EXPECT_EQ(map_memory(ca, b.token()).code, RpcCode::PermissionDenied);
	EXPECT_EQ(map_memory(cb, a.token()).code, RpcCode::PermissionDenied);
	ASSERT_EQ(map_memory(ca, a.token()).code, RpcCode::Ok);
	ASSERT_EQ(map_memory(cb, b.token()).code, RpcCode::Ok);

	fill(a.at(kIn), kDoubles * 8, 1);
	fill(b.at(kIn), kDoubles * 8, 2);
	const int64_t sa = ca.session(), sb = cb.session();
	ASSERT_NE(sa, 0);
	ASSERT_NE(sb, 0);
	Reply r = good_minmax(ca, sa);
	ASSERT_EQ(r.code, RpcCode::Ok) << r.message;
	// A's call wrote A's memory and nothing of B's.
	EXPECT_EQ(std::memcmp(a.at(kIn), a.at(kOut), kDoubles * 8), 0);
	const std::vector<uint8_t> zeros(kDoubles * 8, 0);
	EXPECT_EQ(std::memcmp(b.at(kOut), zeros.data(), zeros.size()), 0);
	r = good_minmax(cb, sb);
	ASSERT_EQ(r.code, RpcCode::Ok) << r.message;
	EXPECT_EQ(std::memcmp(b.at(kIn), b.at(kOut), kDoubles * 8), 0);
	EXPECT_NE(std::memcmp(a.at(kOut), b.at(kOut), kDoubles * 8), 0);
	// A session of B's named from A is unknown there.
	EXPECT_EQ(good_minmax(ca, sb).code, RpcCode::NotFound);
}

INSTANTIATE_TEST_SUITE_P(InProcessAndIsolated, AttachedMemory,
			 ::testing::Values(false, true),
			 [](const ::testing::TestParamInfo<bool> &p) {
				 return p.param ? "Isolated" : "InProcess";
			 });

} // namespace
