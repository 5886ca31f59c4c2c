#include "http_url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int http_host_is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int parse_port(const char *s, size_t n, unsigned *port)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

int http_url_parse(const char *s, struct http_url *u, struct errbuf *e)
{
	const char *p, *auth, *auth_end, *hs, *he, *at;
	size_t n, i;

	memset(u, 0, sizeof(*u));
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			err_set(e, "URL contains a space, control or non-ASCII character");
			return -1;
		}
	if (strncasecmp(s, "https://", 8) == 0) {
		u->https = 1;
		auth = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		auth = s + 7;
	} else {
		err_set(e, "URL scheme is not http:// or https://");
		return -1;
	}
	auth_end = auth + strcspn(auth, "/?#");
	/* user-info */
	at = NULL;
	for (p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	hs = auth;
	if (at != NULL) {
		n = (size_t)(at - auth);
		if (n >= sizeof(u->userinfo)) {
			err_set(e, "URL user-info too long");
			return -1;
		}
		memcpy(u->userinfo, auth, n);
		u->userinfo[n] = '\0';
		hs = at + 1;
	}
	u->port = u->https ? 443 : 80;
	if (*hs == '[') {
		he = memchr(hs, ']', (size_t)(auth_end - hs));
		if (he == NULL) {
			err_set(e, "URL has an unterminated IPv6 literal");
			return -1;
		}
		n = (size_t)(he - hs - 1);
		if (n == 0 || n >= sizeof(u->host)) {
			err_set(e, "URL has a bad IPv6 literal");
			return -1;
		}
		memcpy(u->host, hs + 1, n);
		u->host[n] = '\0';
		{
			unsigned char b[16];
			if (inet_pton(AF_INET6, u->host, b) != 1) {
				err_set(e, "URL has a bad IPv6 literal");
				return -1;
			}
		}
		u->ipv6 = 1;
		p = he + 1;
		if (p < auth_end && *p != ':') {
			err_set(e, "URL has junk after the IPv6 literal");
			return -1;
		}
	} else {
		for (p = hs; p < auth_end && *p != ':'; p++)
			;
		n = (size_t)(p - hs);
		if (n == 0 || n >= sizeof(u->host)) {
			err_set(e, "URL has an empty or too long host");
			return -1;
		}
		for (i = 0; i < n; i++) {
			int c = (unsigned char)hs[i];
			if (!is_alnum(c) && c != '.' && c != '-' && c != '_') {
				err_set(e, "URL host contains '%c'", c);
				return -1;
			}
			u->host[i] = (char)lower(c);
		}
		u->host[n] = '\0';
	}
	if (p < auth_end) { /* ':' port */
		if (parse_port(p + 1, (size_t)(auth_end - p - 1), &u->port) != 0) {
			err_set(e, "URL has a bad port");
			return -1;
		}
		u->port_explicit = 1;
	}
	/* path and query, fragment dropped */
	p = auth_end;
	n = strcspn(p, "#");
	if (n + 2 > sizeof(u->path)) {
		err_set(e, "URL longer than %d bytes", BOUNDS_HTTP_URL_MAX);
		return -1;
	}
	if (n == 0 || *p != '/') {
		u->path[0] = '/';
		memcpy(u->path + 1, p, n);
		u->path[n + 1] = '\0';
	} else {
		memcpy(u->path, p, n);
		u->path[n] = '\0';
	}
	return 0;
}

int http_url_authority(const struct http_url *u, int always_port, char *buf, size_t size)
{
	int r;
	int defport = u->port == (u->https ? 443u : 80u);

	if (!always_port && defport)
		r = snprintf(buf, size, u->ipv6 ? "[%s]" : "%s", u->host);
	else
		r = snprintf(buf, size, u->ipv6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
	return (r < 0 || (size_t)r >= size) ? -1 : 0;
}

int http_url_format(const struct http_url *u, char *buf, size_t size)
{
	char a[HTTP_HOST_MAX + 16];
	int r;

	if (http_url_authority(u, 0, a, sizeof(a)) != 0)
		return -1;
	r = snprintf(buf, size, "%s://%s%s", u->https ? "https" : "http", a, u->path);
	return (r < 0 || (size_t)r >= size) ? -1 : 0;
}

int http_url_resolve(const struct http_url *base, const char *loc, struct http_url *out,
		     struct errbuf *e)
{
	char tmp[BOUNDS_HTTP_URL_MAX + HTTP_HOST_MAX + 32];
	char a[HTTP_HOST_MAX + 16];
	int r;

	if (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0)
		return http_url_parse(loc, out, e);
	if (loc[0] == '/' && loc[1] == '/') {
		r = snprintf(tmp, sizeof(tmp), "%s:%s", base->https ? "https" : "http", loc);
	} else if (loc[0] == '/') {
		if (http_url_authority(base, 1, a, sizeof(a)) != 0)
			goto toolong;
		r = snprintf(tmp, sizeof(tmp), "%s://%s%s", base->https ? "https" : "http", a, loc);
	} else {
		/* relative path: replace everything after the last '/' of the base path */
		size_t dir = strcspn(base->path, "?");
		while (dir > 0 && base->path[dir - 1] != '/')
			dir--;
		if (http_url_authority(base, 1, a, sizeof(a)) != 0)
			goto toolong;
		r = snprintf(tmp, sizeof(tmp), "%s://%s%.*s%s", base->https ? "https" : "http", a,
			     (int)dir, base->path, loc);
	}
	if (r < 0 || (size_t)r >= sizeof(tmp))
		goto toolong;
	if (http_url_parse(tmp, out, e) != 0)
		return -1;
	/* userinfo is never inherited */
	return 0;
toolong:
	err_set(e, "redirect target too long");
	return -1;
}
