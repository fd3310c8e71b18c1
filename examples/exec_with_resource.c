// SPDX-License-Identifier: Apache-2.0
/*
 * exec_with_resource: run `mytestfunc` from a library given as a LIB
 * resource, made twice: once from the file's path and once from its bytes
 * (as a guest would ship it). Prints the int32 output of each call
 * ("output1: 20" and "output2: 20" with the exec plugin).
 *
 *   exec_with_resource <lib_file> [iterations]
 */
#include "common/example.h"

#include <vaccel.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char symbol[] = "mytestfunc";

enum { INPUT_VALUE = 10 };

/* Calls the symbol of @p lib @p iterations times, printing
 * "<label>: <output>" after each call. */
static int run_calls(struct vaccel_session *sess, struct vaccel_resource *lib,
		     const char *label, int iterations,
		     struct vaccel_prof_region *region)
{
	int32_t input = INPUT_VALUE;
	int32_t output = 0;
	struct vaccel_arg_array in;
	struct vaccel_arg_array out;
	int ret = vaccel_arg_array_init(&in, 1);
	if (ret)
		return ret;
	ret = vaccel_arg_array_init(&out, 1);
	if (ret) {
		vaccel_arg_array_release(&in);
		return ret;
	}
	ret = vaccel_arg_array_add_int32(&in, &input);
	if (!ret)
		ret = vaccel_arg_array_add_int32(&out, &output);
	if (ret)
		fprintf(stderr, "Could not pack arguments: %d\n", ret);

	for (int i = 0; !ret && i < iterations; i++) {
		vaccel_prof_region_start(region);
		ret = vaccel_exec_with_resource(sess, lib, symbol, in.args,
						in.count, out.args, out.count);
		vaccel_prof_region_stop(region);
		if (ret) {
			fprintf(stderr, "Could not run op: %d\n", ret);
			break;
		}
		printf("%s: %" PRId32 "\n", label, output);
	}

	vaccel_arg_array_release(&out);
	vaccel_arg_array_release(&in);
	return ret;
}

int main(int argc, char *argv[])
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "Usage: %s <lib_file> [iterations]\n", argv[0]);
		return VACCEL_EINVAL;
	}
	const int iterations = example_iterations(argc, argv, 2);
	if (iterations < 0)
		return VACCEL_EINVAL;

	struct vaccel_prof_region region = VACCEL_PROF_REGION_INIT(symbol);
	struct vaccel_resource from_path = {.id = 0};
	struct vaccel_resource from_bytes = {.id = 0};
	struct vaccel_session sess = {.id = 0};
	void *bytes = NULL;
	size_t nr_bytes = 0;

	int ret =
	    vaccel_resource_init(&from_path, argv[1], VACCEL_RESOURCE_LIB);
	if (ret) {
		fprintf(stderr, "Could not create lib resource: %s\n",
			strerror(ret));
		return ret;
	}

	ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fprintf(stderr, "Could not initialize session: %d\n", ret);
		goto release;
	}
	printf("Initialized session with id: %" PRId64 "\n", sess.id);

	ret = vaccel_resource_register(&from_path, &sess);
	if (ret) {
		fprintf(stderr, "Could not register lib resource: %d\n", ret);
		goto release;
	}

	ret = example_read_file(argv[1], &bytes, &nr_bytes);
	if (ret)
		goto release;
	/* Not memory-only: the library must be a file for dlopen(). */
	ret = vaccel_resource_init_from_buf(
	    &from_bytes, bytes, nr_bytes, VACCEL_RESOURCE_LIB, "lib.so", false);
	if (ret) {
		fprintf(stderr,
			"Could not create lib resource from bytes: %s\n",
			strerror(ret));
		goto release;
	}
	ret = vaccel_resource_register(&from_bytes, &sess);
	if (ret) {
		fprintf(stderr, "Could not register lib resource 2: %d\n", ret);
		goto release;
	}

	ret = run_calls(&sess, &from_path, "output1", iterations, &region);
	if (!ret)
		ret = run_calls(&sess, &from_bytes, "output2", iterations,
				&region);

release:
	/* Unregister before releasing: a registered resource is busy. */
	if (sess.id > 0) {
		if (vaccel_session_has_resource(&sess, &from_bytes) &&
		    vaccel_resource_unregister(&from_bytes, &sess))
			fprintf(stderr,
				"Could not unregister lib resource 2\n");
		if (vaccel_session_has_resource(&sess, &from_path) &&
		    vaccel_resource_unregister(&from_path, &sess))
			fprintf(stderr, "Could not unregister lib resource\n");
		if (vaccel_session_release(&sess))
			fprintf(stderr, "Could not release session\n");
	}
	if (from_bytes.id > 0 && vaccel_resource_release(&from_bytes))
		fprintf(stderr, "Could not release lib resource 2\n");
	if (from_path.id > 0 && vaccel_resource_release(&from_path))
		fprintf(stderr, "Could not release lib resource\n");
	free(bytes);

	vaccel_prof_region_print(&region);
	vaccel_prof_region_release(&region);
	return ret;
}
