// SPDX-License-Identifier: Apache-2.0
// Byte streams: deadline-bounded I/O on non-blocking fds, and connecting to
// every kind of address.
#include "io_util.h"
#include "read_ahead.h"
#include "tls_session.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace vaccel::transport
{

namespace detail
{

FdGuard::~FdGuard()
{
	if (fd_ >= 0)
		::close(fd_);
}

Status wait_fd(int fd, short events, Deadline dl, const char *what)
{
	for (;;) {
		int timeout_ms = -1;
		if (dl) {
			auto left =
			    std::chrono::ceil<std::chrono::milliseconds>(
				*dl - Clock::now());
			if (left.count() <= 0)
				return Status::error(VACCEL_EIO,
						     "%s: timed out", what)
				    .with(Cause::TimedOut);
			timeout_ms = static_cast<int>(
			    std::min<int64_t>(left.count(), INT_MAX));
		}
		pollfd p{fd, events, 0};
		int n = ::poll(&p, 1, timeout_ms);
		// A hang-up with nothing to read or room to write: the call
		// that follows would only find the same again (a serial port
		// whose host side is gone fails writes with EAGAIN forever).
		if (n > 0 && (p.revents & events) == 0 &&
		    (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0)
			return Status::error(VACCEL_EIO, "%s: the peer is gone",
					     what)
			    .with(Cause::PeerClosed);
		if (n > 0)
			return Status::ok();
		if (n == 0)
			continue; // re-check the deadline (rounding)
		if (errno == EINTR)
			continue;
		return Status::error(VACCEL_EIO, "%s: poll: %s", what,
				     errno_text(errno).c_str());
	}
}

} // namespace detail

using detail::errno_text;
using detail::FdGuard;
using detail::wait_fd;

// ---- Stream -----------------------------------------------------------------

Stream::Stream() noexcept = default;

Stream::Stream(int fd) noexcept : fd_(fd)
{
}

Stream::Stream(Stream &&o) noexcept
    : fd_(std::exchange(o.fd_, -1)), tls_(std::move(o.tls_)),
      ahead_(std::move(o.ahead_)), not_socket_(o.not_socket_)
{
}

Stream &Stream::operator=(Stream &&o) noexcept
{
	if (this != &o) {
		close();
		fd_ = std::exchange(o.fd_, -1);
		tls_ = std::move(o.tls_);
		ahead_ = std::move(o.ahead_);
		not_socket_ = o.not_socket_;
	}
	return *this;
}

void Stream::set_tls(std::unique_ptr<TlsSession> tls) noexcept
{
	tls_ = std::move(tls);
}

bool Stream::pending() const
{
	return (tls_ != nullptr && tls_->pending()) ||
	       (ahead_ != nullptr && ahead_->buffered() != 0);
}

Stream::~Stream()
{
	close();
}

void Stream::shutdown() noexcept
{
	if (fd_ >= 0)
		::shutdown(fd_, SHUT_RDWR);
}

void Stream::close() noexcept
{
	// No close_notify: framing already tells a whole message from a
	// truncated one, and close() must not wait on the peer.
	tls_.reset();
	if (fd_ >= 0)
		::close(std::exchange(fd_, -1));
}

namespace
{

// One non-blocking write attempt of an iovec array: sendmsg on sockets
// (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE), writev on other
// fds (character devices).
// @p not_socket: learnt from the first ENOTSOCK, so that a character
// device pays one system call per write, not a failed sendmsg first.
ssize_t write_some(int fd, iovec *iov, int iovcnt, bool &not_socket)
{
	if (not_socket)
		return ::writev(fd, iov, iovcnt);
	msghdr mh{};
	mh.msg_iov = iov;
	mh.msg_iovlen = static_cast<size_t>(iovcnt);
	ssize_t n = ::sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && errno == ENOTSOCK) {
		not_socket = true;
		n = ::writev(fd, iov, iovcnt);
	}
	return n;
}

// sendmsg with @p fds as SCM_RIGHTS.
ssize_t write_fds(int fd, iovec *iov, int iovcnt, std::span<const int> fds)
{
	alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMaxFdsPerRead)]{};
	msghdr mh{};
	mh.msg_iov = iov;
	mh.msg_iovlen = static_cast<size_t>(iovcnt);
	mh.msg_control = ctl;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
	cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
	std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
	return ::sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

} // namespace

namespace detail
{

// recvmsg accepting descriptors; they are appended to @p fds. A truncated
// control message (more descriptors than we take) is reported as EPROTO
// after the ones received were kept (and will be closed by the caller).
ssize_t read_fds(int fd, void *buf, size_t len, std::vector<UniqueFd> &fds,
		 bool &not_socket, bool wait)
{
	if (not_socket)
		return ::read(fd, buf, len);
	alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMaxFdsPerRead)];
	iovec iov{buf, len};
	msghdr mh{};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl;
	mh.msg_controllen = sizeof(ctl);
	ssize_t n =
	    ::recvmsg(fd, &mh, (wait ? 0 : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC);
	if (n < 0) {
		if (errno == ENOTSOCK) {
			not_socket = true;
			return ::read(fd, buf, len);
		}
		return n;
	}
	for (cmsghdr *c = CMSG_FIRSTHDR(&mh); c != nullptr;
	     c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; ++i) {
			int got = -1;
			std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int),
				    sizeof(int));
			fds.emplace_back(got);
		}
	}
	if ((mh.msg_flags & MSG_CTRUNC) != 0) {
		errno = EPROTO;
		return -1;
	}
	return n;
}

ssize_t read_some(int fd, void *buf, size_t len, bool &not_socket, bool wait)
{
	if (not_socket)
		return ::read(fd, buf, len);
	ssize_t n = ::recv(fd, buf, len, wait ? 0 : MSG_DONTWAIT);
	if (n < 0 && errno == ENOTSOCK) {
		not_socket = true;
		n = ::read(fd, buf, len);
	}
	return n;
}

bool would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}

// EOF after @p got of @p want bytes: an orderly close when nothing of this
// read had arrived.
Status peer_closed(size_t got, size_t want)
{
	Status st = Status::error(
	    VACCEL_EIO, "read: peer closed (%zu of %zu bytes read)", got, want);
	if (got == 0)
		return std::move(st).with(Cause::PeerClosed);
	return st;
}

// After a read that moved no bytes (@p n <= 0, errno set when < 0): the
// error that ends the read, or OK to read again (interrupted, or readable
// again before @p dl). @p got of @p want bytes had arrived.
Status after_empty_read(int fd, ssize_t n, size_t got, size_t want, Deadline dl)
{
	if (n == 0)
		return peer_closed(got, want);
	if (errno == EINTR)
		return Status::ok();
	if (would_block(errno))
		return wait_fd(fd, POLLIN, dl, "read");
	// A pty whose other side closed reports EIO rather than EOF.
	return Status::error(VACCEL_EIO, "read: %s", errno_text(errno).c_str());
}

} // namespace detail

using detail::after_empty_read;
using detail::peer_closed;
using detail::read_fds;
using detail::read_some;
using detail::would_block;

Status Stream::write_all(std::span<const uint8_t> data, Deadline dl)
{
	std::span<const uint8_t> one[1] = {data};
	return write_all(std::span<const std::span<const uint8_t>>(one), dl);
}

Status Stream::write_all(std::span<const std::span<const uint8_t>> parts,
			 Deadline dl)
{
	return write_all(parts, {}, dl);
}

Status Stream::write_all(std::span<const std::span<const uint8_t>> parts,
			 std::span<const int> fds, Deadline dl)
{
	if (fd_ < 0)
		return Status::error(VACCEL_EIO, "write: stream is closed");
	if (fds.size() > kMaxFdsPerRead)
		return Status::error(VACCEL_EINVAL,
				     "write: %zu descriptors (at most %zu)",
				     fds.size(), kMaxFdsPerRead);
	if (tls_ != nullptr) {
		if (!fds.empty())
			return Status::error(
			    VACCEL_ENOTSUP,
			    "write: descriptors need a unix socket");
		return tls_->write_all(fd_, parts, dl);
	}
	// Up to IOV_MAX non-empty parts per call; short writes advance the
	// window in place. A frame has a handful of parts: those need no
	// allocation.
	constexpr size_t kFewParts = 8;
	std::array<iovec, kFewParts> few{};
	std::vector<iovec> many;
	if (parts.size() > kFewParts)
		many.resize(parts.size());
	const std::span<iovec> room =
	    many.empty() ? std::span<iovec>(few) : std::span<iovec>(many);
	size_t count = 0;
	for (auto p : parts)
		if (!p.empty())
			room[count++] = {
			    const_cast<uint8_t *>(p.data()), // NOLINT
			    p.size()};
	const std::span<iovec> iov = room.first(count);
	size_t first = 0;
	while (first < iov.size()) {
		int cnt = static_cast<int>(
		    std::min<size_t>(iov.size() - first, IOV_MAX));
		ssize_t n = 0;
		if (!fds.empty()) {
			// The descriptors ride on the first sendmsg that
			// moves bytes; once it did, they are sent.
			n = write_fds(fd_, &iov[first], cnt, fds);
			if (n > 0)
				fds = {};
			else if (n < 0 && errno == ENOTSOCK)
				return Status::error(
				    VACCEL_ENOTSUP,
				    "write: descriptors need a unix socket");
		} else {
			n = write_some(fd_, &iov[first], cnt, not_socket_);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (would_block(errno)) {
				VACCEL_RETURN_IF_ERROR(
				    wait_fd(fd_, POLLOUT, dl, "write"));
				continue;
			}
			return Status::error(VACCEL_EIO, "write: %s",
					     errno_text(errno).c_str());
		}
		auto left = static_cast<size_t>(n);
		while (first < iov.size() && left >= iov[first].iov_len)
			left -= iov[first++].iov_len;
		if (left > 0) {
			iov[first].iov_base =
			    static_cast<uint8_t *>(iov[first].iov_base) + left;
			iov[first].iov_len -= left;
		}
	}
	return Status::ok();
}

Status Stream::read_exact(std::span<uint8_t> data, Deadline dl)
{
	return read_exact(data, dl, nullptr);
}

Status Stream::read_exact(std::span<uint8_t> data, Deadline dl,
			  std::vector<UniqueFd> *fds)
{
	if (fd_ < 0)
		return Status::error(VACCEL_EIO, "read: stream is closed");
	if (tls_ != nullptr)
		return read_tls(data, dl);
	if (ahead_ != nullptr)
		return read_ahead(data, dl, fds);
	size_t got = 0;
	while (got < data.size()) {
		ssize_t n = fds != nullptr
				? read_fds(fd_, data.data() + got,
					   data.size() - got, *fds, not_socket_)
				: read_some(fd_, data.data() + got,
					    data.size() - got, not_socket_);
		if (fds != nullptr && fds->size() > kMaxFdsPerRead)
			return Status::error(VACCEL_EIO,
					     "read: %zu descriptors passed "
					     "(at most %zu)",
					     fds->size(), kMaxFdsPerRead);
		if (n > 0)
			got += static_cast<size_t>(n);
		else
			VACCEL_RETURN_IF_ERROR(
			    after_empty_read(fd_, n, got, data.size(), dl));
	}
	return Status::ok();
}

// TCP only, so never with descriptors.
Result<size_t> Stream::read_available(std::span<uint8_t> data, Deadline dl)
{
	if (fd_ < 0)
		return Status::error(VACCEL_EIO, "read: stream is closed");
	if (tls_ != nullptr)
		return tls_->read_some(fd_, data, dl);
	if (ahead_ != nullptr && ahead_->buffered() != 0)
		return ahead_->take(data);
	for (;;) {
		const ssize_t n =
		    read_some(fd_, data.data(), data.size(), not_socket_);
		if (n >= 0 && ahead_ != nullptr)
			ahead_->position += static_cast<uint64_t>(n);
		if (n >= 0)
			return static_cast<size_t>(n);
		if (errno == EINTR)
			continue;
		if (!would_block(errno))
			return Status::error(VACCEL_EIO, "read: %s",
					     errno_text(errno).c_str());
		VACCEL_RETURN_IF_ERROR(wait_fd(fd_, POLLIN, dl, "read"));
	}
}

Status Stream::read_tls(std::span<uint8_t> data, Deadline dl)
{
	size_t got = 0;
	while (got < data.size()) {
		auto n = tls_->read_some(fd_, data.subspan(got), dl);
		if (!n)
			return n.status();
		if (*n == 0)
			return peer_closed(got, data.size());
		got += *n;
	}
	return Status::ok();
}

// ---- connect ----------------------------------------------------------------

namespace
{

Status set_nodelay(int fd)
{
	int one = 1;
	if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		return Status::error(VACCEL_EIO, "setsockopt(TCP_NODELAY): %s",
				     errno_text(errno).c_str());
	return Status::ok();
}

// Non-blocking connect bounded by the deadline. A unix socket whose
// listener's backlog is full says EAGAIN: retry until the deadline.
Result<Stream> connect_sockaddr(int family, const sockaddr *sa, socklen_t len,
				Deadline dl, const std::string &name)
{
	int fd =
	    ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return Status::error(VACCEL_EIO, "connect %s: socket: %s",
				     name.c_str(), errno_text(errno).c_str());
	FdGuard guard(fd);
	for (;;) {
		if (::connect(fd, sa, len) == 0)
			break;
		int err = errno;
		if (err == EINTR)
			continue;
		if (err == EAGAIN && family == AF_UNIX) {
			if (dl && Clock::now() >= *dl)
				return Status::error(VACCEL_EIO,
						     "connect %s: timed out "
						     "(listener backlog full)",
						     name.c_str())
				    .with(Cause::TimedOut);
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(5));
			continue;
		}
		if (err != EINPROGRESS)
			return Status::error(VACCEL_EIO, "connect %s: %s",
					     name.c_str(),
					     errno_text(err).c_str());
		std::string what = "connect " + name;
		VACCEL_RETURN_IF_ERROR(wait_fd(fd, POLLOUT, dl, what.c_str()));
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr != 0)
			return Status::error(VACCEL_EIO, "connect %s: %s",
					     name.c_str(),
					     errno_text(soerr).c_str());
		break;
	}
	if (family == AF_INET || family == AF_INET6)
		VACCEL_RETURN_IF_ERROR(set_nodelay(fd));
	return Stream(guard.release());
}

Result<Stream> connect_unix(const std::string &path, bool abstract, Deadline dl,
			    const std::string &name)
{
	sockaddr_un sun{};
	sun.sun_family = AF_UNIX;
	size_t off = abstract ? 1 : 0;
	if (path.size() + off >= sizeof(sun.sun_path))
		return Status::error(VACCEL_EINVAL, "connect %s: path too long",
				     name.c_str());
	path.copy(sun.sun_path + off, path.size());
	auto len =
	    static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + off +
				   path.size() + (abstract ? 0 : 1));
	return connect_sockaddr(AF_UNIX, reinterpret_cast<sockaddr *>(&sun),
				len, dl, name);
}

Result<Stream> connect_tcp(const Address &addr, Deadline dl,
			   const std::string &name)
{
	addrinfo hints{};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	addrinfo *res = nullptr;
	std::string port = std::to_string(addr.port);
	int rc = ::getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
		// AI_ADDRCONFIG hides ::1 on hosts with only loopback v6.
		hints.ai_flags = AI_NUMERICSERV;
		rc = ::getaddrinfo(addr.host.c_str(), port.c_str(), &hints,
				   &res);
	}
	if (rc != 0)
		return Status::error(VACCEL_EIO, "connect %s: resolve '%s': %s",
				     name.c_str(), addr.host.c_str(),
				     ::gai_strerror(rc));
	// Try each address in turn (e.g. localhost -> ::1, 127.0.0.1).
	Status last;
	for (addrinfo *ai = res; ai != nullptr; ai = ai->ai_next) {
		auto r = connect_sockaddr(ai->ai_family, ai->ai_addr,
					  ai->ai_addrlen, dl, name);
		if (r) {
			::freeaddrinfo(res);
			return r;
		}
		last = r.status();
	}
	::freeaddrinfo(res);
	return last.is_ok()
		   ? Status::error(VACCEL_EIO, "connect %s: no address",
				   name.c_str())
		   : last;
}

Result<Stream> connect_vsock(const Address &addr, Deadline dl,
			     const std::string &name)
{
	sockaddr_vm svm{};
	svm.svm_family = AF_VSOCK;
	svm.svm_cid = addr.cid;
	svm.svm_port = addr.port;
	return connect_sockaddr(AF_VSOCK, reinterpret_cast<sockaddr *>(&svm),
				sizeof(svm), dl, name);
}

// Firecracker / Cloud Hypervisor: the VMM's unix socket forwards to a guest
// vsock port after "CONNECT <port>\n" and answers "OK <host port>\n".
Result<Stream> connect_hvsock(const Address &addr, Deadline dl,
			      const std::string &name)
{
	auto r = connect_unix(addr.path, false, dl, name);
	if (!r)
		return r;
	Stream s = std::move(r).value();
	std::string req = "CONNECT " + std::to_string(addr.port) + "\n";
	auto st =
	    s.write_all(std::span(reinterpret_cast<const uint8_t *>(req.data()),
				  req.size()),
			dl);
	if (!st)
		return Status::error(VACCEL_EIO, "connect %s: handshake: %s",
				     name.c_str(), st.message().c_str());
	// Byte by byte: nothing after the newline belongs to the handshake.
	constexpr size_t kMaxLine = 64;
	std::string line;
	for (;;) {
		uint8_t c = 0;
		st = s.read_exact(std::span(&c, 1), dl);
		if (!st)
			return Status::error(
			    VACCEL_EIO, "connect %s: handshake: %s",
			    name.c_str(), st.message().c_str());
		if (c == '\n')
			break;
		if (line.size() >= kMaxLine)
			return Status::error(VACCEL_EIO,
					     "connect %s: handshake reply "
					     "longer than %zu bytes",
					     name.c_str(), kMaxLine);
		line.push_back(static_cast<char>(c));
	}
	if (!line.starts_with("OK "))
		return Status::error(VACCEL_EIO,
				     "connect %s: VMM refused: '%s'",
				     name.c_str(), line.c_str());
	return s;
}

Result<Stream> open_serial(const Address &addr, const std::string &name)
{
	int fd = ::open(addr.path.c_str(),
			O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return Status::error(VACCEL_EIO, "connect %s: open: %s",
				     name.c_str(), errno_text(errno).c_str());
	FdGuard guard(fd);
	struct stat st {
	};
	if (::fstat(fd, &st) != 0)
		return Status::error(VACCEL_EIO, "connect %s: fstat: %s",
				     name.c_str(), errno_text(errno).c_str());
	if (!S_ISCHR(st.st_mode))
		return Status::error(VACCEL_EIO,
				     "connect %s: not a character device",
				     name.c_str());
	// A tty (e.g. a console-backed port) would otherwise echo and
	// translate bytes.
	if (::isatty(fd)) {
		termios t{};
		if (::tcgetattr(fd, &t) != 0)
			return Status::error(
			    VACCEL_EIO, "connect %s: tcgetattr: %s",
			    name.c_str(), errno_text(errno).c_str());
		::cfmakeraw(&t);
		if (::tcsetattr(fd, TCSANOW, &t) != 0)
			return Status::error(
			    VACCEL_EIO, "connect %s: tcsetattr: %s",
			    name.c_str(), errno_text(errno).c_str());
	}
	return Stream(guard.release());
}

} // namespace

Result<Stream> connect(const Address &addr, std::chrono::milliseconds timeout)
{
	Deadline dl = deadline_in(timeout);
	std::string name = to_string(addr);
	switch (addr.kind) {
	case Address::Kind::Unix:
		return connect_unix(addr.path, false, dl, name);
	case Address::Kind::UnixAbstract:
		return connect_unix(addr.path, true, dl, name);
	case Address::Kind::Tcp:
		return connect_tcp(addr, dl, name);
	case Address::Kind::Vsock:
		return connect_vsock(addr, dl, name);
	case Address::Kind::HybridVsock:
		return connect_hvsock(addr, dl, name);
	case Address::Kind::Serial:
		return open_serial(addr, name);
	}
	return Status::error(VACCEL_EINVAL, "connect: unknown address kind");
}

} // namespace vaccel::transport
