// SPDX-License-Identifier: Apache-2.0
// A tiny HTTP/1.0 server on 127.0.0.1 for URL resource tests. One thread
// accepts connections and answers each per the mode: a fixed body, a 404,
// or nothing at all (the connection is held open until the server stops).
#pragma once

#include <arpa/inet.h>
#include <atomic>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace vaccel_test
{

class HttpServer
{
public:
	enum class Mode { Ok, NotFound, Hang };

	HttpServer(Mode mode, std::string body = {})
	    : mode_(mode), body_(std::move(body))
	{
		fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd_ < 0)
			throw std::runtime_error("socket failed");
		int one = 1;
		::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sockaddr_in addr{};
		addr.sin_family = AF_INET;
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		addr.sin_port = 0;
		if (::bind(fd_, reinterpret_cast<sockaddr *>(&addr),
			   sizeof(addr)) != 0 ||
		    ::listen(fd_, 16) != 0) {
			::close(fd_);
			throw std::runtime_error("bind/listen failed");
		}
		socklen_t len = sizeof(addr);
		::getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &len);
		port_ = ntohs(addr.sin_port);
		thread_ = std::thread([this] { serve(); });
	}
	HttpServer(const HttpServer &) = delete;
	HttpServer &operator=(const HttpServer &) = delete;
	~HttpServer()
	{
		stop_.store(true);
		thread_.join();
		for (int c : held_)
			::close(c);
		::close(fd_);
	}

	[[nodiscard]] std::string url(const std::string &path) const
	{
		return "http://127.0.0.1:" + std::to_string(port_) + path;
	}
	[[nodiscard]] int requests() const { return requests_.load(); }
	[[nodiscard]] int port() const { return port_; }

private:
	void serve()
	{
		while (!stop_.load()) {
			pollfd p{fd_, POLLIN, 0};
			if (::poll(&p, 1, 50) <= 0)
				continue;
			int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			requests_.fetch_add(1);
			if (mode_ == Mode::Hang) {
				held_.push_back(
				    c); // only this thread until join
				continue;
			}
			read_request(c);
			std::string resp;
			if (mode_ == Mode::Ok)
				resp = "HTTP/1.0 200 OK\r\nContent-Type: "
				       "application/octet-stream\r\n"
				       "Content-Length: " +
				       std::to_string(body_.size()) +
				       "\r\nConnection: close\r\n\r\n" + body_;
			else
				resp = "HTTP/1.0 404 Not Found\r\n"
				       "Content-Length: 9\r\n"
				       "Connection: close\r\n\r\nnot found";
			send_all(c, resp);
			::shutdown(c, SHUT_WR);
			::close(c);
		}
	}

	static void read_request(int c)
	{
		std::string req;
		char buf[1024];
		while (req.find("\r\n\r\n") == std::string::npos) {
			pollfd p{c, POLLIN, 0};
			if (::poll(&p, 1, 2000) <= 0)
				return;
			ssize_t n = ::recv(c, buf, sizeof(buf), 0);
			if (n <= 0)
				return;
			req.append(buf, static_cast<size_t>(n));
		}
	}

	static void send_all(int c, const std::string &s)
	{
		size_t off = 0;
		while (off < s.size()) {
			ssize_t n = ::send(c, s.data() + off, s.size() - off,
					   MSG_NOSIGNAL);
			if (n <= 0)
				return;
			off += static_cast<size_t>(n);
		}
	}

	Mode mode_;
	std::string body_;
	int fd_ = -1;
	int port_ = 0;
	std::atomic<bool> stop_{false};
	std::atomic<int> requests_{0};
	std::vector<int> held_;
	std::thread thread_;
};

} // namespace vaccel_test
