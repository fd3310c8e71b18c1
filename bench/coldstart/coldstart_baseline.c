// SPDX-License-Identifier: Apache-2.0
/*
 * coldstart-baseline: the cold-start benchmark's yardsticks without vAccel
 * (scripts/bench_coldstart.py), libc only:
 *
 *   coldstart-baseline listen <path>
 *       a trivial process that opens a listening unix socket, prints
 *       "listening" and waits for stdin to close: what a fresh agent's start
 *       to ready is compared with;
 *   coldstart-baseline rtt <path> <n>
 *       n times: connect to a unix socket served by a child of this process
 *       and make one 64-byte round trip; prints
 *       "rtt <median us> <min us>" of connect plus round trip: what
 *       attaching a sandbox is compared with.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int listen_on(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path);
	unlink(path);
	const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) != 0 ||
	    listen(fd, 64) != 0) {
		perror(path);
		return -1;
	}
	return fd;
}

static int trivial_listener(const char *path)
{
	struct sockaddr_un sa;
	const int fd = listen_on(path, &sa);
	if (fd < 0)
		return 1;
	printf("listening\n");
	fflush(stdout);
	char c;
	while (read(0, &c, 1) > 0) {
	}
	close(fd);
	unlink(path);
	return 0;
}

/* The child: echoes 64 bytes on each of @p n connections, one at a time. */
static void echo_server(int lfd, int n)
{
	char buf[64];
	for (int i = 0; i < n; i++) {
		const int c = accept(lfd, NULL, NULL);
		if (c < 0)
			_exit(1);
		if (recv(c, buf, sizeof buf, MSG_WAITALL) == sizeof buf)
			(void)!write(c, buf, sizeof buf);
		close(c);
	}
	_exit(0);
}

static int by_value(const void *a, const void *b)
{
	const long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static int round_trips(const char *path, int n)
{
	if (n < 1 || n > 10000)
		return 2;
	struct sockaddr_un sa;
	const int lfd = listen_on(path, &sa);
	if (lfd < 0)
		return 1;
	const pid_t child = fork();
	if (child == 0)
		echo_server(lfd, n);
	long long *took = calloc((size_t)n, sizeof(*took));
	char buf[64] = {1};
	int ok = took != NULL;
	for (int i = 0; ok && i < n; i++) {
		const long long t0 = now_ns();
		const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = fd >= 0 &&
		     connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		     write(fd, buf, sizeof buf) == sizeof buf &&
		     recv(fd, buf, sizeof buf, MSG_WAITALL) == sizeof buf;
		took[i] = now_ns() - t0;
		if (fd >= 0)
			close(fd);
	}
	close(lfd);
	unlink(path);
	waitpid(child, NULL, 0);
	if (ok) {
		qsort(took, (size_t)n, sizeof(*took), by_value);
		printf("rtt %.1f %.1f\n", (double)took[n / 2] / 1000.0,
		       (double)took[0] / 1000.0);
	}
	free(took);
	return ok ? 0 : 1;
}

int main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "listen") == 0)
		return trivial_listener(argv[2]);
	if (argc == 4 && strcmp(argv[1], "rtt") == 0)
		return round_trips(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: %s listen <path> | rtt <path> <n>\n", argv[0]);
	return 2;
}
