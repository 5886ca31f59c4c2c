#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H
/*
 * Byte-driven HTTP/1.1 response parser: status line, header block,
 * Content-Length, chunked and close-delimited bodies.  No I/O: the caller
 * feeds whatever bytes arrived (any split), and body bytes come back through
 * a callback.  Every buffer is bounded when the parser is made: the header
 * block (status line, headers and chunked trailers together) by hdr_max, the
 * decoded body by body_max.  1xx interim responses are skipped.
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct http_parser;

/* Body sink: return 0 to go on, -1 to stop (the parser then fails with the
 * sink's message left in e, or "body rejected by the receiver"). */
typedef int (*http_body_fn)(void *arg, const char *buf, size_t n, struct errbuf *e);

enum {
	HTTP_PARSE_MORE = 0,    /* consumed everything, wants more bytes */
	HTTP_PARSE_DONE = 1,    /* a whole response was read */
	HTTP_PARSE_HEADERS = 2, /* the header block just ended (reported once):
				 * look at the status, then feed the rest */
};

/* hdr_max: 64..16 MiB, body_max: any (UINT64_MAX for none).  Caller frees
 * with http_parser_free.  NULL on allocation failure. */
struct http_parser *http_parser_new(size_t hdr_max, uint64_t body_max);
void http_parser_free(struct http_parser *p);
/* The request was HEAD (or a CONNECT): a response has no body whatever its
 * headers say.  Call before feeding. */
void http_parser_set_no_body(struct http_parser *p, int no_body);
/* Stop after the header block (HTTP_PARSE_DONE as soon as headers are in;
 * body bytes are left unconsumed).  Used for CONNECT. */
void http_parser_set_headers_only(struct http_parser *p, int on);

/* Feed n bytes.  Returns HTTP_PARSE_MORE (all consumed), HTTP_PARSE_HEADERS
 * or HTTP_PARSE_DONE (*used says how many bytes were consumed; feed the rest
 * again after HEADERS, even when nothing is left), or -1 with e set. */
int http_parser_feed(struct http_parser *p, const char *buf, size_t n, size_t *used,
		     http_body_fn body, void *arg, struct errbuf *e);
/* The peer closed.  Returns HTTP_PARSE_DONE for a close-delimited body, or
 * -1 with e set ("connection closed in the header block", ...). */
int http_parser_eof(struct http_parser *p, struct errbuf *e);

/* After the header block: */
int http_parser_headers_done(const struct http_parser *p);
int http_parser_status(const struct http_parser *p);
/* -1 when the length is not known in advance (chunked, close-delimited). */
int64_t http_parser_content_length(const struct http_parser *p);
uint64_t http_parser_body_bytes(const struct http_parser *p);
int http_parser_chunked(const struct http_parser *p);
/* After a -1: 1 when the header block or body limit was the reason. */
int http_parser_over_limit(const struct http_parser *p);
/* Value of the first header named name (case-insensitive), trimmed and
 * NUL-terminated, owned by the parser; NULL when absent. */
const char *http_parser_header(const struct http_parser *p, const char *name);

#endif
