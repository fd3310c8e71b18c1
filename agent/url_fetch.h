// SPDX-License-Identifier: Apache-2.0
// Downloads of URL resources on a tenant's behalf, under its UrlPolicy
// (policy.h): allowed schemes and hosts, every address checked when the
// connection is made (after DNS, so a name that resolves to an internal
// address is refused too), no redirects, a size cap and a timeout. Errors
// say what the policy refused or that the download failed, never what the
// host's network looks like (no resolver or connection details).
#pragma once

#include "policy.h"
#include "rpc_status.h"

#include <sys/socket.h>

#include <string>

namespace vaccel::agent
{

// Whether @p addr may be reached under @p allow_private: loopback,
// unspecified, private (RFC 1918, ULA), link-local (cloud metadata lives
// there), CGNAT, multicast and reserved ranges are internal.
bool address_allowed(const sockaddr *addr, bool allow_private) noexcept;

// Checks @p url against @p policy (scheme, host) without fetching.
// @p rule names the policy table for the error.
RpcStatus check_url(const UrlPolicy &policy, const std::string &url,
		    const std::string &rule);

// Fetches @p url into the new file @p dest (created 0600, never followed
// through a symlink). The caller has checked it with check_url().
RpcStatus fetch_url(const UrlPolicy &policy, const std::string &url,
		    const std::string &dest, const std::string &rule);

} // namespace vaccel::agent
