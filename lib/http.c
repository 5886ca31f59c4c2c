#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <mbedtls/base64.h>

#include "bounds.h"
#include "http_tls.h"
#include "http_url.h"

enum { READ_BUF = 64 * 1024, REQ_MAX = 16 * 1024 };

struct http_client {
	struct http_config cfg;
	struct http_tls *tls;
	char *buf;
};

static int64_t default_now(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void default_sleep(void *arg, int64_t ms)
{
	struct timespec ts;

	(void)arg;
	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static uint32_t default_random(void *arg)
{
	uint32_t v = 0;

	(void)arg;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint32_t)default_now(NULL) * 2654435761u;
	return v;
}

struct http_client *http_client_new(const struct http_config *cfg, struct errbuf *e)
{
	struct http_client *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->buf = malloc(READ_BUF)) == NULL) {
		free(c);
		err_set(e, "out of memory");
		return NULL;
	}
	c->cfg = *cfg;
	if (c->cfg.connect_timeout_ms <= 0)
		c->cfg.connect_timeout_ms = 20000;
	if (c->cfg.idle_timeout_ms <= 0)
		c->cfg.idle_timeout_ms = 60000;
	if (c->cfg.connect == NULL)
		c->cfg.connect = http_tcp_connect;
	if (c->cfg.now_ms == NULL)
		c->cfg.now_ms = default_now;
	if (c->cfg.sleep_ms == NULL)
		c->cfg.sleep_ms = default_sleep;
	if (c->cfg.random == NULL)
		c->cfg.random = default_random;
	return c;
}

void http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	http_tls_free(c->tls);
	free(c->buf);
	free(c);
}

void http_response_clear(struct http_response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->retry_after_s = -1;
}

int http_retry_status_default(int status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
	       status == 504;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int http_no_proxy_match(const char *np, const char *host)
{
	size_t hl = strlen(host);

	if (np == NULL)
		return 0;
	while (*np != '\0') {
		const char *s = np, *end = np + strcspn(np, ","), *t;
		size_t n;

		np = *end == ',' ? end + 1 : end;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		t = end;
		while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if (t == s)
			continue;
		if (t - s == 1 && *s == '*')
			return 1;
		/* drop a port: "host:port" or "[v6]:port"; a bare v6 literal has several ':' */
		if (*s == '[') {
			const char *rb = memchr(s, ']', (size_t)(t - s));
			if (rb == NULL)
				continue;
			s++;
			t = rb;
		} else {
			const char *colon = memchr(s, ':', (size_t)(t - s));
			if (colon != NULL &&
			    memchr(colon + 1, ':', (size_t)(t - colon - 1)) == NULL)
				t = colon;
		}
		if (*s == '.')
			s++;
		n = (size_t)(t - s);
		if (n == 0 || n > hl)
			continue;
		{
			size_t i, off = hl - n;
			int same = 1;
			for (i = 0; i < n && same; i++)
				same = lower((unsigned char)host[off + i]) ==
				       lower((unsigned char)s[i]);
			if (!same)
				continue;
			if (off == 0)
				return 1;
			if (host[off - 1] == '.' && !http_host_is_ip(host))
				return 1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- one exchange */

struct attempt {
	struct http_client *c;
	const struct http_request *rq;
	struct http_response *r;
	int64_t deadline; /* total deadline or -1 */
	int delivered;    /* body bytes went to the caller's sink */
	size_t cap;       /* collector capacity */
};

static int64_t left_ms(const struct attempt *a, int64_t want)
{
	int64_t now, l;

	if (a->deadline < 0)
		return want;
	now = a->c->cfg.now_ms(a->c->cfg.clock_arg);
	l = a->deadline > now ? a->deadline - now : 0;
	return l < want ? l : want;
}

static int collect(void *arg, const char *buf, size_t n, struct errbuf *e)
{
	struct attempt *a = arg;
	struct http_response *r = a->r;

	if (a->rq->on_body != NULL) {
		a->delivered = 1;
		return a->rq->on_body(a->rq->body_arg, buf, n, e);
	}
	if (r->body_len + n + 1 > a->cap) {
		size_t nc = a->cap == 0 ? 4096 : a->cap;
		char *nb;
		while (nc < r->body_len + n + 1)
			nc *= 2;
		nb = realloc(r->body, nc);
		if (nb == NULL) {
			err_set(e, "out of memory");
			return -1;
		}
		r->body = nb;
		a->cap = nc;
	}
	memcpy(r->body + r->body_len, buf, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return 0;
}

static int fail(struct http_response *r, enum http_fail f)
{
	r->fail = f;
	return -1;
}

static enum http_fail io_fail_kind(int err)
{
	return err == ETIMEDOUT ? HTTP_FAIL_TIMEOUT : HTTP_FAIL_IO;
}

static int valid_header_line(const char *h)
{
	static const char *const reserved[] = {"host", "content-length", "transfer-encoding",
					       "connection", NULL};
	size_t i, n = strcspn(h, ":");

	if (n == 0 || h[n] != ':')
		return 0;
	for (i = 0; i < n; i++) {
		int ch = (unsigned char)h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch) != NULL))
			return 0;
	}
	for (i = n; h[i] != '\0'; i++)
		if ((unsigned char)h[i] < 0x20 && h[i] != '\t')
			return 0;
	for (i = 0; reserved[i] != NULL; i++)
		if (strlen(reserved[i]) == n && strncasecmp(h, reserved[i], n) == 0)
			return 0;
	return 1;
}

/* Append to the request buffer; -1 when it would not fit. */
static int add(char *buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add(char *buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf + *len, REQ_MAX - *len, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= REQ_MAX - *len)
		return -1;
	*len += (size_t)r;
	return 0;
}

static int hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "Basic" credentials from URL user-info ("user:pass", percent-decoded). */
static int basic_auth(const char *userinfo, char *out, size_t size)
{
	unsigned char plain[HTTP_USERINFO_MAX];
	size_t n = 0, olen = 0, i;

	for (i = 0; userinfo[i] != '\0' && n < sizeof(plain); i++) {
		int hi, lo;
		if (userinfo[i] == '%' && (hi = hexdigit((unsigned char)userinfo[i + 1])) >= 0 &&
		    (lo = hexdigit((unsigned char)userinfo[i + 2])) >= 0) {
			plain[n++] = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else {
			plain[n++] = (unsigned char)userinfo[i];
		}
	}
	if (mbedtls_base64_encode((unsigned char *)out, size, &olen, plain, n) != 0)
		return -1;
	out[olen] = '\0';
	return 0;
}

/* Read a response through p into the sink until stop says so.  Returns the
 * parser result (HEADERS or DONE) or -1. */
static int read_response(struct attempt *a, struct http_io *io, struct http_parser *p,
			 char **pending, size_t *npending, struct errbuf *e)
{
	struct http_client *c = a->c;

	for (;;) {
		size_t used = 0;
		int r;

		if (*npending > 0 || http_parser_headers_done(p)) {
			r = http_parser_feed(p, *pending, *npending, &used, collect, a, e);
			if (r < 0) {
				errno = http_parser_over_limit(p) ? EFBIG : EPROTO;
				return -1;
			}
			*pending += used;
			*npending -= used;
			if (r != HTTP_PARSE_MORE)
				return r;
		}
		int64_t t = left_ms(a, c->cfg.idle_timeout_ms);
		if (t <= 0) {
			err_set(e, "timed out");
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t n = io->read(io->ctx, c->buf, READ_BUF, (int)t, e);
		if (n < 0) {
			if (errno == ETIMEDOUT)
				err_set(e, "timed out waiting for the %s",
					http_parser_headers_done(p) ? "response body"
								    : "response header");
			return -1;
		}
		if (n == 0) {
			r = http_parser_eof(p, e);
			if (r < 0)
				errno = EPIPE;
			return r;
		}
		*pending = c->buf;
		*npending = (size_t)n;
	}
}

static int is_redirect(int s)
{
	return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* Proxy for u, or 0 when going direct.  -1 on a malformed proxy setting. */
static int pick_proxy(struct http_client *c, const struct http_request *rq,
		      const struct http_url *u, struct http_url *px, struct errbuf *e)
{
	const char *v = u->https ? c->cfg.https_proxy : c->cfg.http_proxy;
	char tmp[BOUNDS_HTTP_URL_MAX];

	if (rq->no_proxy || v == NULL || v[0] == '\0')
		return 0;
	if (http_no_proxy_match(c->cfg.no_proxy, u->host))
		return 0;
	if (strstr(v, "://") == NULL) {
		int n = snprintf(tmp, sizeof(tmp), "http://%s", v);
		if (n < 0 || (size_t)n >= sizeof(tmp)) {
			err_set(e, "proxy setting too long");
			return -1;
		}
		v = tmp;
	} else if (strncasecmp(v, "http://", 7) != 0) {
		err_set(e, "proxy %s: only http:// proxies are supported", v);
		return -1;
	}
	if (http_url_parse(v, px, e) != 0) {
		char m[ERRBUF_SIZE];
		memcpy(m, e != NULL ? e->msg : "", e != NULL ? sizeof(m) : 1);
		err_set(e, "bad proxy setting: %.400s", m);
		return -1;
	}
	return 1;
}

static int proxy_connect(struct attempt *a, struct http_io *io, const struct http_url *px,
			 const struct http_url *u, struct errbuf *e)
{
	char req[REQ_MAX], auth[HTTP_USERINFO_MAX * 2], target[HTTP_HOST_MAX + 16];
	size_t len = 0;
	struct http_parser *p;
	char *pending = NULL;
	size_t npending = 0;
	int r, rc = -1;

	if (http_url_authority(u, 1, target, sizeof(target)) != 0 ||
	    add(req, &len, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target) != 0) {
		err_set(e, "CONNECT target too long");
		return fail(a->r, HTTP_FAIL_USAGE);
	}
	if (px->userinfo[0] != '\0') {
		if (basic_auth(px->userinfo, auth, sizeof(auth)) != 0 ||
		    add(req, &len, "Proxy-Authorization: Basic %s\r\n", auth) != 0) {
			err_set(e, "proxy credentials too long");
			return fail(a->r, HTTP_FAIL_USAGE);
		}
	}
	if ((a->c->cfg.user_agent != NULL &&
	     add(req, &len, "User-Agent: %s\r\n", a->c->cfg.user_agent) != 0) ||
	    add(req, &len, "\r\n") != 0) {
		err_set(e, "CONNECT request too long");
		return fail(a->r, HTTP_FAIL_USAGE);
	}
	if (io->write(io->ctx, req, len, (int)left_ms(a, a->c->cfg.connect_timeout_ms), e) != 0)
		return fail(a->r, io_fail_kind(errno));
	p = http_parser_new(BOUNDS_HTTP_HEADER_BLOCK, 0);
	if (p == NULL) {
		err_set(e, "out of memory");
		return fail(a->r, HTTP_FAIL_USAGE);
	}
	http_parser_set_headers_only(p, 1);
	r = read_response(a, io, p, &pending, &npending, e);
	if (r < 0) {
		char m[ERRBUF_SIZE];
		int saved = errno;
		memcpy(m, e != NULL ? e->msg : "", e != NULL ? sizeof(m) : 1);
		err_set(e, "proxy %s port %u: %.400s", px->host, px->port, m);
		fail(a->r, saved == ETIMEDOUT ? HTTP_FAIL_TIMEOUT : HTTP_FAIL_PROXY);
		goto out;
	}
	if (http_parser_status(p) / 100 != 2) {
		err_set(e, "proxy %s port %u refused CONNECT to %s: HTTP %d", px->host, px->port,
			target, http_parser_status(p));
		fail(a->r, HTTP_FAIL_PROXY);
		goto out;
	}
	if (npending > 0) {
		err_set(e, "proxy %s sent data after its CONNECT response", px->host);
		fail(a->r, HTTP_FAIL_PROXY);
		goto out;
	}
	rc = 0;
out:
	http_parser_free(p);
	return rc;
}

/* One request/response on a fresh connection to u.  0 when a response's
 * headers were read (r->status set; *follow set when it is a redirect to be
 * followed, and then the body is not read), -1 on failure. */
static int exchange(struct attempt *a, const struct http_url *u, const char *method, int *follow,
		    struct errbuf *e)
{
	struct http_client *c = a->c;
	const struct http_request *rq = a->rq;
	struct http_response *r = a->r;
	struct http_url px;
	struct http_io io = {0};
	struct http_parser *p = NULL;
	char *req = NULL, *pending = NULL, auth[HTTP_USERINFO_MAX * 2],
	     hostport[HTTP_HOST_MAX + 16];
	const char *h;
	size_t len = 0, npending = 0, i;
	int use_proxy, rc = -1, st, verify_failed = 0;
	int64_t t;

	*follow = 0;
	use_proxy = pick_proxy(c, rq, u, &px, e);
	if (use_proxy < 0)
		return fail(r, HTTP_FAIL_PROXY);
	if (u->https && c->tls == NULL) {
		c->tls = http_tls_new(c->cfg.ca_file, c->cfg.insecure_skip_verify, e);
		if (c->tls == NULL)
			return fail(r, HTTP_FAIL_TLS);
	}
	t = left_ms(a, c->cfg.connect_timeout_ms);
	if (c->cfg.connect(c->cfg.connect_arg, use_proxy ? px.host : u->host,
			   use_proxy ? px.port : u->port, (int)t, &io, e) != 0) {
		if (use_proxy) {
			char m[ERRBUF_SIZE];
			memcpy(m, e != NULL ? e->msg : "", e != NULL ? sizeof(m) : 1);
			err_set(e, "proxy: %.450s", m);
		}
		return fail(r, errno == ETIMEDOUT ? HTTP_FAIL_TIMEOUT : HTTP_FAIL_CONNECT);
	}
	if (use_proxy && u->https && proxy_connect(a, &io, &px, u, e) != 0)
		goto out;
	if (u->https) {
		t = left_ms(a, c->cfg.connect_timeout_ms);
		if (http_tls_wrap(c->tls, u->host, &io, (int)t, &verify_failed, e) != 0) {
			fail(r, verify_failed
					? HTTP_FAIL_TLS
					: (errno == ETIMEDOUT ? HTTP_FAIL_TIMEOUT : HTTP_FAIL_IO));
			goto out;
		}
	}
	/* the request */
	req = malloc(REQ_MAX);
	if (req == NULL || http_url_authority(u, 0, hostport, sizeof(hostport)) != 0) {
		err_set(e, "out of memory");
		fail(r, HTTP_FAIL_USAGE);
		goto out;
	}
	if (use_proxy && !u->https) {
		char full[sizeof(r->url)];
		if (http_url_format(u, full, sizeof(full)) != 0 ||
		    add(req, &len, "%s %s HTTP/1.1\r\n", method, full) != 0)
			goto toolong;
		if (px.userinfo[0] != '\0' &&
		    (basic_auth(px.userinfo, auth, sizeof(auth)) != 0 ||
		     add(req, &len, "Proxy-Authorization: Basic %s\r\n", auth) != 0))
			goto toolong;
	} else if (add(req, &len, "%s %s HTTP/1.1\r\n", method, u->path) != 0) {
		goto toolong;
	}
	if (add(req, &len, "Host: %s\r\n", hostport) != 0)
		goto toolong;
	if (c->cfg.user_agent != NULL && add(req, &len, "User-Agent: %s\r\n", c->cfg.user_agent))
		goto toolong;
	for (i = 0; i < rq->nheaders; i++)
		if (add(req, &len, "%s\r\n", rq->headers[i]) != 0)
			goto toolong;
	if (strcmp(method, "PUT") == 0 && add(req, &len, "Content-Length: %zu\r\n", rq->body_len))
		goto toolong;
	if (add(req, &len, "Connection: close\r\n\r\n") != 0)
		goto toolong;
	t = left_ms(a, c->cfg.idle_timeout_ms);
	if (io.write(io.ctx, req, len, (int)t, e) != 0 ||
	    (strcmp(method, "PUT") == 0 && rq->body_len > 0 &&
	     io.write(io.ctx, rq->body, rq->body_len, (int)left_ms(a, c->cfg.idle_timeout_ms),
		      e))) {
		fail(r, io_fail_kind(errno));
		goto out;
	}
	/* the response */
	p = http_parser_new(rq->max_header_bytes > 0 ? rq->max_header_bytes
						     : BOUNDS_HTTP_HEADER_BLOCK,
			    rq->max_body_bytes);
	if (p == NULL) {
		err_set(e, "out of memory");
		fail(r, HTTP_FAIL_USAGE);
		goto out;
	}
	http_parser_set_no_body(p, strcmp(method, "HEAD") == 0);
	st = read_response(a, &io, p, &pending, &npending, e);
	if (st < 0)
		goto readfail;
	r->status = http_parser_status(p);
	r->content_length = http_parser_content_length(p);
	r->retry_after_s = -1;
	r->location[0] = '\0';
	if ((h = http_parser_header(p, "Location")) != NULL) {
		size_t n = strlen(h);
		if (n < sizeof(r->location))
			memcpy(r->location, h, n + 1);
	}
	if ((h = http_parser_header(p, "Retry-After")) != NULL && h[0] != '\0' && strlen(h) <= 9 &&
	    strspn(h, "0123456789") == strlen(h)) {
		r->retry_after_s = 0;
		for (; *h != '\0'; h++)
			r->retry_after_s = r->retry_after_s * 10 + (*h - '0');
	}
	if (rq->max_redirects > 0 && is_redirect(r->status)) {
		*follow = 1;
		rc = 0;
		goto out;
	}
	if (a->rq->retry_status != NULL && a->rq->retry_status(r->status) &&
	    r->attempts < a->rq->attempts) {
		rc = 0; /* will be retried: the body is not wanted */
		goto out;
	}
	if (rq->on_headers != NULL && rq->on_headers(rq->body_arg, r, e) != 0) {
		fail(r, HTTP_FAIL_USAGE);
		goto out;
	}
	if (st != HTTP_PARSE_DONE) {
		st = read_response(a, &io, p, &pending, &npending, e);
		if (st < 0)
			goto readfail;
	}
	r->body_len = http_parser_body_bytes(p);
	rc = 0;
	goto out;
readfail:
	if (errno == ETIMEDOUT)
		fail(r, HTTP_FAIL_TIMEOUT);
	else if (errno == EFBIG)
		fail(r, HTTP_FAIL_LIMIT);
	else if (errno == EPIPE || errno == ECONNRESET || errno == EIO)
		fail(r, HTTP_FAIL_IO);
	else
		fail(r, HTTP_FAIL_PROTOCOL);
	goto out;
toolong:
	err_set(e, "request header too long");
	fail(r, HTTP_FAIL_USAGE);
out : {
	int saved = errno;
	http_parser_free(p);
	free(req);
	if (io.close != NULL)
		io.close(io.ctx);
	errno = saved;
}
	return rc;
}

/* One attempt: the request plus its redirect chain. */
static int attempt_once(struct attempt *a, struct errbuf *e)
{
	const struct http_request *rq = a->rq;
	struct http_response *r = a->r;
	struct http_url u, next;
	const char *method = rq->method;
	int follow;

	if (http_url_parse(rq->url, &u, e) != 0)
		return fail(r, HTTP_FAIL_USAGE);
	if (rq->refuse_http && !u.https) {
		err_set(e, "insecure URL refused");
		return fail(r, HTTP_FAIL_USAGE);
	}
	r->redirects = 0;
	for (;;) {
		free(r->body);
		r->body = NULL;
		r->body_len = 0;
		a->cap = 0;
		r->status = 0;
		(void)http_url_format(&u, r->url, sizeof(r->url));
		if (exchange(a, &u, method, &follow, e) != 0)
			return -1;
		if (!follow)
			return 0;
		if (r->location[0] == '\0') {
			err_set(e, "HTTP %d redirect without a usable Location", r->status);
			return fail(r, HTTP_FAIL_REDIRECT);
		}
		if (r->redirects >= rq->max_redirects) {
			err_set(e, "too many redirects (more than %d)", rq->max_redirects);
			return fail(r, HTTP_FAIL_REDIRECT);
		}
		if (http_url_resolve(&u, r->location, &next, e) != 0) {
			char m[ERRBUF_SIZE];
			memcpy(m, e != NULL ? e->msg : "", e != NULL ? sizeof(m) : 1);
			err_set(e, "bad redirect target: %.450s", m);
			return fail(r, HTTP_FAIL_REDIRECT);
		}
		if ((u.https || rq->refuse_http) && !next.https) {
			err_set(e, "redirect from https to http refused");
			return fail(r, HTTP_FAIL_REDIRECT);
		}
		if (r->status == 303 && strcmp(method, "HEAD") != 0)
			method = "GET";
		r->redirects++;
		u = next;
	}
}

static double uniform(struct http_client *c, double lo, double hi)
{
	return lo + (hi - lo) * ((double)c->cfg.random(c->cfg.clock_arg) / 4294967296.0);
}

int http_request(struct http_client *c, const struct http_request *rq, struct http_response *r,
		 struct errbuf *e)
{
	struct attempt a;
	int attempts = rq->attempts > 1 ? rq->attempts : 1;
	size_t i;

	http_response_clear(r);
	for (i = 0; i < rq->nheaders; i++)
		if (!valid_header_line(rq->headers[i])) {
			err_set(e, "bad or reserved request header '%.60s'", rq->headers[i]);
			return fail(r, HTTP_FAIL_USAGE);
		}
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "PUT") != 0 &&
	    strcmp(rq->method, "HEAD") != 0) {
		err_set(e, "unsupported method %.20s", rq->method);
		return fail(r, HTTP_FAIL_USAGE);
	}
	memset(&a, 0, sizeof(a));
	a.c = c;
	a.rq = rq;
	a.r = r;
	for (r->attempts = 1;; r->attempts++) {
		int rc, retry;
		int64_t wait;

		a.deadline = rq->total_timeout_ms > 0
				     ? c->cfg.now_ms(c->cfg.clock_arg) + rq->total_timeout_ms
				     : -1;
		r->fail = HTTP_OK;
		err_clear(e);
		rc = attempt_once(&a, e);
		if (rc == 0)
			retry = rq->retry_status != NULL && rq->retry_status(r->status);
		else
			retry = r->fail == HTTP_FAIL_CONNECT || r->fail == HTTP_FAIL_TIMEOUT ||
				r->fail == HTTP_FAIL_IO;
		if (!retry || r->attempts >= attempts)
			return rc;
		if (a.delivered) {
			if (rq->on_restart == NULL || rq->on_restart(rq->body_arg, e) != 0)
				return rc;
			a.delivered = 0;
		}
		wait = rq->retry_base_ms;
		for (int k = 2; k < r->attempts + 1 && wait < rq->retry_max_ms; k++)
			wait *= 2;
		if (wait > rq->retry_max_ms)
			wait = rq->retry_max_ms;
		wait = (int64_t)((double)wait * uniform(c, rq->jitter_lo, rq->jitter_hi));
		if (rc == 0 && rq->retry_after_cap_ms > 0 && r->retry_after_s >= 0) {
			wait = r->retry_after_s * 1000;
			if (wait > rq->retry_after_cap_ms)
				wait = rq->retry_after_cap_ms;
		}
		c->cfg.sleep_ms(c->cfg.clock_arg, wait);
	}
}
