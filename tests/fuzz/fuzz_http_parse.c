/*
 * libFuzzer target for the HTTP response parser.  The first byte chooses the
 * split size (1..256) and the mode (HEAD, small limits); the rest is fed in
 * pieces, then EOF.  Checks the parser's own invariants.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct count {
	uint64_t n;
};

static int sink(void *arg, const char *buf, size_t n, struct errbuf *e)
{
	struct count *c = arg;
	volatile char x = 0;
	size_t i;

	(void)e;
	for (i = 0; i < n; i++)
		x ^= buf[i]; /* touch every byte (ASan sees overreads) */
	(void)x;
	c->n += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_parser *p;
	struct errbuf e;
	struct count c = {0};
	size_t off = 1, step;
	uint64_t body_max;
	int r = HTTP_PARSE_MORE;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] & 0x3f) + 1;
	body_max = (data[0] & 0x40) ? 64 : 1u << 20;
	p = http_parser_new((data[0] & 0x80) ? 256 : 8192, body_max);
	if (p == NULL)
		return 0;
	http_parser_set_no_body(p, (data[0] & 0x41) == 0x41);
	while (off < size && r != HTTP_PARSE_DONE) {
		size_t n = size - off < step ? size - off : step, used = 0;
		r = http_parser_feed(p, (const char *)data + off, n, &used, sink, &c, &e);
		if (r < 0)
			break;
		if (used > n)
			abort();
		off += r == HTTP_PARSE_MORE ? n : used;
		if (r == HTTP_PARSE_HEADERS) {
			if (!http_parser_headers_done(p))
				abort();
			(void)http_parser_header(p, "Location");
			(void)http_parser_header(p, "Content-Length");
			r = HTTP_PARSE_MORE;
		}
	}
	if (r == HTTP_PARSE_MORE)
		r = http_parser_eof(p, &e);
	if (c.n != http_parser_body_bytes(p) || c.n > body_max)
		abort();
	if (r == HTTP_PARSE_DONE && http_parser_content_length(p) >= 0 && !http_parser_chunked(p) &&
	    (data[0] & 0x41) != 0x41 && (uint64_t)http_parser_content_length(p) != c.n &&
	    http_parser_status(p) != 204 && http_parser_status(p) != 304)
		abort();
	http_parser_free(p);
	return 0;
}
