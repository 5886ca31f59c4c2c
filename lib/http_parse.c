#include "http_parse.h"

#include <stdlib.h>
#include <string.h>

#include "bounds.h"

enum state {
	S_STATUS,
	S_HEADER,
	S_BODY_LEN,
	S_BODY_CLOSE,
	S_CHUNK_SIZE,
	S_CHUNK_EXT,
	S_CHUNK_DATA,
	S_CHUNK_CR,
	S_TRAILER,
	S_DONE,
};

struct hdr {
	size_t name, value; /* offsets into buf, both NUL-terminated */
};

struct http_parser {
	enum state st;
	int no_body, headers_only, headers_done, headers_reported, chunked, over_limit;
	int status;
	int64_t content_length;
	uint64_t body_max, body_len, remaining;
	size_t hdr_max, hdr_total; /* bytes of header block (and trailers) seen */
	size_t len, line_start;    /* stored bytes in buf; start of the current line */
	size_t nhdr;
	struct hdr hdr[BOUNDS_HTTP_HEADERS];
	unsigned chunk_digits;
	size_t chunk_line;
	int saw_cr;
	char *buf; /* hdr_max + 1 bytes */
};

struct http_parser *http_parser_new(size_t hdr_max, uint64_t body_max)
{
	struct http_parser *p;

	if (hdr_max < 64 || hdr_max > 16u * 1024 * 1024)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->buf = malloc(hdr_max + 1);
	if (p->buf == NULL) {
		free(p);
		return NULL;
	}
	p->hdr_max = hdr_max;
	p->body_max = body_max;
	p->content_length = -1;
	p->st = S_STATUS;
	return p;
}

void http_parser_free(struct http_parser *p)
{
	if (p == NULL)
		return;
	free(p->buf);
	free(p);
}

void http_parser_set_no_body(struct http_parser *p, int no_body)
{
	p->no_body = no_body;
}

void http_parser_set_headers_only(struct http_parser *p, int on)
{
	p->headers_only = on;
}

int http_parser_headers_done(const struct http_parser *p)
{
	return p->headers_done;
}

int http_parser_status(const struct http_parser *p)
{
	return p->status;
}

int64_t http_parser_content_length(const struct http_parser *p)
{
	return p->content_length;
}

uint64_t http_parser_body_bytes(const struct http_parser *p)
{
	return p->body_len;
}

int http_parser_over_limit(const struct http_parser *p)
{
	return p->over_limit;
}

int http_parser_chunked(const struct http_parser *p)
{
	return p->chunked;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int eq_nocase(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

const char *http_parser_header(const struct http_parser *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nhdr; i++)
		if (eq_nocase(p->buf + p->hdr[i].name, name))
			return p->buf + p->hdr[i].value;
	return NULL;
}

static int is_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* line is buf[start..end), CR already stripped, no LF. */
static int parse_status(struct http_parser *p, const char *l, size_t n, struct errbuf *e)
{
	size_t i;

	/* HTTP/1.x SP ddd [SP reason] */
	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || !is_digit((unsigned char)l[7]) ||
	    l[8] != ' ' || !is_digit((unsigned char)l[9]) || !is_digit((unsigned char)l[10]) ||
	    !is_digit((unsigned char)l[11]) || (n > 12 && l[12] != ' ')) {
		err_set(e, "malformed HTTP status line");
		return -1;
	}
	for (i = 12; i < n; i++)
		if ((unsigned char)l[i] < 0x20 && l[i] != '\t') {
			err_set(e, "malformed HTTP status line");
			return -1;
		}
	p->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (p->status < 100 || p->status > 599) {
		err_set(e, "HTTP status %d out of range", p->status);
		return -1;
	}
	return 0;
}

static int parse_header_line(struct http_parser *p, size_t start, size_t end, struct errbuf *e)
{
	char *l = p->buf + start;
	size_t n = end - start, i, vs, ve;

	if (l[0] == ' ' || l[0] == '\t') {
		err_set(e, "folded HTTP header line");
		return -1;
	}
	for (i = 0; i < n && l[i] != ':'; i++)
		if (!is_tchar((unsigned char)l[i])) {
			err_set(e, "malformed HTTP header line");
			return -1;
		}
	if (i == 0 || i == n) {
		err_set(e, "malformed HTTP header line");
		return -1;
	}
	for (vs = i + 1; vs < n && (l[vs] == ' ' || l[vs] == '\t'); vs++)
		;
	for (ve = n; ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'); ve--)
		;
	for (size_t k = vs; k < ve; k++) {
		unsigned char c = (unsigned char)l[k];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			err_set(e, "control character in HTTP header value");
			return -1;
		}
	}
	if (p->nhdr >= BOUNDS_HTTP_HEADERS) {
		err_set(e, "more than %d HTTP response headers", BOUNDS_HTTP_HEADERS);
		return -1;
	}
	l[i] = '\0';
	l[ve] = '\0';
	p->hdr[p->nhdr].name = start;
	p->hdr[p->nhdr].value = start + vs;
	p->nhdr++;
	return 0;
}

/* Content-Length: digits only; several must agree. */
static int framing(struct http_parser *p, struct errbuf *e)
{
	const char *te = NULL;
	int64_t cl = -1;
	size_t i;

	for (i = 0; i < p->nhdr; i++) {
		const char *name = p->buf + p->hdr[i].name, *v = p->buf + p->hdr[i].value;
		if (eq_nocase(name, "Transfer-Encoding")) {
			te = v;
		} else if (eq_nocase(name, "Content-Length")) {
			int64_t x = 0;
			size_t k;
			if (v[0] == '\0') {
				err_set(e, "malformed Content-Length");
				return -1;
			}
			for (k = 0; v[k] != '\0'; k++) {
				if (!is_digit((unsigned char)v[k]) || x > (INT64_MAX - 9) / 10) {
					err_set(e, "malformed Content-Length");
					return -1;
				}
				x = x * 10 + (v[k] - '0');
			}
			if (cl >= 0 && cl != x) {
				err_set(e, "conflicting Content-Length headers");
				return -1;
			}
			cl = x;
		}
	}
	if (p->no_body || p->status == 204 || p->status == 304 || p->headers_only) {
		p->content_length = p->no_body ? cl : 0;
		p->st = S_DONE;
		return 0;
	}
	if (te != NULL) {
		/* Only "chunked" alone: we decode no other coding. */
		if (!eq_nocase(te, "chunked")) {
			err_set(e, "unsupported Transfer-Encoding '%.40s'", te);
			return -1;
		}
		p->chunked = 1;
		p->content_length = -1;
		p->st = S_CHUNK_SIZE;
		p->remaining = 0;
		p->chunk_digits = 0;
		p->chunk_line = 0;
		return 0;
	}
	if (cl >= 0) {
		if ((uint64_t)cl > p->body_max) {
			p->over_limit = 1;
			err_set(e, "response body of %lld bytes exceeds the limit of %llu bytes",
				(long long)cl, (unsigned long long)p->body_max);
			return -1;
		}
		p->content_length = cl;
		p->remaining = (uint64_t)cl;
		p->st = cl == 0 ? S_DONE : S_BODY_LEN;
		return 0;
	}
	p->st = S_BODY_CLOSE;
	return 0;
}

static int deliver(struct http_parser *p, const char *buf, size_t n, http_body_fn body, void *arg,
		   struct errbuf *e)
{
	if (n == 0)
		return 0;
	if (p->body_len + n < p->body_len || p->body_len + n > p->body_max) {
		p->over_limit = 1;
		err_set(e, "response body exceeds the limit of %llu bytes",
			(unsigned long long)p->body_max);
		return -1;
	}
	p->body_len += n;
	if (body != NULL && body(arg, buf, n, e) != 0) {
		if (e != NULL && e->msg[0] == '\0')
			err_set(e, "body rejected by the receiver");
		return -1;
	}
	return 0;
}

/* One complete header-block line buf[line_start..len) without its LF. */
static int header_line_done(struct http_parser *p, struct errbuf *e)
{
	size_t start = p->line_start, end = p->len;
	size_t k;

	if (end > start && p->buf[end - 1] == '\r')
		end--;
	for (k = start; k < end; k++)
		if (p->buf[k] == '\r' || p->buf[k] == '\0') {
			err_set(e, "stray CR or NUL in HTTP header block");
			return -1;
		}
	p->buf[end] = '\0';
	if (p->st == S_STATUS) {
		if (parse_status(p, p->buf + start, end - start, e) != 0)
			return -1;
		p->st = S_HEADER;
		p->nhdr = 0;
		p->len = end + 1;
		p->line_start = p->len;
		return 0;
	}
	if (end == start) {
		/* end of the header block */
		if (p->status >= 100 && p->status < 200) {
			if (p->status == 101) {
				err_set(e, "unexpected 101 Switching Protocols");
				return -1;
			}
			/* interim response: skip it, keep counting against hdr_max */
			p->st = S_STATUS;
			p->len = p->line_start = 0;
			p->nhdr = 0;
			return 0;
		}
		p->headers_done = 1;
		return framing(p, e);
	}
	if (parse_header_line(p, start, end, e) != 0)
		return -1;
	p->len = end + 1;
	p->line_start = p->len;
	return 0;
}

int http_parser_feed(struct http_parser *p, const char *buf, size_t n, size_t *used,
		     http_body_fn body, void *arg, struct errbuf *e)
{
	size_t i = 0;

	while (i < n && p->st != S_DONE) {
		unsigned char c = (unsigned char)buf[i];
		switch (p->st) {
		case S_STATUS:
		case S_HEADER:
			if (++p->hdr_total > p->hdr_max) {
				p->over_limit = 1;
				err_set(e, "response header block exceeds %zu bytes", p->hdr_max);
				return -1;
			}
			i++;
			if (c == '\n') {
				if (header_line_done(p, e) != 0)
					return -1;
				if (p->headers_done && !p->headers_reported) {
					p->headers_reported = 1;
					if (used != NULL)
						*used = i;
					return HTTP_PARSE_HEADERS;
				}
			} else {
				p->buf[p->len++] = (char)c;
			}
			break;
		case S_BODY_LEN: {
			size_t take = n - i;
			if ((uint64_t)take > p->remaining)
				take = (size_t)p->remaining;
			if (deliver(p, buf + i, take, body, arg, e) != 0)
				return -1;
			i += take;
			p->remaining -= take;
			if (p->remaining == 0)
				p->st = S_DONE;
			break;
		}
		case S_BODY_CLOSE:
			if (deliver(p, buf + i, n - i, body, arg, e) != 0)
				return -1;
			i = n;
			break;
		case S_CHUNK_SIZE:
		case S_CHUNK_EXT:
			i++;
			if (++p->chunk_line > BOUNDS_HTTP_CHUNK_LINE) {
				err_set(e, "chunk-size line too long");
				return -1;
			}
			if (c == '\n') {
				if (p->chunk_digits == 0) {
					err_set(e, "malformed chunk size");
					return -1;
				}
				p->chunk_line = 0;
				p->chunk_digits = 0;
				p->saw_cr = 0;
				if (p->remaining == 0) {
					p->st = S_TRAILER;
					p->len = p->line_start = 0;
				} else {
					p->st = S_CHUNK_DATA;
				}
			} else if (p->st == S_CHUNK_SIZE && hexval(c) >= 0) {
				if (p->remaining > (UINT64_MAX >> 4) || p->chunk_digits >= 16) {
					err_set(e, "chunk size too large");
					return -1;
				}
				p->remaining = (p->remaining << 4) | (uint64_t)hexval(c);
				p->chunk_digits++;
			} else if (c == '\r') {
				p->st = S_CHUNK_EXT;
			} else if (p->st == S_CHUNK_SIZE && p->chunk_digits > 0 &&
				   (c == ';' || c == ' ' || c == '\t')) {
				p->st = S_CHUNK_EXT; /* extensions are ignored */
			} else if (p->st != S_CHUNK_EXT || c < 0x20 || c == 0x7f) {
				if (c != '\t') {
					err_set(e, "malformed chunk size");
					return -1;
				}
			}
			break;
		case S_CHUNK_DATA: {
			size_t take = n - i;
			if ((uint64_t)take > p->remaining)
				take = (size_t)p->remaining;
			if (deliver(p, buf + i, take, body, arg, e) != 0)
				return -1;
			i += take;
			p->remaining -= take;
			if (p->remaining == 0) {
				p->st = S_CHUNK_CR;
				p->saw_cr = 0;
			}
			break;
		}
		case S_CHUNK_CR:
			i++;
			if (c == '\r' && !p->saw_cr) {
				p->saw_cr = 1;
			} else if (c == '\n') {
				p->st = S_CHUNK_SIZE;
				p->chunk_line = 0;
			} else {
				err_set(e, "missing CRLF after chunk data");
				return -1;
			}
			break;
		case S_TRAILER:
			/* trailers count against the header limit and are dropped */
			i++;
			if (++p->hdr_total > p->hdr_max) {
				p->over_limit = 1;
				err_set(e, "response header block exceeds %zu bytes", p->hdr_max);
				return -1;
			}
			if (c == '\n') {
				if (p->len == 0 || (p->len == 1 && p->buf[0] == '\r'))
					p->st = S_DONE;
				p->len = 0;
			} else if (c == '\0') {
				err_set(e, "NUL in chunked trailer");
				return -1;
			} else {
				p->buf[p->len++] = (char)c;
			}
			break;
		case S_DONE:
			break;
		}
	}
	if (used != NULL)
		*used = i;
	return p->st == S_DONE ? HTTP_PARSE_DONE : HTTP_PARSE_MORE;
}

int http_parser_eof(struct http_parser *p, struct errbuf *e)
{
	switch (p->st) {
	case S_DONE:
		return HTTP_PARSE_DONE;
	case S_BODY_CLOSE:
		p->st = S_DONE;
		return HTTP_PARSE_DONE;
	case S_STATUS:
		if (p->hdr_total == 0) {
			err_set(e, "connection closed without a response");
			return -1;
		}
		/* fall through */
	case S_HEADER:
		err_set(e, "connection closed in the response header block");
		return -1;
	case S_BODY_LEN:
		err_set(e, "connection closed %llu bytes before the end of the body",
			(unsigned long long)p->remaining);
		return -1;
	default:
		err_set(e, "connection closed inside a chunked body");
		return -1;
	}
}
