/*
 * The netns lab's TCP listener (scan.md §17.1): bind ADDR:PORT, accept and
 * close connections until killed.  With --connect, try to connect to
 * ADDR:PORT for up to --timeout seconds (default 5) and exit 0 on success.
 *
 *   lab-listen ADDR PORT
 *   lab-listen --connect ADDR PORT [--timeout S]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "num.h"

static int parse_addr(const char *a, const char *p, struct sockaddr_in *sa)
{
	int64_t port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, a, &sa->sin_addr) != 1 || num_parse_i64(p, strlen(p), &port) != 0 ||
	    port < 1 || port > 65535)
		return -1;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

static int do_connect(struct sockaddr_in *sa, double timeout)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)sa, sizeof(*sa)) == 0) {
			close(fd);
			return 0;
		}
		if (fd >= 0)
			close(fd);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 >=
		    timeout) {
			fprintf(stderr, "lab-listen: cannot connect: %s\n", strerror(errno));
			return 1;
		}
		usleep(100000);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	if (argc >= 4 && strcmp(argv[1], "--connect") == 0) {
		double timeout = 5;
		if (argc == 6 && strcmp(argv[4], "--timeout") == 0 &&
		    num_parse_double(argv[5], strlen(argv[5]), &timeout) != 0)
			return 2;
		if (parse_addr(argv[2], argv[3], &sa) != 0)
			return 2;
		return do_connect(&sa, timeout);
	}
	if (argc != 3 || parse_addr(argv[1], argv[2], &sa) != 0) {
		fprintf(stderr,
			"usage: lab-listen ADDR PORT | --connect ADDR PORT [--timeout S]\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0) {
		fprintf(stderr, "lab-listen: cannot listen on %s:%s: %s\n", argv[1], argv[2],
			strerror(errno));
		return 1;
	}
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c >= 0)
			close(c);
		else if (errno != EINTR && errno != ECONNABORTED)
			return 1;
	}
}
