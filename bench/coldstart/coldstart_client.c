// SPDX-License-Identifier: Apache-2.0
/*
 * coldstart-client: the function of the cold-start benchmark
 * (scripts/bench_coldstart.py), one run of it as a new sandbox would do it,
 * with a marker line per phase printed the moment the phase ends:
 *
 *   coldstart-client classify <model_dir> <image>
 *       a Fashion-MNIST-style classifier: the model directory (model,
 *       labels, preprocessing) registered as one MODEL resource, the image
 *       classified twice (the first call loads the model in the backend);
 *   coldstart-client run <model.pt> <C>x<H>x<W>
 *       a TorchScript model (ResNet-18 on the GPU machine): registered,
 *       loaded, its input tensor allocated through vAccel, then run on a
 *       fixed input that every call first copies into the tensor from the
 *       request's payload (made before main() counts as started, as a
 *       request arrives before its sandbox); the result is the output's
 *       argmax.
 *
 * Lines, each with CLOCK_MONOTONIC in microseconds (a host process shares
 * that clock with the benchmark; in a guest the benchmark timestamps the
 * lines as they arrive on the console instead):
 *
 *   phase start <t>              main() entered (process ready; in run
 *                                mode after the payload is made)
 *   phase session <t>            session created (rpc: connected)
 *   phase registered <t>         model resource registered
 *   phase loaded <t>             model loaded (run only)
 *   phase input <t> allocate_us=<us>
 *                                input tensor allocated and the payload
 *                                copied in (run only), and how long the
 *                                allocation took
 *   phase first <t> <result>     first result
 *   phase warm <t> <result> <us> the median duration of WARM_CALLS more
 *                                calls, and the last one's result
 *
 * The exit status is the failed call's vAccel error code, 0 on success.
 */
#include <vaccel.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TEXT_MAX = 512, WARM_CALLS = 5 };

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void phase(const char *name, const char *rest)
{
	printf("phase %s %lld%s%s\n", name, (long long)now_us(),
	       rest ? " " : "", rest ? rest : "");
	fflush(stdout);
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "coldstart-client: %s failed: %d (%s)\n", what, rc,
		vaccel_last_error());
	return rc;
}

static int by_value(const void *a, const void *b)
{
	const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The warm line: the last result and the median of @p took. */
static void warm(const char *result, int64_t took[WARM_CALLS])
{
	qsort(took, WARM_CALLS, sizeof(took[0]), by_value);
	char rest[TEXT_MAX + 32];
	snprintf(rest, sizeof(rest), "%s %lld", result,
		 (long long)took[WARM_CALLS / 2]);
	phase("warm", rest);
}

static int read_file(const char *path, void **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return VACCEL_ENOENT;
	fseek(f, 0, SEEK_END);
	const long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	*data = malloc(len > 0 ? (size_t)len : 1);
	*size = *data && len > 0 ? fread(*data, 1, (size_t)len, f) : 0;
	fclose(f);
	return *data && *size == (size_t)len ? VACCEL_OK : VACCEL_EIO;
}

/* One classification; its label into @p label. */
static int classify(struct vaccel_session *sess, void *img, size_t size,
		    char *label)
{
	unsigned char text[TEXT_MAX] = {0};
	unsigned char name[TEXT_MAX] = {0};
	const int rc = vaccel_image_classification(
	    sess, img, text, name, size, sizeof(text) - 1, sizeof(name) - 1);
	snprintf(label, TEXT_MAX, "%s", (const char *)text);
	return rc;
}

static int classify_twice(struct vaccel_session *sess, const char *image)
{
	void *img = NULL;
	size_t size = 0;
	int rc = read_file(image, &img, &size);
	if (rc)
		return fail(image, rc);
	char label[TEXT_MAX];
	rc = classify(sess, img, size, label);
	if (rc == VACCEL_OK) {
		phase("first", label);
		int64_t took[WARM_CALLS];
		for (int i = 0; rc == VACCEL_OK && i < WARM_CALLS; i++) {
			const int64_t t0 = now_us();
			rc = classify(sess, img, size, label);
			took[i] = now_us() - t0;
		}
		if (rc == VACCEL_OK)
			warm(label, took);
	}
	free(img);
	return rc ? fail("classification", rc) : VACCEL_OK;
}

/* The index of the largest float of @p out as text. */
static void argmax(const struct vaccel_torch_tensor *out, char *text)
{
	const float *v = (const float *)out->data;
	const size_t n = out->size / sizeof(float);
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	snprintf(text, TEXT_MAX, "class-%zu", best);
}

static int run_once(struct vaccel_session *sess, struct vaccel_resource *model,
		    struct vaccel_torch_tensor *in, char *result)
{
	struct vaccel_torch_tensor *out = NULL;
	const int rc =
	    vaccel_torch_model_run(sess, model, NULL, &in, 1, &out, 1);
	if (rc == VACCEL_OK) {
		argmax(out, result);
		vaccel_torch_tensor_delete(out);
	}
	return rc;
}

/* The request's payload: the fixed input both this client and
 * coldstart-native use, made once before the function starts. */
static float *payload;
static size_t payload_len;

static int make_payload(const char *shape, int64_t dims[4])
{
	dims[0] = 1;
	if (sscanf(shape, "%ldx%ldx%ld", &dims[1], &dims[2], &dims[3]) != 3 ||
	    dims[1] <= 0 || dims[2] <= 0 || dims[3] <= 0)
		return VACCEL_EINVAL;
	payload_len = (size_t)(dims[1] * dims[2] * dims[3]);
	payload = malloc(payload_len * sizeof(float));
	if (payload == NULL)
		return VACCEL_ENOMEM;
	for (size_t i = 0; i < payload_len; i++)
		payload[i] = (float)((i * 7919) % 1000) / 1000.0F - 0.5F;
	return VACCEL_OK;
}

/* What each call does first, as a function handling a request does. */
static void fill_input(float *x)
{
	memcpy(x, payload, payload_len * sizeof(float));
}

/* The input tensor, allocated through vAccel and filled; the phase "input"
 * says when it is ready and how long the allocation alone took. */
static int new_input(int64_t dims[4], struct vaccel_torch_tensor **in)
{
	const int64_t t0 = now_us();
	const int rc = vaccel_torch_tensor_allocate(
	    in, 4, dims, VACCEL_TORCH_FLOAT, payload_len * sizeof(float));
	if (rc)
		return rc;
	char took[64];
	snprintf(took, sizeof(took), "allocate_us=%lld",
		 (long long)(now_us() - t0));
	fill_input((float *)(*in)->data);
	phase("input", took);
	return VACCEL_OK;
}

static int run_twice(struct vaccel_session *sess, struct vaccel_resource *model,
		     int64_t dims[4])
{
	int rc = vaccel_torch_model_load(sess, model);
	if (rc)
		return fail("model load", rc);
	phase("loaded", NULL);
	struct vaccel_torch_tensor *in = NULL;
	rc = new_input(dims, &in);
	if (rc)
		return fail("input tensor", rc);
	char result[TEXT_MAX];
	rc = run_once(sess, model, in, result);
	if (rc == VACCEL_OK) {
		phase("first", result);
		int64_t took[WARM_CALLS];
		for (int i = 0; rc == VACCEL_OK && i < WARM_CALLS; i++) {
			const int64_t t0 = now_us();
			/* Each call copies its request's input in (as
			 * classify decodes its image in every call); the
			 * first call's was copied above. */
			fill_input((float *)in->data);
			rc = run_once(sess, model, in, result);
			took[i] = now_us() - t0;
		}
		if (rc == VACCEL_OK)
			warm(result, took);
	}
	vaccel_torch_tensor_delete(in);
	return rc ? fail("model run", rc) : VACCEL_OK;
}

int main(int argc, char *argv[])
{
	const int is_run = argc == 4 && strcmp(argv[1], "run") == 0;
	int64_t dims[4] = {0};
	if (is_run && make_payload(argv[3], dims) != VACCEL_OK)
		return fail("shape (CxHxW)", VACCEL_EINVAL);
	phase("start", NULL);
	if (argc != 4 || (!is_run && strcmp(argv[1], "classify") != 0)) {
		fprintf(stderr,
			"usage: %s classify <model_dir> <image>\n"
			"       %s run <model.pt> <C>x<H>x<W>\n",
			argv[0], argv[0]);
		return VACCEL_EINVAL;
	}
	struct vaccel_session sess = {.id = 0};
	struct vaccel_resource model = {.id = 0};
	int rc = vaccel_session_init(&sess, 0);
	if (rc)
		return fail("session", rc);
	phase("session", NULL);
	rc = vaccel_resource_init(&model, argv[2], VACCEL_RESOURCE_MODEL);
	if (rc) {
		fail("model resource", rc);
		goto release_session;
	}
	rc = vaccel_resource_register(&model, &sess);
	if (rc) {
		fail("model registration", rc);
		goto release_model;
	}
	phase("registered", NULL);
	rc = is_run ? run_twice(&sess, &model, dims)
		    : classify_twice(&sess, argv[3]);
	vaccel_resource_unregister(&model, &sess);
release_model:
	vaccel_resource_release(&model);
release_session:
	vaccel_session_release(&sess);
	return rc;
}
