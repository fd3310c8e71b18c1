// SPDX-License-Identifier: Apache-2.0
/*
 * Timing helpers of the guest benchmarks: a monotonic clock in ns and a
 * summary line (mean, median, p99, min) over the samples.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_u64(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a;
	const uint64_t y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Prints "<name>: n=.. mean=.. p50=.. p99=.. min=.. us" and sorts @p s. */
static inline void bench_report(const char *name, uint64_t *s, size_t n)
{
	if (n == 0)
		return;
	qsort(s, n, sizeof(*s), bench_cmp_u64);
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += s[i];
	printf("%s: n=%zu mean=%.1f p50=%.1f p99=%.1f min=%.1f us\n", name, n,
	       (double)sum / (double)n / 1e3, (double)s[n / 2] / 1e3,
	       (double)s[(n * 99) / 100] / 1e3, (double)s[0] / 1e3);
	fflush(stdout);
}
