// SPDX-License-Identifier: Apache-2.0
/*
 * minmax: minimum and maximum of a list of doubles read from a text file
 * (one value a line), with thresholds passed to the backend. The op is
 * deprecated upstream and kept for compatibility.
 *
 *   minmax <data_length> <indata_file> <low_threshold> <high_threshold>
 * [iterations]
 */
#include "common/example.h"

#include <vaccel.h>

#include <stdio.h>
#include <stdlib.h>

/* Reads @p n doubles from @p path into a malloc'd array. */
static int read_values(const char *path, int n, double **values)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "Could not open %s\n", path);
		return VACCEL_EIO;
	}
	double *v = malloc(sizeof(*v) * (size_t)n);
	if (!v) {
		fclose(f);
		return VACCEL_ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		if (fscanf(f, "%lf", &v[i]) != 1) {
			fprintf(stderr, "%s: could not read value %d of %d\n",
				path, i + 1, n);
			free(v);
			fclose(f);
			return VACCEL_EIO;
		}
	}
	fclose(f);
	*values = v;
	return VACCEL_OK;
}

int main(int argc, char *argv[])
{
	if (argc < 5 || argc > 6) {
		fprintf(stderr,
			"Usage: %s <data_length> <indata_file> <low_threshold> "
			"<high_threshold> [iterations]\n",
			argv[0]);
		return VACCEL_EINVAL;
	}
	const int ndata = atoi(argv[1]);
	if (ndata <= 0) {
		fprintf(stderr, "Invalid data length: %s\n", argv[1]);
		return VACCEL_EINVAL;
	}
	const int low = atoi(argv[3]);
	const int high = atoi(argv[4]);
	const int iterations = example_iterations(argc, argv, 5);
	if (iterations < 0)
		return VACCEL_EINVAL;

	double *indata = NULL;
	int ret = read_values(argv[2], ndata, &indata);
	if (ret)
		return ret;
	double *outdata = calloc((size_t)ndata, sizeof(*outdata));
	if (!outdata) {
		free(indata);
		return VACCEL_ENOMEM;
	}

	struct vaccel_prof_region region = VACCEL_PROF_REGION_INIT("minmax");
	struct vaccel_session sess;
	ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fprintf(stderr, "Could not initialize session: %d\n", ret);
		goto free_data;
	}

	for (int i = 0; i < iterations; i++) {
		double min = 0;
		double max = 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		vaccel_prof_region_start(&region);
		ret = vaccel_minmax(&sess, indata, ndata, low, high, outdata,
				    &min, &max);
		vaccel_prof_region_stop(&region);
#pragma GCC diagnostic pop
		if (ret) {
			fprintf(stderr, "Could not run op: %d\n", ret);
			break;
		}
		printf("min: %lf max: %lf\n", min, max);
	}

	if (vaccel_session_release(&sess))
		fprintf(stderr, "Could not release session\n");
free_data:
	free(outdata);
	free(indata);

	vaccel_prof_region_print(&region);
	vaccel_prof_region_release(&region);
	return ret;
}
