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

constexpr size_t kMaxFds = 2;

bool send_message(int ctrl, const Message &m, const int *fds,
		  size_t nfds) noexcept
{
	Message copy = m;
	iovec iov{&copy, sizeof(copy)};
	msghdr msg{};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	alignas(cmsghdr) char ctl[CMSG_SPACE(kMaxFds * sizeof(int))] = {};
	if (nfds > 0) {
		msg.msg_control = ctl;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	ssize_t n;
	do {
		n = ::sendmsg(ctrl, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == static_cast<ssize_t>(sizeof(copy));
}

} // namespace

bool send_connection(int ctrl, const Message &m, int fd, int memory_fd) noexcept
{
	const int fds[kMaxFds] = {fd, memory_fd};
	const size_t n = fd < 0 ? 0 : memory_fd < 0 ? 1 : 2;
	return send_message(ctrl, m, fds, n);
}

bool send_closed(int ctrl, uint64_t tag) noexcept
{
	return send_message(ctrl, Message{tag, 0, {}}, nullptr, 0);
}

bool send_drain(int ctrl, uint64_t grace_ms) noexcept
{
	return send_message(ctrl, Message{grace_ms, kDrain, {}}, nullptr, 0);
}

bool send_drained(int ctrl) noexcept
{
	return send_message(ctrl, Message{0, kDrained, {}}, nullptr, 0);
}

int receive(int ctrl, Message *m, transport::UniqueFd *fd,
	    transport::UniqueFd *memory) noexcept
{
	iovec iov{m, sizeof(*m)};
	msghdr msg{};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	alignas(cmsghdr) char ctl[CMSG_SPACE(kMaxFds * sizeof(int))] = {};
	msg.msg_control = ctl;
	msg.msg_controllen = sizeof(ctl);
	ssize_t n;
	do {
		n = ::recvmsg(ctrl, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	// Every descriptor that came is owned (and closed) by someone.
	transport::UniqueFd got[kMaxFds];
	size_t count = 0;
	for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c != nullptr;
	     c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		const size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; ++i) {
			int v = -1;
			std::memcpy(&v, CMSG_DATA(c) + i * sizeof(int),
				    sizeof(int));
			transport::UniqueFd one(v);
			if (count < kMaxFds)
				got[count++] = std::move(one);
			// else: closed here
		}
	}
	if (n != static_cast<ssize_t>(sizeof(*m)) ||
	    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		errno = EPROTO;
		return -1;
	}
	if (count > 0)
		*fd = std::move(got[0]);
	if (count > 1 && memory != nullptr)
		*memory = std::move(got[1]);
	return 1;
}

} // namespace vaccel::agent::worker_channel
