// SPDX-License-Identifier: Apache-2.0
/*
 * The mbench plugin: a micro-benchmark backend. Its exec op spins on the CPU
 * for the number of milliseconds given as text in the first read argument,
 * so that the cost of the vAccel call path (locally or through a transport)
 * can be measured against a known amount of work. The library or the symbol
 * must be "mbench"; a second read argument (any payload, e.g. a file's
 * bytes) is required, as upstream requires it, to exercise argument
 * transfer.
 */
#define _POSIX_C_SOURCE 200809L

#include <vaccel.h>

#include <errno.h>
#include <inttypes.h>
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
	spin_ms(ms);
	vaccel_prof_region_stop(&mbench_region);

	mbench_debug("exec: %ld ms elapsed (payload %zu bytes)", ms,
		     read[1].size);
	return VACCEL_OK;
}

static struct vaccel_op mbench_ops[] = {
    VACCEL_OP_INIT(mbench_ops[0], VACCEL_OP_EXEC, mbench_exec),
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
