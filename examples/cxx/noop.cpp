// SPDX-License-Identifier: Apache-2.0
// noop with the C++ API: a Session is an RAII handle; errors are exceptions.
//
//   noop_cxx [iterations]
#include <vaccel.hpp>

#include <charconv>
#include <cstdio>
#include <string_view>

int main(int argc, char *argv[])
{
	int iterations = 1;
	if (argc > 2) {
		std::fprintf(stderr, "Usage: %s [iterations]\n", argv[0]);
		return VACCEL_EINVAL;
	}
	if (argc == 2) {
		std::string_view arg(argv[1]);
		auto [end, ec] = std::from_chars(
		    arg.data(), arg.data() + arg.size(), iterations);
		if (ec != std::errc() || end != arg.data() + arg.size() ||
		    iterations < 0) {
			std::fprintf(stderr, "Invalid iteration count: %s\n",
				     argv[1]);
			return VACCEL_EINVAL;
		}
	}

	try {
		vaccel::Session sess;
		std::printf("Initialized session with id: %lld\n",
			    static_cast<long long>(sess.id()));
		for (int i = 0; i < iterations; i++)
			sess.noop();
	} catch (const vaccel::Error &e) {
		std::fprintf(stderr, "%s\n", e.what());
		return e.code();
	}
	return 0;
}
