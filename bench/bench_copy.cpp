// SPDX-License-Identifier: Apache-2.0
// A program buffer's copy into shared memory, as the rpc plugin makes it
// for an input in the program's own memory: one memcpy against the same
// copy shared with transport::CopyCrew's helpers, same run, same buffers.
// Helpers asleep when the copy comes (woken by its heads-up, as in a call
// that follows a pause) and helpers still awake from the copy before.
//
//   build/release/bin/bench_copy [reps]
//
// Medians of `reps` copies (default 200) per line; the source is rewritten
// before each copy (as a program fills its input), outside the timing.
#include "transport/copy_crew.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace
{

using Clock = std::chrono::steady_clock;
using vaccel::transport::CopyCrew;

enum class Mode { Alone, Asleep, Awake };

double median_us(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v[v.size() / 2];
}

double time_copies(CopyCrew *crew, Mode mode, size_t n, int reps)
{
	std::vector<unsigned char> src(n), dst(n);
	std::vector<double> us;
	us.reserve(static_cast<size_t>(reps));
	for (int r = 0; r < reps; ++r) {
		std::memset(src.data(), r & 0xff, n);
		if (mode == Mode::Asleep) // past the helpers' linger
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(2));
		const auto t0 = Clock::now();
		if (mode == Mode::Alone) {
			std::memcpy(dst.data(), src.data(), n);
		} else {
			crew->heads_up();
			crew->copy(dst.data(), src.data(), n);
		}
		const auto t1 = Clock::now();
		if (dst[n - 1] != static_cast<unsigned char>(r & 0xff)) {
			std::fprintf(stderr, "bench_copy: wrong bytes\n");
			std::exit(1);
		}
		us.push_back(
		    std::chrono::duration<double, std::micro>(t1 - t0).count());
	}
	return median_us(std::move(us));
}

} // namespace

int main(int argc, char **argv)
{
	const int reps = argc > 1 ? std::max(5, std::atoi(argv[1])) : 200;
	const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
	std::printf("copy of a program buffer into shared memory, %u CPUs, "
		    "median of %d copies (us)\n",
		    cpus, reps);
	const size_t sizes[] = {602112, size_t{1} << 20, size_t{2} << 20,
				size_t{4} << 20, size_t{16} << 20};
	for (size_t n : sizes) {
		const double alone = time_copies(nullptr, Mode::Alone, n, reps);
		std::printf("\n%zu bytes: memcpy alone %8.1f us\n", n, alone);
		for (unsigned h = 1; h <= 3; ++h) {
			CopyCrew crew(h);
			const double asleep =
			    time_copies(&crew, Mode::Asleep, n, reps);
			const double awake =
			    time_copies(&crew, Mode::Awake, n, reps);
			std::printf("  %u helper%s: asleep %8.1f us = %.2fx "
				    "memcpy; awake %8.1f us = %.2fx\n",
				    h, h == 1 ? " " : "s", asleep,
				    asleep / alone, awake, awake / alone);
		}
	}
	return 0;
}
