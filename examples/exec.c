// SPDX-License-Identifier: Apache-2.0
/*
 * exec: run `mytestfunc` from a shared library through the exec op. The
 * function gets one int32 input (10) and writes one int32 output, which is
 * printed. With the exec plugin and libmytestlib.so the output is 20.
 *
 *   exec <lib_file> [iterations]
 *
 * Built twice: with EXAMPLE_USE_GENOP it is exec_generic, which makes the
 * same call through vaccel_genop() (read = { op, library, symbol, input }).
 */
#include "common/example.h"

#include <vaccel.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

static char symbol[] = "mytestfunc";

enum { INPUT_VALUE = 10 };

#ifdef EXAMPLE_USE_GENOP
static int run_exec(struct vaccel_session *sess, char *library,
		    struct vaccel_arg_array *in, struct vaccel_arg_array *out)
{
	struct vaccel_arg_array read;
	int ret = vaccel_arg_array_init(&read, 4);
	if (ret)
		return ret;

	uint8_t op_type = (uint8_t)VACCEL_OP_EXEC;
	ret = vaccel_arg_array_add_uint8(&read, &op_type);
	if (!ret)
		ret = vaccel_arg_array_add_string(&read, library);
	if (!ret)
		ret = vaccel_arg_array_add_string(&read, symbol);
	if (!ret)
		ret = vaccel_arg_array_add_all(&read, in, false);
	if (!ret)
		ret = vaccel_genop(sess, read.args, (int)read.count, out->args,
				   (int)out->count);
	vaccel_arg_array_release(&read);
	return ret;
}
#else
static int run_exec(struct vaccel_session *sess, char *library,
		    struct vaccel_arg_array *in, struct vaccel_arg_array *out)
{
	return vaccel_exec(sess, library, symbol, in->args, in->count,
			   out->args, out->count);
}
#endif

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
	struct vaccel_session sess;
#ifdef EXAMPLE_USE_GENOP
	const uint32_t hint = 0;
#else
	/* prefer a debug plugin (noop) when several are loaded, as upstream */
	const uint32_t hint = VACCEL_PLUGIN_DEBUG;
#endif
	int ret = vaccel_session_init(&sess, hint);
	if (ret) {
		fprintf(stderr, "Could not initialize session: %d\n", ret);
		return ret;
	}
	printf("Initialized session with id: %" PRId64 "\n", sess.id);

	int32_t input = INPUT_VALUE;
	int32_t output = 0;
	struct vaccel_arg_array in;
	struct vaccel_arg_array out;
	ret = vaccel_arg_array_init(&in, 1);
	if (ret)
		goto release_session;
	ret = vaccel_arg_array_init(&out, 1);
	if (ret)
		goto release_in;
	ret = vaccel_arg_array_add_int32(&in, &input);
	if (!ret)
		ret = vaccel_arg_array_add_int32(&out, &output);
	if (ret) {
		fprintf(stderr, "Could not pack arguments: %d\n", ret);
		goto release_out;
	}

	for (int i = 0; i < iterations; i++) {
		vaccel_prof_region_start(&region);
		ret = run_exec(&sess, argv[1], &in, &out);
		vaccel_prof_region_stop(&region);
		if (ret) {
			fprintf(stderr, "Could not run op: %d\n", ret);
			break;
		}
		printf("output: %" PRId32 "\n", output);
	}

release_out:
	vaccel_arg_array_release(&out);
release_in:
	vaccel_arg_array_release(&in);
release_session:
	if (vaccel_session_release(&sess))
		fprintf(stderr, "Could not release session\n");

	vaccel_prof_region_print(&region);
	vaccel_prof_region_release(&region);
	return ret;
}
