#ifndef HTTP_H
#define HTTP_H
/*
 * HTTP/1.1 client for http:// and https:// (mbedtls): GET/PUT/HEAD, one
 * request per connection, bounded header block and body, connect / idle /
 * total timeouts on the monotonic clock, redirects (https -> http refused),
 * HTTP(S) proxies with CONNECT and NO_PROXY, retries with backoff when the
 * caller asks.  The transport (http_connect_fn), the clock, sleep and the
 * random source are injectable.  The client never reads the environment:
 * main hands the proxy variables in struct http_config.
 */
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "err.h"
#include "http_io.h"
#include "http_parse.h"

struct http_client;

struct http_config {
	const char *user_agent; /* NULL: no User-Agent header */
	const char *ca_file;    /* PEM bundle used alone; NULL: system list */
	int insecure_skip_verify;
	/* proxy settings as found in the environment (NULL: unset) */
	const char *https_proxy, *http_proxy, *no_proxy;
	int connect_timeout_ms;       /* TCP connect plus TLS handshake; 0: 20000 */
	int idle_timeout_ms;          /* without data; 0: 60000 */
	http_connect_fn connect;      /* NULL: http_tcp_connect */
	void *connect_arg;            /* for http_tcp_connect: "HOST:PORT:ADDR" or NULL */
	int64_t (*now_ms)(void *arg); /* NULL: CLOCK_MONOTONIC */
	void (*sleep_ms)(void *arg, int64_t ms);
	uint32_t (*random)(void *arg); /* NULL: getrandom-based */
	void *clock_arg;
};

enum http_fail {
	HTTP_OK = 0,
	HTTP_FAIL_CONNECT,  /* could not connect / resolve */
	HTTP_FAIL_TIMEOUT,  /* a timeout */
	HTTP_FAIL_IO,       /* reset, closed early */
	HTTP_FAIL_TLS,      /* handshake or certificate refused (not retried) */
	HTTP_FAIL_PROTOCOL, /* malformed response */
	HTTP_FAIL_LIMIT,    /* header block or body over the limit */
	HTTP_FAIL_REDIRECT, /* too many redirects, https->http, bad Location */
	HTTP_FAIL_PROXY,    /* proxy refused or malformed */
	HTTP_FAIL_USAGE,    /* bad URL, bad header, receiver refused the body */
};

struct http_response;

struct http_request {
	const char *method; /* "GET", "PUT", "HEAD" */
	const char *url;
	const char *const *headers; /* "Name: value" lines, no CR/LF */
	size_t nheaders;
	const void *body; /* PUT body (Content-Length is always sent for PUT) */
	size_t body_len;
	size_t max_header_bytes;  /* 0: BOUNDS_HTTP_HEADER_BLOCK */
	uint64_t max_body_bytes;  /* 0: no body allowed beyond 0 bytes; use UINT64_MAX */
	int64_t total_timeout_ms; /* per attempt, connect to last byte; 0: none */
	int max_redirects;        /* 0: 3xx are returned to the caller */
	int refuse_http;          /* refuse http:// URLs ("insecure URL refused") */
	int no_proxy;             /* ignore the proxy settings (IMDS) */
	/* retries: attempts total (0 or 1: one); wait before attempt k >= 2 is
	 * min(retry_max_ms, retry_base_ms * 2^(k-2)) * U(jitter_lo, jitter_hi),
	 * or Retry-After (capped at retry_after_cap_ms) when that is > 0. */
	int attempts;
	int64_t retry_base_ms, retry_max_ms, retry_after_cap_ms;
	double jitter_lo, jitter_hi;
	int (*retry_status)(int status); /* statuses to retry; NULL: none */
	/* body sink; NULL collects the body into the response (NUL-terminated) */
	http_body_fn on_body;
	void *body_arg;
	/* called when headers are in, before the body (status, length known) */
	int (*on_headers)(void *arg, const struct http_response *r, struct errbuf *e);
	/* called before a retry when body bytes were already delivered: the
	 * sink must start over; NULL: such a request is not retried */
	int (*on_restart)(void *arg, struct errbuf *e);
};

struct http_response {
	int status;             /* final status, 0 if none */
	int64_t content_length; /* -1 unknown */
	uint64_t body_len;
	char *body; /* collected body (on_body NULL), caller frees (http_response_clear) */
	char url[BOUNDS_HTTP_URL_MAX + 300]; /* final URL after redirects */
	char location[BOUNDS_HTTP_URL_MAX];  /* Location of a 3xx, if any */
	int64_t retry_after_s;               /* -1 absent */
	int redirects;
	int attempts;
	enum http_fail fail;
};

/* NULL with e set on failure.  The TLS configuration (CA bundle) is loaded on
 * the first https request.  cfg strings must outlive the client. */
struct http_client *http_client_new(const struct http_config *cfg, struct errbuf *e);
void http_client_free(struct http_client *c);

/* Run a request.  0 when a final response was received (any status: look
 * at r->status), -1 with e set and r->fail saying why. */
int http_request(struct http_client *c, const struct http_request *rq, struct http_response *r,
		 struct errbuf *e);
void http_response_clear(struct http_response *r);

/* NO_PROXY matching (bundle-install-update.md §17): comma list, "*" matches
 * everything, names match exactly or as a label-boundary suffix (leading
 * "." optional), IP literals match exactly, ports in entries ignored. */
int http_no_proxy_match(const char *no_proxy, const char *host);

/* 5xx, 408 and 429: the usual retry set (bundle-install-update.md §17). */
int http_retry_status_default(int status);

#endif
