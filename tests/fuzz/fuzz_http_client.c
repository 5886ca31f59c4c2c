/*
 * libFuzzer target for the HTTP client's read loop, redirects and retries:
 * the input is up to four scripted connections (separated by "\n--\n"),
 * each replayed over the in-memory transport in reads of a size taken from
 * the first byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { CONNS = 4, STEPS = 64 };

static int64_t now0(void *a)
{
	(void)a;
	return 0;
}

static void nosleep(void *a, int64_t ms)
{
	(void)a;
	(void)ms;
}

static uint32_t rnd(void *a)
{
	(void)a;
	return 12345;
}

static int retry5xx(int s)
{
	return s >= 500;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_mem_step steps[CONNS][STEPS];
	static struct http_mem_conn conns[CONNS];
	static struct http_mem m;
	struct http_config cfg;
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e;
	struct http_client *c;
	const char *p, *end;
	size_t step, nc = 0;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] % 32) + 1;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p <= end && nc < CONNS) {
		const char *sep = NULL, *q;
		size_t ns = 0;
		for (q = p; q + 4 <= end; q++)
			if (memcmp(q, "\n--\n", 4) == 0) {
				sep = q;
				break;
			}
		q = sep != NULL ? sep : end;
		while (p < q && ns < STEPS) {
			size_t n = (size_t)(q - p) < step ? (size_t)(q - p) : step;
			if (ns == STEPS - 1)
				n = (size_t)(q - p);
			steps[nc][ns].data = p;
			steps[nc][ns].len = n;
			steps[nc][ns].err = 0;
			ns++;
			p += n;
		}
		conns[nc].steps = steps[nc];
		conns[nc].nsteps = ns;
		conns[nc].connect_errno = 0;
		nc++;
		if (sep == NULL)
			break;
		p = sep + 4;
	}
	memset(&m, 0, sizeof(m));
	m.conns = conns;
	m.nconns = nc;
	memset(&cfg, 0, sizeof(cfg));
	cfg.user_agent = "fuzz";
	cfg.connect = http_mem_connect;
	cfg.connect_arg = &m;
	cfg.now_ms = now0;
	cfg.sleep_ms = nosleep;
	cfg.random = rnd;
	c = http_client_new(&cfg, &e);
	if (c == NULL)
		return 0;
	memset(&rq, 0, sizeof(rq));
	rq.method = (data[0] & 0x80) ? "HEAD" : "GET";
	rq.url = "http://fuzz.test/a/b";
	rq.max_header_bytes = 4096;
	rq.max_body_bytes = 65536;
	rq.max_redirects = 2;
	rq.attempts = 2;
	rq.retry_status = retry5xx;
	if (http_request(c, &rq, &r, &e) == 0 && r.body != NULL && strlen(r.body) > r.body_len)
		abort();
	http_response_clear(&r);
	http_client_free(c);
	return 0;
}
