// SPDX-License-Identifier: Apache-2.0
// Listening sockets: unix (pathname and abstract), TCP, vsock, and the
// unix socket a hybrid-vsock VMM forwards guest connections to.
#include "io_util.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>

namespace vaccel::transport
{

using detail::errno_text;
using detail::FdGuard;

Listener::Listener(Listener &&o) noexcept
    : fd_(std::exchange(o.fd_, -1)), addr_(std::move(o.addr_)),
      unlink_path_(std::move(o.unlink_path_))
{
	o.unlink_path_.clear();
}

Listener &Listener::operator=(Listener &&o) noexcept
{
	if (this != &o) {
		close();
		fd_ = std::exchange(o.fd_, -1);
		addr_ = std::move(o.addr_);
		unlink_path_ = std::move(o.unlink_path_);
		o.unlink_path_.clear();
	}
	return *this;
}

Listener::~Listener()
{
	close();
}

void Listener::shutdown() noexcept
{
	if (fd_ >= 0)
		::shutdown(fd_, SHUT_RDWR);
}

void Listener::close() noexcept
{
	if (fd_ >= 0)
		::close(std::exchange(fd_, -1));
	if (!unlink_path_.empty()) {
		::unlink(unlink_path_.c_str());
		unlink_path_.clear();
	}
}

UniqueFd Listener::release() noexcept
{
	unlink_path_.clear();
	return UniqueFd(std::exchange(fd_, -1));
}

Result<Stream> Listener::accept()
{
	if (fd_ < 0)
		return Status::error(VACCEL_EIO, "accept: listener is closed");
	for (;;) {
		int fd = ::accept4(fd_, nullptr, nullptr,
				   SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			if (addr_.kind == Address::Kind::Tcp) {
				int one = 1;
				// Best effort: a failure only costs latency.
				::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					     sizeof(one));
			}
			return Stream(fd);
		}
		int err = errno;
		// A connection reset before we took it is not our failure.
		if (err == EINTR || err == ECONNABORTED)
			continue;
		if (err == EAGAIN || err == EWOULDBLOCK)
			return Status::error(VACCEL_EAGAIN,
					     "accept: no pending connection");
		return Status::error(VACCEL_EIO, "accept on %s: %s",
				     to_string(addr_).c_str(),
				     errno_text(err).c_str());
	}
}

Result<Listener> Listener::adopt(UniqueFd fd, const Address &addr)
{
	int listening = 0, type = 0;
	socklen_t len = sizeof(listening);
	socklen_t tlen = sizeof(type);
	if (::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening,
			 &len) != 0 ||
	    ::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 ||
	    listening == 0 || type != SOCK_STREAM)
		return Status::error(VACCEL_EINVAL,
				     "the descriptor handed over is not a "
				     "listening stream socket");
	Listener l;
	l.fd_ = fd.release();
	l.addr_ = addr;
	return l;
}

namespace
{

Status listen_on(int fd, const sockaddr *sa, socklen_t len, int backlog,
		 const std::string &name)
{
	if (::bind(fd, sa, len) != 0)
		return Status::error(VACCEL_EIO, "bind %s: %s", name.c_str(),
				     errno_text(errno).c_str());
	if (::listen(fd, backlog) != 0)
		return Status::error(VACCEL_EIO, "listen %s: %s", name.c_str(),
				     errno_text(errno).c_str());
	return Status::ok();
}

Result<int> new_socket(int family, const std::string &name)
{
	int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return Status::error(VACCEL_EIO, "bind %s: socket: %s",
				     name.c_str(), errno_text(errno).c_str());
	return fd;
}

// A socket file left behind by a dead listener may be replaced; a live
// listener or anything that is not a socket may not.
Status clear_stale_socket(const std::string &path, const std::string &name)
{
	struct stat st {
	};
	if (::lstat(path.c_str(), &st) != 0) {
		if (errno == ENOENT)
			return Status::ok();
		return Status::error(VACCEL_EIO, "bind %s: stat: %s",
				     name.c_str(), errno_text(errno).c_str());
	}
	if (!S_ISSOCK(st.st_mode))
		return Status::error(VACCEL_EEXIST,
				     "bind %s: path exists and is not a socket",
				     name.c_str());
	auto live = connect(Address{Address::Kind::Unix, path, {}, 0, 0},
			    std::chrono::milliseconds(200));
	if (live)
		return Status::error(VACCEL_EBUSY,
				     "bind %s: another process is listening",
				     name.c_str());
	if (::unlink(path.c_str()) != 0 && errno != ENOENT)
		return Status::error(VACCEL_EIO,
				     "bind %s: unlink stale socket: %s",
				     name.c_str(), errno_text(errno).c_str());
	return Status::ok();
}

Status bind_unix(int fd, const std::string &path, bool abstract, int backlog,
		 const std::string &name)
{
	sockaddr_un sun{};
	sun.sun_family = AF_UNIX;
	size_t off = abstract ? 1 : 0;
	if (path.size() + off >= sizeof(sun.sun_path))
		return Status::error(VACCEL_EINVAL, "bind %s: path too long",
				     name.c_str());
	path.copy(sun.sun_path + off, path.size());
	auto len =
	    static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + off +
				   path.size() + (abstract ? 0 : 1));
	return listen_on(fd, reinterpret_cast<sockaddr *>(&sun), len, backlog,
			 name);
}

// The socket inode's mode before bind() becomes the file's (less the
// umask), so the file is never looser than @p perms; chmod then sets it
// exactly (the umask may have taken bits the operator asked for).
Status bind_unix_file(int fd, const std::string &path, int backlog,
		      const UnixPerms &perms, const std::string &name)
{
	const mode_t mode = perms.mode & 0777;
	if (::fchmod(fd, mode) != 0)
		return Status::error(VACCEL_EIO, "bind %s: fchmod: %s",
				     name.c_str(), errno_text(errno).c_str());
	VACCEL_RETURN_IF_ERROR(bind_unix(fd, path, false, backlog, name));
	Status st;
	if (perms.gid >= 0 && ::lchown(path.c_str(), static_cast<uid_t>(-1),
				       static_cast<gid_t>(perms.gid)) != 0)
		st = Status::error(VACCEL_EIO, "bind %s: chown to gid %lld: %s",
				   name.c_str(),
				   static_cast<long long>(perms.gid),
				   errno_text(errno).c_str());
	else if (::chmod(path.c_str(), mode) != 0)
		st = Status::error(VACCEL_EIO, "bind %s: chmod %o: %s",
				   name.c_str(), static_cast<unsigned>(mode),
				   errno_text(errno).c_str());
	if (!st)
		::unlink(path.c_str()); // bound by us a moment ago
	return st;
}

} // namespace

Result<Listener> Listener::bind(const Address &addr, int backlog,
				const UnixPerms &perms)
{
	Listener l;
	l.addr_ = addr;
	std::string name = to_string(addr);
	switch (addr.kind) {
	case Address::Kind::Unix:
	case Address::Kind::HybridVsock: {
		// The VMM forwards guest port P to <path>_<P>.
		std::string path =
		    addr.kind == Address::Kind::Unix
			? addr.path
			: addr.path + "_" + std::to_string(addr.port);
		VACCEL_RETURN_IF_ERROR(clear_stale_socket(path, name));
		auto fd = new_socket(AF_UNIX, name);
		if (!fd)
			return fd.status();
		l.fd_ = *fd;
		VACCEL_RETURN_IF_ERROR(
		    bind_unix_file(l.fd_, path, backlog, perms, name));
		l.unlink_path_ = path;
		return l;
	}
	case Address::Kind::UnixAbstract: {
		auto fd = new_socket(AF_UNIX, name);
		if (!fd)
			return fd.status();
		l.fd_ = *fd;
		VACCEL_RETURN_IF_ERROR(
		    bind_unix(l.fd_, addr.path, true, backlog, name));
		return l;
	}
	case Address::Kind::Tcp: {
		addrinfo hints{};
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		addrinfo *res = nullptr;
		std::string port = std::to_string(addr.port);
		int rc = ::getaddrinfo(addr.host.c_str(), port.c_str(), &hints,
				       &res);
		if (rc != 0)
			return Status::error(VACCEL_EIO,
					     "bind %s: resolve '%s': %s",
					     name.c_str(), addr.host.c_str(),
					     ::gai_strerror(rc));
		// The first address that binds wins (localhost may yield
		// both families).
		Status last = Status::error(VACCEL_EIO, "bind %s: no address",
					    name.c_str());
		for (addrinfo *ai = res; ai != nullptr; ai = ai->ai_next) {
			auto fd = new_socket(ai->ai_family, name);
			if (!fd) {
				last = fd.status();
				continue;
			}
			FdGuard guard(*fd);
			int one = 1;
			::setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one,
				     sizeof(one));
			last = listen_on(*fd, ai->ai_addr, ai->ai_addrlen,
					 backlog, name);
			if (last) {
				l.fd_ = guard.release();
				break;
			}
		}
		::freeaddrinfo(res);
		if (!last)
			return last;
		// Port 0: report the port the kernel chose.
		sockaddr_storage ss{};
		socklen_t sl = sizeof(ss);
		if (::getsockname(l.fd_, reinterpret_cast<sockaddr *>(&ss),
				  &sl) == 0) {
			if (ss.ss_family == AF_INET)
				l.addr_.port =
				    ntohs(reinterpret_cast<sockaddr_in *>(&ss)
					      ->sin_port);
			else if (ss.ss_family == AF_INET6)
				l.addr_.port =
				    ntohs(reinterpret_cast<sockaddr_in6 *>(&ss)
					      ->sin6_port);
		}
		return l;
	}
	case Address::Kind::Vsock: {
		auto fd = new_socket(AF_VSOCK, name);
		if (!fd)
			return fd.status();
		l.fd_ = *fd;
		sockaddr_vm svm{};
		svm.svm_family = AF_VSOCK;
		svm.svm_cid = addr.cid;
		svm.svm_port = addr.port;
		VACCEL_RETURN_IF_ERROR(
		    listen_on(l.fd_, reinterpret_cast<sockaddr *>(&svm),
			      sizeof(svm), backlog, name));
		socklen_t sl = sizeof(svm);
		if (::getsockname(l.fd_, reinterpret_cast<sockaddr *>(&svm),
				  &sl) == 0)
			l.addr_.port = svm.svm_port;
		return l;
	}
	case Address::Kind::Serial:
		return Status::error(VACCEL_ENOTSUP,
				     "bind %s: a serial device cannot listen "
				     "(open it with connect())",
				     name.c_str());
	}
	return Status::error(VACCEL_EINVAL, "bind: unknown address kind");
}

} // namespace vaccel::transport
