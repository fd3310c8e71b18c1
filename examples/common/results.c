// SPDX-License-Identifier: Apache-2.0
#define _POSIX_C_SOURCE 200809L

#include "results.h"

#include <vaccel.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { PATH_MAX_LEN = 4096 };

static int is_file(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* <imgname without its extension>.txt into @p out; 0 if it does not fit. */
static int summary_path(const char *imgname, char *out, size_t len)
{
	const char *dot = strrchr(imgname, '.');
	const char *slash = strrchr(imgname, '/');
	size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - imgname)
						       : strlen(imgname);
	int n = snprintf(out, len, "%.*s.txt", (int)stem, imgname);
	return n > 0 && (size_t)n < len;
}

void example_print_summary(const char *label, const char *imgname)
{
	char path[PATH_MAX_LEN];
	if (!is_file(imgname) || !summary_path(imgname, path, sizeof(path)))
		return;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		printf("%s result: %s\n", label, line);
	}
	fclose(f);
}

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb");
	if (!in) {
		fprintf(stderr, "Could not open %s: %s\n", from,
			strerror(errno));
		return VACCEL_EIO;
	}
	FILE *out = fopen(to, "wb");
	if (!out) {
		fprintf(stderr, "Could not create %s: %s\n", to,
			strerror(errno));
		fclose(in);
		return VACCEL_EIO;
	}
	char buf[65536];
	size_t n;
	int ret = VACCEL_OK;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (fwrite(buf, 1, n, out) != n) {
			ret = VACCEL_EIO;
			break;
		}
	}
	if (ferror(in) || fclose(out) != 0)
		ret = VACCEL_EIO;
	fclose(in);
	if (ret)
		fprintf(stderr, "Could not copy %s to %s\n", from, to);
	return ret;
}

/* @p dir/<basename of @p path> into @p out; 0 if it does not fit. */
static int dest_path(const char *dir, const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	int n = snprintf(out, len, "%s/%s", dir, slash ? slash + 1 : path);
	return n > 0 && (size_t)n < len;
}

static int keep_one(const char *dir, const char *path)
{
	char dest[PATH_MAX_LEN];
	if (!dest_path(dir, path, dest, sizeof(dest))) {
		fprintf(stderr, "Could not keep %s: path too long\n", path);
		return VACCEL_ENAMETOOLONG;
	}
	int ret = copy_file(path, dest);
	if (!ret)
		printf("result kept: %s\n", dest);
	return ret;
}

int example_keep_results(const char *imgname)
{
	const char *dir = getenv("EXAMPLE_RESULTS_DIR");
	if (!dir || !*dir || !is_file(imgname))
		return VACCEL_OK;
	int ret = keep_one(dir, imgname);
	char summary[PATH_MAX_LEN];
	if (!ret && summary_path(imgname, summary, sizeof(summary)) &&
	    is_file(summary))
		ret = keep_one(dir, summary);
	return ret;
}
