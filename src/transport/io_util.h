// SPDX-License-Identifier: Apache-2.0
// Private helpers shared by the transport sources: errno messages, fd
// ownership and waiting on an fd until a deadline.
#pragma once

#include "transport/transport.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace vaccel::transport::detail
{

inline std::string errno_text(int err)
{
	return std::strerror(err);
}

// Closes an fd on scope exit unless released.
class FdGuard
{
public:
	explicit FdGuard(int fd) noexcept : fd_(fd) {}
	FdGuard(const FdGuard &) = delete;
	FdGuard &operator=(const FdGuard &) = delete;
	~FdGuard();
	[[nodiscard]] int get() const noexcept { return fd_; }
	int release() noexcept { return std::exchange(fd_, -1); }

private:
	int fd_;
};

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT) or the deadline
// passes. OK when ready (or on POLLHUP/POLLERR: the next I/O call reports
// the real error); VACCEL_EIO with Cause::TimedOut on expiry. `what` names the
// operation in messages.
Status wait_fd(int fd, short events, Deadline dl, const char *what);

// One attempt each, never blocking (MSG_DONTWAIT on sockets); read()
// instead once @p not_socket says the fd is a character device.
// read_fds() appends descriptors passed with the bytes to @p fds and
// reports a truncated control message as EPROTO.
// @p wait: a blocking receive instead (a socket in blocking mode only).
ssize_t read_some(int fd, void *buf, size_t len, bool &not_socket,
		  bool wait = false);
ssize_t read_fds(int fd, void *buf, size_t len, std::vector<UniqueFd> &fds,
		 bool &not_socket, bool wait = false);
bool would_block(int err);
// EOF after @p got of @p want bytes: Cause::PeerClosed when got is 0.
Status peer_closed(size_t got, size_t want);
// After a read that moved no bytes (@p n <= 0): the error that ends it, or
// OK to read again (interrupted, or readable again before @p dl).
Status after_empty_read(int fd, ssize_t n, size_t got, size_t want,
			Deadline dl);

} // namespace vaccel::transport::detail
