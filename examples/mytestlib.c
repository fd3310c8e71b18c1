// SPDX-License-Identifier: Apache-2.0
/*
 * libmytestlib.so: the library the exec examples run. Its one function has
 * the signature the exec plugin calls: it reads one int32 and writes twice
 * its value.
 */
#include <vaccel.h>

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exported: the symbol the exec examples and tests look up. */
__attribute__((visibility("default"))) int mytestfunc(struct vaccel_arg *input,
						      size_t nr_in,
						      struct vaccel_arg *output,
						      size_t nr_out);

int mytestfunc(struct vaccel_arg *input, size_t nr_in,
	       struct vaccel_arg *output, size_t nr_out)
{
	if (nr_in != 1 || nr_out != 1) {
		fprintf(stderr,
			"mytestfunc: expected 1 input and 1 output, got %zu "
			"and %zu\n",
			nr_in, nr_out);
		return VACCEL_EINVAL;
	}
	printf("I got nr_in: %zu, nr_out: %zu\n", nr_in, nr_out);

	struct vaccel_arg_array in;
	struct vaccel_arg_array out;
	int ret = vaccel_arg_array_wrap(&in, input, nr_in);
	if (!ret)
		ret = vaccel_arg_array_wrap(&out, output, nr_out);
	if (ret) {
		fprintf(stderr, "mytestfunc: bad argument arrays: %d\n", ret);
		return ret;
	}

	int32_t value = 0;
	ret = vaccel_arg_array_get_int32(&in, &value);
	if (ret) {
		fprintf(stderr, "mytestfunc: input is not one int32: %d\n",
			ret);
		return ret;
	}
	printf("I got input: %" PRId32 "\n", value);

	int32_t doubled = 2 * value;
	ret = vaccel_arg_array_set_int32(&out, &doubled);
	if (ret) {
		fprintf(stderr, "mytestfunc: output is not one int32: %d\n",
			ret);
		return ret;
	}
	printf("Will return output: %" PRId32 "\n", doubled);
	return VACCEL_OK;
}
