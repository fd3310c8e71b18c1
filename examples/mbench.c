// SPDX-License-Identifier: Apache-2.0
/*
 * mbench: call-path micro-benchmark. Asks the backend (the mbench plugin)
 * to spin for <time_ms> through the exec op, passing the bytes of
 * <payload_file> along, so that the overhead of vAccel (local, or through a
 * transport) can be measured against known work.
 *
 *   mbench <time_ms> <payload_file> [iterations]
 */
#include "common/example.h"

#include <vaccel.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char *argv[])
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr,
			"Usage: %s <time_ms> <payload_file> [iterations]\n",
			argv[0]);
		return VACCEL_EINVAL;
	}
	const int iterations = example_iterations(argc, argv, 3);
	if (iterations < 0)
		return VACCEL_EINVAL;

	struct vaccel_prof_region region = VACCEL_PROF_REGION_INIT("mbench");
	struct vaccel_session sess;
	int ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fprintf(stderr, "Could not initialize session: %d\n", ret);
		return ret;
	}
	printf("Initialized session with id: %" PRId64 "\n", sess.id);

	void *payload = NULL;
	size_t payload_size = 0;
	ret = example_read_file(argv[2], &payload, &payload_size);
	if (ret)
		goto release_session;

	/* The time travels as text, terminator included. */
	struct vaccel_arg read[2] = {
	    {.buf = argv[1],
	     .size = strlen(argv[1]) + 1,
	     .type = VACCEL_ARG_STRING},
	    {.buf = payload, .size = payload_size, .type = VACCEL_ARG_BUFFER},
	};
	for (int i = 0; i < iterations; i++) {
		vaccel_prof_region_start(&region);
		ret = vaccel_exec(&sess, "mbench", "mbench", read, 2, NULL, 0);
		vaccel_prof_region_stop(&region);
		if (ret) {
			fprintf(stderr, "Could not run op: %d\n", ret);
			break;
		}
	}
	free(payload);

release_session:
	if (vaccel_session_release(&sess))
		fprintf(stderr, "Could not release session\n");

	vaccel_prof_region_print(&region);
	vaccel_prof_region_release(&region);
	return ret;
}
