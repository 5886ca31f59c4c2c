#include "http_io.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { TCP_BUF = 64 * 1024 };

/* A read buffer: TLS asks for a 5-byte record header, then the record; one
 * recv() per 64 KiB instead of two per record. */
struct tcp {
	int fd;
	size_t pos, len;
	char buf[TCP_BUF];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd; 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd;
	long long end = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	int r, left = timeout_ms;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
		if (end >= 0) {
			long long now = mono_ms();
			if (now >= end)
				return 0;
			left = (int)(end - now);
		}
	}
}

static ssize_t tcp_read(void *ctx, void *buf, size_t n, int timeout_ms, struct errbuf *e)
{
	struct tcp *t = ctx;
	ssize_t r;

	if (t->pos < t->len) {
		size_t take = t->len - t->pos < n ? t->len - t->pos : n;
		memcpy(buf, t->buf + t->pos, take);
		t->pos += take;
		return (ssize_t)take;
	}
	for (;;) {
		if (n >= TCP_BUF) {
			r = recv(t->fd, buf, n, 0);
			if (r >= 0)
				return r;
		} else {
			r = recv(t->fd, t->buf, TCP_BUF, 0);
			if (r >= 0) {
				size_t take = (size_t)r < n ? (size_t)r : n;
				memcpy(buf, t->buf, take);
				t->pos = take;
				t->len = (size_t)r;
				return (ssize_t)take;
			}
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			err_sys(e, errno, "receive");
			return -1;
		}
		r = wait_fd(t->fd, POLLIN, timeout_ms);
		if (r == 0) {
			errno = ETIMEDOUT;
			err_set(e, "timed out waiting for data");
			return -1;
		}
		if (r < 0) {
			err_sys(e, errno, "poll");
			return -1;
		}
	}
}

static int tcp_write(void *ctx, const void *buf, size_t n, int timeout_ms, struct errbuf *e)
{
	struct tcp *t = ctx;
	const char *p = buf;
	long long end = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;

	while (n > 0) {
		ssize_t r = send(t->fd, p, n, MSG_NOSIGNAL);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			err_sys(e, errno, "send");
			return -1;
		}
		int left = -1;
		if (end >= 0) {
			long long now = mono_ms();
			left = now >= end ? 0 : (int)(end - now);
		}
		r = wait_fd(t->fd, POLLOUT, left);
		if (r == 0) {
			errno = ETIMEDOUT;
			err_set(e, "timed out sending");
			return -1;
		}
		if (r < 0) {
			err_sys(e, errno, "poll");
			return -1;
		}
	}
	return 0;
}

static void tcp_close(void *ctx)
{
	struct tcp *t = ctx;

	if (t == NULL)
		return;
	close(t->fd);
	free(t);
}

/* "HOST:PORT:ADDR" override; ADDR may be bracketed. */
static const char *override_addr(const char *spec, const char *host, unsigned port, char *out,
				 size_t size)
{
	char want[300];
	int r;
	size_t n;

	if (spec == NULL)
		return NULL;
	r = snprintf(want, sizeof(want), "%s:%u:", host, port);
	if (r < 0 || (size_t)r >= sizeof(want))
		return NULL;
	n = (size_t)r;
	if (strncmp(spec, want, n) != 0)
		return NULL;
	spec += n;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (end == NULL || (size_t)(end - spec - 1) >= size)
			return NULL;
		memcpy(out, spec + 1, (size_t)(end - spec - 1));
		out[end - spec - 1] = '\0';
	} else {
		if (strlen(spec) >= size)
			return NULL;
		memcpy(out, spec, strlen(spec) + 1);
	}
	return out;
}

int http_tcp_connect(void *arg, const char *host, unsigned port, int timeout_ms, struct http_io *io,
		     struct errbuf *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[8], addrbuf[64];
	const char *name = host;
	long long end = mono_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	int fd = -1, r, saved = 0, one = 1;
	struct tcp *t;

	if (override_addr(arg, host, port, addrbuf, sizeof(addrbuf)) != NULL)
		name = addrbuf;
	r = snprintf(portstr, sizeof(portstr), "%u", port);
	if (r < 0 || (size_t)r >= sizeof(portstr)) {
		err_set(e, "bad port");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	r = getaddrinfo(name, portstr, &hints, &res);
	if (r != 0) {
		err_set(e, "cannot resolve %s: %s", name, gai_strerror(r));
		errno = EHOSTUNREACH;
		return -1;
	}
	err_set(e, "no address for %s", name);
	saved = EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		long long now = mono_ms();
		int left = timeout_ms < 0 ? -1 : (now >= end ? 0 : (int)(end - now));
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			err_sys(e, saved, "socket");
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			saved = errno;
			err_sys(e, saved, "connect to %s port %u", name, port);
			close(fd);
			fd = -1;
			continue;
		}
		r = wait_fd(fd, POLLOUT, left);
		if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			break;
		saved = r == 0 ? ETIMEDOUT : (soerr != 0 ? soerr : errno);
		if (r == 0)
			err_set(e, "connect to %s port %u: timed out", name, port);
		else
			err_sys(e, saved, "connect to %s port %u", name, port);
		close(fd);
		fd = -1;
		if (r == 0)
			break; /* the time is gone for every other address too */
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = saved;
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t = malloc(sizeof(*t));
	if (t == NULL) {
		close(fd);
		err_set(e, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	t->fd = fd;
	t->pos = t->len = 0;
	io->ctx = t;
	io->read = tcp_read;
	io->write = tcp_write;
	io->close = tcp_close;
	err_clear(e);
	return 0;
}
