// SPDX-License-Identifier: Apache-2.0
#include "admin_socket.h"

#include "audit.h"

#include "rpc/common.pb.h"
#include "rpc/ttrpc.pb.h"

#include <poll.h>
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
constexpr int kIdleMs = 30000;           // an admin connection's silence
constexpr uint32_t kMaxFrame = 1u << 20; // attach requests are small

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

bool AdminSocket::wait_readable(int fd)
{
	pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
	for (;;) {
		const int n = ::poll(p, 2, kIdleMs);
		if (n < 0 && errno == EINTR)
			continue;
		return n > 0 && p[1].revents == 0 && !stopping_;
	}
}

void AdminSocket::loop()
{
	while (!stopping_) {
		if (!wait_readable(listener_.fd()))
			continue;
		auto s = listener_.accept();
		if (!s)
			continue;
		std::string who;
		if (!trusted_peer(s->fd(), &who)) {
			audit::event("admin-refused",
				     who.empty() ? "unknown peer" : who);
			continue; // closing the stream tells the peer
		}
		serve(std::move(s.value()));
	}
}

void AdminSocket::serve(transport::Stream stream)
{
	// A launcher writes its request right after connecting: the first
	// frame is read at once (read_frame waits for it if need be), not
	// after one more wake-up from poll().
	for (bool first = true; first || wait_readable(stream.fd());
	     first = false) {
		auto f = transport::read_frame(stream, kMaxFrame,
					       transport::deadline_in(5000ms),
					       /*accept_fds=*/true);
		if (!f || f->header.type != transport::MsgType::Request)
			return;
		transport::Frame reply = handle(f.value());
		if (!transport::write_frame(stream, reply.header, reply.payload,
					    transport::deadline_in(5000ms)))
			return;
	}
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

} // namespace vaccel::agent
