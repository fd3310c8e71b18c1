// SPDX-License-Identifier: Apache-2.0
// coldstart-attach: the launcher's part of a sandbox handed to a running
// agent, for the cold-start benchmark (scripts/bench_coldstart.py): binds
// the sandbox's unix socket, attaches it through the agent's admin socket
// (Launcher.Attach with the socket passed, what vaccel-vm --attach and a
// urunc/Kata-style runtime do: docs/serverless.md), and detaches when its
// stdin closes.
//
//   coldstart-attach <admin address> <sandbox address> <tenant> [policy file]
//
// Prints, CLOCK_MONOTONIC in microseconds:
//   phase attach-series <median us> <min us> <n>
//   phase attach <t before> <t after> <sandbox id> <warm-up us> <bind us>
// The first line: n attach-and-detach cycles of throwaway sandboxes in a
// row, timed around each Attach call, as the benchmark's yardstick (a raw
// connect and round trip) is timed: the median of a loop. The second:
// around the Attach call of the sandbox the benchmark uses, then how long
// binding its socket took before it. It acts as a long-running launcher
// would: one connection to the admin socket for all its calls, and before
// the timed calls it attaches and detaches a throwaway sandbox
// (<sandbox path>.warm), so that no call is timed with this process's
// first-call costs (symbol binding, code run for the first time), which
// are larger than the call.
#include "attach.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace
{

long long now_us()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

std::string slurp(const char *path)
{
	std::ifstream in(path);
	return {std::istreambuf_iterator<char>(in), {}};
}

// Attach calls of the series (attach-series line).
constexpr int kSeries = 21;

} // namespace

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		std::fprintf(stderr,
			     "usage: %s <admin address> <sandbox address> "
			     "<tenant> [policy file]\n",
			     argv[0]);
		return 2;
	}
	const std::string policy = argc == 5 ? slurp(argv[4]) : "";
	namespace tr = vaccel::transport;
	using vaccel::vm::Attachment;
	try {
		auto admin = tr::parse_address(argv[1]);
		if (!admin)
			throw std::runtime_error(admin.status().message());
		auto link = tr::UnaryClient::connect(admin.value(),
						     std::chrono::seconds(5));
		if (!link)
			throw std::runtime_error(link.status().message());
		long long warm_up = now_us();
		{
			const std::string path = std::string(argv[2]) + ".warm";
			Attachment throwaway(link.value(),
					     Attachment::bind_listener(path),
					     argv[3], policy);
			warm_up = now_us() - warm_up;
			::unlink(path.substr(path.find("://") + 3).c_str());
		}
		std::vector<long long> series;
		for (int i = 0; i < kSeries; ++i) {
			const std::string path = std::string(argv[2]) + ".s";
			tr::UniqueFd fd = Attachment::bind_listener(path);
			const long long t0 = now_us();
			{
				Attachment box(link.value(), std::move(fd),
					       argv[3], policy);
				series.push_back(now_us() - t0);
			}
			::unlink(path.substr(path.find("://") + 3).c_str());
		}
		std::sort(series.begin(), series.end());
		std::printf("phase attach-series %lld %lld %zu\n",
			    series[series.size() / 2], series.front(),
			    series.size());
		const long long bind_start = now_us();
		tr::UniqueFd listener = Attachment::bind_listener(argv[2]);
		const long long before = now_us();
		Attachment sandbox(link.value(), std::move(listener), argv[3],
				   policy);
		const long long after = now_us();
		std::printf("phase attach %lld %lld %llu %lld %lld\n", before,
			    after,
			    static_cast<unsigned long long>(sandbox.sandbox()),
			    warm_up, before - bind_start);
		std::fflush(stdout);
		// Held until the benchmark is done with the sandbox.
		char c;
		while (::read(0, &c, 1) > 0) {
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "coldstart-attach: %s\n", e.what());
		return 1;
	}
	return 0;
}
