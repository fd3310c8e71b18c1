// SPDX-License-Identifier: Apache-2.0
// Helpers of the rpc plugin tests: a real vaccel-agent process on a unix
// socket in a temporary directory, the client runtime bootstrapped with the
// rpc plugin (and noop, for local reference results), and a raw ttrpc
// connection for the agent's Stats and for malformed frames.
#pragma once

#include "rpc/common.pb.h"
#include "rpc/ext.pb.h"
#include "rpc/ttrpc.pb.h"
#include "transport/tls.h"
#include "transport/transport.h"

#include <gtest/gtest.h>
#include <vaccel.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char **environ;

namespace rpc_test
{

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A private temporary directory, removed with everything in it.
class TempDir
{
public:
	TempDir()
	{
		std::string tmpl = (std::filesystem::temp_directory_path() /
				    "vaccel-rpc-XXXXXX")
				       .string();
		if (::mkdtemp(tmpl.data()) == nullptr)
			throw std::runtime_error("mkdtemp failed");
		path_ = tmpl;
	}
	~TempDir()
	{
		std::error_code ec;
		std::filesystem::remove_all(path_, ec);
	}
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;
	[[nodiscard]] const std::string &path() const { return path_; }
	[[nodiscard]] std::string file(const std::string &name) const
	{
		return path_ + "/" + name;
	}

private:
	std::string path_;
};

inline std::string slurp(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::ostringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

inline void write_file(const std::string &path, const std::string &data)
{
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out << data;
}

// A vaccel-agent child process. stdout/stderr go to files so that nothing
// the agent (or a library it runs) prints can block it on a full pipe.
class Agent
{
public:
	// @p listen: the address to listen on instead of the unix socket in
	// @p dir (e.g. "tcp://127.0.0.1:0"; address() then reports the
	// address the agent printed).
	Agent(std::string dir, std::string name, std::string listen = {})
	    : dir_(std::move(dir)), name_(std::move(name)),
	      listen_(std::move(listen))
	{
	}
	~Agent() { stop(SIGKILL); }
	Agent(const Agent &) = delete;
	Agent &operator=(const Agent &) = delete;

	[[nodiscard]] std::string address() const
	{
		if (listen_.empty())
			return "unix://" + dir_ + "/" + name_ + ".sock";
		const std::string out = slurp(dir_ + "/" + name_ + ".out");
		const std::string key = "listening on ";
		auto at = out.find(key);
		if (at == std::string::npos)
			return listen_;
		auto end = out.find('\n', at);
		return out.substr(at + key.size(), end == std::string::npos
						       ? std::string::npos
						       : end - at - key.size());
	}
	[[nodiscard]] std::string log() const { return slurp(err_path()); }
	[[nodiscard]] pid_t pid() const { return pid_; }
	// Runs the agent in network namespace @p name (ip netns), which the
	// test made.
	void set_netns(std::string name) { netns_ = std::move(name); }

	// Starts the agent with VACCEL_PLUGINS=@p plugins (and the
	// NAME=value entries of @p extra_env) and waits (at most 15 s) for
	// its "listening" line. Returns false on failure.
	bool start(const std::string &plugins,
		   const std::vector<std::string> &args = {},
		   const std::vector<std::string> &extra_env = {})
	{
		stop(SIGKILL);
		const std::string out = dir_ + "/" + name_ + ".out";
		::unlink(out.c_str());
		std::vector<std::string> env;
		for (char **e = environ; *e != nullptr; ++e) {
			std::string v(*e);
			if (v.rfind("VACCEL_", 0) != 0)
				env.push_back(v);
		}
		env.push_back("VACCEL_PLUGINS=" + plugins);
		env.push_back("VACCEL_LOG_LEVEL=2");
		env.insert(env.end(), extra_env.begin(), extra_env.end());
		// exec runs through the agent in these tests: a policy that
		// allows it (tests/security tests the policy itself).
		std::vector<std::string> argv = {
		    TEST_AGENT_BIN, "-a", listen_.empty() ? address() : listen_,
		    "--policy", TEST_POLICY_PERMISSIVE};
		argv.insert(argv.end(), args.begin(), args.end());

		pid_ = ::fork();
		if (pid_ < 0)
			return false;
		if (pid_ == 0) {
			// A test process killed (by ctest's timeout, say)
			// takes its agent with it.
			::prctl(PR_SET_PDEATHSIG, SIGKILL);
			int o = ::open(out.c_str(),
				       O_WRONLY | O_CREAT | O_TRUNC, 0600);
			int e = ::open(err_path().c_str(),
				       O_WRONLY | O_CREAT | O_APPEND, 0600);
			::dup2(o, 1);
			::dup2(e, 2);
			if (!netns_.empty()) {
				const std::string ns = "/run/netns/" + netns_;
				const int fd = ::open(ns.c_str(), O_RDONLY);
				if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0)
					::_exit(126);
			}
			std::vector<char *> av;
			std::vector<char *> ev;
			for (auto &a : argv)
				av.push_back(a.data());
			av.push_back(nullptr);
			for (auto &v : env)
				ev.push_back(v.data());
			ev.push_back(nullptr);
			::execve(TEST_AGENT_BIN, av.data(), ev.data());
			::_exit(127);
		}
		const auto until = Clock::now() + 15s;
		while (Clock::now() < until) {
			if (slurp(out).find("vaccel-agent listening on") !=
			    std::string::npos)
				return true;
			int status = 0;
			if (::waitpid(pid_, &status, WNOHANG) == pid_) {
				pid_ = -1;
				return false;
			}
			std::this_thread::sleep_for(10ms);
		}
		return false;
	}

	// Sends @p sig and waits (bounded by @p bound) for the agent to end;
	// its wait status, or -1 when it was not running or is still running
	// (then it is killed).
	int stop_within(int sig, std::chrono::milliseconds bound)
	{
		if (pid_ <= 0)
			return -1;
		::kill(pid_, sig);
		const auto until = Clock::now() + bound;
		int status = 0;
		while (Clock::now() < until) {
			if (::waitpid(pid_, &status, WNOHANG) == pid_) {
				pid_ = -1;
				return status;
			}
			std::this_thread::sleep_for(5ms);
		}
		stop(SIGKILL);
		return -1;
	}

	// Sends @p sig and waits for the agent to end; returns its wait
	// status (-1 when none was running).
	int stop(int sig = SIGTERM)
	{
		if (pid_ <= 0)
			return -1;
		::kill(pid_, sig);
		int status = 0;
		::waitpid(pid_, &status, 0);
		pid_ = -1;
		return status;
	}

private:
	[[nodiscard]] std::string err_path() const
	{
		return dir_ + "/" + name_ + ".err";
	}

	std::string dir_;
	std::string name_;
	std::string listen_;
	std::string netns_;
	pid_t pid_ = -1;
};

// Reply slots (transport/reply_slot.h) take one region per connection on
// the agent, which the region counts below would see. They are off here
// unless VACCEL_TEST_REPLY_SLOTS=1, which also makes every call poll so
// that they are used, a busy machine or not (VACCEL_POLL_BUSY_HOST), and
// has helper threads share large copies (VACCEL_RPC_COPY_THREADS):
// scripts/test.sh runs this suite both ways.
inline bool reply_slots_on()
{
	const char *v = std::getenv("VACCEL_TEST_REPLY_SLOTS");
	return v != nullptr && std::string_view(v) == "1";
}
// The agent's regions that reply slots account for on one connection.
inline uint64_t slot_regions()
{
	return reply_slots_on() ? 1 : 0;
}
// The first block of the client's shared memory, which a connection made
// when the plugin loads maps along with its Hello (Link::post_maps()).
inline constexpr uint64_t kEarlyBlock = 1;
// The agent's regions a connection made at the plugin's load has before its
// first call: its reply slots' and the client's first block.
inline uint64_t early_regions()
{
	return slot_regions() + kEarlyBlock;
}

// Restarts the client runtime with @p plugins (':'-separated), the rpc
// plugin pointed at @p address with the given per-call timeout.
inline void restart_runtime(const std::string &plugins,
			    const std::string &address,
			    const char *timeout_ms = "20000",
			    const char *max_frame = nullptr)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	::setenv("VACCEL_RPC_ADDRESS", address.c_str(), 1);
	::setenv("VACCEL_RPC_TIMEOUT_MS", timeout_ms, 1);
	// The handshake waits for the agent's plugins (plugin_gate.h):
	// libtorch under ThreadSanitizer on a busy machine takes seconds.
	// Tests of the timeout itself set a short one.
	::setenv("VACCEL_RPC_CONNECT_TIMEOUT_MS", "15000", 1);
	::setenv("VACCEL_RPC_REPLY_SLOTS", reply_slots_on() ? "1" : "0", 1);
	if (reply_slots_on()) { // unless a test set them
		::setenv("VACCEL_RPC_POLL_US", "2000", 0);
		::setenv("VACCEL_POLL_BUSY_HOST", "1", 0);
		// Large copies of own buffers shared with helpers too.
		::setenv("VACCEL_RPC_COPY_THREADS", "2", 0);
		::setenv("VACCEL_RPC_COPY_MIN", "65536", 0);
	}
	if (max_frame != nullptr)
		::setenv("VACCEL_RPC_MAX_FRAME", max_frame, 1);
	else
		::unsetenv("VACCEL_RPC_MAX_FRAME");
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init(&cfg, plugins.c_str(), VACCEL_LOG_ERROR,
				     nullptr, false, false),
		  VACCEL_OK);
	int rc = vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	ASSERT_EQ(rc, VACCEL_OK);
}

// A unix socket listening at @p path (a stand-in peer); -1 on failure.
inline int unix_listen(const std::string &path)
{
	int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_un a{};
	a.sun_family = AF_UNIX;
	std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
	if (fd < 0 ||
	    ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 ||
	    ::listen(fd, 8) != 0) {
		if (fd >= 0)
			::close(fd);
		return -1;
	}
	return fd;
}

// Restarts the client runtime with the rpc plugin (per restart_runtime()'s
// environment), logging to @p log instead of stderr (errors only unless
// @p level says more), with vAccel's profiling on if @p profiling.
inline void
restart_runtime_logging_to(const std::string &log,
			   vaccel_log_level_t level = VACCEL_LOG_ERROR,
			   bool profiling = false)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init(&cfg, TEST_RPC_PLUGIN, level, log.c_str(),
				     profiling, false),
		  VACCEL_OK);
	const int rc = vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	ASSERT_EQ(rc, VACCEL_OK);
}

// A raw ttrpc connection (no rpc plugin involved).
class RawConn
{
public:
	// Raw connections to tcp:// addresses speak TLS with @p ctx from now
	// on (null: plaintext again), verifying the address's host.
	static void
	use_tls(std::shared_ptr<const vaccel::transport::TlsContext> ctx)
	{
		tls() = std::move(ctx);
	}

	bool connect(const std::string &address)
	{
		auto addr = vaccel::transport::parse_address(address);
		if (!addr)
			return false;
		auto s = vaccel::transport::connect(addr.value(), 2000ms);
		if (!s)
			return false;
		stream_ = std::move(s).value();
		if (tls() &&
		    addr->kind == vaccel::transport::Address::Kind::Tcp)
			return vaccel::transport::tls_connect(
				   stream_, *tls(), addr->host,
				   vaccel::transport::deadline_in(5000ms))
			    .is_ok();
		return true;
	}
	vaccel::transport::Stream &stream() { return stream_; }

	bool send_raw(const std::string &bytes)
	{
		return stream_
		    .write_all(std::span(reinterpret_cast<const uint8_t *>(
					     bytes.data()),
					 bytes.size()),
			       vaccel::transport::deadline_in(2000ms))
		    .is_ok();
	}

	// One request; the response, or nullopt on a transport failure.
	std::optional<vaccel::rpc::ttrpc::Response>
	call(const std::string &service, const std::string &method,
	     const std::string &payload)
	{
		vaccel::rpc::ttrpc::Request req;
		req.set_service(service);
		req.set_method(method);
		req.set_payload(payload);
		std::string bytes;
		req.SerializeToString(&bytes);
		vaccel::transport::FrameHeader h;
		h.stream_id = next_id_;
		next_id_ += 2;
		h.type = vaccel::transport::MsgType::Request;
		auto dl = vaccel::transport::deadline_in(5000ms);
		if (!vaccel::transport::write_frame(
			stream_, h,
			std::span(
			    reinterpret_cast<const uint8_t *>(bytes.data()),
			    bytes.size()),
			dl))
			return std::nullopt;
		auto f = vaccel::transport::read_frame(
		    stream_, vaccel::transport::kDefaultMaxFrame, dl);
		if (!f)
			return std::nullopt;
		vaccel::rpc::ttrpc::Response resp;
		if (!resp.ParseFromArray(
			f.value().payload.data(),
			static_cast<int>(f.value().payload.size())))
			return std::nullopt;
		return resp;
	}

	// One frame with @p payload (and descriptors, unix sockets only).
	bool send_frame(uint32_t stream_id, vaccel::transport::MsgType type,
			uint8_t flags, const std::string &payload,
			std::span<const int> fds = {})
	{
		vaccel::transport::FrameHeader h;
		h.stream_id = stream_id;
		h.type = type;
		h.flags = flags;
		// The agent refuses a request id not above the last one
		// (ttrpc's rule): call() goes on from here.
		if (type == vaccel::transport::MsgType::Request &&
		    stream_id >= next_id_)
			next_id_ = stream_id + 2;
		return vaccel::transport::write_frame(
			   stream_, h,
			   std::span(reinterpret_cast<const uint8_t *>(
					 payload.data()),
				     payload.size()),
			   vaccel::transport::deadline_in(5000ms), fds)
		    .is_ok();
	}
	static std::string request(const std::string &service,
				   const std::string &method,
				   const std::string &payload)
	{
		vaccel::rpc::ttrpc::Request req;
		req.set_service(service);
		req.set_method(method);
		req.set_payload(payload);
		return req.SerializeAsString();
	}
	// The next Response frame (Data frames are skipped).
	std::optional<vaccel::rpc::ttrpc::Response> read_response()
	{
		auto dl = vaccel::transport::deadline_in(10000ms);
		for (;;) {
			auto f = vaccel::transport::read_frame(
			    stream_, vaccel::transport::kDefaultMaxFrame, dl);
			if (!f)
				return std::nullopt;
			if (f.value().header.type !=
			    vaccel::transport::MsgType::Response)
				continue;
			vaccel::rpc::ttrpc::Response resp;
			if (!resp.ParseFromArray(
				f.value().payload.data(),
				static_cast<int>(f.value().payload.size())))
				return std::nullopt;
			return resp;
		}
	}

	// True if the peer closed the connection within @p wait.
	bool closed_by_peer(std::chrono::milliseconds wait)
	{
		uint8_t b[64];
		auto dl = vaccel::transport::deadline_in(wait);
		for (;;) {
			auto st = stream_.read_exact(std::span(b, 1), dl);
			if (!st)
				return st.cause() == vaccel::transport::Cause::
							 PeerClosed ||
				       st.message().find("reset") !=
					   std::string::npos;
		}
	}

private:
	static std::shared_ptr<const vaccel::transport::TlsContext> &tls()
	{
		static std::shared_ptr<const vaccel::transport::TlsContext> t;
		return t;
	}

	vaccel::transport::Stream stream_;
	uint32_t next_id_ = 1;
};

// The agent's AgentStats, over a fresh raw connection (which itself counts
// as one connection).
inline std::optional<vaccel::rpc::ext::AgentStats>
agent_stats(const std::string &address)
{
	RawConn c;
	if (!c.connect(address))
		return std::nullopt;
	vaccel::rpc::Empty empty;
	std::string payload;
	empty.SerializeToString(&payload);
	auto resp = c.call("vaccel.ext.AgentAdmin", "Stats", payload);
	if (!resp || resp->status().code() != 0)
		return std::nullopt;
	vaccel::rpc::ext::AgentStats stats;
	if (!stats.ParseFromString(resp->payload()))
		return std::nullopt;
	return stats;
}

// Waits (bounded) until the agent owns no session, resource, buffered
// large call or shared-memory region.
inline bool wait_agent_idle(const std::string &address,
			    std::chrono::milliseconds bound)
{
	const auto until = Clock::now() + bound;
	while (Clock::now() < until) {
		auto s = agent_stats(address);
		if (s && s->sessions() == 0 && s->resources() == 0 &&
		    s->buffered_bytes() == 0 && s->regions() <= early_regions())
			return true;
		std::this_thread::sleep_for(50ms);
	}
	return false;
}

} // namespace rpc_test
