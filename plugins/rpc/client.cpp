// SPDX-License-Identifier: Apache-2.0
#include "client.h"

#include "rpc/ttrpc.pb.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vaccel/log.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vaccel::rpc_plugin
{

using transport::Clock;
using transport::Deadline;

// One call waiting for its response.
struct Pending {
	std::mutex mu;
	std::condition_variable cv;
	bool done = false;
	Status status;
	std::vector<uint8_t> payload;

	void complete(Status st, std::vector<uint8_t> data = {})
	{
		{
			std::lock_guard lock(mu);
			status = std::move(st);
			payload = std::move(data);
			done = true;
		}
		cv.notify_one();
	}
};

// One connected stream and its reader thread. Destroyed by whoever drops
// the last reference (never the reader itself, which holds none).
class Connection
{
public:
	Connection(transport::Stream s, uint64_t generation, const Config &cfg)
	    : stream_(std::move(s)), generation_(generation),
	      max_frame_(cfg.max_frame),
	      // Bounded even when calls may wait forever: a peer stuck
	      // mid-frame must not pin the reader (and fini, which joins
	      // it, on devices that shutdown() cannot wake).
	      read_timeout_(cfg.call_timeout.count() > 0
				? cfg.call_timeout
				: std::chrono::milliseconds(60000)),
	      call_timeout_(cfg.call_timeout), pid_(::getpid())
	{
	}
	Connection(const Connection &) = delete;
	Connection &operator=(const Connection &) = delete;

	~Connection()
	{
		fail(Status(VACCEL_EIO, "connection closed"));
		if (wake_fd_ >= 0) {
			uint64_t one = 1;
			[[maybe_unused]] ssize_t n =
			    ::write(wake_fd_, &one, sizeof(one));
		}
		if (reader_.joinable())
			reader_.join();
		if (wake_fd_ >= 0)
			::close(wake_fd_);
	}

	// Starts the reader; the connection is usable only after this.
	Status start()
	{
		wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (wake_fd_ < 0)
			return Status::error(VACCEL_EIO, "eventfd: %s",
					     std::strerror(errno));
		try {
			reader_ = std::thread([this] { read_loop(); });
		} catch (const std::system_error &e) {
			return Status::error(VACCEL_EIO,
					     "cannot start the reader: %s",
					     e.what());
		}
		return Status::ok();
	}

	[[nodiscard]] uint64_t generation() const noexcept
	{
		return generation_;
	}
	[[nodiscard]] pid_t pid() const noexcept { return pid_; }
	[[nodiscard]] bool alive()
	{
		std::lock_guard lock(mu_);
		return !dead_;
	}

	// In a forked child: the reader thread does not exist here and the
	// stream belongs to the parent's conversation. Close our copies of
	// the descriptors; the caller then leaks this object, because its
	// destructor would join (and std::thread would detach) a thread of
	// another process.
	void abandon_after_fork() noexcept
	{
		stream_.close();
		if (wake_fd_ >= 0)
			::close(std::exchange(wake_fd_, -1));
	}

	// Sends one request frame and waits for its response payload.
	Result<std::vector<uint8_t>> roundtrip(std::span<const uint8_t> payload,
					       Deadline dl)
	{
		auto slot = std::make_shared<Pending>();
		uint32_t id = 0;
		{
			std::lock_guard lock(mu_);
			if (dead_)
				return death_;
			id = take_stream_id();
			pending_.emplace(id, slot);
		}
		Status sent;
		{
			std::lock_guard lock(write_mu_);
			transport::FrameHeader h;
			h.stream_id = id;
			h.type = transport::MsgType::Request;
			sent = transport::write_frame(stream_, h, payload, dl);
		}
		if (!sent) {
			// A partial frame leaves the stream out of step.
			fail(Status(VACCEL_EIO,
				    "send failed: " + sent.message()));
			return Status(VACCEL_EIO,
				      "send failed: " + sent.message());
		}

		std::unique_lock lk(slot->mu);
		auto done = [&] { return slot->done; };
		if (dl)
			slot->cv.wait_until(lk, *dl, done);
		else
			slot->cv.wait(lk, done);
		if (!slot->done) {
			lk.unlock();
			std::lock_guard lock(mu_);
			pending_.erase(id);
			return Status::error(
			    VACCEL_EIO,
			    "no reply within %lld ms (VACCEL_RPC_TIMEOUT_MS)",
			    static_cast<long long>(call_timeout_.count()));
		}
		if (!slot->status)
			return slot->status;
		return std::move(slot->payload);
	}

private:
	// Odd ids, increasing, as ttrpc clients use; after 2^31 calls they
	// wrap, skipping any still in flight. Called with mu_ held.
	uint32_t take_stream_id()
	{
		for (;;) {
			uint32_t id = next_id_;
			next_id_ += 2;
			if (!pending_.contains(id))
				return id;
		}
	}

	// Marks the connection dead (first reason wins), fails every waiting
	// call and wakes a writer blocked on the socket.
	void fail(Status why)
	{
		std::unordered_map<uint32_t, std::shared_ptr<Pending>> waiting;
		{
			std::lock_guard lock(mu_);
			if (dead_)
				return;
			dead_ = true;
			death_ = why;
			waiting.swap(pending_);
		}
		for (auto &[id, slot] : waiting)
			slot->complete(why);
		stream_.shutdown();
	}

	void read_loop()
	{
		for (;;) {
			pollfd fds[2] = {{stream_.fd(), POLLIN, 0},
					 {wake_fd_, POLLIN, 0}};
			int n = ::poll(fds, 2, -1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				fail(Status::error(VACCEL_EIO, "poll: %s",
						   std::strerror(errno)));
				return;
			}
			if (fds[1].revents != 0)
				return; // closing
			if (fds[0].revents == 0)
				continue;
			// A frame has started: the rest must follow within
			// the call timeout, or the peer is stuck mid-frame.
			auto frame = transport::read_frame(
			    stream_, max_frame_,
			    transport::deadline_in(read_timeout_));
			if (!frame) {
				Status why(VACCEL_EIO,
					   "connection lost: " +
					       frame.status().message());
				{
					std::lock_guard lock(mu_);
					if (!dead_ && !pending_.empty())
						vaccel_error(
						    "[rpc] %s",
						    why.message().c_str());
				}
				fail(std::move(why));
				return;
			}
			route(std::move(frame).value());
		}
	}

	void route(transport::Frame frame)
	{
		if (frame.header.type != transport::MsgType::Response) {
			vaccel_debug("[rpc] ignoring a frame of type %u on "
				     "stream %u",
				     static_cast<unsigned>(frame.header.type),
				     frame.header.stream_id);
			return;
		}
		std::shared_ptr<Pending> slot;
		{
			std::lock_guard lock(mu_);
			auto it = pending_.find(frame.header.stream_id);
			if (it == pending_.end()) {
				// Its caller gave up (timeout).
				vaccel_debug("[rpc] dropping a late reply on "
					     "stream %u",
					     frame.header.stream_id);
				return;
			}
			slot = std::move(it->second);
			pending_.erase(it);
		}
		slot->complete(Status::ok(), std::move(frame.payload));
	}

	transport::Stream stream_;
	const uint64_t generation_;
	const uint32_t max_frame_;
	const std::chrono::milliseconds read_timeout_;
	const std::chrono::milliseconds call_timeout_;
	const pid_t pid_;
	int wake_fd_ = -1;
	std::thread reader_;

	std::mutex write_mu_; // one frame on the wire at a time
	std::mutex mu_;       // guards everything below
	std::unordered_map<uint32_t, std::shared_ptr<Pending>> pending_;
	uint32_t next_id_ = 1;
	bool dead_ = false;
	Status death_;
};

namespace
{

// The vAccel code for a non-OK ttrpc status (docs/protocol.md, "Errors").
Status status_from_reply(const rpc::ttrpc::Status &st,
			 std::optional<rpc::Status> *detail)
{
	const std::string &msg = st.message();
	if (st.details_size() > 0 &&
	    st.details(0).type_url() == transport::kVaccelErrorTypeUrl) {
		rpc::Error err;
		if (err.ParseFromString(st.details(0).value()) &&
		    err.has_ffi_error() && err.ffi_error() != 0) {
			if (detail != nullptr && err.has_status())
				*detail = err.status();
			return Status(static_cast<int>(err.ffi_error()), msg);
		}
	}
	using transport::RpcCode;
	switch (static_cast<RpcCode>(st.code())) {
	case RpcCode::InvalidArgument:
		return Status(VACCEL_EINVAL, msg);
	case RpcCode::NotFound:
		return Status(VACCEL_ENOENT, msg);
	case RpcCode::PermissionDenied:
		return Status(VACCEL_EPERM, msg);
	case RpcCode::Unimplemented:
		return Status(VACCEL_ENOTSUP, msg);
	default:
		return Status::error(VACCEL_EREMOTEIO, "status %d: %s",
				     st.code(), msg.c_str());
	}
}

Status logged(const CallTarget &t, Status st)
{
	vaccel_error("[rpc] %.*s: %s (%d)", static_cast<int>(t.method.size()),
		     t.method.data(), st.message().c_str(), st.code());
	return st;
}

} // namespace

Client::Client(Config cfg) : cfg_(std::move(cfg))
{
}

Client::~Client()
{
	std::lock_guard lock(mu_);
	if (conn_ && conn_->pid() != ::getpid()) {
		conn_->abandon_after_fork();
		new std::shared_ptr<Connection>(std::move(conn_)); // leaked
	}
	conn_.reset();
}

Result<std::shared_ptr<Connection>> Client::connection(uint64_t generation)
{
	std::lock_guard lock(mu_);
	if (conn_ && conn_->pid() != ::getpid()) {
		// A forked child: the parent's connection (and its reader
		// thread) are not ours. Leak the object rather than join a
		// thread that does not exist in this process.
		conn_->abandon_after_fork();
		new std::shared_ptr<Connection>(std::move(conn_));
		conn_.reset();
	}
	if (generation != 0) {
		if (conn_ && conn_->generation() == generation &&
		    conn_->alive())
			return conn_;
		return Status(VACCEL_EIO,
			      "the agent connection this object was created "
			      "on is gone (agent restarted or connection "
			      "lost); create a new session");
	}
	if (conn_ && conn_->alive())
		return conn_;

	// Drop the dead connection (joining its finished reader) before
	// opening the next one.
	conn_.reset();
	auto stream = transport::connect(cfg_.address, cfg_.connect_timeout);
	if (!stream)
		return Status(VACCEL_EIO, "cannot connect to " +
					      cfg_.address_text + ": " +
					      stream.status().message());
	auto conn = std::make_shared<Connection>(std::move(stream).value(),
						 ++last_generation_, cfg_);
	if (Status st = conn->start(); !st)
		return st;
	vaccel_debug("[rpc] connected to %s (generation %llu)",
		     cfg_.address_text.c_str(),
		     static_cast<unsigned long long>(conn->generation()));
	conn_ = conn;
	return conn;
}

Status Client::call(const CallTarget &target,
		    const google::protobuf::MessageLite &req,
		    google::protobuf::MessageLite *reply,
		    uint64_t *used_generation,
		    std::optional<rpc::Status> *detail)
{
	std::string frame;
	try {
		rpc::ttrpc::Request envelope;
		envelope.set_service(std::string(target.service));
		envelope.set_method(std::string(target.method));
		if (cfg_.call_timeout.count() > 0)
			envelope.set_timeout_nano(
			    std::chrono::nanoseconds(cfg_.call_timeout)
				.count());
		if (!req.SerializeToString(envelope.mutable_payload()) ||
		    !envelope.SerializeToString(&frame))
			return logged(target, Status(VACCEL_EINVAL,
						     "cannot encode request"));
	} catch (const std::bad_alloc &) {
		return logged(target, Status(VACCEL_ENOMEM,
					     "out of memory encoding request"));
	}
	// The agent drops a connection that sends an oversized frame, taking
	// every session with it: refuse here instead.
	if (frame.size() > cfg_.max_frame)
		return logged(target,
			      Status::error(VACCEL_EINVAL,
					    "request of %zu bytes exceeds the "
					    "frame limit of %u bytes "
					    "(VACCEL_RPC_MAX_FRAME)",
					    frame.size(), cfg_.max_frame));

	auto conn = connection(target.generation);
	if (!conn)
		return logged(target, conn.status());
	const Deadline dl = transport::deadline_in(cfg_.call_timeout);
	auto bytes = conn.value()->roundtrip(
	    std::span(reinterpret_cast<const uint8_t *>(frame.data()),
		      frame.size()),
	    dl);
	if (!bytes)
		return logged(target, bytes.status());

	rpc::ttrpc::Response resp;
	if (!resp.ParseFromArray(bytes.value().data(),
				 static_cast<int>(bytes.value().size())))
		return logged(target,
			      Status(VACCEL_EREMOTEIO, "malformed response"));
	if (resp.has_status() && resp.status().code() != 0)
		return logged(target, status_from_reply(resp.status(), detail));
	if (reply != nullptr && !reply->ParseFromString(resp.payload()))
		return logged(target, Status(VACCEL_EREMOTEIO,
					     "malformed response payload"));
	if (used_generation != nullptr)
		*used_generation = conn.value()->generation();
	return Status::ok();
}

} // namespace vaccel::rpc_plugin
