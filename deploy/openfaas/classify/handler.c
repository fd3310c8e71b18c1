// SPDX-License-Identifier: Apache-2.0
/*
 * OpenFaaS function "classify": classifies an image through vAccel.
 *
 * The classic watchdog contract: the watchdog forks this program once per
 * HTTP request, writes the request body (the image bytes) to its stdin and
 * returns what it prints on stdout (the classification tag, one line) as
 * the response; a non-zero exit becomes an HTTP 500, with the reason on
 * stderr (the function's log). With a path argument the image is read from
 * that file instead, for trying the handler by hand.
 *
 * Which backend classifies is vAccel's configuration, not this program's:
 * VACCEL_PLUGINS=libvaccel-rpc.so with VACCEL_RPC_ADDRESS sends the call to a
 * vaccel-agent (the usual deployment: the accelerator is the node's),
 * a local backend plugin runs it in the function's container.
 *
 * Environment:
 *   CLASSIFY_MODEL      model file or URL registered with the session as a
 *                       MODEL resource (backends that need one)
 *   CLASSIFY_MAX_BYTES  largest image accepted (default 16 MiB)
 *
 * Exit status: 0 tag printed, 1 vAccel failure, 2 bad request (no image,
 * image too large, unreadable input).
 */
#include <vaccel.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	EXIT_VACCEL = 1,
	EXIT_REQUEST = 2,
	TAG_MAX = 1024,
	IMGNAME_MAX = 512,
};

static const size_t default_max_bytes = (size_t)16 << 20;

/* Why the last vAccel call failed, where this implementation says. */
static const char *vaccel_reason(void)
{
#ifdef VACCEL_HAS_EXT
	return vaccel_last_error();
#else
	return "";
#endif
}

static void fail_vaccel(const char *what, int ret)
{
	const char *reason = vaccel_reason();
	fprintf(stderr, "classify: %s failed: vAccel error %d%s%s\n", what, ret,
		reason[0] ? ": " : "", reason);
}

/* CLASSIFY_MAX_BYTES, or the default when unset; 0 on a malformed value. */
static size_t max_image_bytes(void)
{
	const char *env = getenv("CLASSIFY_MAX_BYTES");
	if (!env || !env[0])
		return default_max_bytes;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(env, &end, 10);
	if (errno || *end || env[0] == '-' || v == 0 || v >= SIZE_MAX / 2) {
		fprintf(stderr,
			"classify: CLASSIFY_MAX_BYTES=%s: expected a positive "
			"byte count\n",
			env);
		return 0;
	}
	return (size_t)v;
}

/*
 * Reads all of @p in into a malloc'ed buffer. Returns 0, or EXIT_REQUEST
 * with a message when the input cannot be read, is empty or exceeds @p max.
 * At most max + 1 bytes are read, so a huge upload is never buffered.
 */
static int read_all(FILE *in, size_t max, unsigned char **out, size_t *len)
{
	const size_t limit = max + 1;
	size_t cap = limit < 65536 ? limit : 65536;
	size_t n = 0;
	unsigned char *buf = malloc(cap);
	if (!buf) {
		fprintf(stderr, "classify: out of memory\n");
		return EXIT_REQUEST;
	}
	while (n < limit) {
		if (n == cap) {
			size_t next = cap > limit / 2 ? limit : cap * 2;
			unsigned char *grown = realloc(buf, next);
			if (!grown) {
				free(buf);
				fprintf(stderr, "classify: out of memory\n");
				return EXIT_REQUEST;
			}
			buf = grown;
			cap = next;
		}
		size_t got = fread(buf + n, 1, cap - n, in);
		if (got == 0)
			break;
		n += got;
	}
	if (ferror(in)) {
		free(buf);
		fprintf(stderr, "classify: reading the image: %s\n",
			strerror(errno));
		return EXIT_REQUEST;
	}
	if (n == 0) {
		free(buf);
		fprintf(stderr, "classify: empty request: send the image "
				"bytes as the request body\n");
		return EXIT_REQUEST;
	}
	if (n > max) {
		free(buf);
		fprintf(stderr,
			"classify: image larger than %zu bytes "
			"(CLASSIFY_MAX_BYTES)\n",
			max);
		return EXIT_REQUEST;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int read_image(int argc, char **argv, unsigned char **img, size_t *len)
{
	const size_t max = max_image_bytes();
	if (max == 0)
		return EXIT_REQUEST;
	if (argc < 2)
		return read_all(stdin, max, img, len);

	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		fprintf(stderr, "classify: %s: %s\n", argv[1], strerror(errno));
		return EXIT_REQUEST;
	}
	int ret = read_all(f, max, img, len);
	fclose(f);
	return ret;
}

/* Classifies @p img in a fresh session (with CLASSIFY_MODEL registered when
 * set) and prints the tag. */
static int classify(unsigned char *img, size_t len)
{
	struct vaccel_session sess;
	int ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fail_vaccel("creating a session", ret);
		return EXIT_VACCEL;
	}

	int status = EXIT_VACCEL;
	const char *model_path = getenv("CLASSIFY_MODEL");
	struct vaccel_resource model;
	int have_model = 0;
	if (model_path && model_path[0]) {
		ret = vaccel_resource_init(&model, model_path,
					   VACCEL_RESOURCE_MODEL);
		if (ret) {
			fail_vaccel("loading CLASSIFY_MODEL", ret);
			goto release_session;
		}
		ret = vaccel_resource_register(&model, &sess);
		if (ret) {
			fail_vaccel("registering the model", ret);
			vaccel_resource_release(&model);
			goto release_session;
		}
		have_model = 1;
	}

	unsigned char tag[TAG_MAX] = {0};
	unsigned char imgname[IMGNAME_MAX] = {0};
	ret = vaccel_image_classification(&sess, img, tag, imgname, len,
					  sizeof(tag) - 1, sizeof(imgname) - 1);
	if (ret) {
		fail_vaccel("image classification", ret);
	} else {
		/* The last byte stays 0 whatever the backend wrote. */
		printf("%s\n", (const char *)tag);
		status = fflush(stdout) == 0 ? 0 : EXIT_VACCEL;
	}

	if (have_model) {
		vaccel_resource_unregister(&model, &sess);
		vaccel_resource_release(&model);
	}
release_session:
	vaccel_session_release(&sess);
	return status;
}

int main(int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "usage: %s [image-file] (default: stdin)\n",
			argv[0]);
		return EXIT_REQUEST;
	}
	unsigned char *img = NULL;
	size_t len = 0;
	int ret = read_image(argc, argv, &img, &len);
	if (ret)
		return ret;
	ret = classify(img, len);
	free(img);
	return ret;
}
