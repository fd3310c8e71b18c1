// SPDX-License-Identifier: Apache-2.0
#include "server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <system_error>

namespace vaccel::agent
{

using transport::Frame;
using transport::FrameHeader;
using transport::MsgType;

struct Server::Conn {
	Conn(ConnId i, transport::Stream s) : id(i), stream(std::move(s)) {}

	const ConnId id;
	transport::Stream stream;
	std::mutex write_mu; // one frame at a time on the socket
	// In-flight accounting, for the reader's back-pressure.
	std::mutex mu;
	std::condition_variable cv;
	size_t in_flight = 0;
	std::atomic<bool> closing{false};
	std::thread reader;
	std::atomic<bool> done{false}; // reader finished; may be joined

	// Wakes every thread blocked on this connection; the fd stays open
	// until the last job holding the connection lets go.
	void close_down() noexcept
	{
		closing = true;
		stream.shutdown();
		std::lock_guard lock(mu);
		cv.notify_all();
	}
};

Server::Server(Service &service, ServerOptions opts)
    : service_(service), opts_(std::move(opts))
{
}

core::Status Server::start()
{
	auto listener = transport::Listener::bind(opts_.address);
	if (!listener)
		return listener.status();
	listener_ = std::move(listener.value());
	wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd_ < 0)
		return core::Status::error(VACCEL_EIO, "eventfd: %s",
					   std::strerror(errno));
	try {
		pool_.emplace(opts_.workers);
		acceptor_ = std::thread([this] { accept_loop(); });
	} catch (const std::system_error &e) {
		stop();
		return core::Status::error(
		    VACCEL_ENOMEM, "cannot start threads: %s", e.what());
	}
	return core::Status::ok();
}

void Server::wake() noexcept
{
	const uint64_t one = 1;
	if (wake_fd_ >= 0) {
		[[maybe_unused]] ssize_t n =
		    ::write(wake_fd_, &one, sizeof(one));
	}
}

void Server::stop()
{
	if (stopped_)
		return;
	stopped_ = true;
	stopping_ = true;
	wake();
	if (acceptor_.joinable())
		acceptor_.join();
	listener_.close();

	// The acceptor is gone: nobody adds to conns_ any more.
	for (auto &c : conns_)
		c->close_down();
	for (auto &c : conns_)
		if (c->reader.joinable())
			c->reader.join();
	// Requests still queued belong to closed connections and are
	// skipped; running ones finish (an op cannot be interrupted).
	if (pool_)
		pool_->stop();
	conns_.clear();
	service_.clear();
	if (wake_fd_ >= 0)
		::close(std::exchange(wake_fd_, -1));
}

void Server::accept_loop()
{
	pollfd fds[2] = {{listener_.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
	while (!stopping_) {
		if (::poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			vaccel_error("agent: poll: %s", std::strerror(errno));
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(100));
			continue;
		}
		if (fds[1].revents != 0) {
			uint64_t n = 0;
			[[maybe_unused]] ssize_t r =
			    ::read(wake_fd_, &n, sizeof(n));
			reap(false);
		}
		if (stopping_ || (fds[0].revents & POLLIN) == 0)
			continue;
		auto stream = listener_.accept();
		if (stream) {
			admit(std::move(stream.value()));
			continue;
		}
		if (stream.status().code() == VACCEL_EAGAIN)
			continue;
		// Typically EMFILE: back off instead of spinning on it.
		vaccel_warn("agent: %s", stream.status().message().c_str());
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
}

void Server::admit(transport::Stream stream)
{
	auto conn = std::make_shared<Conn>(++next_id_, std::move(stream));
	service_.open_connection(conn->id);
	try {
		conn->reader = std::thread([this, conn] { read_loop(conn); });
	} catch (const std::system_error &e) {
		vaccel_warn("agent: connection %llu: cannot start its reader "
			    "(%s); closing",
			    static_cast<unsigned long long>(conn->id),
			    e.what());
		service_.close_connection(conn->id);
		return;
	}
	vaccel_info("agent: connection %llu opened",
		    static_cast<unsigned long long>(conn->id));
	std::lock_guard lock(conns_mu_);
	conns_.push_back(std::move(conn));
}

// Joins finished readers (all of them when @p all).
void Server::reap(bool all)
{
	std::list<std::shared_ptr<Conn>> finished;
	{
		std::lock_guard lock(conns_mu_);
		for (auto it = conns_.begin(); it != conns_.end();) {
			if (all || (*it)->done) {
				finished.push_back(std::move(*it));
				it = conns_.erase(it);
			} else {
				++it;
			}
		}
	}
	for (auto &c : finished)
		if (c->reader.joinable())
			c->reader.join();
}

void Server::read_loop(const std::shared_ptr<Conn> &conn)
{
	const auto id = static_cast<unsigned long long>(conn->id);
	for (;;) {
		{
			std::unique_lock lock(conn->mu);
			conn->cv.wait(lock, [&] {
				return conn->closing ||
				       conn->in_flight < opts_.max_in_flight;
			});
		}
		if (conn->closing)
			break;
		auto frame = transport::read_frame(
		    conn->stream, opts_.max_frame, std::nullopt);
		if (!frame) {
			const core::Status st = frame.status();
			const std::string &msg = st.message();
			if (conn->closing)
				break;
			if (msg.find("peer closed (0 of") != std::string::npos)
				vaccel_info("agent: connection %llu closed by "
					    "peer",
					    id);
			else
				vaccel_warn("agent: connection %llu: %s; "
					    "closing it",
					    id, msg.c_str());
			break;
		}
		if (frame->header.type != MsgType::Request) {
			// ttrpc streams are not part of the vAccel protocol.
			vaccel_warn("agent: connection %llu: unexpected frame "
				    "type %u on stream %u; ignored",
				    id,
				    static_cast<unsigned>(frame->header.type),
				    frame->header.stream_id);
			continue;
		}
		{
			std::lock_guard lock(conn->mu);
			++conn->in_flight;
		}
		auto job = [this, conn,
			    f = std::move(frame.value())]() mutable {
			process(conn, std::move(f));
		};
		if (!pool_->submit(std::move(job)))
			break; // shutting down
	}
	conn->close_down();
	service_.close_connection(conn->id);
	conn->done = true;
	wake(); // let the acceptor join us
}

void Server::process(const std::shared_ptr<Conn> &conn, Frame frame)
{
	struct Done {
		Conn &c;
		~Done()
		{
			std::lock_guard lock(c.mu);
			--c.in_flight;
			c.cv.notify_all();
		}
	} done{*conn};
	if (conn->closing)
		return;

	rpc::ttrpc::Request req;
	rpc::ttrpc::Response resp;
	if (!req.ParseFromArray(frame.payload.data(),
				static_cast<int>(frame.payload.size()))) {
		set_status(resp, RpcStatus::invalid(
				     "malformed ttrpc request (%zu bytes)",
				     frame.payload.size()));
	} else {
		std::vector<uint8_t>().swap(frame.payload); // parsed: free it
		resp = service_.handle(conn->id, req);
	}
	reply(*conn, frame.header.stream_id, resp);
}

void Server::reply(Conn &conn, uint32_t stream_id,
		   const rpc::ttrpc::Response &resp)
{
	std::string bytes;
	if (!resp.SerializeToString(&bytes) || bytes.size() > opts_.max_frame) {
		rpc::ttrpc::Response too_big;
		set_status(
		    too_big,
		    RpcStatus::exhausted(
			"response of %zu bytes exceeds the %u-byte frame "
			"limit",
			bytes.size(), opts_.max_frame));
		bytes = too_big.SerializeAsString();
	}
	FrameHeader h;
	h.length = static_cast<uint32_t>(bytes.size());
	h.stream_id = stream_id;
	h.type = MsgType::Response;
	const std::span<const uint8_t> payload(
	    reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
	core::Status st;
	{
		std::lock_guard lock(conn.write_mu);
		if (conn.closing)
			return;
		st = transport::write_frame(
		    conn.stream, h, payload,
		    transport::deadline_in(opts_.write_timeout));
	}
	if (st)
		return;
	vaccel_warn("agent: connection %llu: %s; closing it",
		    static_cast<unsigned long long>(conn.id),
		    st.message().c_str());
	conn.close_down(); // its reader sees the shutdown and cleans up
}

} // namespace vaccel::agent
