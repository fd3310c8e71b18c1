// An out-of-tree program using the installed C++ API.
#include <cstdio>
#include <vaccel.hpp>

int main()
{
	try {
		vaccel::Session s;
		s.noop();
		std::printf("noop: ok\n");
		return 0;
	} catch (const vaccel::Error &e) {
		std::printf("noop: failed: %s\n", e.what());
		return e.code();
	}
}
