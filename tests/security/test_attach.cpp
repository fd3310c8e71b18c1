// SPDX-License-Identifier: Apache-2.0
// Launcher/Attach and Detach on a real agent's admin socket: sandboxes
// served on their own listener (bound by the agent or handed over), as the
// tenant and under the policy the launcher named, and released on detach.
#include "agent_process.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace
{

using namespace security_test;

class Attach : public ::testing::Test
{
protected:
	void SetUp() override
	{
		agent_ = std::make_unique<AgentProcess>(
		    dir_.path(),
		    std::vector<std::string>{
			"-a", "unix://" + dir_.file("main.sock"),
			"--admin-socket", "unix://" + dir_.file("admin.sock")});
		ASSERT_TRUE(agent_->start()) << agent_->err();
		admin_ = std::make_unique<Client>(
		    tr::parse_address("unix://" + dir_.file("admin.sock"))
			.value());
		ASSERT_TRUE(admin_->connected());
	}

	// One Launcher call with @p fds; the reply's status and payload.
	Reply launcher(std::string_view method, const std::string &payload,
		       std::vector<int> fds = {})
	{
		return admin_->raw(tr::kServiceLauncher, method, payload,
				   10000ms, fds);
	}

	rpc::ext::AttachResponse attach(const rpc::ext::AttachRequest &req,
					std::vector<int> fds = {},
					RpcCode want = RpcCode::Ok)
	{
		Reply r = launcher("Attach", req.SerializeAsString(), fds);
		EXPECT_EQ(r.code, want) << r.message;
		rpc::ext::AttachResponse out;
		out.ParseFromString(r.payload);
		last_message_ = r.message;
		return out;
	}

	TempDir dir_;
	std::unique_ptr<AgentProcess> agent_;
	std::unique_ptr<Client> admin_;
	std::string last_message_;
};

TEST_F(Attach, SandboxIsItsTenantUnderItsPolicy)
{
	rpc::ext::AttachRequest req;
	req.set_address("unix://" + dir_.file("sandbox-a.sock"));
	req.set_tenant("sandbox-a");
	req.set_policy("ops = [\"noop\"]\n[quotas]\nsessions = 2\n");
	auto out = attach(req);
	ASSERT_NE(out.sandbox(), 0U);
	EXPECT_EQ(out.address(), req.address());
	struct stat st {
	};
	ASSERT_EQ(::stat(dir_.file("sandbox-a.sock").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600U);

	Client c(tr::parse_address(out.address()).value());
	const int64_t sess = c.session();
	ASSERT_NE(sess, 0);
	EXPECT_EQ(c.noop(sess).code, RpcCode::Ok);
	rpc::image::Request img;
	img.set_session_id(sess);
	img.set_image("x");
	Reply r = c.call("ImageClassification", img);
	EXPECT_EQ(r.code, RpcCode::PermissionDenied);
	EXPECT_NE(r.message.find("tenant sandbox-a may not run image ops "
				 "(policy rule attach.sandbox-a.ops)"),
		  std::string::npos)
	    << r.message;
	EXPECT_NE(c.session(), 0);
	Reply third;
	EXPECT_EQ(c.session(&third), 0);
	EXPECT_NE(third.message.find("tenant sandbox-a: quota sessions (2)"),
		  std::string::npos)
	    << third.message;

	// The agent's own listener keeps the default policy.
	Client main(
	    tr::parse_address("unix://" + dir_.file("main.sock")).value());
	const int64_t ms = main.session();
	img.set_session_id(ms);
	EXPECT_EQ(main.call("ImageClassification", img).code, RpcCode::Ok);

	// Another policy for the same tenant is refused; the same one is not.
	rpc::ext::AttachRequest again = req;
	again.set_address("unix://" + dir_.file("sandbox-a2.sock"));
	again.set_policy("ops = [\"torch\"]\n");
	attach(again, {}, RpcCode::InvalidArgument);
	EXPECT_NE(last_message_.find("already has another policy"),
		  std::string::npos)
	    << last_message_;

	// Detach: the sandbox's connection is closed, its socket gone, its
	// objects released; the agent's own clients carry on.
	rpc::ext::DetachRequest d;
	d.set_sandbox(out.sandbox());
	EXPECT_EQ(launcher("Detach", d.SerializeAsString()).code, RpcCode::Ok);
	// Detach answers at once and stops the sandbox on a thread of its
	// own (a hung op must not hold up other launchers).
	for (int i = 0; i < 200 && ::access(dir_.file("sandbox-a.sock").c_str(),
					    F_OK) == 0;
	     ++i)
		std::this_thread::sleep_for(10ms);
	EXPECT_NE(::access(dir_.file("sandbox-a.sock").c_str(), F_OK), 0);
	EXPECT_TRUE(c.noop(sess).closed);
	EXPECT_EQ(main.noop(ms).code, RpcCode::Ok);
	EXPECT_EQ(launcher("Detach", d.SerializeAsString()).code,
		  RpcCode::NotFound);
	const std::string log = agent_->err();
	EXPECT_NE(log.find("\"audit\":\"attach\""), std::string::npos) << log;
	EXPECT_NE(log.find("\"audit\":\"detach\""), std::string::npos) << log;
}

// Long-running launchers keep their admin connections open: each is served
// while another stays open and idle (one launcher must not hold the socket
// for the others), and several calls go on one connection.
TEST_F(Attach, LaunchersConnectionsAreServedSideBySide)
{
	ASSERT_EQ(launcher("Detach", "", {}).code, RpcCode::NotFound);
	Client second(
	    tr::parse_address("unix://" + dir_.file("admin.sock")).value());
	ASSERT_TRUE(second.connected());
	for (int i = 0; i < 3; ++i) {
		rpc::ext::AttachRequest req;
		req.set_address("unix://" +
				dir_.file("s" + std::to_string(i) + ".sock"));
		req.set_tenant("t" + std::to_string(i));
		Reply r = second.raw(tr::kServiceLauncher, "Attach",
				     req.SerializeAsString(), 2000ms);
		ASSERT_EQ(r.code, RpcCode::Ok) << r.message;
		rpc::ext::AttachResponse out;
		out.ParseFromString(r.payload);
		rpc::ext::DetachRequest d;
		d.set_sandbox(out.sandbox());
		// Detached on the first connection, still open.
		EXPECT_EQ(launcher("Detach", d.SerializeAsString()).code,
			  RpcCode::Ok);
	}
}

TEST_F(Attach, HandedOverSocketAndSharedMemory)
{
	const std::string path = dir_.file("handed.sock");
	int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_un sun{};
	sun.sun_family = AF_UNIX;
	path.copy(sun.sun_path, path.size());
	ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr *>(&sun), sizeof(sun)),
		  0);
	ASSERT_EQ(::listen(lfd, 8), 0);
	int shm =
	    ::memfd_create("sandbox-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_EQ(::ftruncate(shm, 1 << 20), 0);
	// The agent maps only a memory file that cannot shrink under it.
	{
		rpc::ext::AttachRequest unsealed;
		unsealed.set_tenant("sandbox-b");
		unsealed.set_address("unix://" + dir_.file("unsealed.sock"));
		unsealed.set_shm_fd(true);
		attach(unsealed, {shm}, RpcCode::InvalidArgument);
		EXPECT_NE(last_message_.find("F_SEAL_SHRINK"),
			  std::string::npos)
		    << last_message_;
	}
	ASSERT_EQ(::fcntl(shm, F_ADD_SEALS, F_SEAL_SHRINK), 0);

	rpc::ext::AttachRequest req;
	req.set_tenant("sandbox-b");
	req.set_listen_fd(true);
	req.set_shm_fd(true);
	auto out = attach(req, {lfd, shm});
	::close(lfd);
	::close(shm);
	EXPECT_EQ(out.shm_size(), 1U << 20);
	EXPECT_EQ(out.address(), "unix://" + path);
	Client c(tr::parse_address("unix://" + path).value());
	const int64_t sess = c.session();
	EXPECT_EQ(c.noop(sess).code, RpcCode::Ok);

	// A request whose descriptors do not match its flags is refused.
	rpc::ext::AttachRequest bad;
	bad.set_tenant("sandbox-c");
	bad.set_listen_fd(true);
	attach(bad, {}, RpcCode::InvalidArgument);
	int notlistening = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	attach(bad, {notlistening}, RpcCode::InvalidArgument);
	::close(notlistening);
	EXPECT_NE(last_message_.find("not a listening stream socket"),
		  std::string::npos)
	    << last_message_;
}

TEST_F(Attach, ReservedNamesAndBadNumbersAreRefusedAndTheAgentSurvives)
{
	for (const char *name : {"uid:0", "tls:client", "tcp", "local"}) {
		rpc::ext::AttachRequest req;
		req.set_address("unix://" + dir_.file("r.sock"));
		req.set_tenant(name);
		attach(req, {}, RpcCode::InvalidArgument);
		EXPECT_NE(last_message_.find("reserved"), std::string::npos)
		    << name << ": " << last_message_;
	}
	rpc::ext::AttachRequest big;
	big.set_address("unix://" + dir_.file("g.sock"));
	big.set_tenant("fn-big");
	big.set_socket_group(std::string(40, '9')); // std::stoul threw here
	attach(big, {}, RpcCode::InvalidArgument);
	big.set_socket_group("4294967296"); // wrapped to gid 0
	attach(big, {}, RpcCode::InvalidArgument);
	EXPECT_TRUE(agent_->alive());
}

TEST_F(Attach, StatsIsForTheOperatorNotForTenants)
{
	rpc::ext::AttachRequest req;
	req.set_address("unix://" + dir_.file("t.sock"));
	req.set_tenant("fn-stats");
	auto out = attach(req);
	Client tenant(tr::parse_address(out.address()).value());
	Reply r = tenant.raw(vaccel::agent::kServiceAdmin, "Stats", "");
	EXPECT_EQ(r.code, RpcCode::PermissionDenied) << r.message;
	EXPECT_NE(r.message.find("may not run stats ops"), std::string::npos)
	    << r.message;
	Client operator_(
	    tr::parse_address("unix://" + dir_.file("main.sock")).value());
	r = operator_.raw(vaccel::agent::kServiceAdmin, "Stats", "");
	EXPECT_EQ(r.code, RpcCode::Ok) << r.message; // this uid's own agent
}

TEST_F(Attach, AdminSocketIsTheOperatorsAlone)
{
	struct stat st {
	};
	ASSERT_EQ(::stat(dir_.file("admin.sock").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600U);
	// Tenants' sockets do not speak the launcher's service, and the admin
	// socket speaks nothing else.
	Client tenant(
	    tr::parse_address("unix://" + dir_.file("main.sock")).value());
	rpc::ext::AttachRequest req;
	req.set_tenant("x");
	req.set_address("unix://" + dir_.file("x.sock"));
	Reply r =
	    tenant.raw(tr::kServiceLauncher, "Attach", req.SerializeAsString());
	EXPECT_EQ(r.code, RpcCode::Unimplemented) << r.message;
	EXPECT_NE(::access(dir_.file("x.sock").c_str(), F_OK), 0);
	r = launcher("Stats", "");
	EXPECT_EQ(r.code, RpcCode::Unimplemented);
}

} // namespace
