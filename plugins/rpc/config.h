// SPDX-License-Identifier: Apache-2.0
// Settings of the rpc plugin, read once from the environment at init.
//
//   VACCEL_RPC_ADDRESS (alias VACCEL_RPC_ADDR)  agent address, any form of
//       transport.h: unix:///path, unix://@name, tcp://host:port,
//       vsock://cid:port, hvsock:///path:port,
//       virtio-serial:///dev/virtio-ports/NAME.
//       Default tcp://127.0.0.1:65500 (upstream's default). Several
//       addresses, comma-separated, make a pool of agents (endpoints.h),
//       as does a tcp:// host name that resolves to several addresses.
//   VACCEL_RPC_PLACEMENT           where new sessions go in a pool:
//       least-loaded (default) or round-robin (placement.h).
//   VACCEL_RPC_RESOLVE_MS          how often host names of the list are
//       resolved again, in ms, looked at when a session is placed;
//       default 5000; 0 resolves them once.
//   VACCEL_RPC_LOAD_MS             how often, at most, placement asks idle
//       agents of a pool for their load, in ms; default 1000; 0 never
//       (this process's own calls in flight only).
//   VACCEL_RPC_BACKOFF_MS, VACCEL_RPC_BACKOFF_MAX_MS  a pool's agent that
//       failed (refused or timed-out connection, dropped connection) is
//       left alone for the first, doubled with each failure in a row up to
//       the second; defaults 100 and 10000. An agent that is the only one
//       left is tried anyway.
//   VACCEL_RPC_TIMEOUT_MS          longest wait for one call's reply;
//       0 waits forever. Default 300000 (5 minutes).
//   VACCEL_RPC_CONNECT_TIMEOUT_MS  longest wait for a connection; default
//       5000. 0 means the default (a connect must never hang).
//   VACCEL_RPC_MAX_FRAME           largest frame sent or accepted, in bytes,
//       1024..64 MiB; default 4 MiB (ttrpc's). Must not exceed the agent's
//       --max-frame, or the agent drops the connection.
//   VACCEL_RPC_MAX_MESSAGE         largest request or reply of a chunked call
//       (bigger than one frame), in bytes; default 1 GiB.
//   VACCEL_RPC_SHM                 0 disables shared memory: the memfd
//       plane of unix-socket agents and a VM's sandbox memory; default 1.
//   VACCEL_RPC_IVSHMEM_DEVICES     where a guest looks for its sandbox
//       memory, QEMU's ivshmem device (sandbox_device.h), when the agent
//       is not on a unix socket; default /sys/bus/pci/devices; empty: it
//       does not look.
//   VACCEL_RPC_SHM_THRESHOLD       genop calls moving at least this many
//       bytes use shared memory when available; default 65536.
//   VACCEL_RPC_START_AHEAD         1: a thread of the plugin's own makes,
//       while the program starts, what its first session and its first
//       tensors would otherwise wait for: the session's run directory and
//       the pages of VACCEL_RPC_SHM_PREWARM bytes of shared memory. Default
//       1 where the machine has 4 CPUs or more, else 0: on 2 CPUs that
//       thread takes the core the program's start and a local agent need.
//       Not started while the host has no core to spare (as polling).
//   VACCEL_RPC_SHM_PREWARM         bytes of shared memory (unix-socket
//       agents) that thread populates (vaccel_shared_memory_prewarm());
//       default 2 MiB, at most 64 MiB, 0: none.
//   VACCEL_RPC_COPY_THREADS        helper threads that share the copies
//       of a program's own buffers into shared memory, and of results into
//       the program's buffers (copies.h),
//       0..16; default 3 where the machine has 8 CPUs or more, else 0.
//       They copy only while the host has a core to spare, and are started
//       by the VACCEL_RPC_START_AHEAD thread or the first shared copy.
//   VACCEL_RPC_COPY_MIN            the smallest copy they share, in bytes,
//       at least 65536; default 2 MiB (bench_copy: below it, waking them
//       cost more than they saved).
//   VACCEL_RPC_POLL_US             the most a call polls the socket for its
//       reply before it sleeps, in microseconds; within that, about twice
//       the usual reply time (transport/spin.h). Default 2000 where the
//       machine has 4 CPUs or more, else 0 (never polls): on 2 CPUs a
//       polling caller takes the core that the agent, when it runs on the
//       same machine, needs (a noop round trip went from 29 to 55 us).
//       No call polls while the host's other runnable threads fill every
//       CPU (transport/spare_cores.h).
//   VACCEL_POLL_BUSY_HOST          1: poll as configured even then.
//   VACCEL_RPC_REPLY_SLOTS         0: replies always come on the socket;
//       default 1: a polling call on a unix socket has its reply put in
//       shared memory (transport/reply_slot.h) when the agent offers it.
//   VACCEL_RPC_REQUEST_SLOTS       0: requests always go on the socket;
//       default 1: with reply slots, a request goes in the call's slot
//       while the agent's reader watches the slots.
//   VACCEL_RPC_MODEL_CACHE         0: models are always uploaded; default 1:
//       a model is first asked for by its digest (the agent's model cache).
//   VACCEL_RPC_MODEL_DIGESTS       an index of digests computed ahead
//       (`vaccel digest --index FILE`, transport/digest_index.h): a model
//       it lists, unchanged, is asked for without reading its files. A
//       missing or malformed index fails init.
//   VACCEL_RPC_TLS_CERT, VACCEL_RPC_TLS_KEY  the client certificate (PEM,
//       chain allowed) and its key that the agent's TLS listener requires;
//       its subject CN names the tenant on the agent.
//   VACCEL_RPC_TLS_CA              the CA (PEM) that issued the agent's
//       certificate; unset: the system's trust store.
//   VACCEL_RPC_TLS_SERVER_NAME     the name the agent's certificate must
//       carry (DNS name or IP address); default: the address's host (the
//       name as written, for an address resolved from a name).
//   Setting any of CERT, KEY or CA makes tcp:// connections TLS (there is
//   no tls:// scheme: one address names the same listener for the agent's
//   -a and the plugin); other kinds of address in a list stay as they are,
//   and a list without any tcp:// address is an error.
#pragma once

#include "core/status.h"
#include "endpoints.h"
#include "placement.h"
#include "transport/copy_crew.h"
#include "transport/digest_index.h"
#include "transport/tls.h"
#include "transport/transport.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace vaccel::rpc_plugin
{

// The per-call default is generous on purpose: a timeout only protects
// against an agent that is alive but stuck (a dead agent or a lost
// connection is noticed at once, from the socket). Legitimate calls such
// as loading a large model on the host can take minutes, and a call that
// times out still runs to completion on the agent.
inline constexpr std::chrono::milliseconds kDefaultCallTimeout{300000};
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{5000};
inline constexpr const char *kDefaultAddress = "tcp://127.0.0.1:65500";

struct Config {
	// VACCEL_RPC_ADDRESS as given, and its entries.
	std::string address_text = kDefaultAddress;
	std::vector<EndpointSpec> endpoints;
	PlacementPolicy placement = PlacementPolicy::LeastLoaded;
	std::chrono::milliseconds resolve_period{5000};
	std::chrono::milliseconds load_period{1000};
	std::chrono::milliseconds backoff_first{100};
	std::chrono::milliseconds backoff_max{10000};
	std::chrono::milliseconds call_timeout = kDefaultCallTimeout;
	std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
	uint32_t max_frame = transport::kDefaultMaxFrame;
	uint64_t max_message = uint64_t{1} << 30;
	bool shm = true;
	uint64_t shm_threshold = 64 * 1024;
	bool start_ahead = default_start_ahead();
	uint64_t shm_prewarm = uint64_t{2} << 20;
	std::string ivshmem_devices = "/sys/bus/pci/devices";
	bool reply_slots = true;
	bool request_slots = true;
	// VACCEL_RPC_CONNECT_EARLY: with one agent, connect and say Hello
	// when the plugin loads (Pool).
	bool connect_early = true;
	// Models are first asked for by digest (feature "model-cache").
	bool model_cache = true;
	// VACCEL_RPC_MODEL_DIGESTS, loaded (null: none).
	std::shared_ptr<const transport::DigestIndex> model_digests;
	unsigned copy_threads = default_copy_threads();
	uint64_t copy_min = transport::CopyCrew::kDefaultMinShared;
	std::chrono::microseconds poll = default_poll();
	// VACCEL_POLL_BUSY_HOST: poll even while the host has no core to spare.
	bool poll_busy_host = false;
	// VACCEL_RPC_TRACE: where each op's client-side timings go (empty:
	// nowhere); see CallTrace.
	std::string trace_path;
	// TLS to tcp:// agents (null: plaintext), and the name their
	// certificates must carry (empty: each address's host).
	std::shared_ptr<const transport::TlsContext> tls;
	std::string tls_server_name;

	static std::chrono::microseconds default_poll();
	static bool default_start_ahead();
	static unsigned default_copy_threads();
	// Whether some agent of the list is on a unix socket (where the
	// shared-memory plane may be used).
	[[nodiscard]] bool any_local() const noexcept;
};

// Reads the variables above. A malformed address is an error (the plugin
// then refuses to load: a typo must not turn into calls that all fail);
// malformed numbers are logged and replaced by their defaults. TLS files
// are loaded here, so that a wrong path fails init too.
core::Result<Config> config_from_env();

} // namespace vaccel::rpc_plugin
