// SPDX-License-Identifier: Apache-2.0
// TLS (OpenSSL) under a transport::Stream: after tls_accept() or
// tls_connect() succeeds, the stream's reads and writes go through TLS and
// everything above it (framing, the agent, the rpc plugin) is unchanged.
// Only TCP streams carry TLS; a TLS stream never carries descriptors.
//
// Both sides require TLS 1.2 or later and verify each other: the agent
// requires a client certificate issued by its client CA (mutual TLS; the
// certificate's subject names the tenant), the client verifies the agent's
// certificate against its CA and the name it connected to.
#pragma once

#include "transport/transport.h"

#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st; // OpenSSL's SSL_CTX, kept out of this header

namespace vaccel::transport
{

// PEM files. cert may hold a chain (leaf first).
struct TlsFiles {
	std::string cert;
	std::string key;
	std::string ca;
};

// Certificates, key and verification settings, shared by every connection
// of a listener or client. Immutable once made; safe to use from any
// thread.
class TlsContext
{
public:
	// The agent's side: @p f.cert, .key and .ca are all required; clients
	// without a certificate issued by .ca are refused.
	static Result<std::shared_ptr<const TlsContext>>
	server(const TlsFiles &f);
	// The client's side: .ca verifies the agent (empty: the system's
	// trust store); .cert and .key are given together or not at all.
	static Result<std::shared_ptr<const TlsContext>>
	client(const TlsFiles &f);

	explicit TlsContext(ssl_ctx_st *ctx) noexcept : ctx_(ctx) {}
	TlsContext(const TlsContext &) = delete;
	TlsContext &operator=(const TlsContext &) = delete;
	~TlsContext();

	[[nodiscard]] ssl_ctx_st *native() const noexcept { return ctx_; }

private:
	ssl_ctx_st *ctx_;
};

// Runs the server side of the handshake on @p s (a connected TCP stream)
// until @p dl. On success @p s speaks TLS from then on; on failure the
// caller closes it (the message says why: no certificate, unknown CA, ...).
Status tls_accept(Stream &s, const TlsContext &ctx, Deadline dl);
// The client side; @p server_name is what the agent's certificate must
// name (a DNS name, or an IP address matched against its IP SANs).
Status tls_connect(Stream &s, const TlsContext &ctx,
		   std::string_view server_name, Deadline dl);
// The subject common name of the peer's verified certificate; empty when
// @p s has no TLS or the peer sent none.
std::string tls_peer_common_name(const Stream &s);

} // namespace vaccel::transport
