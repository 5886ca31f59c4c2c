#ifndef HTTP_MEM_H
#define HTTP_MEM_H
/*
 * In-memory transport for unit tests and fuzzers: each connection replays a
 * script of reads (data, a timeout or a reset); everything written is kept.
 */
#include <stddef.h>

#include "http_io.h"

struct http_mem_step {
	const char *data; /* bytes returned by one read (split as given) */
	size_t len;
	int err; /* 0: data (len 0: end of stream); else errno for this read */
};

struct http_mem_conn {
	const struct http_mem_step *steps;
	size_t nsteps;     /* after the last step: end of stream */
	int connect_errno; /* non-zero: connecting fails with this errno */
};

enum { HTTP_MEM_SENT_MAX = 64 * 1024, HTTP_MEM_CONNS_MAX = 16 };

struct http_mem {
	const struct http_mem_conn *conns;
	size_t nconns;
	size_t opened; /* connections attempted */
	char host[HTTP_MEM_CONNS_MAX][256];
	unsigned port[HTTP_MEM_CONNS_MAX];
	char sent[HTTP_MEM_SENT_MAX + 1]; /* all writes, NUL-terminated */
	size_t sent_len;
};

/* http_connect_fn over a struct http_mem (arg). */
int http_mem_connect(void *arg, const char *host, unsigned port, int timeout_ms, struct http_io *io,
		     struct errbuf *e);

#endif
