// SPDX-License-Identifier: Apache-2.0
// TLS in the static guest library: replaces src/transport/tls.cpp, whose
// OpenSSL a guest or unikernel can least afford. A guest reaches the agent
// over vsock, hybrid vsock or virtio-serial, where the launcher names its
// tenant; TLS is for guests that can only reach the agent over a network.
#include "transport/tls.h"
#include "transport/tls_session.h"

namespace vaccel::transport
{

namespace
{

Status no_tls()
{
	return Status::error(VACCEL_ENOTSUP,
			     "tls: this static guest build has no TLS "
			     "support (no OpenSSL)");
}

} // namespace

TlsContext::~TlsContext() = default;

Result<std::shared_ptr<const TlsContext>> TlsContext::server(const TlsFiles &)
{
	return no_tls();
}

Result<std::shared_ptr<const TlsContext>> TlsContext::client(const TlsFiles &)
{
	return no_tls();
}

Status tls_accept(Stream &, const TlsContext &, Deadline)
{
	return no_tls();
}

Status tls_connect(Stream &, const TlsContext &, std::string_view, Deadline)
{
	return no_tls();
}

std::string tls_peer_common_name(const Stream &)
{
	return {};
}

// No TlsContext can be made here, so no session either: these are never
// reached.
TlsSession::~TlsSession() = default;

Status TlsSession::handshake(int, Deadline)
{
	return no_tls();
}

Result<size_t> TlsSession::read_some(int, std::span<uint8_t>, Deadline)
{
	return no_tls();
}

Status TlsSession::write_all(int, std::span<const std::span<const uint8_t>>,
			     Deadline)
{
	return no_tls();
}

bool TlsSession::pending() const
{
	return false;
}

} // namespace vaccel::transport
