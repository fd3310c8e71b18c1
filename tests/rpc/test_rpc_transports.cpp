// SPDX-License-Identifier: Apache-2.0
// The rpc plugin over the transports a VM uses, end to end against a real
// agent: Firecracker/Cloud Hypervisor hybrid vsock (a stand-in VMM that
// answers the CONNECT handshake and forwards bytes, as the VMM does) and a
// virtio-serial-like character device (a pty whose other end is bridged to
// the agent's unix socket, as QEMU's chardev socket backend does). Results
// are checked by the agent really running tests/rpc/fixtures/bulk.c.
#include "rpc_test.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>

using namespace rpc_test;

namespace
{

int unix_connect(const std::string &path)
{
	int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_un a{};
	a.sun_family = AF_UNIX;
	std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
	if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0) {
		::close(fd);
		return -1;
	}
	return fd;
}

// Copies bytes both ways between @p a and @p b until either side closes
// or @p stop is set; then closes both.
void pump(int a, int b, const std::atomic<bool> &stop)
{
	char buf[65536];
	while (!stop) {
		pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
		if (::poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		bool done = false;
		for (int i = 0; i < 2 && !done; ++i) {
			if (p[i].revents == 0)
				continue;
			const int from = i == 0 ? a : b;
			const int to = i == 0 ? b : a;
			ssize_t n = ::read(from, buf, sizeof(buf));
			if (n <= 0) {
				done = true;
				break;
			}
			for (ssize_t off = 0; off < n;) {
				ssize_t w =
				    ::write(to, buf + off,
					    static_cast<size_t>(n - off));
				if (w <= 0) {
					done = true;
					break;
				}
				off += w;
			}
		}
		if (done)
			break;
	}
	::close(a);
	::close(b);
}

// How many of this process's descriptors are open on @p path.
int descriptors_of(const std::string &path)
{
	int n = 0;
	for (const auto &e :
	     std::filesystem::directory_iterator("/proc/self/fd")) {
		std::error_code ec;
		if (std::filesystem::read_symlink(e.path(), ec) == path)
			++n;
	}
	return n;
}

class Transports : public ::testing::Test
{
protected:
	// The stand-ins write to sockets whose client may have gone (the
	// plugin gives up an early connection that is not made at once): a
	// write there must fail, not kill the test with SIGPIPE.
	void SetUp() override { ::signal(SIGPIPE, SIG_IGN); }
	void TearDown() override
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		stop_ = true;
		for (auto &t : threads_)
			t.join();
		std::lock_guard lock(pumps_mu_);
		for (auto &t : pumps_)
			t.join();
		if (agent_) {
			// The bridge is gone, so is the client's connection.
			EXPECT_TRUE(wait_agent_idle(stats_address(), 10000ms))
			    << agent_->log();
		}
	}

	// Ops through the session: small, chunked, and an error.
	void exercise()
	{
		ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE),
			  VACCEL_OK);
		for (size_t size :
		     {size_t{1}, size_t{4096} + 3, size_t{9} << 20}) {
			std::vector<uint8_t> in(size), out(size);
			std::mt19937 rng(static_cast<uint32_t>(size));
			for (auto &b : in)
				b = static_cast<uint8_t>(rng());
			vaccel_arg r{in.data(), size, VACCEL_ARG_RAW, 0, false};
			vaccel_arg w{out.data(), size, VACCEL_ARG_RAW, 0,
				     false};
			ASSERT_EQ(vaccel_exec(&sess_, TEST_BULK_LIB,
					      "bulk_transform", &r, 1, &w, 1),
				  VACCEL_OK)
			    << size;
			bool same = true;
			for (size_t i = 0; i < size; ++i)
				same = same && out[i] == static_cast<uint8_t>(
							     in[i] * 31u + 7u);
			EXPECT_TRUE(same) << size;
		}
		int32_t v = 1;
		vaccel_arg r{&v, 4, VACCEL_ARG_INT32, 0, false};
		EXPECT_EQ(vaccel_exec(&sess_, TEST_BULK_LIB, "no_such_symbol",
				      &r, 1, nullptr, 0),
			  VACCEL_ENOSYS);
		EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		sess_ = {};
	}

	// An agent, a pty for the guest's port (@p slave) and both ends of
	// the bridge that plays QEMU: the pty's @p master and a connection
	// @p up to the agent.
	void serial_agent(int *master, int *up, std::string *slave)
	{
		agent_ = std::make_unique<Agent>(dir_.path(), "serial");
		ASSERT_TRUE(agent_->start(TEST_EXEC_PLUGIN)) << agent_->log();
		agent_sock_ = dir_.path() + "/serial.sock";
		*master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		ASSERT_GE(*master, 0);
		ASSERT_EQ(::grantpt(*master), 0);
		ASSERT_EQ(::unlockpt(*master), 0);
		*slave = ::ptsname(*master);
		// The master side must not translate bytes either.
		termios t{};
		ASSERT_EQ(::tcgetattr(*master, &t), 0);
		::cfmakeraw(&t);
		ASSERT_EQ(::tcsetattr(*master, TCSANOW, &t), 0);
		*up = unix_connect(agent_sock_);
		ASSERT_GE(*up, 0);
	}

	// Stats go to the agent's own socket (not through the bridge).
	[[nodiscard]] std::string stats_address() const
	{
		return "unix://" + agent_sock_;
	}

	TempDir dir_;
	std::unique_ptr<Agent> agent_;
	std::string agent_sock_;
	vaccel_session sess_{};
	std::atomic<bool> stop_{false};
	std::vector<std::thread> threads_;
	std::mutex pumps_mu_; // the VMM stand-in adds one per connection
	std::vector<std::thread> pumps_;
};

// Firecracker's hybrid vsock: the guest's connection to host port P reaches
// the VMM's unix socket, which answers "CONNECT P\n" with "OK <n>\n" and
// connects to <path>_P, where the agent listens.
TEST_F(Transports, HybridVsockThroughAVmmStandIn)
{
	const std::string vmm = dir_.file("v.sock");
	agent_ = std::make_unique<Agent>(dir_.path(), "hv",
					 "hvsock://" + vmm + ":1234");
	ASSERT_TRUE(agent_->start(TEST_EXEC_PLUGIN)) << agent_->log();

	int lfd = unix_listen(vmm);
	ASSERT_GE(lfd, 0);
	threads_.emplace_back([this, lfd, vmm] {
		while (!stop_) {
			pollfd p{lfd, POLLIN, 0};
			if (::poll(&p, 1, 100) <= 0)
				continue;
			int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			std::string line;
			char ch = 0;
			while (line.size() < 64 && ::read(c, &ch, 1) == 1 &&
			       ch != '\n')
				line.push_back(ch);
			const std::string port = line.rfind("CONNECT ", 0) == 0
						     ? line.substr(8)
						     : "";
			int up =
			    port.empty() ? -1 : unix_connect(vmm + "_" + port);
			if (up < 0) {
				::close(c);
				continue;
			}
			const std::string ok = "OK 1073741824\n";
			if (::write(c, ok.data(), ok.size()) !=
			    static_cast<ssize_t>(ok.size())) {
				::close(c);
				::close(up);
				continue;
			}
			std::lock_guard lock(pumps_mu_);
			pumps_.emplace_back(pump, c, up, std::cref(stop_));
		}
		::close(lfd);
	});
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, "hvsock://" + vmm + ":1234"));
	ASSERT_NO_FATAL_FAILURE(exercise());
	// A port nobody listens on: the VMM closes, the call fails cleanly.
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, "hvsock://" + vmm + ":9"));
	vaccel_session s{};
	EXPECT_NE(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	// The agent's own listener, for its Stats.
	agent_sock_ = vmm + "_1234";
}

// virtio-serial: the guest sees a character device; QEMU connects the
// port's other end to the agent's unix socket. Here a pty is the device
// and a bridge thread plays QEMU.
TEST_F(Transports, SerialCharacterDevice)
{
	int master = -1, up = -1;
	std::string slave;
	ASSERT_NO_FATAL_FAILURE(serial_agent(&master, &up, &slave));
	threads_.emplace_back(pump, master, up, std::cref(stop_));

	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, "virtio-serial://" + slave));
	// Not opened when the plugin loads: a guest's port takes one opener
	// at a time, and a child forked before the first session may be it.
	EXPECT_EQ(descriptors_of(slave), 0);
	ASSERT_NO_FATAL_FAILURE(exercise());
	EXPECT_EQ(descriptors_of(slave), 1);
	auto st = agent_stats(stats_address());
	ASSERT_TRUE(st);
	EXPECT_EQ(st->regions(), 0U); // no shared memory over a device
}

// The host side of a serial port goes away (the agent or the VMM died):
// the next call fails at once instead of waiting out its timeout, although
// calls on a lone serial port no longer poll for the hang-up first. Here a
// pty stands for the port, whose writes then fail with EIO; a virtio port
// refuses them with EAGAIN and poll() shows the hang-up (wait_fd), which a
// TCG guest with its agent killed showed as well (the call failed 20 ms
// after the kill).
TEST_F(Transports, SerialHostSideGoneFailsTheNextCallAtOnce)
{
	int master = -1, up = -1;
	std::string slave;
	ASSERT_NO_FATAL_FAILURE(serial_agent(&master, &up, &slave));
	std::atomic<bool> bridge_down{false};
	std::thread bridge(pump, master, up, std::cref(bridge_down));
	ASSERT_NO_FATAL_FAILURE(restart_runtime(
	    TEST_RPC_PLUGIN, "virtio-serial://" + slave, "20000"));
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	int32_t v = 1;
	vaccel_arg r{&v, 4, VACCEL_ARG_INT32, 0, false};
	ASSERT_EQ(
	    vaccel_exec(&s, TEST_BULK_LIB, "no_such_symbol", &r, 1, nullptr, 0),
	    VACCEL_ENOSYS); // through the bridge: it works
	bridge_down = true;
	bridge.join(); // closes the master: the host side is gone
	const auto start = std::chrono::steady_clock::now();
	const int rc =
	    vaccel_exec(&s, TEST_BULK_LIB, "no_such_symbol", &r, 1, nullptr, 0);
	const auto took = std::chrono::steady_clock::now() - start;
	EXPECT_NE(rc, VACCEL_OK);
	EXPECT_NE(rc, VACCEL_ENOSYS);
	EXPECT_LT(took, std::chrono::seconds(10))
	    << "the call waited for its 20 s timeout";
	(void)vaccel_session_release(&s);
}

} // namespace
