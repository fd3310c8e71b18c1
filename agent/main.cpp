// SPDX-License-Identifier: Apache-2.0
// vaccel-agent: serves vAccel RPC requests from guests (the rpc plugin, or
// upstream's client) by running them against this host's vAccel runtime.
//
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM) or --help; 2 for a
// bad command line; 1 when the runtime or the listener cannot start.
#include "cli.h"
#include "host_pin.h"
#include "server.h"
#include "service.h"
#include "trace.h"

#include <vaccel.h>

#include <malloc.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace
{

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

int fail(const char *what, const std::string &msg)
{
	std::fprintf(stderr, "vaccel-agent: %s: %s\n", what, msg.c_str());
	return kExitFailure;
}

} // namespace

int main(int argc, char **argv)
{
	// Large calls allocate and free buffers of tens to hundreds of MiB.
	// glibc serves each with a fresh mmap(), so every call paid a page
	// fault per 4 KiB (the bulk of a large call's time when profiled).
	// Serve them from the heap instead and keep up to 512 MiB of freed
	// memory for the next call: idle memory traded for throughput.
	// One arena: glibc's per-thread arenas mmap anything above 64 MiB
	// whatever M_MMAP_MAX says. Small allocations stay thread-local
	// (tcache), so workers rarely meet on the arena lock.
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_MAX, 0);
	mallopt(M_TRIM_THRESHOLD, 512 << 20);
	using namespace vaccel::agent;

	std::vector<std::string_view> args(argv, argv + argc);
	auto opts = parse_cli(args);
	if (!opts) {
		std::fprintf(stderr,
			     "vaccel-agent: %s\nTry 'vaccel-agent --help'.\n",
			     opts.status().message().c_str());
		return kExitUsage;
	}
	if (opts->help) {
		std::fputs(usage("vaccel-agent").c_str(), stdout);
		return 0;
	}

	// Signals arrive through a signalfd read by this thread only: block
	// them before any thread starts, so every thread inherits the mask.
	// SIGPIPE is ignored: a client hanging up is an error return, not
	// the agent's death.
	// Their dispositions are reset first: a shell starts background jobs
	// with SIGINT ignored, and an ignored signal is discarded even while
	// blocked, so it would never reach the signalfd.
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0)
		return fail("signals", "cannot block SIGINT/SIGTERM");
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return fail("signalfd", std::strerror(errno));

	if (opts->vaccel_config) {
		if (auto st = apply_vaccel_config(*opts->vaccel_config); !st)
			return fail("vaccel-config", st.message());
	} else if (!vaccel_is_initialized()) {
		// The load-time bootstrap failed or was disabled.
		if (int rc = vaccel_bootstrap(); rc != VACCEL_OK)
			return fail("bootstrap",
				    "vAccel runtime failed to start (code " +
					std::to_string(rc) + ")");
	}

	auto addr = vaccel::transport::parse_address(opts->address);
	if (!addr)
		return fail("server-address", addr.status().message());

	Limits limits;
	limits.max_frame = opts->max_frame;
	limits.max_message = opts->max_message;
	limits.max_buffered = opts->max_buffered;
	limits.extensions = opts->extensions;
	int code = 0;
	RequestTrace trace;      // outlives the server, which writes to it
	HostMemoryPinner pinner; // outlives the regions it pinned
	// VACCEL_AGENT_TRACE: the same as --trace, for deployments that
	// configure through the environment; the option wins.
	if (const char *env = std::getenv("VACCEL_AGENT_TRACE");
	    opts->trace.empty() && env != nullptr && *env != '\0')
		opts->trace = env;
	if (!opts->trace.empty()) {
		if (auto st = trace.open(opts->trace); !st)
			return fail("trace", st.message());
	}
	{
		Service service(limits);
		ServerOptions so;
		so.address = addr.value();
		so.workers = opts->workers;
		so.max_frame = opts->max_frame;
		so.max_message = opts->max_message;
		so.shm = opts->shm;
		so.spin = std::chrono::microseconds(opts->spin_us);
		so.trace = trace.enabled() ? &trace : nullptr;
		so.pinner = opts->pin_shm ? &pinner : nullptr;
		Server server(service, so);
		if (auto st = server.start(); !st) {
			code = fail("listen", st.message());
		} else {
			std::printf(
			    "vaccel-agent listening on %s\n",
			    vaccel::transport::to_string(server.address())
				.c_str());
			std::fflush(stdout);
			vaccel_info("agent: %zu workers, max frame %u bytes",
				    so.workers, so.max_frame);

			signalfd_siginfo si{};
			for (;;) {
				ssize_t n = read(sfd, &si, sizeof(si));
				if (n == static_cast<ssize_t>(sizeof(si)))
					break;
				if (n < 0 && errno != EINTR) {
					code = fail("signalfd",
						    std::strerror(errno));
					break;
				}
			}
			vaccel_info("agent: signal %u, shutting down",
				    si.ssi_signo);
			server.stop();
		}
	}
	close(sfd);
	vaccel_cleanup();
	return code;
}
