// SPDX-License-Identifier: Apache-2.0
/*
 * vaccel-shm: data through the agent, checked and timed, from a guest with
 * or without its sandbox memory (docs/guests.md, section 4).
 *
 *   vaccel-shm check MODEL [SEED]
 *       Byte-exact round trips against a noop agent: torch tensors that
 *       vAccel allocated and tensors in the program's own memory (the model
 *       is any file: noop copies each input to an output), then minmax
 *       (noop copies the input to the output) on vaccel_buffer_alloc()
 *       buffers and on malloc'd ones. One line per case with a digest of
 *       what came back, then one "memory" line per case saying whether its
 *       input lies in the sandbox memory. SEED (default 1) picks the bytes.
 *   vaccel-shm bench N MIB...
 *       minmax of MIB MiB, N calls for each size: "bench buffer" on
 *       vaccel_buffer_alloc() buffers, "bench malloc" on malloc'd ones; the
 *       median, in ms.
 *
 * With the sandbox memory the inputs and outputs travel by offset (in
 * place, or copied into the memory by the rpc plugin); without it, or with
 * VACCEL_RPC_SHM=0, through the transport. The "check" lines are the same
 * either way; guest/bench/run-bench.sh compares the "bench" ones.
 */
#include "bench_common.h"

#include <vaccel.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 256 KiB inputs: above the rpc plugin's 4 KiB inline limit and, two of
 * them, its 64 KiB shared-memory threshold. */
enum { SIDE = 256, ELEMS = SIDE * SIDE };

static void fill(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
}

static uint64_t fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* Whether @p p lies in the sandbox memory (adopted device memory). */
static const char *where(const void *p, size_t n)
{
	struct vaccel_shared_memory_place place = {.struct_size =
						       sizeof(place)};
	if (vaccel_shared_memory_find(p, n, &place) != VACCEL_OK)
		return "other";
	return place.fd < 0 ? "sandbox" : "memfd";
}

/* Two inputs, each copied to an output by the noop plugin: one whose data
 * vAccel allocated, one in the program's memory. */
static int check_torch(struct vaccel_session *sess, const char *model_path,
		       uint64_t seed)
{
	struct vaccel_resource model = {.id = 0};
	int ret =
	    vaccel_resource_init(&model, model_path, VACCEL_RESOURCE_MODEL);
	if (ret)
		return ret;
	ret = vaccel_resource_register(&model, sess);
	if (!ret)
		ret = vaccel_torch_model_load(sess, &model);
	const int64_t dims[] = {1, SIDE, SIDE};
	const size_t bytes = sizeof(float) * ELEMS;
	struct vaccel_torch_tensor *in[2] = {NULL, NULL};
	struct vaccel_torch_tensor *out[2] = {NULL, NULL};
	void *own = malloc(bytes);
	if (!ret)
		ret = vaccel_torch_tensor_allocate(&in[0], 3, dims,
						   VACCEL_TORCH_FLOAT, bytes);
	if (!ret)
		ret = vaccel_torch_tensor_new(&in[1], 3, dims,
					      VACCEL_TORCH_FLOAT);
	if (!ret && !own)
		ret = VACCEL_ENOMEM;
	if (!ret) {
		fill(in[0]->data, bytes, seed);
		fill(own, bytes, seed + 1);
		ret = vaccel_torch_tensor_set_data(in[1], own, bytes);
	}
	if (!ret)
		ret = vaccel_torch_model_run(sess, &model, NULL, in, 2, out, 2);
	for (int i = 0; !ret && i < 2; i++) {
		if (!out[i] || out[i]->size != bytes ||
		    memcmp(out[i]->data, in[i]->data, bytes) != 0) {
			fprintf(stderr, "torch output %d differs\n", i);
			ret = VACCEL_EIO;
			break;
		}
		printf("torch %s %zu bytes: %016" PRIx64 "\n",
		       i == 0 ? "allocated" : "own", bytes,
		       fnv1a(out[i]->data, bytes));
	}
	if (!ret)
		printf("memory torch allocated: %s\nmemory torch own: %s\n",
		       where(in[0]->data, bytes), where(own, bytes));
	for (int i = 0; i < 2; i++) {
		if (out[i])
			vaccel_torch_tensor_delete(out[i]);
		if (in[i])
			vaccel_torch_tensor_delete(in[i]);
	}
	free(own);
	vaccel_resource_unregister(&model, sess);
	vaccel_resource_release(&model);
	return ret;
}

/* minmax: the one op that the agent's default policy allows and whose
 * noop implementation copies its input to its output. Deprecated upstream,
 * still forwarded. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static int minmax_once(struct vaccel_session *sess, double *in, double *out,
		       int n)
{
	double lo = 0, hi = 0;
	return vaccel_minmax(sess, in, n, 0, 0, out, &lo, &hi);
}

/* Buffers for @p bytes: vaccel_buffer_alloc()'s or malloc'd. */
static int buffers(int vaccel_buffers, size_t bytes, double **in, double **out)
{
	if (!vaccel_buffers) {
		*in = malloc(bytes);
		*out = malloc(bytes);
		return *in && *out ? VACCEL_OK : VACCEL_ENOMEM;
	}
	void *a = NULL, *b = NULL;
	int ret = vaccel_buffer_alloc(bytes, &a);
	if (!ret)
		ret = vaccel_buffer_alloc(bytes, &b);
	*in = a;
	*out = b;
	return ret;
}

static void free_buffers(int vaccel_buffers, double *in, double *out)
{
	if (vaccel_buffers) {
		vaccel_buffer_free(in);
		vaccel_buffer_free(out);
	} else {
		free(in);
		free(out);
	}
}

static int check_minmax(struct vaccel_session *sess, int vaccel_buffers,
			uint64_t seed)
{
	const char *name = vaccel_buffers ? "buffer" : "malloc";
	const size_t bytes = sizeof(double) * ELEMS;
	double *in = NULL, *out = NULL;
	int ret = buffers(vaccel_buffers, bytes, &in, &out);
	if (!ret) {
		fill(in, bytes, seed + 2);
		memset(out, 0, bytes);
		ret = minmax_once(sess, in, out, ELEMS);
	}
	if (!ret && memcmp(in, out, bytes) != 0) {
		fprintf(stderr, "minmax %s: output differs\n", name);
		ret = VACCEL_EIO;
	}
	if (!ret)
		printf("minmax %s %zu bytes: %016" PRIx64 "\nmemory minmax "
		       "%s: %s\n",
		       name, bytes, fnv1a(out, bytes), name, where(in, bytes));
	free_buffers(vaccel_buffers, in, out);
	return ret;
}

static int bench(struct vaccel_session *sess, int vaccel_buffers, long mib,
		 long n)
{
	const size_t bytes = (size_t)mib << 20;
	double *in = NULL, *out = NULL;
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	int ret = t ? buffers(vaccel_buffers, bytes, &in, &out) : VACCEL_ENOMEM;
	if (!ret)
		fill(in, bytes, (uint64_t)mib);
	/* One call first: sessions, regions and pages settle. */
	for (long i = -1; !ret && i < n; i++) {
		const uint64_t t0 = bench_now_ns();
		ret = minmax_once(sess, in, out, (int)(bytes / sizeof(double)));
		if (i >= 0)
			t[i] = bench_now_ns() - t0;
	}
	if (!ret && memcmp(in, out, bytes) != 0)
		ret = VACCEL_EIO;
	if (!ret) {
		qsort(t, (size_t)n, sizeof(*t), bench_cmp_u64);
		printf("bench %s %ld MiB: p50=%.2f ms min=%.2f ms n=%ld "
		       "memory=%s\n",
		       vaccel_buffers ? "buffer" : "malloc", mib,
		       (double)t[n / 2] / 1e6, (double)t[0] / 1e6, n,
		       where(in, bytes));
		fflush(stdout);
	}
	free_buffers(vaccel_buffers, in, out);
	free(t);
	return ret;
}

int main(int argc, char *argv[])
{
	const int check =
	    (argc == 3 || argc == 4) && strcmp(argv[1], "check") == 0;
	if (!check && !(argc >= 4 && strcmp(argv[1], "bench") == 0)) {
		fprintf(stderr,
			"usage: %s check MODEL [SEED] | %s bench N MIB "
			"[MIB...]\n",
			argv[0], argv[0]);
		return 2;
	}
	struct vaccel_session sess;
	int ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fprintf(stderr, "session: %d\n", ret);
		return 1;
	}
	if (check) {
		const uint64_t seed =
		    argc == 4 ? strtoull(argv[3], NULL, 10) : 1;
		ret = check_torch(&sess, argv[2], seed);
		if (!ret)
			ret = check_minmax(&sess, 1, seed);
		if (!ret)
			ret = check_minmax(&sess, 0, seed);
	} else {
		const long n = strtol(argv[2], NULL, 10);
		for (int i = 3; !ret && i < argc && n > 0; i++) {
			const long mib = strtol(argv[i], NULL, 10);
			if (mib <= 0 || mib > 1024) {
				ret = VACCEL_EINVAL;
				break;
			}
			ret = bench(&sess, 1, mib, n);
			if (!ret)
				ret = bench(&sess, 0, mib, n);
		}
		if (n <= 0)
			ret = VACCEL_EINVAL;
	}
	if (ret)
		fprintf(stderr, "vaccel-shm: failed: %d (%s)\n", ret,
			vaccel_last_error());
	vaccel_session_release(&sess);
	return ret ? 1 : 0;
}
