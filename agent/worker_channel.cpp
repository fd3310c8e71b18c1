// SPDX-License-Identifier: Apache-2.0
#include "worker_channel.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace vaccel::agent::worker_channel
{

namespace
{

bool send_message(int ctrl, Message m, int fd) noexcept
{
	iovec iov{&m, sizeof(m)};
	msghdr msg{};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
	if (fd >= 0) {
		msg.msg_control = ctl;
		msg.msg_controllen = sizeof(ctl);
		cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	do {
		n = ::sendmsg(ctrl, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == static_cast<ssize_t>(sizeof(m));
}

} // namespace

bool send_connection(int ctrl, Message m, int fd) noexcept
{
	return send_message(ctrl, m, fd);
}

bool send_closed(int ctrl, uint64_t tag) noexcept
{
	return send_message(ctrl, Message{tag, 0}, -1);
}

bool send_drain(int ctrl, uint64_t grace_ms) noexcept
{
	return send_message(ctrl, Message{grace_ms, kDrain}, -1);
}

bool send_drained(int ctrl) noexcept
{
	return send_message(ctrl, Message{0, kDrained}, -1);
}

int receive(int ctrl, Message *m, transport::UniqueFd *fd) noexcept
{
	iovec iov{m, sizeof(*m)};
	msghdr msg{};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
	msg.msg_control = ctl;
	msg.msg_controllen = sizeof(ctl);
	ssize_t n;
	do {
		n = ::recvmsg(ctrl, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c != nullptr;
	     c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int got = -1;
		std::memcpy(&got, CMSG_DATA(c), sizeof(int));
		*fd = transport::UniqueFd(got);
	}
	if (n != static_cast<ssize_t>(sizeof(*m)) ||
	    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		errno = EPROTO;
		return -1;
	}
	return 1;
}

} // namespace vaccel::agent::worker_channel
