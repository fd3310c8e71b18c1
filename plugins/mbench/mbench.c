// SPDX-License-Identifier: Apache-2.0
/*
 * The mbench plugin: a micro-benchmark backend. Its exec op spins on the CPU
 * for the number of milliseconds given as text in the first read argument,
 * so that the cost of the vAccel call path (locally or through a transport)
 * can be measured against a known amount of work. The library or the symbol
 * must be "mbench"; a second read argument (any payload, e.g. a file's
 * bytes) is required, as upstream requires it, to exercise argument
 * transfer.
 *
 * A model of an accelerator, for benchmarks and tests of agent pools that
 * two CPUs must not limit: library "mbench", symbol "sleep" holds the
 * process's one "device" (a lock: calls take turns, as on a GPU) for the
 * given milliseconds, asleep rather than spinning. Its sgemm computes the
 * product for real (naively) while holding the device for
 * VACCEL_MBENCH_SGEMM_MS (default 0). VACCEL_MBENCH_SLOWDOWN (a whole
 * factor, default 1) stretches every device hold: a slower accelerator.
 */
#define _POSIX_C_SOURCE 200809L

#include <vaccel.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define mbench_debug(...) vaccel_debug("[mbench] " __VA_ARGS__)
#define mbench_error(...) vaccel_error("[mbench] " __VA_ARGS__)

enum {
	MBENCH_MAX_MS = 300000, /* 5 minutes */
	MBENCH_TIME_TEXT_MAX = 32,
};

static const char mbench_name[] = "mbench";

static struct vaccel_prof_region mbench_region =
    VACCEL_PROF_REGION_INIT("vaccel_mbench_plugin");

static pthread_mutex_t mbench_device = PTHREAD_MUTEX_INITIALIZER;

/* A whole number from the environment in [lo, hi], or @p fallback. */
static long env_long(const char *name, long fallback, long lo, long hi)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return fallback;
	char *end = NULL;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi) {
		mbench_error("%s=%s is not a number in %ld..%ld; using %ld",
			     name, v, lo, hi, fallback);
		return fallback;
	}
	return n;
}

/* Holds the device for @p ms milliseconds (times the slowdown), asleep. */
static void hold_device(long ms)
{
	const long total = ms * env_long("VACCEL_MBENCH_SLOWDOWN", 1, 1, 100);
	struct timespec ts = {total / 1000, (total % 1000) * 1000000L};
	pthread_mutex_lock(&mbench_device);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	pthread_mutex_unlock(&mbench_device);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	/* RAW: not slewed by NTP, so a spin of N ms is N ms of CPU time */
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

static void spin_ms(long ms)
{
	const int64_t end = now_ns() + (int64_t)ms * 1000000;
	while (now_ns() < end)
		;
}

/* The time argument is text (e.g. "100"), not necessarily NUL-terminated
 * within its size. */
static int parse_ms(const struct vaccel_arg *arg, long *ms)
{
	if (!arg->buf || arg->size == 0)
		return VACCEL_EINVAL;

	char text[MBENCH_TIME_TEXT_MAX];
	size_t n = arg->size < sizeof(text) - 1 ? arg->size : sizeof(text) - 1;
	memcpy(text, arg->buf, n);
	text[n] = '\0';

	char *end = NULL;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno != 0 || end == text)
		return VACCEL_EINVAL;
	*ms = v;
	return VACCEL_OK;
}

static int mbench_exec(struct vaccel_session *sess, const char *library,
		       const char *fn_symbol, struct vaccel_arg *read,
		       size_t nr_read, struct vaccel_arg *write,
		       size_t nr_write)
{
	(void)write;
	(void)nr_write;

	if (!sess || !library || !fn_symbol) {
		mbench_error("exec: NULL session, library or symbol");
		return VACCEL_EINVAL;
	}
	mbench_debug("exec: session %" PRId64, sess->id);

	const int sleep_mode = strcmp(library, mbench_name) == 0 &&
			       strcmp(fn_symbol, "sleep") == 0;
	if (strcmp(library, mbench_name) != 0 &&
	    strcmp(fn_symbol, mbench_name) != 0) {
		mbench_error("exec: library %s / symbol %s: neither is \"%s\"",
			     library, fn_symbol, mbench_name);
		return VACCEL_EINVAL;
	}
	if (nr_read < 2 || !read) {
		mbench_error(
		    "exec: need 2 read arguments (time, payload), got %zu",
		    nr_read);
		return VACCEL_EINVAL;
	}

	long ms = 0;
	if (parse_ms(&read[0], &ms) != VACCEL_OK || ms < 1 ||
	    ms > MBENCH_MAX_MS) {
		mbench_error("exec: time must be 1..%d ms", MBENCH_MAX_MS);
		return VACCEL_EINVAL;
	}

	vaccel_prof_region_start(&mbench_region);
	if (sleep_mode)
		hold_device(ms);
	else
		spin_ms(ms);
	vaccel_prof_region_stop(&mbench_region);

	mbench_debug("exec: %ld ms elapsed (payload %zu bytes)", ms,
		     read[1].size);
	return VACCEL_OK;
}

/* C = alpha * A * B + beta * C (row-major), computed on the CPU while the
 * device is held for VACCEL_MBENCH_SGEMM_MS: a pure op of known duration
 * whose result can be checked. */
static int mbench_sgemm(struct vaccel_session *sess, int64_t m, int64_t n,
			int64_t k, float alpha, float *a, int64_t lda, float *b,
			int64_t ldb, float beta, float *c, int64_t ldc)
{
	if (!sess || !a || !b || !c || m <= 0 || n <= 0 || k <= 0 || lda < k ||
	    ldb < n || ldc < n) {
		mbench_error("sgemm: bad sizes or NULL matrix");
		return VACCEL_EINVAL;
	}
	for (int64_t i = 0; i < m; ++i)
		for (int64_t j = 0; j < n; ++j) {
			float sum = 0.0F;
			for (int64_t p = 0; p < k; ++p)
				sum += a[i * lda + p] * b[p * ldb + j];
			c[i * ldc + j] = alpha * sum + beta * c[i * ldc + j];
		}
	const long ms = env_long("VACCEL_MBENCH_SGEMM_MS", 0, 0, MBENCH_MAX_MS);
	if (ms > 0)
		hold_device(ms);
	return VACCEL_OK;
}

static struct vaccel_op mbench_ops[] = {
    VACCEL_OP_INIT(mbench_ops[0], VACCEL_OP_EXEC, mbench_exec),
    VACCEL_OP_INIT(mbench_ops[1], VACCEL_OP_BLAS_SGEMM, mbench_sgemm),
};

static int mbench_init(void)
{
	return vaccel_plugin_register_ops(
	    mbench_ops, sizeof(mbench_ops) / sizeof(mbench_ops[0]));
}

static int mbench_fini(void)
{
	vaccel_prof_region_print(&mbench_region);
	vaccel_prof_region_release(&mbench_region);
	return VACCEL_OK;
}

VACCEL_PLUGIN(.name = "mbench", .version = VACCEL_VERSION,
	      .vaccel_version = VACCEL_VERSION, .init = mbench_init,
	      .fini = mbench_fini,
	      .type = VACCEL_PLUGIN_SOFTWARE | VACCEL_PLUGIN_GENERIC |
		      VACCEL_PLUGIN_CPU)
