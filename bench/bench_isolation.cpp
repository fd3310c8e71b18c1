// SPDX-License-Identifier: Apache-2.0
// What tenant isolation (--isolate-tenants) costs on the noop round trip:
// the same Genop noop, sent raw over a unix socket to a vaccel-agent child
// (noop plugin) with isolation off and on, in the same run (agent_ab.h).
// With isolation the connection is served by the tenant's worker process
// after the agent hands it over, so only connecting pays (the first
// connection of a tenant also starts its worker); the ratio is printed.
//
//   build/release/bin/bench_isolation [round trips per batch]
#include "agent_ab.h"

int main(int argc, char **argv)
{
	const int per_batch = argc > 1 ? std::atoi(argv[1]) : 5000;
	agent_ab::Comparison c;
	if (!agent_ab::compare("off", "--workers 2", "on",
			       "--workers 2 --isolate-tenants", per_batch, 3,
			       &c))
		return std::fprintf(stderr,
				    "bench_isolation: agent not reachable\n"),
		       1;
	std::printf("noop round trip, unix socket, raw ttrpc (median of 3 "
		    "agents x 7 batches of %d)\n",
		    per_batch);
	std::printf("  isolation off: %8.2f us\n", c.a_us);
	std::printf("  isolation on:  %8.2f us\n", c.b_us);
	std::printf("  ratio on/off:  %8.3f\n", c.b_us / c.a_us);
	return 0;
}
