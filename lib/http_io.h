#ifndef HTTP_IO_H
#define HTTP_IO_H
/*
 * The byte stream under the HTTP client: a plain TCP socket, a TLS session
 * over another stream, or an in-memory script in tests and fuzzers.
 */
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct http_io {
	void *ctx;
	/* Read up to n bytes, waiting at most timeout_ms (< 0: no limit).
	 * Returns > 0 bytes, 0 at a clean end of stream, or -1 with errno set
	 * (ETIMEDOUT when the wait ran out) and e filled. */
	ssize_t (*read)(void *ctx, void *buf, size_t n, int timeout_ms, struct errbuf *e);
	/* Write all n bytes within timeout_ms.  0 or -1 (errno, e). */
	int (*write)(void *ctx, const void *buf, size_t n, int timeout_ms, struct errbuf *e);
	/* Close and free ctx. */
	void (*close)(void *ctx);
};

/* Opens a stream to host:port (a name or an IP literal without brackets)
 * within timeout_ms.  0 with *io filled, or -1 with errno and e set. */
typedef int (*http_connect_fn)(void *arg, const char *host, unsigned port, int timeout_ms,
			       struct http_io *io, struct errbuf *e);

/* TCP: every address of host in turn (IPv4 and IPv6), non-blocking connect
 * bounded by timeout_ms, CLOEXEC, TCP_NODELAY, MSG_NOSIGNAL on writes.  If
 * arg is not NULL it is a "HOST:PORT:ADDR" override (like curl --resolve):
 * a matching host:port connects to ADDR instead of resolving the name. */
int http_tcp_connect(void *arg, const char *host, unsigned port, int timeout_ms, struct http_io *io,
		     struct errbuf *e);

#endif
