// SPDX-License-Identifier: Apache-2.0
#define _POSIX_C_SOURCE 200809L

#include "example.h"

#include <vaccel.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int example_read_file(const char *path, void **data, size_t *size)
{
	if (!path || !data || !size)
		return VACCEL_EINVAL;

	FILE *f = fopen(path, "rb");
	if (!f) {
		int err = errno;
		fprintf(stderr, "Could not open %s: %s\n", path, strerror(err));
		return err == ENOENT ? VACCEL_ENOENT : VACCEL_EIO;
	}

	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s is not a regular file\n", path);
		fclose(f);
		return VACCEL_EINVAL;
	}

	size_t len = (size_t)st.st_size;
	/* one spare byte so that text files can be used as C strings */
	char *buf = malloc(len + 1);
	if (!buf) {
		fclose(f);
		return VACCEL_ENOMEM;
	}
	if (len && fread(buf, 1, len, f) != len) {
		fprintf(stderr, "Could not read %s\n", path);
		free(buf);
		fclose(f);
		return VACCEL_EIO;
	}
	buf[len] = '\0';
	fclose(f);

	*data = buf;
	*size = len;
	return VACCEL_OK;
}

int example_iterations(int argc, char *argv[], int idx)
{
	if (idx >= argc)
		return 1;

	char *end = NULL;
	errno = 0;
	long n = strtol(argv[idx], &end, 10);
	if (errno != 0 || end == argv[idx] || *end != '\0' || n < 0 ||
	    n > INT_MAX) {
		fprintf(stderr, "Invalid iteration count: %s\n", argv[idx]);
		return -1;
	}
	return (int)n;
}
