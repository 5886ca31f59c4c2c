/* lib/http_parse: the byte-driven HTTP response parser, fed whole, one byte
 * at a time and split at every point. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

struct sink {
	char buf[8192];
	size_t len;
};

static int sink_body(void *arg, const char *b, size_t n, struct errbuf *e)
{
	struct sink *s = arg;

	(void)e;
	if (s->len + n > sizeof(s->buf))
		return -1;
	memcpy(s->buf + s->len, b, n);
	s->len += n;
	return 0;
}

struct pcase {
	const char *name;
	const char *in;
	size_t len;        /* 0: strlen */
	size_t hdr_max;    /* 0: 1024 */
	uint64_t body_max; /* 0: 1000 */
	int no_body;
	int want_ok; /* 1: DONE (after EOF if needed) */
	int status;
	const char *body; /* expected body */
	size_t body_len;  /* 0: strlen(body) */
	const char *err;  /* substring of the error */
	int64_t cl;
};

static const struct pcase cases[] = {
	{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0, 0, 0, 0, 1, 200,
	 "hello", 0, NULL, 5},
	{"zero length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, 0, 0, 1, 200, "", 0,
	 NULL, 0},
	{"bare LF", "HTTP/1.0 404 Not Found\nContent-Length: 2\n\nno", 0, 0, 0, 0, 1, 404, "no", 0,
	 NULL, 2},
	{"no reason", "HTTP/1.1 204\r\n\r\n", 0, 0, 0, 0, 1, 204, "", 0, NULL, 0},
	{"close-delimited", "HTTP/1.1 200 OK\r\n\r\nuntil close", 0, 0, 0, 0, 1, 200, "until close",
	 0, NULL, -1},
	{"chunked",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
	 "6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
	 0, 0, 0, 0, 1, 200, "hello world", 0, NULL, -1},
	{"chunked upper hex",
	 "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", 0, 0,
	 0, 0, 1, 200, "0123456789", 0, NULL, -1},
	{"chunked wins over length",
	 "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: "
	 "chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
	 0, 0, 0, 0, 1, 200, "ab", 0, NULL, -1},
	{"interim 100",
	 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", 0, 0, 0, 0,
	 1, 200, "x", 0, NULL, 1},
	{"HEAD ignores length", "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", 0, 0, 0, 1, 1,
	 200, "", 0, NULL, 500},
	{"embedded NUL body", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na\0b", 41, 0, 0, 0, 1,
	 200, "a\0b", 3, NULL, 3},
	{"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz",
	 0, 0, 0, 0, 1, 200, "z", 0, NULL, 1},
	{"body at max", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd", 0, 0, 4, 0, 1, 200,
	 "abcd", 0, NULL, 4},
	/* failures */
	{"empty", "", 0, 0, 0, 0, 0, 0, NULL, 0, "without a response", 0},
	{"body over max (length)", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcde", 0, 0, 4, 0,
	 0, 0, NULL, 0, "exceeds the limit", 0},
	{"body over max (chunked)",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n", 0, 0, 4, 0,
	 0, 0, NULL, 0, "exceeds the limit", 0},
	{"body over max (close)", "HTTP/1.1 200 OK\r\n\r\nabcde", 0, 0, 4, 0, 0, 0, NULL, 0,
	 "exceeds the limit", 0},
	{"header block over max",
	 "HTTP/1.1 200 OK\r\nX: "
	 "0123456789012345678901234567890123456789012345678901234567890123456789\r\n\r\n",
	 0, 64, 0, 0, 0, 0, NULL, 0, "header block exceeds", 0},
	{"truncated header", "HTTP/1.1 200 OK\r\nContent-Le", 0, 0, 0, 0, 0, 0, NULL, 0,
	 "closed in the response header", 0},
	{"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, 0, 0, 0, 0, 0,
	 NULL, 0, "before the end of the body", 0},
	{"truncated chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 0, 0,
	 0, 0, 0, 0, NULL, 0, "inside a chunked body", 0},
	{"bad status line", "HTTP/2 200 OK\r\n\r\n", 0, 0, 0, 0, 0, 0, NULL, 0, "status line", 0},
	{"garbage", "SSH-2.0-OpenSSH\r\n\r\n", 0, 0, 0, 0, 0, 0, NULL, 0, "status line", 0},
	{"status 600", "HTTP/1.1 600 X\r\n\r\n", 0, 0, 0, 0, 0, 0, NULL, 0, "out of range", 0},
	{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nz", 0, 0,
	 0, 0, 0, 0, NULL, 0, "conflicting", 0},
	{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, 0, 0, 0, 0, 0, NULL,
	 0, "malformed Content-Length", 0},
	{"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", 0, 0,
	 0, 0, 0, 0, NULL, 0, "malformed Content-Length", 0},
	{"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 0, 0, 0, 0, 0,
	 NULL, 0, "unsupported Transfer-Encoding", 0},
	{"folded header", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 0, 0, 0, 0, 0, 0, NULL, 0,
	 "folded", 0},
	{"no colon", "HTTP/1.1 200 OK\r\nXYZ\r\n\r\n", 0, 0, 0, 0, 0, 0, NULL, 0,
	 "malformed HTTP header", 0},
	{"NUL in header", "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 28, 0, 0, 0, 0, 0, NULL, 0,
	 "stray CR or NUL", 0},
	{"stray CR", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", 0, 0, 0, 0, 0, 0, NULL, 0, "stray CR",
	 0},
	{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 0, 0,
	 0, 0, 0, NULL, 0, "malformed chunk size", 0},
	{"chunk size overflow",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", 0, 0,
	 UINT64_MAX, 0, 0, 0, NULL, 0, "chunk size too large", 0},
	{"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
	 0, 0, 0, 0, 0, 0, NULL, 0, "missing CRLF", 0},
	{"101", "HTTP/1.1 101 Switching\r\n\r\n", 0, 0, 0, 0, 0, 0, NULL, 0, "101", 0},
};

/* Feed c->in split at the given points (0 = whole, 1 = byte by byte, >1 =
 * two pieces at offset split-2). */
static void run_case(const struct pcase *c, size_t mode)
{
	size_t len = c->len ? c->len : strlen(c->in);
	struct http_parser *p =
		http_parser_new(c->hdr_max ? c->hdr_max : 1024, c->body_max ? c->body_max : 1000);
	struct sink s = {{0}, 0};
	struct errbuf e = {{0}};
	size_t off = 0;
	int r = HTTP_PARSE_MORE;

	assert_non_null(p);
	http_parser_set_no_body(p, c->no_body);
	while (off < len && r != HTTP_PARSE_DONE) {
		size_t n, used = 0;
		if (mode == 0)
			n = len - off;
		else if (mode == 1)
			n = 1;
		else
			n = off < mode - 2 ? mode - 2 - off : len - off;
		if (n == 0)
			n = len - off;
		r = http_parser_feed(p, c->in + off, n, &used, sink_body, &s, &e);
		if (r < 0)
			break;
		assert_true(used <= n);
		if (r != HTTP_PARSE_MORE)
			off += used;
		else
			off += n;
		if (r == HTTP_PARSE_HEADERS) {
			assert_true(http_parser_headers_done(p));
			r = HTTP_PARSE_MORE;
			/* feed an empty remainder once: the parser may finish here */
			r = http_parser_feed(p, c->in + off, 0, &used, sink_body, &s, &e);
			if (r < 0)
				break;
		}
	}
	if (r == HTTP_PARSE_MORE)
		r = http_parser_eof(p, &e);
	if (c->want_ok) {
		if (r != HTTP_PARSE_DONE)
			fail_msg("%s (mode %zu): %s", c->name, mode, e.msg);
		assert_int_equal(http_parser_status(p), c->status);
		assert_int_equal(s.len, c->body_len ? c->body_len : strlen(c->body));
		assert_memory_equal(s.buf, c->body, s.len);
		assert_int_equal(http_parser_content_length(p), c->cl);
	} else {
		if (r >= 0)
			fail_msg("%s (mode %zu): parsed, expected '%s'", c->name, mode, c->err);
		if (strstr(e.msg, c->err) == NULL)
			fail_msg("%s (mode %zu): error '%s', expected '%s'", c->name, mode, e.msg,
				 c->err);
	}
	http_parser_free(p);
}

static void test_table(void **state)
{
	size_t i, mode;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		for (mode = 0; mode < len + 2; mode++)
			run_case(&cases[i], mode);
	}
}

static void test_headers(void **state)
{
	static const char in[] = "HTTP/1.1 302 Found\r\nLocation:  /next  \r\nX-Empty:\r\n"
				 "retry-after: 7\r\nContent-Length: 0\r\n\r\n";
	struct http_parser *p = http_parser_new(1024, 10);
	struct errbuf e = {{0}};
	size_t used = 0;

	(void)state;
	assert_int_equal(http_parser_feed(p, in, sizeof(in) - 1, &used, NULL, NULL, &e),
			 HTTP_PARSE_HEADERS);
	assert_int_equal(used, sizeof(in) - 1);
	assert_int_equal(http_parser_status(p), 302);
	assert_string_equal(http_parser_header(p, "location"), "/next");
	assert_string_equal(http_parser_header(p, "X-EMPTY"), "");
	assert_string_equal(http_parser_header(p, "Retry-After"), "7");
	assert_null(http_parser_header(p, "Missing"));
	assert_int_equal(http_parser_feed(p, in, 0, &used, NULL, NULL, &e), HTTP_PARSE_DONE);
	http_parser_free(p);
}

static void test_headers_only_leaves_rest(void **state)
{
	static const char in[] = "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01";
	struct http_parser *p = http_parser_new(1024, 0);
	struct errbuf e = {{0}};
	size_t used = 0;

	(void)state;
	http_parser_set_headers_only(p, 1);
	assert_int_equal(http_parser_feed(p, in, sizeof(in) - 1, &used, NULL, NULL, &e),
			 HTTP_PARSE_HEADERS);
	assert_int_equal(used, sizeof(in) - 4);
	assert_int_equal(http_parser_feed(p, in + used, 3, &used, NULL, NULL, &e), HTTP_PARSE_DONE);
	assert_int_equal(used, 0);
	http_parser_free(p);
}

static void test_header_count_limit(void **state)
{
	char in[8192];
	size_t n = 0, i, used;
	struct http_parser *p = http_parser_new(sizeof(in), 10);
	struct errbuf e = {{0}};

	(void)state;
	n += (size_t)snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "X: %zu\r\n", i % 10);
	assert_int_equal(http_parser_feed(p, in, n, &used, NULL, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "more than"));
	http_parser_free(p);
}

static void test_new_bounds(void **state)
{
	struct http_parser *p;

	(void)state;
	assert_null(http_parser_new(10, 1));
	p = http_parser_new(64, 0);
	assert_non_null(p);
	http_parser_free(p);
	http_parser_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_headers_only_leaves_rest),
		cmocka_unit_test(test_header_count_limit),
		cmocka_unit_test(test_new_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
