/* agent/imds: the IMDSv2 client over the in-memory transport, and the
 * §10.1 configuration (rate-controller.md §10, n26). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http_mem.h"
#include "imds.h"

#define S(x)                                                                                       \
	{                                                                                          \
		x, sizeof(x) - 1, 0                                                                \
	}
#define TOKEN_OK S("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ntok-1234")
#define TYPE_OK S("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nc6in.xlarge\n")
#define ST(code) S("HTTP/1.1 " #code " X\r\nContent-Length: 0\r\n\r\n")

static const struct http_mem_step tok_ok[] = {TOKEN_OK};
static const struct http_mem_step type_ok[] = {TYPE_OK};
static const struct http_mem_step s401[] = {ST(401)};
static const struct http_mem_step s400[] = {ST(400)};
static const struct http_mem_step s403[] = {ST(403)};
static const struct http_mem_step s404[] = {ST(404)};
static const struct http_mem_step s405[] = {ST(405)};
static const struct http_mem_step s500[] = {ST(500)};
static const struct http_mem_step s429[] = {ST(429)};
static const struct http_mem_step s302[] = {
	S("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1/x\r\nContent-Length: 0\r\n\r\n")};
static const struct http_mem_step stall[] = {{NULL, 0, ETIMEDOUT}};
static const struct http_mem_step crlf_tok[] = {
	S("HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\nAQAE\r\nX-Injected: 1")};
static const struct http_mem_step long_tok[] = {S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")};
static const struct http_mem_step nul_type[] = {
	S("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nc6in\0.xl")};
static char big_body[200];
static struct http_mem_step big[1];

#define C(steps)                                                                                   \
	{                                                                                          \
		steps, sizeof(steps) / sizeof(steps[0]), 0                                         \
	}

struct fake {
	int64_t now;
	int nsleep;
	int64_t slept[8];
};

static int64_t fnow(void *a)
{
	return ((struct fake *)a)->now;
}

static void fsleep(void *a, int64_t ms)
{
	struct fake *f = a;

	if (f->nsleep < 8)
		f->slept[f->nsleep] = ms;
	f->nsleep++;
	f->now += ms;
}

static uint32_t frand(void *a)
{
	(void)a;
	return 0xffffffffu;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

struct run {
	int rc;
	char out[256];
	size_t len;
	enum imds_mode mode;
	struct errbuf e;
	struct http_mem m;
	struct fake f;
};

static void run(const struct http_mem_conn *conns, size_t n, bool v1_disabled, int attempts,
		struct run *r)
{
	struct imds_config cfg;
	struct http_config hc;
	struct imds_client *c;

	memset(r, 0, sizeof(*r));
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.endpoint, "http://169.254.169.254", sizeof("http://169.254.169.254"));
	cfg.timeout_ms = 1000;
	cfg.attempts = attempts;
	cfg.ttl_s = 60;
	cfg.v1_disabled = v1_disabled;
	memset(&hc, 0, sizeof(hc));
	hc.user_agent = "agentd/test";
	hc.connect = http_mem_connect;
	hc.connect_arg = &r->m;
	hc.now_ms = fnow;
	hc.sleep_ms = fsleep;
	hc.random = frand;
	hc.clock_arg = &r->f;
	/* a proxy in the config must be ignored */
	hc.http_proxy = "http://proxy.invalid:3128";
	r->m.conns = conns;
	r->m.nconns = n;
	c = imds_new(&cfg, &hc, &r->e);
	assert_non_null(c);
	r->rc = imds_get(c, "meta-data/instance-type", r->out, sizeof(r->out), &r->len, &r->mode,
			 &r->e);
	imds_free(c);
}

static void test_v2_success(void **state)
{
	static const struct http_mem_conn conns[] = {C(tok_ok), C(type_ok)};
	struct run r;

	(void)state;
	run(conns, 2, false, 1, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "c6in.xlarge");
	assert_int_equal(r.len, 11);
	assert_int_equal(r.mode, IMDS_MODE_V2);
	assert_string_equal(r.m.host[0], "169.254.169.254");
	assert_string_equal(
		r.m.sent,
		"PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\n"
		"User-Agent: agentd/test\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n"
		"Content-Length: 0\r\nConnection: close\r\n\r\n"
		"GET /latest/meta-data/instance-type HTTP/1.1\r\nHost: 169.254.169.254\r\n"
		"User-Agent: agentd/test\r\nX-aws-ec2-metadata-token: tok-1234\r\n"
		"Connection: close\r\n\r\n");
	assert_int_equal(count(r.m.sent, "X-Forwarded-For"), 0);
}

static void test_v1_fallback(void **state)
{
	const struct http_mem_step *puts[] = {s403, s404, s405};
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		const struct http_mem_conn conns[] = {{puts[i], 1, 0}, C(type_ok)};
		struct run r;
		run(conns, 2, false, 1, &r);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.mode, IMDS_MODE_V1);
		assert_string_equal(r.out, "c6in.xlarge");
		assert_int_equal(count(r.m.sent, "X-aws-ec2-metadata-token:"), 0);
		assert_int_equal(count(r.m.sent, "GET "), 1);
		/* V1 disabled: failure, no GET */
		run(conns, 2, true, 1, &r);
		assert_int_equal(r.rc, -1);
		assert_int_equal(r.m.opened, 1);
		assert_non_null(strstr(r.e.msg, "IMDSv1 is disabled"));
	}
}

static void test_put_failures(void **state)
{
	static const struct http_mem_conn c400[] = {C(s400), C(type_ok)};
	static const struct http_mem_conn cstall[] = {C(stall), C(type_ok)};
	static const struct http_mem_conn ccrlf[] = {C(crlf_tok), C(type_ok)};
	static const struct http_mem_conn cempty[] = {C(long_tok), C(type_ok)};
	static const struct http_mem_conn c500[] = {C(s500), C(type_ok)};
	struct run r;

	(void)state;
	run(c400, 2, false, 1, &r);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.m.opened, 1);
	assert_non_null(strstr(r.e.msg, "HTTP 400"));
	run(cstall, 2, false, 1, &r); /* a timeout never switches to v1 */
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.m.opened, 1);
	assert_non_null(strstr(r.e.msg, "timed out"));
	run(ccrlf, 2, false, 1, &r); /* header injection refused, no GET */
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.m.opened, 1);
	run(cempty, 2, false, 1, &r);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.m.opened, 1);
	run(c500, 2, false, 1, &r); /* 5xx after the attempts: failure */
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.m.opened, 1);
	assert_int_equal(r.f.nsleep, 0);
}

static void test_retoken(void **state)
{
	static const struct http_mem_conn once[] = {C(tok_ok), C(s401), C(tok_ok), C(type_ok)};
	static const struct http_mem_conn always[] = {C(tok_ok), C(s401),   C(tok_ok),
						      C(s401),   C(tok_ok), C(type_ok)};
	static const struct http_mem_conn v1_401[] = {C(s403), C(s401), C(tok_ok), C(type_ok)};
	struct run r;

	(void)state;
	run(once, 4, false, 1, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(count(r.m.sent, "PUT "), 2);
	assert_int_equal(count(r.m.sent, "GET "), 2);
	run(always, 6, false, 1, &r);
	assert_int_equal(r.rc, -1);
	assert_int_equal(count(r.m.sent, "PUT "), 2);
	assert_int_equal(count(r.m.sent, "GET "), 2);
	assert_non_null(strstr(r.e.msg, "HTTP 401"));
	run(v1_401, 4, false, 1, &r); /* 401 in v1 mode: failure, no PUT */
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.m.opened, 2);
}

static void test_get_failures(void **state)
{
	static const struct http_mem_conn c302[] = {C(tok_ok), C(s302), C(type_ok)};
	static const struct http_mem_conn cbig[] = {C(tok_ok), C(big), C(type_ok)};
	static const struct http_mem_conn cnul[] = {C(tok_ok), C(nul_type)};
	static const struct http_mem_conn c404[] = {C(tok_ok), C(s404)};
	struct run r;
	int n;

	(void)state;
	run(c302, 3, false, 1, &r); /* redirects are not followed */
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.m.opened, 2);
	assert_non_null(strstr(r.e.msg, "HTTP 302"));
	n = snprintf(big_body, sizeof(big_body), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
		     4097);
	big[0].data = big_body;
	big[0].len = (size_t)n;
	run(cbig, 3, false, 1, &r); /* 4097 > the 4096 cap: refused up front */
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.e.msg, "exceeds the limit of 4096"));
	run(cnul, 2, false, 1, &r);
	assert_int_equal(r.rc, -1);
	run(c404, 2, false, 1, &r);
	assert_int_equal(r.rc, -1);
}

static void test_attempts(void **state)
{
	static const struct http_mem_conn c[] = {C(s500), C(s429), C(tok_ok), C(type_ok)};
	static const struct http_mem_conn refused[] = {
		{NULL, 0, ECONNREFUSED}, {NULL, 0, ECONNREFUSED}, C(tok_ok), C(type_ok)};
	static const struct http_mem_conn no4xxretry[] = {C(s400), C(tok_ok), C(type_ok)};
	struct run r;

	(void)state;
	run(c, 4, false, 3, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(count(r.m.sent, "PUT "), 3);
	/* waits in [0, min(1 s, 100 ms * 2^(k-2))]: the fake random gives the top */
	assert_int_equal(r.f.nsleep, 2);
	assert_true(r.f.slept[0] <= 100 && r.f.slept[0] >= 99);
	assert_true(r.f.slept[1] <= 200 && r.f.slept[1] >= 199);
	run(refused, 4, false, 3, &r);
	assert_int_equal(r.rc, 0);
	run(no4xxretry, 3, false, 3, &r);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.m.opened, 1);
}

/* a token is reused for at most half its TTL (§10.4) */
static void test_token_reuse(void **state)
{
	static const struct http_mem_conn conns[] = {C(tok_ok), C(type_ok), C(type_ok), C(tok_ok),
						     C(type_ok)};
	struct imds_config cfg;
	struct http_config hc;
	struct imds_client *c;
	struct run r;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.endpoint, "http://[fd00:ec2::254]", sizeof("http://[fd00:ec2::254]"));
	cfg.timeout_ms = 1000;
	cfg.attempts = 1;
	cfg.ttl_s = 60;
	memset(&hc, 0, sizeof(hc));
	hc.connect = http_mem_connect;
	hc.connect_arg = &r.m;
	hc.now_ms = fnow;
	hc.clock_arg = &r.f;
	r.m.conns = conns;
	r.m.nconns = 5;
	c = imds_new(&cfg, &hc, &r.e);
	assert_non_null(c);
	assert_int_equal(
		imds_get(c, "meta-data/instance-type", r.out, sizeof(r.out), &r.len, &r.mode, &r.e),
		0);
	r.f.now += 29999; /* < 30 s: reused */
	assert_int_equal(
		imds_get(c, "meta-data/instance-type", r.out, sizeof(r.out), &r.len, &r.mode, &r.e),
		0);
	assert_int_equal(count(r.m.sent, "PUT "), 1);
	r.f.now += 1; /* 30 s: a new token */
	assert_int_equal(
		imds_get(c, "meta-data/instance-type", r.out, sizeof(r.out), &r.len, &r.mode, &r.e),
		0);
	assert_int_equal(count(r.m.sent, "PUT "), 2);
	assert_non_null(strstr(r.m.sent, "Host: [fd00:ec2::254]\r\n"));
	assert_string_equal(r.m.host[0], "fd00:ec2::254");
	imds_free(c);
}

static void test_endpoint_parse(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{"http://127.0.0.1:1338", "http://127.0.0.1:1338"},
		{"http://127.0.0.1:1338/", "http://127.0.0.1:1338"},
		{"http://[fd00:ec2::254]", "http://[fd00:ec2::254]"},
		{"http://metadata.local", "http://metadata.local"},
		{"https://x", NULL},
		{"http://x/path", NULL},
		{"http://x//", NULL},
		{"http://x/?q", NULL},
		{"http://x?q", NULL},
		{"http://u@x", NULL},
		{"http://x#f", NULL},
		{"ftp://x", NULL},
		{"http://", NULL},
		{"", NULL},
	};
	char out[IMDS_ENDPOINT_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = imds_parse_endpoint(t[i].in, strlen(t[i].in), out, sizeof(out));
		if (t[i].want == NULL) {
			if (rc == 0)
				fail_msg("endpoint '%s' accepted", t[i].in);
		} else {
			if (rc != 0)
				fail_msg("endpoint '%s' refused", t[i].in);
			assert_string_equal(out, t[i].want);
		}
	}
	assert_int_equal(imds_parse_endpoint("http://a\0b", 10, out, sizeof(out)), -1);
}

static void test_config_env(void **state)
{
	struct imds_config cfg;
	struct rate_warnings w;

	(void)state;
	{
		const char *env[] = {NULL};
		rate_warnings_init(&w);
		assert_int_equal(imds_config_from_env(env, &cfg, &w), 0);
		assert_string_equal(cfg.endpoint, "http://169.254.169.254");
		assert_int_equal(cfg.timeout_ms, 1000);
		assert_int_equal(cfg.attempts, 1);
		assert_int_equal(cfg.ttl_s, 60);
		assert_false(cfg.v1_disabled);
		assert_int_equal(w.count, 0);
		rate_warnings_free(&w);
	}
	{
		const char *env[] = {"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE= ipv6 ",
				     "AWS_METADATA_SERVICE_TIMEOUT=0.25",
				     "AWS_METADATA_SERVICE_NUM_ATTEMPTS=3",
				     "AWS_EC2_METADATA_V1_DISABLED=TRUE", NULL};
		rate_warnings_init(&w);
		assert_int_equal(imds_config_from_env(env, &cfg, &w), 0);
		assert_string_equal(cfg.endpoint, "http://[fd00:ec2::254]");
		assert_int_equal(cfg.timeout_ms, 250);
		assert_int_equal(cfg.attempts, 3);
		assert_true(cfg.v1_disabled);
		assert_int_equal(w.count, 0);
		rate_warnings_free(&w);
	}
	{
		const char *env[] = {"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv5", NULL};
		rate_warnings_init(&w);
		assert_int_equal(imds_config_from_env(env, &cfg, &w), -1);
		assert_int_equal(w.count, 1);
		assert_non_null(strstr(w.lines[0],
				       "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=\"IPv5\" is "
				       "not one of IPv4, IPv6; instance metadata will "
				       "not be queried"));
		rate_warnings_free(&w);
	}
	{
		/* an endpoint wins over the mode, which is then not read */
		const char *env[] = {"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1338/",
				     "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=bogus", NULL};
		rate_warnings_init(&w);
		assert_int_equal(imds_config_from_env(env, &cfg, &w), 0);
		assert_string_equal(cfg.endpoint, "http://127.0.0.1:1338");
		assert_int_equal(w.count, 0);
		rate_warnings_free(&w);
	}
	{
		const char *env[] = {"AWS_EC2_METADATA_SERVICE_ENDPOINT=https://x",
				     "AWS_METADATA_SERVICE_TIMEOUT=0",
				     "AWS_METADATA_SERVICE_NUM_ATTEMPTS=0", NULL};
		rate_warnings_init(&w);
		assert_int_equal(imds_config_from_env(env, &cfg, &w), -1);
		assert_int_equal(w.count, 3);
		assert_non_null(strstr(w.lines[0], "\"https://x\" is not a valid http:// endpoint; "
						   "instance metadata will not be queried"));
		assert_non_null(strstr(w.lines[1], "AWS_METADATA_SERVICE_TIMEOUT=\"0\" is not a "
						   "positive number; using the default"));
		assert_non_null(strstr(w.lines[2], "AWS_METADATA_SERVICE_NUM_ATTEMPTS=\"0\" is not "
						   "a positive integer; using the default"));
		assert_int_equal(cfg.timeout_ms, 1000);
		assert_int_equal(cfg.attempts, 1);
		rate_warnings_free(&w);
	}
	{
		const char *env[] = {"AWS_METADATA_SERVICE_TIMEOUT=nan",
				     "AWS_METADATA_SERVICE_NUM_ATTEMPTS=1.5", NULL};
		rate_warnings_init(&w);
		assert_int_equal(imds_config_from_env(env, &cfg, &w), 0);
		assert_int_equal(w.count, 2);
		rate_warnings_free(&w);
	}
	{
		const char *on[] = {"AWS_EC2_METADATA_DISABLED= TRUE ", NULL};
		const char *off[] = {"AWS_EC2_METADATA_DISABLED=1", NULL};
		const char *blank[] = {"AWS_EC2_METADATA_DISABLED=", NULL};
		assert_true(imds_disabled(on));
		assert_false(imds_disabled(off));
		assert_false(imds_disabled(blank));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_success),     cmocka_unit_test(test_v1_fallback),
		cmocka_unit_test(test_put_failures),   cmocka_unit_test(test_retoken),
		cmocka_unit_test(test_get_failures),   cmocka_unit_test(test_attempts),
		cmocka_unit_test(test_endpoint_parse), cmocka_unit_test(test_config_env),
		cmocka_unit_test(test_token_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
