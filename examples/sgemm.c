// SPDX-License-Identifier: Apache-2.0
/*
 * sgemm: single-precision C = alpha * A * B + beta * C on 512x512 row-major
 * matrices. Optionally writes C (raw floats) to a file.
 *
 *   sgemm [iterations] [out_file]
 *
 * Built twice: with EXAMPLE_USE_GENOP it is sgemm_generic, which makes the
 * same call through vaccel_genop() (read = { op, m, n, k, alpha, A, lda, B,
 * ldb, beta, ldc }, write = { C }).
 */
#include "common/example.h"

#include <vaccel.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { DIM = 512 };

/* Deterministic contents: element (i, j) of each matrix is i * j / rows. */
static void fill(float *m, int64_t rows, int64_t cols)
{
	for (int64_t i = 0; i < rows; i++)
		for (int64_t j = 0; j < cols; j++)
			m[i * cols + j] = (float)i * (float)j / (float)rows;
}

struct gemm {
	int64_t m, n, k;
	float alpha, beta;
	float *a, *b, *c;
};

#ifdef EXAMPLE_USE_GENOP
static int run_sgemm(struct vaccel_session *sess, struct gemm *g)
{
	struct vaccel_arg_array read;
	struct vaccel_arg_array write;
	int ret = vaccel_arg_array_init(&read, 11);
	if (ret)
		return ret;
	ret = vaccel_arg_array_init(&write, 1);
	if (ret) {
		vaccel_arg_array_release(&read);
		return ret;
	}

	uint8_t op_type = (uint8_t)VACCEL_OP_BLAS_SGEMM;
	int64_t lda = g->k;
	int64_t ldb = g->n;
	int64_t ldc = g->n;
	const size_t nr_a = (size_t)(g->m * g->k);
	const size_t nr_b = (size_t)(g->k * g->n);
	const size_t nr_c = (size_t)(g->m * g->n);

	ret = vaccel_arg_array_add_uint8(&read, &op_type);
	if (!ret)
		ret = vaccel_arg_array_add_int64(&read, &g->m);
	if (!ret)
		ret = vaccel_arg_array_add_int64(&read, &g->n);
	if (!ret)
		ret = vaccel_arg_array_add_int64(&read, &g->k);
	if (!ret)
		ret = vaccel_arg_array_add_float(&read, &g->alpha);
	if (!ret)
		ret = vaccel_arg_array_add_float_array(&read, g->a, nr_a);
	if (!ret)
		ret = vaccel_arg_array_add_int64(&read, &lda);
	if (!ret)
		ret = vaccel_arg_array_add_float_array(&read, g->b, nr_b);
	if (!ret)
		ret = vaccel_arg_array_add_int64(&read, &ldb);
	if (!ret)
		ret = vaccel_arg_array_add_float(&read, &g->beta);
	if (!ret)
		ret = vaccel_arg_array_add_int64(&read, &ldc);
	if (!ret)
		ret = vaccel_arg_array_add_float_array(&write, g->c, nr_c);
	if (ret)
		fprintf(stderr, "Could not pack arguments: %d\n", ret);
	else
		ret = vaccel_genop(sess, read.args, (int)read.count, write.args,
				   (int)write.count);

	vaccel_arg_array_release(&write);
	vaccel_arg_array_release(&read);
	return ret;
}
#else
static int run_sgemm(struct vaccel_session *sess, struct gemm *g)
{
	return vaccel_sgemm(sess, g->m, g->n, g->k, g->alpha, g->a, g->k, g->b,
			    g->n, g->beta, g->c, g->n);
}
#endif

int main(int argc, char *argv[])
{
	if (argc > 3) {
		fprintf(stderr, "Usage: %s [iterations] [out_file]\n", argv[0]);
		return VACCEL_EINVAL;
	}
	const int iterations = example_iterations(argc, argv, 1);
	if (iterations < 0)
		return VACCEL_EINVAL;

	struct gemm g = {
	    .m = DIM, .n = DIM, .k = DIM, .alpha = 32412.0F, .beta = 2123.0F};
	g.a = malloc(sizeof(float) * DIM * DIM);
	g.b = malloc(sizeof(float) * DIM * DIM);
	g.c = malloc(sizeof(float) * DIM * DIM);
	if (!g.a || !g.b || !g.c) {
		free(g.a);
		free(g.b);
		free(g.c);
		return VACCEL_ENOMEM;
	}
	fill(g.a, g.m, g.k);
	fill(g.b, g.k, g.n);
	fill(g.c, g.m, g.n);

	struct vaccel_prof_region region = VACCEL_PROF_REGION_INIT("sgemm");
	struct vaccel_session sess;
	int ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fprintf(stderr, "Could not initialize session: %d\n", ret);
		goto free_matrices;
	}
	printf("Initialized session with id: %" PRId64 "\n", sess.id);

	for (int i = 0; i < iterations; i++) {
		vaccel_prof_region_start(&region);
		ret = run_sgemm(&sess, &g);
		vaccel_prof_region_stop(&region);
		if (ret) {
			fprintf(stderr, "Could not run sgemm: %d\n", ret);
			break;
		}
	}

	if (!ret && argc == 3 && iterations > 0) {
		FILE *f = fopen(argv[2], "wb");
		if (!f || fwrite(g.c, sizeof(float), (size_t)(g.m * g.n), f) !=
			      (size_t)(g.m * g.n))
			fprintf(stderr, "Could not write the result to %s\n",
				argv[2]);
		if (f)
			fclose(f);
	}

	if (vaccel_session_release(&sess))
		fprintf(stderr, "Could not release session\n");
free_matrices:
	free(g.a);
	free(g.b);
	free(g.c);

	vaccel_prof_region_print(&region);
	vaccel_prof_region_release(&region);
	return ret;
}
