// SPDX-License-Identifier: Apache-2.0
// The agent's policy: what each tenant may run and how much it may hold
// (docs/security.md is the reference). It lives on the host only: it comes
// from the operator's policy file (--policy) and command line, never from
// anything a client sends. Every field's default is the safe choice, so an
// agent started without a policy file refuses code execution and URL
// downloads and caps every tenant.
#pragma once

#include "core/status.h"

#include <vaccel/op.h>

#include <bitset>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vaccel::agent
{

// Families of operations a policy allows or refuses as a whole.
enum class OpClass : uint8_t {
	Noop,
	Image,  // classify, detect, segment, pose, depth
	Blas,   // sgemm
	Exec,   // exec, exec_with_resource: runs code on the host
	Torch,  // TorchScript load/run and torch sgemm
	Tf,     // TensorFlow
	Tflite, // TensorFlow Lite
	Fpga,   // the fpga_* ops
	Minmax,
	Opencv,
	Stats, // AgentAdmin/Stats: the agent's counters, all tenants together
	Count,
};
using OpClassSet = std::bitset<static_cast<size_t>(OpClass::Count)>;

std::string_view op_class_name(OpClass c) noexcept;
std::optional<OpClass> op_class_from_name(std::string_view name) noexcept;
OpClass op_class_of(vaccel_op_type_t op) noexcept;

// One entry of the exec allow-list. `library` is an absolute host path
// (VACCEL_OP_EXEC), "sha256:<hex>" naming a shared object a client uploads
// as a LIB resource (VACCEL_OP_EXEC_WITH_RESOURCE), or "*" for both kinds
// (trusted single-tenant hosts only). `symbol` is a function name or "*".
struct ExecRule {
	std::string library;
	std::string symbol;
};

// Downloads of http(s) resources the host performs for a client.
struct UrlPolicy {
	bool enabled = false;
	std::vector<std::string> schemes{"https"};
	// Exact host names (lower case) the host may fetch from; empty: any
	// host whose addresses pass the address check below.
	std::vector<std::string> hosts;
	// Loopback, private, link-local, CGNAT and cloud-metadata addresses
	// are refused unless this is set.
	bool allow_private = false;
	uint64_t max_bytes = uint64_t{256} << 20;
	std::chrono::milliseconds timeout{10000};
	uint32_t max_concurrent = 2; // per tenant
};

struct Quotas {
	uint32_t connections = 128;
	uint32_t sessions = 1024;
	uint32_t resources = 4096;
	uint64_t disk_bytes = uint64_t{8} << 30;     // uploaded resource files
	uint64_t buffered_bytes = uint64_t{1} << 30; // large calls in flight
	uint32_t concurrent_calls = 256;             // queued or running
	// Accelerator memory the tenant's backends may take, per worker
	// process (--isolate-tenants: the worker is started with
	// VACCEL_ACCELERATOR_BYTES, which the plugins enforce); 0: no cap.
	uint64_t accelerator_bytes = 0;
	// Bytes of the tenant's models the host model cache keeps after
	// its sessions end (model_cache.h); 0: none kept.
	uint64_t model_cache_bytes = uint64_t{1} << 30;
};

struct TenantPolicy {
	OpClassSet ops = safe_classes();
	std::vector<ExecRule> exec;
	UrlPolicy url;
	Quotas quotas;

	// What a tenant may run unless the operator says more: every class
	// but those whose input is a program. Exec runs host code; a
	// TorchScript model and a TensorFlow graph are programs too, with
	// built-in ops that read and write files (torch.from_file maps any
	// file the agent can open, writably): they need the operator's
	// consent (and belong in --isolate-tenants workers). Stats shows
	// every tenant's activity.
	static OpClassSet safe_classes() noexcept
	{
		OpClassSet s;
		s.set();
		for (OpClass c : {OpClass::Exec, OpClass::Torch, OpClass::Tf,
				  OpClass::Stats})
			s.reset(static_cast<size_t>(c));
		return s;
	}
	[[nodiscard]] bool allows(OpClass c) const noexcept
	{
		return ops.test(static_cast<size_t>(c));
	}
	// The rule that lets @p library (a host path or "sha256:<hex>") run
	// @p symbol; null when none does.
	[[nodiscard]] const ExecRule *exec_rule(std::string_view library,
						std::string_view symbol) const;
	// Whether some rule names @p library at all (any symbol).
	[[nodiscard]] bool exec_names(std::string_view library) const;
};

// Who may connect to a unix socket, and which tenant a connection is.
struct IdentityPolicy {
	// Peers allowed on unix sockets, by uid, or by gid (primary or
	// supplementary). Both empty: the agent's own uid and root.
	std::vector<uint32_t> allow_uids;
	std::vector<uint32_t> allow_gids;
	// uid -> tenant name; unmapped peers are tenant "uid:<uid>".
	std::map<uint32_t, std::string> uid_tenants;
	// TLS listeners: client certificate subject CN -> tenant name;
	// unmapped clients are tenant "tls:<CN>".
	std::map<std::string, std::string> tls_tenants;
};

struct Policy {
	TenantPolicy defaults;                       // [default]
	std::map<std::string, TenantPolicy> tenants; // [tenant.NAME]
	IdentityPolicy identity;                     // [identity]
	uint32_t max_connections = 1024;             // [agent]
	// [agent]: bytes of all models the host model cache keeps (0: no
	// cache), and the digests of models every tenant shares.
	uint64_t model_cache_bytes = uint64_t{4} << 30;
	std::set<std::string> public_models;
	std::string origin = "built-in defaults";

	// @p name's policy: its own table, else the defaults.
	[[nodiscard]] const TenantPolicy &tenant(std::string_view name) const;
	// The first table ("default" or "tenant.NAME") with an
	// accelerator_bytes cap; empty when none has one.
	[[nodiscard]] std::string accelerator_capped() const;
};

// A uid or gid written in decimal, within 32 bits; false otherwise.
bool parse_id(std::string_view text, uint32_t *out) noexcept;

// Parses a policy file's text; errors name the key and @p origin.
core::Result<Policy> parse_policy(std::string_view text,
				  std::string_view origin);
core::Result<Policy> load_policy(const std::string &path);
// The effective policy as TOML (--check-config), every value spelled out.
std::string describe(const Policy &p);
// One tenant's table the same way (without its header).
std::string describe_tenant_policy(const TenantPolicy &t);
// Parses the keys of a [tenant.NAME] table on top of @p base (an attached
// sandbox's policy, launcher.h).
core::Result<TenantPolicy> parse_tenant_policy(std::string_view text,
					       const TenantPolicy &base,
					       std::string_view origin);

} // namespace vaccel::agent
