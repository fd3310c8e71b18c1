// SPDX-License-Identifier: Apache-2.0
#include "accept_set.h"

#include "server.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace vaccel::agent
{

namespace
{

// An event's data: the server, with the low bit set for its wake
// descriptor (servers are aligned, so the bit is free).
uint64_t tag(Server *s, bool wake)
{
	return reinterpret_cast<uintptr_t>(s) | (wake ? 1U : 0U);
}

core::Status watch(int epoll_fd, int fd, uint64_t data)
{
	epoll_event ev{};
	ev.events = EPOLLIN;
	ev.data.u64 = data;
	if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return core::Status::error(VACCEL_EIO, "epoll_ctl: %s",
					   std::strerror(errno));
	return core::Status::ok();
}

} // namespace

AcceptSet::~AcceptSet()
{
	if (thread_.joinable()) {
		const uint64_t one = 1;
		[[maybe_unused]] ssize_t n =
		    ::write(stop_fd_, &one, sizeof(one));
		thread_.join();
	}
	if (epoll_fd_ >= 0)
		::close(epoll_fd_);
	if (stop_fd_ >= 0)
		::close(stop_fd_);
}

core::Status AcceptSet::start_locked()
{
	epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
	stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epoll_fd_ < 0 || stop_fd_ < 0)
		return core::Status::error(VACCEL_EIO, "epoll/eventfd: %s",
					   std::strerror(errno));
	VACCEL_RETURN_IF_ERROR(watch(epoll_fd_, stop_fd_, 0));
	try {
		thread_ = std::thread([this] { loop(); });
	} catch (const std::system_error &e) {
		return core::Status::error(VACCEL_ENOMEM,
					   "cannot start the accept thread: %s",
					   e.what());
	}
	return core::Status::ok();
}

core::Status AcceptSet::add(Server &s)
{
	std::lock_guard lock(mu_);
	if (!thread_.joinable())
		VACCEL_RETURN_IF_ERROR(start_locked());
	VACCEL_RETURN_IF_ERROR(watch(epoll_fd_, s.listen_fd(), tag(&s, false)));
	if (auto st = watch(epoll_fd_, s.wake_fd(), tag(&s, true)); !st) {
		::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.listen_fd(), nullptr);
		return st;
	}
	servers_.insert(&s);
	return core::Status::ok();
}

void AcceptSet::remove(Server &s)
{
	std::lock_guard lock(mu_);
	if (servers_.erase(&s) == 0)
		return;
	::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.listen_fd(), nullptr);
	::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.wake_fd(), nullptr);
}

void AcceptSet::loop()
{
	epoll_event events[32];
	for (;;) {
		const int n = ::epoll_wait(epoll_fd_, events, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; // the descriptor is gone: nothing left to do
		}
		std::lock_guard lock(mu_);
		for (int i = 0; i < n; ++i) {
			const uint64_t data = events[i].data.u64;
			if (data == 0)
				return; // the destructor's
			auto *s =
			    reinterpret_cast<Server *>(data & ~uint64_t{1});
			// An event fetched before its server was removed.
			if (servers_.count(s) == 0)
				continue;
			if ((data & 1) != 0)
				s->reap_finished();
			else
				s->accept_ready();
		}
	}
}

} // namespace vaccel::agent
