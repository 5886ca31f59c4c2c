#include "http_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mem_stream {
	struct http_mem *m;
	const struct http_mem_conn *conn;
	size_t step, off;
};

static ssize_t mem_read(void *ctx, void *buf, size_t n, int timeout_ms, struct errbuf *e)
{
	struct mem_stream *s = ctx;
	const struct http_mem_step *st;
	size_t take;

	(void)timeout_ms;
	if (s->step >= s->conn->nsteps)
		return 0;
	st = &s->conn->steps[s->step];
	if (st->err != 0) {
		s->step++;
		errno = st->err;
		err_sys(e, st->err, "scripted read");
		return -1;
	}
	if (st->len == 0) {
		s->step = s->conn->nsteps;
		return 0;
	}
	take = st->len - s->off;
	if (take > n)
		take = n;
	memcpy(buf, st->data + s->off, take);
	s->off += take;
	if (s->off == st->len) {
		s->step++;
		s->off = 0;
	}
	return (ssize_t)take;
}

static int mem_write(void *ctx, const void *buf, size_t n, int timeout_ms, struct errbuf *e)
{
	struct mem_stream *s = ctx;
	size_t room = HTTP_MEM_SENT_MAX - s->m->sent_len;

	(void)timeout_ms;
	(void)e;
	if (n > room)
		n = room;
	memcpy(s->m->sent + s->m->sent_len, buf, n);
	s->m->sent_len += n;
	s->m->sent[s->m->sent_len] = '\0';
	return 0;
}

static void mem_close(void *ctx)
{
	free(ctx);
}

int http_mem_connect(void *arg, const char *host, unsigned port, int timeout_ms, struct http_io *io,
		     struct errbuf *e)
{
	struct http_mem *m = arg;
	const struct http_mem_conn *c;
	struct mem_stream *s;
	size_t i = m->opened++;

	(void)timeout_ms;
	if (i < HTTP_MEM_CONNS_MAX) {
		size_t n = strlen(host);
		if (n >= sizeof(m->host[i]))
			n = sizeof(m->host[i]) - 1;
		memcpy(m->host[i], host, n);
		m->host[i][n] = '\0';
		m->port[i] = port;
	}
	if (i >= m->nconns) {
		err_set(e, "connect: no scripted connection left");
		errno = ECONNREFUSED;
		return -1;
	}
	c = &m->conns[i];
	if (c->connect_errno != 0) {
		errno = c->connect_errno;
		err_sys(e, errno, "connect to %s port %u", host, port);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		errno = ENOMEM;
		err_set(e, "out of memory");
		return -1;
	}
	s->m = m;
	s->conn = c;
	io->ctx = s;
	io->read = mem_read;
	io->write = mem_write;
	io->close = mem_close;
	return 0;
}
