// SPDX-License-Identifier: Apache-2.0
/*
 * vport-ping: round trips of a SIZE-byte message over a character device
 * (a virtio-serial port) to an echo on the host (vport-echo): the floor
 * that any protocol over the same port pays.
 *
 *   vport-ping DEVICE N SIZE
 */
#include "bench_common.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

enum { WARMUP = 10, MAX_SIZE = 65536 };

static int io_all(int fd, unsigned char *buf, size_t n, int writing)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = writing ? write(fd, buf + done, n - done)
				    : read(fd, buf + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s DEVICE N SIZE\n", argv[0]);
		return 2;
	}
	const long n = strtol(argv[2], NULL, 10);
	const long size = strtol(argv[3], NULL, 10);
	if (n <= 0 || size <= 0 || size > MAX_SIZE) {
		fprintf(stderr, "N > 0 and 0 < SIZE <= %d\n", MAX_SIZE);
		return 2;
	}
	int fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	static unsigned char out[MAX_SIZE];
	static unsigned char in[MAX_SIZE];
	memset(out, 0x5a, sizeof(out));
	uint64_t *samples = calloc((size_t)n, sizeof(*samples));
	int ret = samples ? 0 : 1;
	for (long i = 0; !ret && i < n + WARMUP; i++) {
		out[0] = (unsigned char)i;
		const uint64_t t0 = bench_now_ns();
		if (io_all(fd, out, (size_t)size, 1) ||
		    io_all(fd, in, (size_t)size, 0) ||
		    memcmp(in, out, (size_t)size) != 0) {
			fprintf(stderr, "round trip %ld failed\n", i);
			ret = 1;
			break;
		}
		if (i >= WARMUP)
			samples[i - WARMUP] = bench_now_ns() - t0;
	}
	if (!ret) {
		char name[64];
		snprintf(name, sizeof(name), "vport ping %ldB", size);
		bench_report(name, samples, (size_t)n);
	}
	free(samples);
	close(fd);
	return ret;
}
