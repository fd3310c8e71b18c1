// SPDX-License-Identifier: Apache-2.0
/*
 * classify_batch: classifies many images with one model, in one session
 * (the model is loaded once, as a real service would). The program the main
 * job (scripts/run.sh) runs natively, through a vaccel-agent and inside a
 * VM, unchanged: only VACCEL_PLUGINS / VACCEL_RPC_ADDRESS differ.
 *
 *   classify_batch <model_path> <image_or_directory>...
 *
 * model_path is a model file or a directory holding the model with its
 * labels (*.txt) and preprocessing (*.cfg), registered as one MODEL
 * resource. A directory argument stands for its *.png, *.jpg and *.jpeg
 * files in name order. For each image it prints one line:
 *
 *   result <image> <label> <microseconds>
 *
 * (the label with its spaces kept; the time of the classification call
 * alone), and at the end "done <count>". The first failure stops it with
 * the call's error code as exit status.
 */
#include "common/example.h"

#include <vaccel.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { OUT_TEXT_MAX = 512 };

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Classifies one image file; prints its result line. */
static int classify_one(struct vaccel_session *sess, const char *path)
{
	void *image = NULL;
	size_t size = 0;
	int ret = example_read_file(path, &image, &size);
	if (ret)
		return ret;
	unsigned char text[OUT_TEXT_MAX] = {0};
	unsigned char imgname[OUT_TEXT_MAX] = {0};
	const int64_t start = now_us();
	ret =
	    vaccel_image_classification(sess, image, text, imgname, size,
					sizeof(text) - 1, sizeof(imgname) - 1);
	const int64_t took = now_us() - start;
	free(image);
	if (ret) {
		fprintf(stderr, "%s: classification failed: %d\n", path, ret);
		return ret;
	}
	printf("result %s %s %lld\n", path, (const char *)text,
	       (long long)took);
	fflush(stdout);
	return VACCEL_OK;
}

static int is_image_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot != NULL &&
	       (strcmp(dot, ".png") == 0 || strcmp(dot, ".jpg") == 0 ||
		strcmp(dot, ".jpeg") == 0);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int image_entry(const struct dirent *e)
{
	return e->d_name[0] != '.' && is_image_name(e->d_name);
}

/* Classifies every image of @p dir in name order; adds to *@p count. */
static int classify_dir(struct vaccel_session *sess, const char *dir,
			int *count)
{
	struct dirent **names = NULL;
	const int n = scandir(dir, &names, image_entry, by_name);
	if (n < 0) {
		perror(dir);
		return VACCEL_ENOENT;
	}
	int ret = VACCEL_OK;
	for (int i = 0; i < n; i++) {
		if (ret == VACCEL_OK) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", dir,
				 names[i]->d_name);
			ret = classify_one(sess, path);
			*count += ret == VACCEL_OK;
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

static int classify_args(struct vaccel_session *sess, int argc, char *argv[])
{
	int count = 0;
	for (int i = 2; i < argc; i++) {
		struct stat st;
		const int is_dir =
		    stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode);
		int ret = is_dir ? classify_dir(sess, argv[i], &count)
				 : classify_one(sess, argv[i]);
		if (ret)
			return ret;
		count += !is_dir;
	}
	printf("done %d\n", count);
	return VACCEL_OK;
}

int main(int argc, char *argv[])
{
	if (argc < 3) {
		fprintf(stderr,
			"Usage: %s <model_path> <image_or_directory>...\n",
			argv[0]);
		return VACCEL_EINVAL;
	}
	struct vaccel_session sess = {.id = 0};
	struct vaccel_resource model = {.id = 0};
	int ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fprintf(stderr, "Could not initialize a session: %d\n", ret);
		return ret;
	}
	ret = vaccel_resource_init(&model, argv[1], VACCEL_RESOURCE_MODEL);
	if (ret) {
		fprintf(stderr, "Could not load the model %s: %d\n", argv[1],
			ret);
		goto release_session;
	}
	ret = vaccel_resource_register(&model, &sess);
	if (ret) {
		fprintf(stderr, "Could not register the model: %d\n", ret);
		goto release_model;
	}
	ret = classify_args(&sess, argc, argv);
	vaccel_resource_unregister(&model, &sess);
release_model:
	vaccel_resource_release(&model);
release_session:
	vaccel_session_release(&sess);
	return ret;
}
