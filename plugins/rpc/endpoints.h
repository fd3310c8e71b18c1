// SPDX-License-Identifier: Apache-2.0
// The agents VACCEL_RPC_ADDRESS names: a comma-separated list of addresses
// of any form transport.h accepts, where a tcp:// host given as a DNS name
// stands for every address it resolves to (a Kubernetes headless Service
// names one address per agent pod). Parsing, resolving and comparing a new
// resolution with the agents already known live here; the pool (pool.h)
// owns the agents themselves.
#pragma once

#include "base/status.h"
#include "transport/transport.h"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vaccel::rpc_plugin
{

using base::Result;
using base::Status;

// One entry of the list, as written.
struct EndpointSpec {
	std::string text; // trimmed
	transport::Address address;
	// A tcp:// host that is a name, not an IP literal: resolved, and each
	// address it resolves to is an agent of its own.
	bool named = false;
};

// Splits @p text at commas (spaces around entries are ignored) and parses
// each entry. An empty entry, an unparsable one or one listed twice is an
// error naming it: a typo must not quietly shrink the pool.
Result<std::vector<EndpointSpec>> parse_endpoints(std::string_view text);

// One agent to connect to.
struct EndpointAddress {
	// For messages: the entry as written, or for a resolved name
	// "tcp://ADDRESS:PORT (NAME)".
	std::string name;
	// Numeric for a resolved name.
	transport::Address address;
	// What its TLS certificate must carry unless VACCEL_RPC_TLS_SERVER_NAME
	// says otherwise: the host as written (the name, for a resolved one).
	std::string tls_name;
	// Identifies the agent across resolutions (the address, numeric).
	std::string key;
};

// Resolves a host name to numeric addresses (getaddrinfo by default; the
// tests pass their own).
using Resolver =
    std::function<Result<std::vector<std::string>>(const std::string &host)>;
Resolver system_resolver();

// The agents @p spec names now: itself, or each address its name resolves
// to (in the resolver's order, duplicates dropped).
Result<std::vector<EndpointAddress>> resolve_spec(const EndpointSpec &spec,
						  const Resolver &resolve);

// How a fresh resolution changes the known agents: which of @p seen are new,
// and, by index into @p known, which known ones it no longer lists and which
// it lists again after having dropped them.
struct EndpointChanges {
	std::vector<EndpointAddress> added;
	std::vector<size_t> dropped;
	std::vector<size_t> back;
};
// @p listed[i]: whether known[i] was in the previous resolution.
EndpointChanges compare_endpoints(const std::vector<std::string> &known_keys,
				  const std::vector<bool> &listed,
				  const std::vector<EndpointAddress> &seen);

} // namespace vaccel::rpc_plugin
