// SPDX-License-Identifier: Apache-2.0
// Private helpers shared by the transport sources: errno messages, fd
// ownership and waiting on an fd until a deadline.
#pragma once

#include "transport/transport.h"

#include <cerrno>
#include <cstring>
#include <string>

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

} // namespace vaccel::transport::detail
