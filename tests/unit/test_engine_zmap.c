/* agent/engine_zmap: scan.md §13 pure parts: ZU-02, ZU-03, ZU-04, ZU-05,
 * ZU-06, ZU-07, ZU-09, ZU-10, ZU-11 (cursor part), ZU-12. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include "engine_zmap.h"
#include "target.h"

static uint32_t ip(const char *s)
{
	uint32_t v = 0;
	assert_int_equal(target_parse_ipv4(s, strlen(s), &v), 0);
	return v;
}

/* ZU-02 */
static void test_chunk_size(void **state)
{
	(void)state;
	assert_true(zmap_chunk_size(2, 3, 1) == 6);
	assert_true(zmap_chunk_size(100, 2, 2) == 100);
	assert_true(zmap_chunk_size(1, 1, 3) == 1);
	assert_true(zmap_chunk_size(0, 1, 1) == 1);
	assert_true(zmap_chunk_size(100000, 2, 1) == 200000);
	assert_true(zmap_chunk_size(350000, 30, 1) == 10500000);
}

/* ZU-02 (never past R1), ZU-03 */
static void test_chunk_walk(void **state)
{
	struct zmap_cursor c = {ip("10.0.0.0"), ip("10.0.0.9"), ip("10.0.0.0"), 0, 0};
	struct target_cidr b[TARGET_CIDR_MAX];
	char t[20];
	uint32_t s, e;
	size_t n;
	(void)state;
	zmap_chunk_plan(&c, zmap_chunk_size(2, 3, 1), &s, &e);
	assert_true(s == ip("10.0.0.0") && e == ip("10.0.0.5"));
	n = target_cidr_list(s, e, b);
	assert_int_equal(n, 2);
	target_format_cidr(&b[0], t);
	assert_string_equal(t, "10.0.0.0/30");
	target_format_cidr(&b[1], t);
	assert_string_equal(t, "10.0.0.4/31");
	c.next = (uint64_t)e + 1;
	zmap_chunk_plan(&c, zmap_chunk_size(2, 3, 1), &s, &e);
	assert_true(s == ip("10.0.0.6") && e == ip("10.0.0.9")); /* clipped at R1 */
	n = target_cidr_list(s, e, b);
	assert_int_equal(n, 2);
	target_format_cidr(&b[0], t);
	assert_string_equal(t, "10.0.0.6/31");
	target_format_cidr(&b[1], t);
	assert_string_equal(t, "10.0.0.8/31");
	/* 240.0.0.0/8 at 100000 pps, 2 s: 6 blocks, then next = 240.3.13.64 */
	c.r0 = ip("240.0.0.0");
	c.r1 = ip("240.255.255.255");
	c.next = c.r0;
	zmap_chunk_plan(&c, zmap_chunk_size(100000, 2, 1), &s, &e);
	assert_true(e == ip("240.3.13.63"));
	assert_int_equal(target_cidr_list(s, e, b), 6);
	assert_true((uint64_t)e + 1 == ip("240.3.13.64"));
}

/* ZU-12 */
static void test_deadline(void **state)
{
	(void)state;
	assert_true(zmap_deadline_offset(30, 2, 0, 5) == 44.0);
	assert_true(zmap_deadline_offset(30, 2, 1, 5) == 37.0);
}

static const char hdr211[] =
	"real-time,time-elapsed,time-remaining,percent-complete,active-send-threads,sent-total,"
	"sent-"
	"last-one-sec,sent-avg-per-sec,recv-success-total,recv-success-last-one-sec,recv-success-"
	"avg-"
	"per-sec,recv-total,recv-total-last-one-sec,recv-total-avg-per-sec,pcap-drop-total,drop-"
	"last-"
	"one-sec,drop-avg-per-sec,sendto-fail-total,sendto-fail-last-one-sec,sendto-fail-avg-per-"
	"sec\n";

/* ZU-04, ZU-05 */
static void test_status(void **state)
{
	struct zmap_status s;
	const char *rows = "2024,1,2,25.271052,1,323508,323411,320038,5,3,0,0,0,0,0,0,0,0,0,0\n"
			   "2024,3,0,75.281250,0,1031553,357743,343851,9,4,0,0,0,0,0,0,0,0,0,0\n"
			   "2024,4,0,80.0,0,77";
	(void)state;
	zmap_status_init(&s);
	assert_int_equal(zmap_status_feed(&s, hdr211, strlen(hdr211)), 0);
	assert_true(s.usable);
	assert_false(s.have_row);                                      /* header only: no row */
	assert_int_equal(zmap_status_feed(&s, rows, strlen(rows)), 2); /* partial line ignored */
	assert_true(s.row[ZS_SENT_TOTAL] == 1031553);
	assert_true(s.row[ZS_SENT_AVG] == 343851);
	assert_true(s.row[ZS_RECV_TOTAL] == 9);
	assert_true(s.row[ZS_RECV_LAST] == 4);
	{
		double ss = zmap_send_seconds(&s, 10, 1);
		assert_true(ss > 2.999 && ss < 3.001); /* 1031553 / 343851 */
	}
	/* newer header: hit-rate inserted, rows with an extra empty field */
	zmap_status_init(&s);
	{
		const char *h =
			"real-time,time-elapsed,time-remaining,percent-complete,hit-rate,active-"
			"send-threads,sent-total,sent-last-one-sec,sent-avg-per-sec,recv-"
			"success-total,recv-success-last-one-sec,recv-success-avg-per-sec,recv-"
			"total,recv-total-last-one-sec,recv-total-avg-per-sec,pcap-drop-total,"
			"drop-last-one-sec,drop-avg-per-sec,sendto-fail-total,sendto-fail-last-"
			"one-sec,sendto-fail-avg-per-sec\n"
			"x,1,0,50.0,0.1,1,100,50,50,2,1,0,0,0,0,0,0,0,0,,0,0\n";
		assert_int_equal(zmap_status_feed(&s, h, strlen(h)), 1);
		assert_true(s.row[ZS_SENT_TOTAL] == 100);
		assert_true(s.row[ZS_RECV_TOTAL] == 2);
	}
	/* the newest: bandwidth columns after sent-avg-per-sec */
	zmap_status_init(&s);
	{
		const char *h =
			"real-time,time-elapsed,time-remaining,percent-complete,hit-rate,active-"
			"send-threads,sent-total,sent-last-one-sec,sent-avg-per-sec,sent-"
			"bandwidth-last-one-sec,sent-bandwidth-avg-per-sec,recv-success-total,"
			"recv-success-last-one-sec\n"
			"x,1,0,50.0,0.1,1,200,60,70,999,999,3,2\n";
		assert_int_equal(zmap_status_feed(&s, h, strlen(h)), 1);
		assert_true(s.row[ZS_SENT_TOTAL] == 200);
		assert_true(s.row[ZS_SENT_AVG] == 70);
		assert_true(s.row[ZS_RECV_TOTAL] == 3);
	}
	/* rows with fewer fields than a needed column are skipped */
	zmap_status_init(&s);
	(void)zmap_status_feed(&s, hdr211, strlen(hdr211));
	assert_int_equal(zmap_status_feed(&s, "1,2,3\n", 6), 0);
	/* a header without sent-total: unusable; send_seconds falls back */
	zmap_status_init(&s);
	assert_int_equal(zmap_status_feed(&s, "a,b,sent-avg-per-sec\n1,2,3\n", 27), 0);
	assert_false(s.usable);
	assert_true(zmap_send_seconds(&s, 7.5, 5) == 2.5);
	assert_true(zmap_send_seconds(&s, 3, 5) == 0);
	/* sent 0 -> 0 */
	zmap_status_init(&s);
	(void)zmap_status_feed(&s, hdr211, strlen(hdr211));
	(void)zmap_status_feed(&s, "x,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n", 40);
	assert_true(zmap_send_seconds(&s, 9, 1) == 0);
}

/* ZU-06 */
static void test_cursor(void **state)
{
	uint16_t ports[2] = {80, 443};
	struct zmap_cursor c = {ip("10.0.0.0"), ip("10.0.0.255"), ip("10.0.0.0"), 1,
				ip("10.0.0.99")};
	struct zmap_cursor r;
	char *j;
	(void)state;
	j = zmap_cursor_json(&c, ports, 2);
	assert_string_equal(j, "{\"chunk_end\": \"10.0.0.99\", \"engine\": \"zmap\", \"next\": "
			       "\"10.0.0.0\", \"port_index\": 1, \"ports\": \"80,443\", "
			       "\"target_range\": \"10.0.0.0-10.0.0.255\", \"version\": 1}");
	/* round trip; ZU-11: port_index 1 keeps chunk_end */
	assert_int_equal(zmap_cursor_parse(j, strlen(j), c.r0, c.r1, ports, 2, &r), 0);
	assert_true(r.next == c.next && r.port_index == 1 && r.chunk_end == ip("10.0.0.99"));
	free(j);
	c.next = ip("10.0.0.100");
	c.port_index = 0;
	j = zmap_cursor_json(&c, ports, 2);
	assert_string_equal(j, "{\"chunk_end\": null, \"engine\": \"zmap\", \"next\": "
			       "\"10.0.0.100\", \"port_index\": 0, \"ports\": \"80,443\", "
			       "\"target_range\": \"10.0.0.0-10.0.0.255\", \"version\": 1}");
	/* mismatching target or ports, invalid JSON, other engine: -1 */
	assert_int_equal(zmap_cursor_parse(j, strlen(j), c.r0, ip("10.0.1.255"), ports, 2, &r), -1);
	assert_int_equal(zmap_cursor_parse(j, strlen(j), c.r0, c.r1, ports, 1, &r), -1);
	assert_int_equal(zmap_cursor_parse("{", 1, c.r0, c.r1, ports, 2, &r), -1);
	{
		const char *o =
			"{\"chunk_end\": null, \"engine\": \"anyscan\", \"next\": \"10.0.0.100\", "
			"\"port_index\": 0, \"ports\": \"80,443\", \"target_range\": "
			"\"10.0.0.0-10.0.0.255\", \"version\": 1}";
		assert_int_equal(zmap_cursor_parse(o, strlen(o), c.r0, c.r1, ports, 2, &r), -1);
	}
	free(j);
}

struct warns {
	char text[2048];
};
/* ZU-13: the measurement table of §13.3 step 7, and the empty-chunk rule */
static void test_window_measure(void **state)
{
	static const struct {
		struct zmap_window_result r;
		double elapsed;
		int code;
		bool natural;
	} cases[] = {
		/* chunk done, cursor complete: send seconds, 0, natural */
		{{ZMAP_WINDOW_DONE, 2.5, 9.0, 0, true}, 2.5, 0, true},
		/* chunk done, more to scan */
		{{ZMAP_WINDOW_DONE, 1.75, 9.0, 0, false}, 1.75, 0, false},
		/* partial: deadline between runs; never natural */
		{{ZMAP_WINDOW_PARTIAL, 3.0, 30.0, 0, true}, 3.0, 0, false},
		/* interrupted at the deadline: wall time, the run's code (-2) */
		{{ZMAP_WINDOW_INTERRUPTED, 1.0, 44.0, -2, false}, 44.0, -2, false},
		/* failed: wall time to the failing exit, its code */
		{{ZMAP_WINDOW_FAILED, 0.5, 0.25, 5, false}, 0.25, 5, false},
		{{ZMAP_WINDOW_FAILED, 0, 0.1, -9, false}, 0.1, -9, false},
		/* a clock that went backwards never gives a negative time */
		{{ZMAP_WINDOW_FAILED, 0, -0.5, 3, false}, 0.0, 3, false},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rate_measurement m;
		memset(&m, 0, sizeof(m));
		zmap_window_measure(&cases[i].r, &m);
		assert_true(m.elapsed_seconds == cases[i].elapsed);
		assert_int_equal(m.scanner_exit_code, cases[i].code);
		assert_int_equal(m.scanner_finished_naturally, cases[i].natural);
	}
	/* an empty (ineligible) chunk continues within the window ... */
	assert_true(zmap_window_continues(false, 0, 10.0, 44.0));
	/* ... but not once packets were sent, the range is done or the
	 * deadline passed */
	assert_false(zmap_window_continues(false, 1, 10.0, 44.0));
	assert_false(zmap_window_continues(true, 0, 10.0, 44.0));
	assert_false(zmap_window_continues(false, 0, 44.0, 44.0));
	assert_false(zmap_window_continues(false, 0, 50.0, 44.0));
}

/* zmap's constraint-assertion abort is run again, within limits */
static void test_abort_retry(void **state)
{
	static const char as[] = "zmap: lib/constraint.c:253: constraint_lookup_index: Assertion "
				 "`index < con->root->count' failed.\n";
	static const struct {
		int rc;
		const char *err;
		unsigned attempt;
		double now, deadline;
		bool retry;
	} cases[] = {
		{-SIGABRT, as, 1, 10.0, 44.0, true},
		{-SIGABRT, as, 2, 10.0, 44.0, true},
		{-SIGABRT, as, 3, 10.0, 44.0, false}, /* three runs in all */
		{-SIGABRT, as, 1, 10.0, -1.0, true},  /* static: no deadline */
		{-SIGABRT, as, 1, 44.0, 44.0, false}, /* deadline passed */
		{-SIGABRT, "zmap: out of memory\n", 1, 10.0, 44.0, false},
		{-SIGABRT, NULL, 1, 10.0, 44.0, false},
		{-SIGSEGV, as, 1, 10.0, 44.0, false},
		{1, as, 1, 10.0, 44.0, false},
		{134, as, 1, 10.0, 44.0, false}, /* an exit code, not the signal */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(zmap_abort_retryable(cases[i].rc, cases[i].err, cases[i].attempt,
						      cases[i].now, cases[i].deadline),
				 cases[i].retry);
}

static void collect(void *ctx, const char *line)
{
	struct warns *w = ctx;
	size_t l = strlen(w->text);
	(void)snprintf(w->text + l, sizeof(w->text) - l, "%s\n", line);
}

struct zfix {
	struct scan_env env;
	struct scan_inv inv;
	struct scan_ctx ctx;
	struct warns w;
};

static void zsetup(struct zfix *f, const char *const *envp, const char *json)
{
	struct errbuf e;
	memset(f, 0, sizeof(*f));
	assert_int_equal(scan_env_parse(&f->env, envp, 2, &e), 0);
	assert_int_equal(scan_inv_parse(json, strlen(json), &f->inv, &e), SCAN_INV_OK);
	f->ctx.env = &f->env;
	f->ctx.inv = &f->inv;
	f->ctx.scanner = "/usr/sbin/zmap";
	f->ctx.engine = SCAN_ENGINE_ZMAP;
	f->ctx.out = "/tmp/o.out";
	f->ctx.warn = collect;
	f->ctx.warn_ctx = &f->w;
}

static void zfree(struct zfix *f)
{
	scan_inv_free(&f->inv);
	scan_env_free(&f->env);
}

static const char *join(struct scan_argv *a, char *buf, size_t cap)
{
	size_t i, o = 0;
	buf[0] = '\0';
	for (i = 0; i < a->n; i++) {
		int n = snprintf(buf + o, cap - o, "%s%s", i ? " " : "", a->v[i]);
		assert_true(n > 0 && (size_t)n < cap - o);
		o += (size_t)n;
	}
	return buf;
}

/* ZU-07 */
static void test_argv(void **state)
{
	static struct zfix f;
	struct scan_argv a = {NULL, 0, 0};
	char buf[2048];
	const char *lab[] = {"SCANNER_INTERFACE=alab4242s",
			     "SCANNER_SOURCE_IP=192.0.2.1",
			     "SCANNER_GATEWAY_MAC=aa:bb:cc:dd:ee:ff",
			     "SCANNER_BLACKLIST_FILE=/tmp/lab.bl",
			     "SCANNER_SENDER_THREADS=1",
			     "SCANNER_COOLDOWN_SECONDS=1",
			     NULL};
	const char *bw[] = {"SCANNER_BANDWIDTH=10M", "SCANNER_PROBE_MODULE=icmp_echoscan",
			    "SCANNER_EXTRA_ARGS=--seed=5", NULL};
	(void)state;
	zsetup(&f, lab, "{\"target_range\":\"192.0.2.0/29\",\"ports\":\"8080,8081\"}");
	assert_int_equal(zmap_command(&f.ctx, 8080, 1000, 0, &a), 0);
	assert_string_equal(
		join(&a, buf, sizeof(buf)),
		"/usr/sbin/zmap -p 8080 -r 1000 -T 1 -M tcp_synscan --cooldown-time 1 -o "
		"/tmp/o.out.zmap-run --status-updates-file /tmp/o.out.zmap-status -w "
		"/tmp/o.out.zmap-targets -i alab4242s -S 192.0.2.1 --gateway-mac "
		"aa:bb:cc:dd:ee:ff -b /tmp/lab.bl");
	scan_argv_free(&a);
	zfree(&f);
	zsetup(&f, bw, "{\"target_range\":\"192.0.2.0/29\",\"ports\":\"80\"}");
	/* static without a rate: -B; never -r 0 */
	assert_int_equal(zmap_command(&f.ctx, 80, 0, 1, &a), 0);
	assert_non_null(strstr(join(&a, buf, sizeof(buf)), " -B 10M "));
	assert_null(strstr(buf, " -r "));
	assert_non_null(strstr(buf, " -M icmp_echoscan "));
	assert_non_null(strstr(buf, " --seed=5"));
	scan_argv_free(&a);
	/* a rate: -r, no -B */
	assert_int_equal(zmap_command(&f.ctx, 80, 5000000000LL, 1, &a), 0);
	assert_non_null(strstr(join(&a, buf, sizeof(buf)), " -r 2147483647 "));
	assert_null(strstr(buf, " -B "));
	scan_argv_free(&a);
	zfree(&f);
}

/* ZU-09 */
static void test_results(void **state)
{
	struct scan_buf b = {NULL, 0, 0};
	const char *run = "192.0.2.2\nsaddr\n\n192.0.2.300\n10.0.0.1,80\n";
	(void)state;
	assert_int_equal(zmap_results_convert(run, strlen(run), 8080, &b), 0);
	assert_string_equal(b.data, "192.0.2.2:8080\n10.0.0.1:8080\n");
	scan_buf_free(&b);
}

/* ZU-10 */
static void test_refusals(void **state)
{
	static struct zfix f;
	struct errbuf e;
	const char *none[] = {NULL};
	const char *wl[] = {"SCANNER_WHITELIST_FILE=/w", NULL};
	const char *pos[] = {"SCANNER_EXTRA_ARGS=--seed=1 10.0.0.0/8", NULL};
	(void)state;
	zsetup(&f, none, "{\"target_range\":\"scan.example\",\"ports\":\"80\"}");
	assert_int_equal(engine_zmap_check(&f.ctx, &e), -1);
	assert_string_equal(e.msg, "target_range not scannable by the zmap engine: scan.example "
				   "(expected an IPv4 address, CIDR or a-b range)");
	zfree(&f);
	zsetup(&f, wl, "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\"}");
	assert_int_equal(engine_zmap_check(&f.ctx, &e), -1);
	assert_string_equal(e.msg, "SCANNER_WHITELIST_FILE is not supported by the zmap engine "
				   "(zmap would scan its union with target_range)");
	zfree(&f);
	zsetup(&f, pos, "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\"}");
	assert_int_equal(engine_zmap_check(&f.ctx, &e), -1);
	assert_string_equal(e.msg, "SCANNER_EXTRA_ARGS for the zmap engine must use "
				   "--option=value words: '10.0.0.0/8'");
	zfree(&f);
	zsetup(&f, none, "{\"target_range\":\"10.0.0.0-10.0.0.9\",\"ports\":\"80\"}");
	assert_int_equal(engine_zmap_check(&f.ctx, &e), 0);
	zfree(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_size),     cmocka_unit_test(test_chunk_walk),
		cmocka_unit_test(test_deadline),       cmocka_unit_test(test_status),
		cmocka_unit_test(test_cursor),         cmocka_unit_test(test_argv),
		cmocka_unit_test(test_results),        cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_window_measure), cmocka_unit_test(test_abort_retry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
