// SPDX-License-Identifier: Apache-2.0
// What counting calls for /metrics (--metrics) costs on the noop round
// trip: the same Genop noop, sent raw over a unix socket to two
// vaccel-agent children (noop plugin), one without and one with
// --metrics, timed in alternating blocks in the same run (agent_ab.h);
// the ratio is printed. Nothing scrapes meanwhile: a scrape reads the
// counters on the endpoint's own thread, not on a call's path.
//
//   VACCEL_BENCH_AGENT_CPUS=1 taskset -c 0 build/release/bin/bench_metrics
//       [blocks] [calls per block] [agent args]
// The agent args (both agents; default "--workers 2") e.g. "--spin-us 0";
// with "--metrics 127.0.0.1:0" among them both agents count (an A/A run:
// the noise floor). Pinned as above on a 2-core machine: unpinned, each
// agent settles into its own regime for the whole run (which thread
// polls, on which core), and the two differ by far more than the cost
// measured.
#include "agent_ab.h"

int main(int argc, char **argv)
{
	const int blocks = argc > 1 ? std::max(2, std::atoi(argv[1])) : 200;
	const int per_block = argc > 2 ? std::max(1, std::atoi(argv[2])) : 200;
	const std::string common = argc > 3 ? argv[3] : "--workers 2";
	const std::string on = common + " --metrics 127.0.0.1:0";
	agent_ab::Comparison c;
	if (!agent_ab::interleave(common.c_str(), on.c_str(), blocks, per_block,
				  &c))
		return std::fprintf(stderr,
				    "bench_metrics: agent not reachable\n"),
		       1;
	std::printf("noop round trip, unix socket, raw ttrpc, agent args "
		    "\"%s\" (medians of %d alternating blocks of %d calls "
		    "per agent)\n",
		    common.c_str(), blocks, per_block);
	std::printf("  --metrics off: %8.2f us\n", c.a_us);
	std::printf("  --metrics on:  %8.2f us\n", c.b_us);
	std::printf("  ratio on/off:  %8.3f\n", c.b_us / c.a_us);
	return 0;
}
