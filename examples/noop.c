// SPDX-License-Identifier: Apache-2.0
/*
 * noop: create a session and call the no-op operation.
 *
 *   noop [iterations]
 */
#include "common/example.h"

#include <vaccel.h>

#include <inttypes.h>
#include <stdio.h>

int main(int argc, char *argv[])
{
	if (argc > 2) {
		fprintf(stderr, "Usage: %s [iterations]\n", argv[0]);
		return VACCEL_EINVAL;
	}
	const int iterations = example_iterations(argc, argv, 1);
	if (iterations < 0)
		return VACCEL_EINVAL;

	struct vaccel_prof_region region = VACCEL_PROF_REGION_INIT("noop");
	struct vaccel_session sess;
	int ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fprintf(stderr, "Could not initialize session: %d\n", ret);
		return ret;
	}
	printf("Initialized session with id: %" PRId64 "\n", sess.id);

	for (int i = 0; i < iterations && ret == VACCEL_OK; i++) {
		vaccel_prof_region_start(&region);
		ret = vaccel_noop(&sess);
		vaccel_prof_region_stop(&region);
		if (ret)
			fprintf(stderr, "Could not run op: %d\n", ret);
	}

	if (vaccel_session_release(&sess))
		fprintf(stderr, "Could not release session\n");

	vaccel_prof_region_print(&region);
	vaccel_prof_region_release(&region);
	return ret;
}
