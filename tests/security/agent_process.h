// SPDX-License-Identifier: Apache-2.0
// A real vaccel-agent process for the attack tests, and a raw ttrpc client
// that speaks to it the way any guest could (no rpc plugin in between, so
// the tests can send exactly what an attacker would).
#pragma once

#include "agent_test.h"
#include "transport/transport.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace security_test
{

namespace tr = vaccel::transport;
namespace rpc = vaccel::rpc;
using namespace std::chrono_literals;
using agent_test::RpcCode;

inline std::string slurp(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

inline void write_text(const std::string &path, const std::string &text)
{
	std::ofstream(path) << text;
}

// A private temporary directory, removed with everything in it.
class TempDir
{
public:
	TempDir()
	{
		char tmpl[] = "/tmp/vaccel-security-XXXXXX";
		if (::mkdtemp(tmpl) != nullptr)
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

class AgentProcess
{
public:
	// @p before_exec runs in the child (umask, ids, ...).
	AgentProcess(std::string dir, std::vector<std::string> args,
		     std::string plugins = TEST_NOOP_PLUGIN,
		     std::vector<std::string> env = {},
		     std::function<void()> before_exec = {})
	    : dir_(std::move(dir)), args_(std::move(args)),
	      plugins_(std::move(plugins)), env_(std::move(env)),
	      before_exec_(std::move(before_exec))
	{
	}
	AgentProcess(const AgentProcess &) = delete;
	AgentProcess &operator=(const AgentProcess &) = delete;
	~AgentProcess() { stop(); }

	// Starts the agent and waits for its "listening on" line; false when
	// it exited first (exit_status() says how).
	bool start()
	{
		const std::string out = dir_ + "/agent.out";
		std::vector<std::string> argv = {TEST_AGENT_BIN};
		argv.insert(argv.end(), args_.begin(), args_.end());
		// The caller's variables first: getenv() takes the first.
		std::vector<std::string> env = env_;
		for (const char *v :
		     {"VACCEL_LOG_LEVEL=2", "PATH=/usr/bin:/bin"})
			env.emplace_back(v);
		env.push_back("VACCEL_PLUGINS=" + plugins_);
		::unlink(out.c_str()); // never read a previous agent's line
		pid_ = ::fork();
		if (pid_ == 0) {
			// A test process killed (by ctest's timeout, say)
			// takes its agent with it.
			::prctl(PR_SET_PDEATHSIG, SIGKILL);
			int o = ::open(out.c_str(),
				       O_WRONLY | O_CREAT | O_TRUNC, 0600);
			int e = ::open(err_path().c_str(),
				       O_WRONLY | O_CREAT | O_TRUNC, 0600);
			::dup2(o, 1);
			::dup2(e, 2);
			if (before_exec_)
				before_exec_();
			std::vector<char *> av, ev;
			for (auto &a : argv)
				av.push_back(a.data());
			av.push_back(nullptr);
			for (auto &v : env)
				ev.push_back(v.data());
			ev.push_back(nullptr);
			::execve(TEST_AGENT_BIN, av.data(), ev.data());
			::_exit(127);
		}
		const auto until = std::chrono::steady_clock::now() + 20s;
		static const std::regex listening("listening on (\\S+)");
		while (std::chrono::steady_clock::now() < until) {
			std::smatch m;
			const std::string text = slurp(out);
			if (std::regex_search(text, m, listening)) {
				auto a = tr::parse_address(m[1].str());
				if (a)
					address_ = a.value();
				return a.is_ok();
			}
			int status = 0;
			if (::waitpid(pid_, &status, WNOHANG) == pid_) {
				pid_ = -1;
				status_ = status;
				return false;
			}
			std::this_thread::sleep_for(10ms);
		}
		return false;
	}

	void stop()
	{
		if (pid_ <= 0)
			return;
		::kill(pid_, SIGTERM);
		int status = 0;
		::waitpid(pid_, &status, 0);
		status_ = status;
		pid_ = -1;
	}

	// Waits at most @p max for the agent to end by itself (reaping it);
	// false when it still runs. exit_status() then says how it ended.
	bool wait_exit(std::chrono::milliseconds max)
	{
		const auto until = std::chrono::steady_clock::now() + max;
		while (pid_ > 0) {
			int status = 0;
			if (::waitpid(pid_, &status, WNOHANG) == pid_) {
				status_ = status;
				pid_ = -1;
				return true;
			}
			if (std::chrono::steady_clock::now() >= until)
				return false;
			std::this_thread::sleep_for(10ms);
		}
		return true;
	}

	[[nodiscard]] pid_t pid() const { return pid_; }
	[[nodiscard]] bool alive() const
	{
		return pid_ > 0 && ::kill(pid_, 0) == 0;
	}
	[[nodiscard]] int exit_status() const { return status_; }
	[[nodiscard]] const tr::Address &address() const { return address_; }
	[[nodiscard]] std::string err_path() const
	{
		return dir_ + "/agent.err";
	}
	// Standard error: logs and the audit lines.
	[[nodiscard]] std::string err() const { return slurp(err_path()); }

private:
	std::string dir_;
	std::vector<std::string> args_;
	std::string plugins_;
	std::vector<std::string> env_;
	std::function<void()> before_exec_;
	pid_t pid_ = -1;
	int status_ = -1;
	tr::Address address_;
};

struct Reply {
	RpcCode code = static_cast<RpcCode>(-1);
	std::string message;
	std::string payload;
	bool closed = false; // the agent hung up instead of answering
	// The status whole, details included (a draining agent's refusal).
	rpc::ttrpc::Status status;
};

// One raw ttrpc connection.
class Client
{
public:
	explicit Client(const tr::Address &a)
	{
		auto s = tr::connect(a, 2000ms);
		if (s)
			stream_ = std::move(s.value());
	}
	[[nodiscard]] bool connected() const { return stream_.valid(); }
	tr::Stream &stream() { return stream_; }
	// The next stream id, for a call made on stream() by hand: ids only
	// go up on a connection (the agent refuses a lower one, as ttrpc).
	uint32_t take_stream_id()
	{
		const uint32_t id = next_id_;
		next_id_ += 2;
		return id;
	}

	// One call; @p fds travel with it (SCM_RIGHTS: the admin socket's
	// handed-over listeners and shared-memory files).
	Reply raw(std::string_view service, std::string_view method,
		  const std::string &payload,
		  std::chrono::milliseconds wait = 10000ms,
		  std::span<const int> fds = {})
	{
		Reply r;
		const std::string env =
		    agent_test::envelope(method, payload, service)
			.SerializeAsString();
		tr::FrameHeader h;
		h.length = static_cast<uint32_t>(env.size());
		h.stream_id = next_id_;
		next_id_ += 2;
		h.type = tr::MsgType::Request;
		auto st = tr::write_frame(
		    stream_, h,
		    std::span(reinterpret_cast<const uint8_t *>(env.data()),
			      env.size()),
		    tr::deadline_in(wait), fds);
		if (!st) {
			r.closed = true;
			return r;
		}
		auto f =
		    tr::read_frame(stream_, 64u << 20, tr::deadline_in(wait));
		if (!f) {
			r.closed = true;
			r.message = f.status().message();
			return r;
		}
		rpc::ttrpc::Response resp;
		resp.ParseFromArray(f->payload.data(),
				    static_cast<int>(f->payload.size()));
		r.code = static_cast<RpcCode>(resp.status().code());
		r.message = resp.status().message();
		r.status = resp.status();
		r.payload = resp.payload();
		return r;
	}

	template <class Req, class Resp = rpc::Empty>
	Reply call(std::string_view method, const Req &req, Resp *out = nullptr)
	{
		Reply r =
		    raw(tr::kServiceSync, method, req.SerializeAsString());
		if (r.code == RpcCode::Ok && out != nullptr)
			out->ParseFromString(r.payload);
		return r;
	}

	// CreateSession; 0 when refused (*@p r says why).
	int64_t session(Reply *r = nullptr)
	{
		rpc::session::CreateResponse resp;
		Reply got =
		    call("CreateSession", rpc::session::CreateRequest(), &resp);
		if (r != nullptr)
			*r = got;
		return got.code == RpcCode::Ok ? resp.session_id() : 0;
	}

	Reply noop(int64_t sess)
	{
		rpc::genop::Request g;
		g.set_session_id(sess);
		agent_test::add_op(&g, VACCEL_OP_NOOP);
		return call("Genop", g);
	}

	// Registers a LIB/MODEL resource from one blob; its id or 0.
	int64_t upload(int64_t sess, const std::string &name,
		       const std::string &bytes, Reply *r = nullptr,
		       rpc::resource::ResourceType type = rpc::resource::LIB)
	{
		rpc::resource::RegisterRequest req;
		req.set_session_id(sess);
		req.set_resource_type(type);
		auto *b = req.add_blobs();
		b->set_name(name);
		b->set_data(bytes);
		b->set_size(static_cast<uint32_t>(bytes.size()));
		rpc::resource::RegisterResponse resp;
		Reply got = call("RegisterResource", req, &resp);
		if (r != nullptr)
			*r = got;
		return got.code == RpcCode::Ok ? resp.resource_id() : 0;
	}

private:
	tr::Stream stream_;
	uint32_t next_id_ = 1;
};

} // namespace security_test
