// SPDX-License-Identifier: Apache-2.0
/*
 * vport-echo (host): listens on a unix socket and echoes every byte back,
 * one connection at a time; QEMU's chardev for the guest's ping port
 * connects here. Stops when its connection closes and no other comes
 * within the idle timeout.
 *
 *   vport-echo SOCKET_PATH
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET_PATH\n", argv[0]);
		return 2;
	}
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "socket path too long\n");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(argv[1]);
	if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(l, 4) != 0) {
		perror("listen");
		return 1;
	}
	printf("vport-echo listening on %s\n", argv[1]);
	fflush(stdout);
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		char buf[65536];
		ssize_t r;
		while ((r = read(c, buf, sizeof(buf))) > 0) {
			ssize_t done = 0;
			while (done < r) {
				ssize_t w =
				    write(c, buf + done, (size_t)(r - done));
				if (w <= 0)
					break;
				done += w;
			}
		}
		close(c);
	}
}
