// SPDX-License-Identifier: Apache-2.0
#include "identity.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace vaccel::agent
{

namespace
{

using core::Result;
using core::Status;

// The peer's supplementary groups (Linux >= 4.13); empty when unknown.
std::vector<gid_t> peer_groups(int fd)
{
	std::vector<gid_t> groups(64);
	for (int tries = 0; tries < 4; ++tries) {
		auto len =
		    static_cast<socklen_t>(groups.size() * sizeof(gid_t));
		if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(),
				 &len) == 0) {
			groups.resize(len / sizeof(gid_t));
			return groups;
		}
		if (errno != ERANGE)
			return {};
		groups.resize(len / sizeof(gid_t) + 1);
	}
	return {};
}

template <class T> bool contains(const std::vector<T> &v, uint32_t x)
{
	return std::find(v.begin(), v.end(), x) != v.end();
}

bool allowed(int fd, const ucred &cred, const IdentityPolicy &policy)
{
	if (policy.allow_uids.empty() && policy.allow_gids.empty())
		return cred.uid == ::geteuid() || cred.uid == 0;
	if (contains(policy.allow_uids, cred.uid))
		return true;
	if (policy.allow_gids.empty())
		return false;
	if (contains(policy.allow_gids, cred.gid))
		return true;
	const auto groups = peer_groups(fd);
	return std::any_of(groups.begin(), groups.end(), [&](gid_t g) {
		return contains(policy.allow_gids, g);
	});
}

// Printable ASCII, as X.509 allows 64 characters of.
bool usable_name(const std::string &cn)
{
	constexpr size_t kMaxCommonName = 64; // ub-common-name, RFC 5280
	return !cn.empty() && cn.size() <= kMaxCommonName &&
	       std::all_of(cn.begin(), cn.end(),
			   [](char c) { return c >= 0x20 && c < 0x7f; });
}

} // namespace

Result<std::string> identify_tls(const std::string &common_name,
				 const IdentityPolicy &policy)
{
	if (!usable_name(common_name))
		return Status::error(VACCEL_EPERM,
				     "client certificate has no usable subject "
				     "common name (exactly one, printable "
				     "ASCII, at most 64 characters)");
	auto it = policy.tls_tenants.find(common_name);
	if (it != policy.tls_tenants.end())
		return it->second;
	return "tls:" + common_name;
}

Result<std::string> identify(int fd, const transport::Address &listener,
			     const IdentityPolicy &policy,
			     const std::string &listener_tenant)
{
	using K = transport::Address::Kind;
	switch (listener.kind) {
	case K::Unix:
	case K::UnixAbstract:
	case K::HybridVsock: {
		// A hybrid-vsock listener is a unix socket the VMM connects
		// to: its peer is the VMM, checked like any local peer.
		ucred cred{};
		socklen_t len = sizeof(cred);
		if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
			return Status::error(VACCEL_EPERM,
					     "peer credentials unavailable: %s",
					     std::strerror(errno));
		if (!allowed(fd, cred, policy))
			return Status::error(
			    VACCEL_EPERM,
			    "uid %u gid %u (pid %d) is not allowed "
			    "(policy rule identity.allow_uids/allow_gids)",
			    cred.uid, cred.gid, static_cast<int>(cred.pid));
		if (!listener_tenant.empty())
			return listener_tenant;
		auto it = policy.uid_tenants.find(cred.uid);
		if (it != policy.uid_tenants.end())
			return it->second;
		return "uid:" + std::to_string(cred.uid);
	}
	case K::Tcp:
		return listener_tenant.empty() ? std::string("tcp")
					       : listener_tenant;
	case K::Vsock:
		return listener_tenant.empty() ? std::string("vsock")
					       : listener_tenant;
	default:
		return listener_tenant.empty() ? std::string("local")
					       : listener_tenant;
	}
}

} // namespace vaccel::agent
