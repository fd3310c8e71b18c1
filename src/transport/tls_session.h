// SPDX-License-Identifier: Apache-2.0
// One TLS connection under a Stream (private to the transport library).
// Defined in tls.cpp; the static guest build, which has no OpenSSL, links
// guest/static/no_tls.cpp instead, so nothing here names OpenSSL's types.
#pragma once

#include "transport/transport.h"

#include <mutex>
#include <span>

struct ssl_st; // OpenSSL's SSL

namespace vaccel::transport
{

// An SSL object over the stream's non-blocking socket. An SSL object is not
// thread-safe, and a connection is read by one thread while others write
// replies, so every SSL call holds mu_. Waiting for the socket does not:
// a reader waiting on a silent peer must not hold up a writer.
class TlsSession
{
public:
	explicit TlsSession(ssl_st *ssl) noexcept : ssl_(ssl) {}
	TlsSession(const TlsSession &) = delete;
	TlsSession &operator=(const TlsSession &) = delete;
	~TlsSession();

	Status handshake(int fd, Deadline dl);
	// Some bytes (at least one), or 0 when the peer closed.
	Result<size_t> read_some(int fd, std::span<uint8_t> data, Deadline dl);
	Status write_all(int fd,
			 std::span<const std::span<const uint8_t>> parts,
			 Deadline dl);
	// Whether bytes already read off the socket wait inside OpenSSL.
	[[nodiscard]] bool pending() const;
	[[nodiscard]] ssl_st *ssl() const noexcept { return ssl_; }

private:
	// Runs @p op (an SSL_*_ex-style call: 1 on success, the bytes moved
	// in *n) under the lock until it succeeds, polling @p fd for what
	// OpenSSL waits for, until @p dl. *@p closed: the peer closed.
	template <class Op>
	Status run(int fd, Deadline dl, const char *what, Op op, size_t *n,
		   bool *closed);
	Status write_one(int fd, std::span<const uint8_t> data, Deadline dl);

	mutable std::mutex mu_;
	ssl_st *ssl_;
};

} // namespace vaccel::transport
