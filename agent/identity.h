// SPDX-License-Identifier: Apache-2.0
// Who a new connection is: the tenant it acts for, from what the transport
// proves. Unix sockets carry the peer's credentials (SO_PEERCRED, checked
// against IdentityPolicy); TCP, vsock and hybrid vsock carry none, so a
// connection there is the tenant the operator configured for the listener
// (--tenant), or one named after the transport, which gets the policy's
// defaults. The client has no say in either. A TLS listener is the
// exception: there the client's certificate, verified against the
// operator's client CA, names its tenant.
#pragma once

#include "policy.h"

#include "core/status.h"
#include "transport/transport.h"

#include <string>

namespace vaccel::agent
{

// The tenant of the connection on @p fd, accepted on @p listener. An error
// (VACCEL_EPERM, saying why) when the peer may not connect at all.
core::Result<std::string> identify(int fd, const transport::Address &listener,
				   const IdentityPolicy &policy,
				   const std::string &listener_tenant);

// The tenant of a TLS client whose verified certificate's subject common
// name is @p common_name: the policy's identity.tls_tenants entry for it,
// else "tls:<common name>". VACCEL_EPERM when the certificate has no usable
// name (none, several, or one with control or non-ASCII characters, which
// would make log and audit lines ambiguous).
core::Result<std::string> identify_tls(const std::string &common_name,
				       const IdentityPolicy &policy);

} // namespace vaccel::agent
