// SPDX-License-Identifier: Apache-2.0
// The agent listens before its plugins load (agent/plugin_gate.h): real
// vaccel-agent processes with a plugin whose load the test holds back
// (fixtures/gate_plugin.c), and the vaccel CLI as the client. Nothing is
// timed: the plugin cannot finish loading before the test releases it, so
// what happens before the release happened while it loaded.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "transport/transport.h"

namespace
{

namespace fs = std::filesystem;
namespace tr = vaccel::transport;
using namespace std::chrono_literals;

std::string slurp(const std::string &path)
{
	std::ifstream in(path);
	return {std::istreambuf_iterator<char>(in), {}};
}

// Starts @p argv with @p env added, stdout and stderr into @p log.
pid_t spawn(const std::vector<std::string> &argv,
	    const std::vector<std::string> &env, const std::string &log)
{
	const pid_t pid = ::fork();
	if (pid != 0)
		return pid;
	const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	::dup2(fd, 1);
	::dup2(fd, 2);
	::unsetenv("VACCEL_PLUGINS");
	for (const auto &e : env)
		::putenv(const_cast<char *>(e.c_str()));
	std::vector<char *> args;
	for (const auto &a : argv)
		args.push_back(const_cast<char *>(a.c_str()));
	args.push_back(nullptr);
	::execv(args[0], args.data());
	::_exit(127);
}

// The exit status (128 + N for signal N); -1 when @p pid did not end
// within @p limit (then killed).
int wait_exit(pid_t pid, std::chrono::seconds limit)
{
	const auto until = std::chrono::steady_clock::now() + limit;
	int st = 0;
	while (::waitpid(pid, &st, WNOHANG) == 0) {
		if (std::chrono::steady_clock::now() > until) {
			::kill(pid, SIGKILL);
			::waitpid(pid, &st, 0);
			return -1;
		}
		std::this_thread::sleep_for(10ms);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// The status line of GET @p path from the agent's metrics listener at
// @p host_port (loopback), e.g. "HTTP/1.1 200 OK"; empty on failure.
std::string http_status(const std::string &host_port, const std::string &path)
{
	auto a = tr::parse_address("tcp://" + host_port);
	if (!a)
		return {};
	auto s = tr::connect(a.value(), 5000ms);
	if (!s)
		return {};
	const std::string req =
	    "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
	if (::send(s->fd(), req.data(), req.size(), MSG_NOSIGNAL) !=
	    static_cast<ssize_t>(req.size()))
		return {};
	std::string reply;
	char buf[512];
	pollfd p{s->fd(), POLLIN, 0};
	while (reply.find("\r\n") == std::string::npos &&
	       ::poll(&p, 1, 5000) > 0) {
		const ssize_t n = ::recv(s->fd(), buf, sizeof buf, 0);
		if (n <= 0)
			break;
		reply.append(buf, static_cast<size_t>(n));
	}
	return reply.substr(0, reply.find("\r\n"));
}

class PluginGateTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string t =
		    (fs::temp_directory_path() / "vaccel-gate-XXXXXX").string();
		ASSERT_NE(::mkdtemp(t.data()), nullptr);
		dir_ = t;
		sock_ = dir_ + "/agent.sock";
	}
	void TearDown() override
	{
		if (agent_ > 0) {
			::kill(agent_, SIGTERM);
			(void)wait_exit(agent_, 30s);
		}
		fs::remove_all(dir_);
	}

	[[nodiscard]] std::string release_file() const
	{
		return dir_ + "/release";
	}
	void release() const { std::ofstream(release_file()) << "go\n"; }

	// The agent with the held-back plugin; returns once it says it
	// listens (bounded: a hang fails the test, it is not a timing).
	void start_agent(bool plugin_fails, bool metrics = false)
	{
		std::vector<std::string> env = {
		    std::string("VACCEL_PLUGINS=") + TEST_GATE_PLUGIN,
		    "VACCEL_TEST_GATE_RELEASE=" + release_file()};
		if (plugin_fails)
			env.push_back("VACCEL_TEST_GATE_FAIL=1");
		std::vector<std::string> argv = {TEST_AGENT_BIN, "-a",
						 "unix://" + sock_,
						 "--audit-log", "/dev/null"};
		if (metrics)
			argv.insert(argv.end(), {"--metrics", "127.0.0.1:0"});
		agent_ = spawn(argv, env, agent_log());
		for (int i = 0; i < 3000; ++i) {
			if (slurp(agent_log()).find("listening on") !=
			    std::string::npos)
				return;
			std::this_thread::sleep_for(10ms);
		}
		FAIL() << "the agent never listened:\n" << slurp(agent_log());
	}
	[[nodiscard]] std::string agent_log() const
	{
		return dir_ + "/agent.log";
	}

	// `vaccel --remote <agent> run noop` in the background.
	pid_t start_client(const std::string &log) const
	{
		return spawn({TEST_VACCEL_CLI, "--remote", "unix://" + sock_,
			      "run", "noop"},
			     {}, log);
	}

	std::string dir_;
	std::string sock_;
	pid_t agent_ = -1;
};

TEST_F(PluginGateTest, ListensBeforeThePluginsLoad)
{
	if (std::string(TEST_VACCEL_CLI).empty())
		GTEST_SKIP() << "the vaccel CLI is not built";
	start_agent(false);
	// The plugin is still held back: the socket takes connections.
	auto s =
	    tr::connect(tr::parse_address("unix://" + sock_).value(), 5000ms);
	ASSERT_TRUE(static_cast<bool>(s)) << s.status().message();
	// A request made now waits for the plugin instead of finding no
	// plugin for the op (which would fail it).
	const std::string log = dir_ + "/client.log";
	const pid_t client = start_client(log);
	release();
	EXPECT_EQ(wait_exit(client, 60s), 0) << slurp(log);
	// And the agent serves on.
	const pid_t again = start_client(log);
	EXPECT_EQ(wait_exit(again, 60s), 0) << slurp(log);
}

TEST_F(PluginGateTest, NotReadyWhileThePluginsLoad)
{
	start_agent(false, true);
	const std::string log = slurp(agent_log());
	const auto at = log.find("metrics on http://");
	ASSERT_NE(at, std::string::npos) << log;
	const std::string rest = log.substr(at + 18);
	const std::string host_port = rest.substr(0, rest.find('/'));
	// Live (it listens) but not ready: the plugin is still held back.
	EXPECT_NE(http_status(host_port, "/healthz").find(" 200"),
		  std::string::npos);
	EXPECT_NE(http_status(host_port, "/readyz").find(" 503"),
		  std::string::npos);
	release();
	// Ready once the plugin is in (bounded wait, not a timing).
	std::string ready;
	for (int i = 0; i < 3000 && ready.find(" 200") == std::string::npos;
	     ++i) {
		std::this_thread::sleep_for(10ms);
		ready = http_status(host_port, "/readyz");
	}
	EXPECT_NE(ready.find(" 200"), std::string::npos) << ready;
}

TEST_F(PluginGateTest, FailingPluginEndsTheAgentWithoutServing)
{
	if (std::string(TEST_VACCEL_CLI).empty())
		GTEST_SKIP() << "the vaccel CLI is not built";
	start_agent(true);
	const std::string log = dir_ + "/client.log";
	const pid_t client = start_client(log);
	release();
	// The agent exits with the plugin's reason, and the waiting request
	// is never served.
	EXPECT_EQ(wait_exit(agent_, 60s), 1) << slurp(agent_log());
	agent_ = -1;
	EXPECT_NE(slurp(agent_log()).find("vaccel-agent: plugins: "),
		  std::string::npos)
	    << slurp(agent_log());
	EXPECT_NE(wait_exit(client, 60s), 0) << slurp(log);
}

TEST_F(PluginGateTest, StopWhileLoadingWaitsAndExitsCleanly)
{
	start_agent(false);
	::kill(agent_, SIGTERM);
	// The plugin is still loading: the stop waits for it (dlopen cannot
	// be interrupted) and then ends cleanly.
	release();
	EXPECT_EQ(wait_exit(agent_, 60s), 0) << slurp(agent_log());
	agent_ = -1;
}

} // namespace
