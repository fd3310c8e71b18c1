// SPDX-License-Identifier: Apache-2.0
/*
 * vaccel-lat: latency of one vAccel call, as the program sees it.
 *
 *   vaccel-lat noop N            vaccel_noop() N times
 *   vaccel-lat classify IMAGE N  vaccel_image_classification() N times
 *
 * Built twice: static for the guest (the rpc plugin linked in) and
 * dynamic for the host (whatever VACCEL_PLUGINS loads), so that the same
 * loop measures a guest, a host process over rpc, and an in-process
 * plugin. The first 10 calls warm up and are not counted.
 */
#include "bench_common.h"

#include <vaccel.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WARMUP = 10 };

static int read_all(const char *path, void **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*data = malloc(n > 0 ? (size_t)n : 1);
	*size = *data && n > 0 ? fread(*data, 1, (size_t)n, f) : 0;
	fclose(f);
	return *data && *size == (size_t)n ? 0 : -1;
}

int main(int argc, char *argv[])
{
	const int classify = argc == 4 && strcmp(argv[1], "classify") == 0;
	if (!classify && !(argc == 3 && strcmp(argv[1], "noop") == 0)) {
		fprintf(stderr, "usage: %s noop N | %s classify IMAGE N\n",
			argv[0], argv[0]);
		return 2;
	}
	const long n = strtol(argv[argc - 1], NULL, 10);
	if (n <= 0) {
		fprintf(stderr, "N must be positive\n");
		return 2;
	}
	void *image = NULL;
	size_t image_size = 0;
	if (classify && read_all(argv[2], &image, &image_size) != 0) {
		fprintf(stderr, "cannot read %s\n", argv[2]);
		return 1;
	}
	struct vaccel_session sess;
	int ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fprintf(stderr, "session: %d\n", ret);
		free(image);
		return 1;
	}
	uint64_t *samples = calloc((size_t)n, sizeof(*samples));
	for (long i = 0; samples && i < n + WARMUP; i++) {
		unsigned char tags[512];
		unsigned char name[512];
		const uint64_t t0 = bench_now_ns();
		if (classify)
			ret = vaccel_image_classification(
			    &sess, image, tags, name, image_size, sizeof(tags),
			    sizeof(name));
		else
			ret = vaccel_noop(&sess);
		const uint64_t t1 = bench_now_ns();
		if (ret) {
			fprintf(stderr, "call %ld failed: %d\n", i, ret);
			break;
		}
		if (i >= WARMUP)
			samples[i - WARMUP] = t1 - t0;
	}
	if (!ret && samples)
		bench_report(classify ? "classify" : "noop", samples,
			     (size_t)n);
	free(samples);
	free(image);
	vaccel_session_release(&sess);
	return ret ? 1 : 0;
}
