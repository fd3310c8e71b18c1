// SPDX-License-Identifier: Apache-2.0
// Socket helpers shared by the remote benchmarks: the raw baselines they
// measure against (echo peers over unix or tcp sockets) and locating the
// agent and plugins next to the benchmark binary.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace bench_net
{

inline std::string self_dir()
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return ".";
	buf[n] = '\0';
	std::string p(buf);
	return p.substr(0, p.rfind('/'));
}

inline int listen_on(bool tcp, const std::string &path, int port)
{
	int fd;
	if (tcp) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_port = htons(static_cast<uint16_t>(port));
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0)
			return -1;
	} else {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_un a{};
		a.sun_family = AF_UNIX;
		std::snprintf(a.sun_path, sizeof(a.sun_path), "%s",
			      path.c_str());
		unlink(path.c_str());
		if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0)
			return -1;
	}
	listen(fd, 128);
	return fd;
}

inline int connect_to(bool tcp, const std::string &path, int port)
{
	for (int i = 0; i < 100; ++i) {
		int fd;
		int rc;
		if (tcp) {
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			sockaddr_in a{};
			a.sin_family = AF_INET;
			a.sin_port = htons(static_cast<uint16_t>(port));
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			rc = connect(fd, reinterpret_cast<sockaddr *>(&a),
				     sizeof(a));
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		} else {
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			sockaddr_un a{};
			a.sun_family = AF_UNIX;
			std::snprintf(a.sun_path, sizeof(a.sun_path), "%s",
				      path.c_str());
			rc = connect(fd, reinterpret_cast<sockaddr *>(&a),
				     sizeof(a));
		}
		if (rc == 0)
			return fd;
		close(fd);
		usleep(20000);
	}
	return -1;
}

inline bool io_all(int fd, char *buf, size_t n, bool rd)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = rd ? read(fd, buf + done, n - done)
			       : write(fd, buf + done, n - done);
		if (r <= 0)
			return false;
		done += static_cast<size_t>(r);
	}
	return true;
}

} // namespace bench_net
