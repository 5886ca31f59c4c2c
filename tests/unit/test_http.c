/* lib/http (client over the in-memory transport), lib/http_url, NO_PROXY. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "http_mem.h"
#include "http_url.h"

#define S(x)                                                                                       \
	{                                                                                          \
		x, sizeof(x) - 1, 0                                                                \
	}
#define TIMEOUT                                                                                    \
	{                                                                                          \
		NULL, 0, ETIMEDOUT                                                                 \
	}
#define RESET                                                                                      \
	{                                                                                          \
		NULL, 0, ECONNRESET                                                                \
	}

struct fake {
	int64_t now;
	int64_t slept[8];
	int nsleep;
};

static int64_t fake_now(void *arg)
{
	return ((struct fake *)arg)->now;
}

static void fake_sleep(void *arg, int64_t ms)
{
	struct fake *f = arg;

	if (f->nsleep < 8)
		f->slept[f->nsleep++] = ms;
	f->now += ms;
}

static uint32_t fake_random(void *arg)
{
	(void)arg;
	return 0x80000000u; /* U(lo, hi) = midpoint */
}

static struct http_client *client(struct http_mem *m, struct fake *f, const char *hp,
				  const char *np)
{
	struct http_config cfg;
	struct errbuf e = {{0}};
	struct http_client *c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.user_agent = "t/1";
	cfg.connect = http_mem_connect;
	cfg.connect_arg = m;
	cfg.now_ms = fake_now;
	cfg.sleep_ms = fake_sleep;
	cfg.random = fake_random;
	cfg.clock_arg = f;
	cfg.http_proxy = hp;
	cfg.https_proxy = hp;
	cfg.no_proxy = np;
	cfg.insecure_skip_verify = 1; /* only the CONNECT test reaches TLS set-up */
	c = http_client_new(&cfg, &e);
	assert_non_null(c);
	return c;
}

static void req_init(struct http_request *rq, const char *method, const char *url)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->url = url;
	rq->max_body_bytes = 1024;
}

static void test_get_split(void **state)
{
	static const struct http_mem_step steps[] = {
		S("HTTP/1.1 200 OK\r\nContent-"), S("Length: 11\r"), S("\n\r\nhello "), S("world")};
	static const struct http_mem_conn conns[] = {{steps, 4, 0}};
	static const char *const hdrs[] = {"X-K: v", "Accept-Encoding: identity"};
	struct http_mem m = {.conns = conns, .nconns = 1};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, NULL, NULL);
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};

	(void)state;
	req_init(&rq, "GET", "http://Example.TEST:8080/a?b#frag");
	rq.headers = hdrs;
	rq.nheaders = 2;
	assert_int_equal(http_request(c, &rq, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello world");
	assert_int_equal(r.content_length, 11);
	assert_string_equal(m.host[0], "example.test");
	assert_int_equal(m.port[0], 8080);
	assert_string_equal(m.sent, "GET /a?b HTTP/1.1\r\nHost: example.test:8080\r\n"
				    "User-Agent: t/1\r\nX-K: v\r\nAccept-Encoding: identity\r\n"
				    "Connection: close\r\n\r\n");
	http_response_clear(&r);
	http_client_free(c);
}

static void test_put_head(void **state)
{
	static const struct http_mem_step s1[] = {S("HTTP/1.1 200 OK\r\n\r\ntoken")};
	static const struct http_mem_step s2[] = {
		S("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")};
	static const struct http_mem_conn conns[] = {{s1, 1, 0}, {s2, 1, 0}};
	struct http_mem m = {.conns = conns, .nconns = 2};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, NULL, NULL);
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};

	(void)state;
	req_init(&rq, "PUT", "http://[::1]/latest/api/token");
	assert_int_equal(http_request(c, &rq, &r, &e), 0);
	assert_string_equal(r.body, "token");
	assert_string_equal(m.host[0], "::1");
	assert_non_null(strstr(m.sent, "PUT /latest/api/token HTTP/1.1\r\nHost: [::1]\r\n"));
	assert_non_null(strstr(m.sent, "Content-Length: 0\r\n"));
	m.sent_len = 0;
	req_init(&rq, "HEAD", "http://h/");
	assert_int_equal(http_request(c, &rq, &r, &e), 0);
	assert_int_equal(r.content_length, 99);
	assert_int_equal(r.body_len, 0);
	http_response_clear(&r);
	http_client_free(c);
}

static void test_redirects(void **state)
{
	static const struct http_mem_step s1[] = {
		S("HTTP/1.1 301 Moved\r\nLocation: http://b.test/x/y\r\nContent-Length: "
		  "3\r\n\r\nabc")};
	static const struct http_mem_step s2[] = {
		S("HTTP/1.1 302 Found\r\nLocation: z?q=1\r\nContent-Length: 0\r\n\r\n")};
	static const struct http_mem_step s3[] = {
		S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")};
	static const struct http_mem_conn conns[] = {{s1, 1, 0}, {s2, 1, 0}, {s3, 1, 0}};
	struct http_mem m = {.conns = conns, .nconns = 3};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, NULL, NULL);
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};

	(void)state;
	req_init(&rq, "GET", "http://a.test/start");
	rq.max_redirects = 5;
	assert_int_equal(http_request(c, &rq, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok");
	assert_int_equal(r.redirects, 2);
	assert_string_equal(r.url, "http://b.test/x/z?q=1");
	assert_string_equal(m.host[2], "b.test");

	/* the same chain with a limit of 1 */
	m.opened = 0;
	rq.max_redirects = 1;
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	assert_int_equal(r.fail, HTTP_FAIL_REDIRECT);
	assert_non_null(strstr(e.msg, "too many redirects"));

	/* not following: the 3xx is the answer */
	m.opened = 0;
	rq.max_redirects = 0;
	assert_int_equal(http_request(c, &rq, &r, &e), 0);
	assert_int_equal(r.status, 301);
	assert_string_equal(r.location, "http://b.test/x/y");
	http_response_clear(&r);
	http_client_free(c);
}

static void test_refuse_http(void **state)
{
	static const struct http_mem_step s1[] = {
		S("HTTP/1.1 302 Found\r\nLocation: http://b.test/\r\nContent-Length: 0\r\n\r\n")};
	static const struct http_mem_conn conns[] = {{s1, 1, 0}};
	struct http_mem m = {.conns = conns, .nconns = 1};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, NULL, NULL);
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};

	(void)state;
	req_init(&rq, "GET", "http://a.test/");
	rq.refuse_http = 1;
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	assert_string_equal(e.msg, "insecure URL refused");
	assert_int_equal(m.opened, 0);
	http_client_free(c);
}

static int retry_5xx(int s)
{
	return s >= 500 || s == 429;
}

static void test_retries(void **state)
{
	static const struct http_mem_step s2[] = {
		S("HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy")};
	static const struct http_mem_step s3[] = {RESET};
	static const struct http_mem_step s4[] = {
		S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nk")};
	static const struct http_mem_conn conns[] = {
		{NULL, 0, ECONNREFUSED}, {s2, 1, 0}, {s3, 1, 0}, {s4, 1, 0}};
	struct http_mem m = {.conns = conns, .nconns = 4};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, NULL, NULL);
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};

	(void)state;
	req_init(&rq, "GET", "http://a.test/");
	rq.attempts = 4;
	rq.retry_base_ms = 100;
	rq.retry_max_ms = 250;
	rq.jitter_lo = 0;
	rq.jitter_hi = 1;
	rq.retry_status = retry_5xx;
	assert_int_equal(http_request(c, &rq, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 4);
	assert_int_equal(f.nsleep, 3);
	assert_int_equal(f.slept[0], 50);  /* 100 * 0.5 */
	assert_int_equal(f.slept[1], 100); /* 200 * 0.5 */
	assert_int_equal(f.slept[2], 125); /* min(250, 400) * 0.5 */

	/* out of attempts: the last 503 is the answer, with its body */
	m.opened = 1;
	f.nsleep = 0;
	rq.attempts = 1;
	assert_int_equal(http_request(c, &rq, &r, &e), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "busy");
	assert_int_equal(f.nsleep, 0);

	/* Retry-After wins when the caller allows it */
	http_response_clear(&r);
	http_client_free(c);
}

static void test_retry_after(void **state)
{
	static const struct http_mem_step s1[] = {
		S("HTTP/1.1 429 Slow\r\nRetry-After: 120\r\nContent-Length: 0\r\n\r\n")};
	static const struct http_mem_step s2[] = {
		S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")};
	static const struct http_mem_conn conns[] = {{s1, 1, 0}, {s2, 1, 0}};
	struct http_mem m = {.conns = conns, .nconns = 2};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, NULL, NULL);
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};

	(void)state;
	req_init(&rq, "GET", "http://a.test/");
	rq.attempts = 2;
	rq.retry_base_ms = 1000;
	rq.retry_max_ms = 8000;
	rq.retry_after_cap_ms = 60000;
	rq.retry_status = http_retry_status_default;
	assert_int_equal(http_request(c, &rq, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(f.slept[0], 60000);
	http_response_clear(&r);
	http_client_free(c);
}

static void test_failures(void **state)
{
	static const struct http_mem_step stall[] = {S("HTTP/1.1 200 OK\r\nContent-"), TIMEOUT};
	static const struct http_mem_step big[] = {S("HTTP/1.1 200 OK\r\n\r\n"), S("0123456789")};
	static const struct http_mem_step early[] = {
		S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")};
	static const struct http_mem_step junk[] = {S("\x16\x03\x01\x00\x05hello\r\n")};
	static const struct http_mem_conn conns[] = {
		{stall, 2, 0}, {big, 2, 0}, {early, 1, 0}, {junk, 1, 0}, {NULL, 0, ECONNREFUSED}};
	struct http_mem m = {.conns = conns, .nconns = 5};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, NULL, NULL);
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};

	(void)state;
	req_init(&rq, "GET", "http://a.test/");
	rq.max_body_bytes = 5;
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	assert_int_equal(r.fail, HTTP_FAIL_TIMEOUT);
	assert_non_null(strstr(e.msg, "timed out waiting for the response header"));
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	assert_int_equal(r.fail, HTTP_FAIL_LIMIT);
	assert_non_null(strstr(e.msg, "exceeds the limit of 5 bytes"));
	rq.max_body_bytes = 100;
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	assert_int_equal(r.fail, HTTP_FAIL_IO);
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	assert_int_equal(r.fail, HTTP_FAIL_PROTOCOL);
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	assert_int_equal(r.fail, HTTP_FAIL_CONNECT);
	assert_non_null(strstr(e.msg, "Connection refused"));
	http_response_clear(&r);
	http_client_free(c);
}

static void test_bad_requests(void **state)
{
	static const char *const bad[][1] = {{"Host: x"},  {"X: a\r\nY: b"},
					     {"No colon"}, {"content-length: 5"},
					     {": v"},      {"Connection: keep"}};
	struct http_mem m = {0};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, NULL, NULL);
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_init(&rq, "GET", "http://a.test/");
		rq.headers = bad[i];
		rq.nheaders = 1;
		assert_int_equal(http_request(c, &rq, &r, &e), -1);
		assert_int_equal(r.fail, HTTP_FAIL_USAGE);
	}
	req_init(&rq, "POST", "http://a.test/");
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	req_init(&rq, "GET", "ftp://a.test/");
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	assert_int_equal(m.opened, 0);
	http_client_free(c);
}

static void test_http_proxy(void **state)
{
	static const struct http_mem_step s1[] = {
		S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\np")};
	static const struct http_mem_step s2[] = {
		S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd")};
	static const struct http_mem_conn conns[] = {{s1, 1, 0}, {s2, 1, 0}};
	struct http_mem m = {.conns = conns, .nconns = 2};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, "http://u%3A:p@proxy.test:3128", "b.test, .c.test");
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};

	(void)state;
	req_init(&rq, "GET", "http://a.test/x");
	assert_int_equal(http_request(c, &rq, &r, &e), 0);
	assert_string_equal(m.host[0], "proxy.test");
	assert_int_equal(m.port[0], 3128);
	assert_non_null(strstr(m.sent, "GET http://a.test/x HTTP/1.1\r\n"));
	assert_non_null(strstr(m.sent, "Proxy-Authorization: Basic dTo6cA==\r\n"));
	req_init(&rq, "GET", "http://www.c.test/x");
	assert_int_equal(http_request(c, &rq, &r, &e), 0);
	assert_string_equal(m.host[1], "www.c.test");
	http_response_clear(&r);
	http_client_free(c);
}

static void test_connect_refused(void **state)
{
	static const struct http_mem_step s1[] = {
		S("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")};
	static const struct http_mem_conn conns[] = {{s1, 1, 0}};
	struct http_mem m = {.conns = conns, .nconns = 1};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, "proxy.test:8080", NULL);
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};

	(void)state;
	req_init(&rq, "GET", "https://a.test/x");
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	assert_int_equal(r.fail, HTTP_FAIL_PROXY);
	assert_non_null(strstr(e.msg, "refused CONNECT to a.test:443: HTTP 407"));
	assert_string_equal(m.sent, "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n"
				    "User-Agent: t/1\r\n\r\n");
	http_client_free(c);
}

static void test_proxy_scheme(void **state)
{
	struct http_mem m = {0};
	struct fake f = {0};
	struct http_client *c = client(&m, &f, "socks5://p:1080", NULL);
	struct http_request rq;
	struct http_response r = {0};
	struct errbuf e = {{0}};

	(void)state;
	req_init(&rq, "GET", "http://a.test/x");
	assert_int_equal(http_request(c, &rq, &r, &e), -1);
	assert_int_equal(r.fail, HTTP_FAIL_PROXY);
	assert_non_null(strstr(e.msg, "only http:// proxies"));
	http_client_free(c);
}

static void test_no_proxy(void **state)
{
	static const struct {
		const char *np, *host;
		int want;
	} t[] = {
		{"*", "anything", 1},
		{"example.com", "example.com", 1},
		{"example.com", "www.example.com", 1},
		{".example.com", "www.example.com", 1},
		{".example.com", "example.com", 1},
		{"example.com", "badexample.com", 0},
		{"example.com:443", "example.com", 1},
		{"a.test, b.test", "b.test", 1},
		{" ,, ", "b.test", 0},
		{"", "b.test", 0},
		{"10.0.0.1", "10.0.0.1", 1},
		{"0.0.1", "10.0.0.1", 0},
		{"::1", "::1", 1},
		{"[::1]:80", "::1", 1},
		{"EXAMPLE.com", "example.COM", 1},
		{"*.example.com", "www.example.com", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (http_no_proxy_match(t[i].np, t[i].host) != t[i].want)
			fail_msg("no_proxy '%s' host '%s': want %d", t[i].np, t[i].host, t[i].want);
	assert_int_equal(http_no_proxy_match(NULL, "x"), 0);
}

static void test_url(void **state)
{
	static const struct {
		const char *in;
		int ok, https, ipv6;
		const char *host;
		unsigned port;
		const char *path;
	} t[] = {
		{"http://a", 1, 0, 0, "a", 80, "/"},
		{"HTTPS://A.B:8443/x/y?z=1#f", 1, 1, 0, "a.b", 8443, "/x/y?z=1"},
		{"http://[fd00:ec2::254]", 1, 0, 1, "fd00:ec2::254", 80, "/"},
		{"http://[::1]:1338/", 1, 0, 1, "::1", 1338, "/"},
		{"http://h?q", 1, 0, 0, "h", 80, "/?q"},
		{"http://u:p@h:1/", 1, 0, 0, "h", 1, "/"},
		{"http://h:65535", 1, 0, 0, "h", 65535, "/"},
		{"http://h:65536", 0, 0, 0, NULL, 0, NULL},
		{"http://h:0", 0, 0, 0, NULL, 0, NULL},
		{"http://h:", 0, 0, 0, NULL, 0, NULL},
		{"http://", 0, 0, 0, NULL, 0, NULL},
		{"ftp://h/", 0, 0, 0, NULL, 0, NULL},
		{"http://h /", 0, 0, 0, NULL, 0, NULL},
		{"http://[::1/", 0, 0, 0, NULL, 0, NULL},
		{"http://[zz]/", 0, 0, 0, NULL, 0, NULL},
		{"http://h\x01/", 0, 0, 0, NULL, 0, NULL},
		{"http://h*/", 0, 0, 0, NULL, 0, NULL},
		{"", 0, 0, 0, NULL, 0, NULL},
	};
	struct http_url u;
	struct errbuf e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = http_url_parse(t[i].in, &u, &e);
		if ((r == 0) != t[i].ok)
			fail_msg("url '%s': got %d (%s)", t[i].in, r, e.msg);
		if (!t[i].ok)
			continue;
		assert_int_equal(u.https, t[i].https);
		assert_int_equal(u.ipv6, t[i].ipv6);
		assert_string_equal(u.host, t[i].host);
		assert_int_equal(u.port, t[i].port);
		assert_string_equal(u.path, t[i].path);
	}
}

static void test_url_resolve(void **state)
{
	static const struct {
		const char *base, *loc, *want;
	} t[] = {
		{"https://a/b/c", "/x", "https://a/x"},
		{"https://a/b/c", "x", "https://a/b/x"},
		{"https://a:444/b/c?q", "x?y", "https://a:444/b/x?y"},
		{"https://a/b/c", "//other:1/p", "https://other:1/p"},
		{"https://a/b/c", "http://z/", "http://z/"},
		{"http://[::1]:8/", "/p", "http://[::1]:8/p"},
	};
	struct http_url b, o;
	struct errbuf e;
	char out[5000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(http_url_parse(t[i].base, &b, &e), 0);
		assert_int_equal(http_url_resolve(&b, t[i].loc, &o, &e), 0);
		assert_int_equal(http_url_format(&o, out, sizeof(out)), 0);
		assert_string_equal(out, t[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_split),    cmocka_unit_test(test_put_head),
		cmocka_unit_test(test_redirects),    cmocka_unit_test(test_refuse_http),
		cmocka_unit_test(test_retries),      cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_failures),     cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_http_proxy),   cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_proxy_scheme), cmocka_unit_test(test_no_proxy),
		cmocka_unit_test(test_url),          cmocka_unit_test(test_url_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
