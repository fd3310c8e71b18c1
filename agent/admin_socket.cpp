// SPDX-License-Identifier: Apache-2.0
#include "admin_socket.h"

#include "audit.h"

#include "rpc/common.pb.h"
#include "rpc/ttrpc.pb.h"
#include "transport/spare_cores.h"

#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace vaccel::agent
{

namespace
{

using namespace std::chrono_literals;
constexpr uint32_t kMaxFrame = 1u << 20; // attach requests are small
constexpr size_t kMaxConnections = 64;   // launchers' connections at once

bool trusted_peer(int fd, std::string *who)
{
	ucred cred{};
	socklen_t len = sizeof(cred);
	if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return false;
	*who = "uid " + std::to_string(cred.uid) + " pid " +
	       std::to_string(cred.pid);
	return cred.uid == 0 || cred.uid == ::geteuid();
}

void set_status(rpc::ttrpc::Response *resp, const RpcStatus &st)
{
	resp->mutable_status()->set_code(static_cast<int32_t>(st.code()));
	resp->mutable_status()->set_message(st.message());
}

} // namespace

core::Status AdminSocket::start()
{
	if (address_.kind != transport::Address::Kind::Unix)
		return core::Status::error(VACCEL_EINVAL,
					   "the admin socket must be a unix "
					   "socket path (unix:///...)");
	auto l = transport::Listener::bind(address_, 16,
					   transport::UnixPerms{0600, -1});
	if (!l)
		return l.status();
	listener_ = std::move(l.value());
	wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd_ < 0)
		return core::Status::error(VACCEL_EIO, "eventfd: %s",
					   std::strerror(errno));
	thread_ = std::thread([this] { loop(); });
	return core::Status::ok();
}

void AdminSocket::stop()
{
	if (!thread_.joinable())
		return;
	stopping_ = true;
	const uint64_t one = 1;
	[[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
	thread_.join();
	listener_.close();
	::close(std::exchange(wake_fd_, -1));
}

void AdminSocket::loop()
{
	using Clock = std::chrono::steady_clock;
	std::vector<transport::Stream> conns;
	std::vector<pollfd> p;
	Clock::time_point burst_until{};
	while (!stopping_) {
		p.assign({{listener_.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}});
		for (const auto &c : conns)
			p.push_back({c.fd(), POLLIN, 0});
		// Polling only pays where this thread has a core of its own
		// (on a full host it would take the launcher's).
		const bool burst =
		    Clock::now() < burst_until && transport::cores_to_spare();
		const int n = ::poll(p.data(), p.size(), burst ? 0 : -1);
		if (n < 0) {
			if (errno != EINTR)
				std::this_thread::sleep_for(100ms);
			continue;
		}
		if (n == 0) {
			// In a burst: look again, after letting anyone waiting
			// for this core run (the launcher itself, on a host
			// with few cores).
			sched_yield();
			continue;
		}
		if (p[1].revents != 0 || stopping_)
			break;
		// Connections first: p[i + 2] is conns[i] until one goes.
		for (size_t i = conns.size(); i-- > 0;)
			if (p[i + 2].revents != 0 && !serve_one(conns[i]))
				conns.erase(conns.begin() +
					    static_cast<std::ptrdiff_t>(i));
		if ((p[0].revents & POLLIN) != 0)
			accept_one(conns);
		burst_until = Clock::now() + kBurst;
	}
}

void AdminSocket::accept_one(std::vector<transport::Stream> &conns)
{
	auto s = listener_.accept();
	if (!s)
		return;
	std::string who;
	if (!trusted_peer(s->fd(), &who)) {
		audit::event("admin-refused",
			     who.empty() ? "unknown peer" : who);
		return; // closing the stream tells the peer
	}
	if (conns.size() >= kMaxConnections) {
		audit::event("admin-refused",
			     who + ": " + std::to_string(kMaxConnections) +
				 " launcher connections are open");
		return;
	}
	// A launcher writes its request right after connecting: if it is
	// there, it is answered now rather than after one more poll().
	char byte = 0;
	if (::recv(s->fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 1 &&
	    !serve_one(s.value()))
		return;
	conns.push_back(std::move(s.value()));
}

bool AdminSocket::serve_one(transport::Stream &stream)
{
	auto f = transport::read_frame(stream, kMaxFrame,
				       transport::deadline_in(5000ms),
				       /*accept_fds=*/true);
	if (!f || f->header.type != transport::MsgType::Request)
		return false;
	transport::Frame reply = handle(f.value());
	return transport::write_frame(stream, reply.header, reply.payload,
				      transport::deadline_in(5000ms))
	    .is_ok();
}

transport::Frame AdminSocket::handle(transport::Frame &request)
{
	rpc::ttrpc::Response resp;
	RpcStatus st;
	try {
		st = dispatch(request, &resp);
	} catch (const std::exception &e) { // never the agent's end
		st = RpcStatus::internal("%s", e.what());
	}
	set_status(&resp, st);
	transport::Frame out;
	out.header.type = transport::MsgType::Response;
	out.header.stream_id = request.header.stream_id;
	const std::string bytes = resp.SerializeAsString();
	out.payload.assign(bytes.begin(), bytes.end());
	return out;
}

RpcStatus AdminSocket::dispatch(transport::Frame &request,
				rpc::ttrpc::Response *reply)
{
	rpc::ttrpc::Request req;
	rpc::ttrpc::Response &resp = *reply;
	RpcStatus st;
	if (!req.ParseFromArray(request.payload.data(),
				static_cast<int>(request.payload.size()))) {
		st = RpcStatus::invalid("malformed request");
	} else if (req.service() != transport::kServiceLauncher) {
		st = RpcStatus::unimplemented(
		    "the admin socket serves %s only",
		    transport::kServiceLauncher.data());
	} else if (req.method() == "Drain") {
		st = drain(&resp);
	} else if (req.method() == "Attach" && drain_ != nullptr &&
		   drain_->active()) {
		st = RpcStatus::unavailable("agent draining: no new sandboxes");
	} else if (req.method() == "Attach") {
		rpc::ext::AttachRequest a;
		rpc::ext::AttachResponse out;
		st = a.ParseFromString(req.payload())
			 ? launcher_.attach(a, request.fds, &out)
			 : RpcStatus::invalid("malformed AttachRequest");
		if (st.is_ok())
			out.SerializeToString(resp.mutable_payload());
	} else if (req.method() == "Detach") {
		rpc::ext::DetachRequest d;
		st = d.ParseFromString(req.payload())
			 ? launcher_.detach(d.sandbox())
			 : RpcStatus::invalid("malformed DetachRequest");
		if (st.is_ok())
			rpc::Empty().SerializeToString(resp.mutable_payload());
	} else {
		st = RpcStatus::unimplemented("Launcher/%s is unknown",
					      req.method().c_str());
	}
	return st;
}

RpcStatus AdminSocket::drain(rpc::ttrpc::Response *resp)
{
	if (drain_ == nullptr)
		return RpcStatus::unimplemented("this agent does not drain");
	if (drain_->begin())
		audit::event("drain", "Launcher/Drain on the admin socket; " +
					  std::to_string(drain_->left_ms()) +
					  " ms of grace");
	rpc::ext::Draining d;
	d.set_grace_ms(drain_->left_ms());
	d.SerializeToString(resp->mutable_payload());
	return RpcStatus::ok();
}

} // namespace vaccel::agent
