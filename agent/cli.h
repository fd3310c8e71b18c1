// SPDX-License-Identifier: Apache-2.0
// Command line of vaccel-agent, modelled on upstream's vaccel-rpc-agent
// (same -a/--server-address and --vaccel-config options, same default
// address) plus our server's knobs.
#pragma once

#include "core/status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vaccel::agent
{

// --vaccel-config "plugins=...,log_level=...,log_file=...,
// profiling_enabled=...,version_ignore=...": the keys given override the
// configuration the library would use (defaults < VACCEL_CONFIG file <
// VACCEL_* environment); keys not given keep that value.
struct ConfigOverrides {
	std::optional<std::string> plugins;
	std::optional<int> log_level;
	std::optional<std::string> log_file;
	std::optional<bool> profiling_enabled;
	std::optional<bool> version_ignore;
};

struct Options {
	std::string address = "tcp://127.0.0.1:65500"; // upstream's default
	std::optional<ConfigOverrides> vaccel_config;
	size_t workers = 0;     // 0: hardware threads, at least 2
	uint32_t max_frame = 0; // 0: transport::kDefaultMaxFrame
	// Largest chunked call (request or reply) after reassembly.
	uint64_t max_message = uint64_t{1} << 30;
	// Bytes all large calls together may hold.
	uint64_t max_buffered = uint64_t{2} << 30;
	bool shm = true;     // offer the shared-memory plane on unix sockets
	bool pin_shm = true; // page-lock regions for CUDA copies (host_pin.h)
	bool extensions = true;  // --no-extensions: answer like upstream
	uint32_t spin_us = 2000; // most idle-worker polling before sleeping
	// Requests of kinds that took less lately run on their connection's
	// reader (ServerOptions::inline_limit); 0: never.
	uint32_t inline_us = 50;
	// Fair progress (server.h, ServerOptions): deadlines in ms (0:
	// none) and the replies one connection may leave unread.
	uint32_t read_timeout_ms = 30000;
	uint32_t idle_timeout_ms = 60000;
	uint32_t write_timeout_ms = 30000;
	uint64_t max_queued_reply = uint64_t{64} << 20;
	// --trace FILE: per-request timings ("-": stderr); empty: none.
	std::string trace;
	// Trust boundary (docs/security.md).
	std::string policy;          // --policy FILE (TOML); empty: defaults
	bool check_config = false;   // --check-config: print policy, exit
	std::string tenant;          // --tenant NAME for every connection
	uint32_t socket_mode = 0600; // --socket-mode OCTAL
	std::string socket_group;    // --socket-group NAME|GID
	bool allow_abstract = false; // --allow-abstract
	bool insecure_tcp = false;   // --insecure-tcp
	std::string audit_log;       // --audit-log FILE; empty: stderr
	std::string admin_socket;    // --admin-socket unix:///path
	// TLS on a tcp:// listener (all three, or none): the agent's
	// certificate and key, and the CA whose client certificates are
	// accepted (each names its tenant).
	std::string tls_cert;      // --tls-cert FILE
	std::string tls_key;       // --tls-key FILE
	std::string tls_client_ca; // --tls-client-ca FILE
	// --tls-handshake-ms: a client that has not finished its handshake
	// by then is dropped.
	uint32_t tls_handshake_ms = 10000;
	// --isolate-tenants: each tenant's ops in a worker process of its
	// own (tenant_workers.h). Off: everything in this process
	// (single-tenant agents).
	bool isolate_tenants = false;
	// --metrics ADDR: the Prometheus endpoint and health probes
	// (metrics_http.h); empty: none. A non-loopback address needs
	// --metrics-allow-remote.
	std::string metrics;
	bool metrics_allow_remote = false;
	// --drain-grace SECONDS: the most a draining agent (SIGTERM,
	// Launcher/Drain) waits for its clients to move before it exits
	// (drain.h); 0: SIGTERM stops at once.
	uint32_t drain_grace_s = 30;
	// Set by the agent when it starts a worker (never by hand): the
	// control socket's descriptor, the tenant, and a launcher's policy
	// for it (worker_process.h); the report it counts calls into
	// (worker_report.h; -1: none).
	int worker_fd = -1;
	// --sandbox-memory-fd FD: the memory file of the VM this agent
	// serves (its ivshmem device; sandbox_memory.h), offered to every
	// connection of the listener. -1: none.
	int sandbox_memory_fd = -1;
	int worker_report_fd = -1;
	std::string worker_tenant;
	std::string worker_tenant_policy;
	// --preload FILES (repeatable): models for the host model cache,
	// each a comma-separated list of its files (preload.h).
	std::vector<std::string> preload;
	// --digest FILES: print the digest of a model's files and exit.
	std::string digest;
	bool help = false;
};

// Parses argv (argv[0] is the program). Errors name the option and value.
core::Result<Options> parse_cli(const std::vector<std::string_view> &args);
// The command line a tenant's worker is started with (tenant_workers.h):
// the agent's own @p args without the TLS files (--tls-cert, --tls-key,
// --tls-client-ca, either spelling): TLS ends in the agent, and a worker
// runs tenants' code, so it must not even know where the key is. Nor
// --sandbox-memory-fd: the memory reaches a worker with each connection.
std::vector<std::string>
worker_command_line(const std::vector<std::string_view> &args);
core::Result<ConfigOverrides> parse_vaccel_config(std::string_view text);

// Restarts the runtime with the library's configuration plus @p o.
core::Status apply_vaccel_config(const ConfigOverrides &o);

std::string usage(std::string_view prog);

} // namespace vaccel::agent
