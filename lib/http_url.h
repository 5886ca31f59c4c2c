#ifndef HTTP_URL_H
#define HTTP_URL_H
/*
 * http:// and https:// URLs: parsing, Location resolution, the Host header.
 * Pure functions, no I/O.
 */
#include <stddef.h>

#include "bounds.h"
#include "err.h"

enum { HTTP_HOST_MAX = 256, HTTP_USERINFO_MAX = 256 };

struct http_url {
	int https;                /* 1: https, 0: http */
	char host[HTTP_HOST_MAX]; /* without brackets; lower-cased names */
	int ipv6;                 /* host is an IPv6 literal (was bracketed) */
	unsigned port;            /* always set: explicit or 80/443 */
	int port_explicit;
	char userinfo[HTTP_USERINFO_MAX]; /* "user:pass" as written, or "" */
	char path[BOUNDS_HTTP_URL_MAX];   /* path and query, starts with '/' */
};

/* Parse s (absolute http(s) URL; fragment dropped).  0 or -1 with e set. */
int http_url_parse(const char *s, struct http_url *u, struct errbuf *e);
/* Resolve a Location value against base into out (absolute, scheme-relative,
 * absolute-path or relative-path references).  0 or -1. */
int http_url_resolve(const struct http_url *base, const char *loc, struct http_url *out,
		     struct errbuf *e);
/* "host[:port]" for a Host header or CONNECT target: brackets kept for IPv6,
 * port omitted when it is the scheme default unless always_port.  0 or -1. */
int http_url_authority(const struct http_url *u, int always_port, char *buf, size_t size);
/* Write the URL back as text ("https://host:port/path").  0 or -1. */
int http_url_format(const struct http_url *u, char *buf, size_t size);
/* 1 if s is an IPv4 dotted quad or an IPv6 literal (no brackets). */
int http_host_is_ip(const char *s);

#endif
