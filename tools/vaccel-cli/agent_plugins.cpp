// SPDX-License-Identifier: Apache-2.0
// What an agent serves, asked with AgentAdmin/Plugins (docs/protocol.md),
// for `vaccel info --remote`: the local runtime only has the rpc plugin,
// which forwards every op whether or not the agent implements it.
#include "cli.h"

#include "rpc/ext.pb.h"
#include "transport/transport.h"
#include "transport/unary_call.h"

namespace vaccel_cli
{

std::optional<std::vector<RemotePlugin>>
agent_plugins(const std::string &address)
{
	namespace tr = vaccel::transport;
	auto addr = tr::parse_address(address);
	if (!addr)
		die(kExitUsage,
		    "--remote " + address + ": " + addr.status().message());
	auto reply = tr::unary_call(
	    addr.value(), {.service = tr::kServiceAdmin, .method = "Plugins"});
	if (!reply && reply.status().code() == VACCEL_ENOTSUP)
		return std::nullopt; // an upstream (or older) agent
	if (!reply)
		die(kExitSetup,
		    "cannot ask the agent at " + address +
			" what it serves: " + reply.status().message());
	vaccel::rpc::ext::AgentPlugins list;
	if (!list.ParseFromString(reply.value()))
		die(kExitSetup, "the agent at " + address +
				    " sent a malformed plugin list");
	std::vector<RemotePlugin> out;
	for (const auto &p : list.plugins())
		out.push_back({p.name(), p.version(), p.vaccel_version(),
			       p.type(), p.ops_mask()});
	return out;
}

} // namespace vaccel_cli
