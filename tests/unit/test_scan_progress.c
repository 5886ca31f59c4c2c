/* agent/scan_progress: scan.md §10.1, NB-18. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "scan_progress.h"

static void test_millis(void **state)
{
	static const struct {
		const char *num;
		char unit;
		uint64_t want;
	} cases[] = {
		{"8.2", 'M', 8200000000ull},
		{"33.3", 'M', 33300000000ull},
		{"1.00", 0, 1000},
		{"1.2.3", 'M', 0},
		{"1.20", 'M', 1200000000ull},
		{"3.4", 'K', 3400000},
		{".5", 'G', 500000000000ull},
		{"5.", 0, 5000},
		{"0.0001", 0, 0},
		{"1.23456", 0, 1234},
		{".", 0, 0},
		{"", 0, 0},
		{"99999999999999999999", 'G', UINT64_MAX},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_true(scan_progress_millis(cases[i].num, strlen(cases[i].num),
						 cases[i].unit) == cases[i].want);
}

static void test_match(void **state)
{
	struct scan_progress_snap s;
	char buf[512];
	const char *ex = "0:05 37%; send: 12345 1.20 Mp/s (1.10 Mp/s avg); recv: 77 3.4 Kp/s; "
			 "hits: 0.1%";
	(void)state;
	assert_int_equal(scan_progress_match(ex, strlen(ex), &s), 1);
	assert_int_equal(scan_progress_format(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf,
			    "{\"progress_percent\": 37, \"sent_total\": 12345, \"recv_total\": "
			    "77, \"probe_rate_millis\": 1200000000, "
			    "\"average_probe_rate_millis\": 1100000000, \"receive_rate_millis\": "
			    "3400000}");
	/* unanchored, tabs, unit spacing, p/s without unit */
	ex = "noise 12:00\t100%;\tsend: 5 8.2Mp/s (33.3 Mp/s avg); recv: 0 1.00p/s;";
	assert_int_equal(scan_progress_match(ex, strlen(ex), &s), 1);
	assert_true(s.send_millis == 8200000000ull);
	assert_true(s.avg_millis == 33300000000ull);
	assert_true(s.recv_millis == 1000);
	assert_true(s.percent == 100);
	/* the required ';' after the recv rate; zmap's status line never matches */
	ex = "0:05 37%; send: 1 1 p/s (1 p/s avg); recv: 1 1 p/s";
	assert_int_equal(scan_progress_match(ex, strlen(ex), &s), 0);
	ex = "0:01 1%; send: 10 1 p/s (1 p/s avg); recv: 1 1 p/s (1 p/s avg); hits: 1%";
	assert_int_equal(scan_progress_match(ex, strlen(ex), &s), 0);
	/* lower-case k is not a unit */
	ex = "0:05 37%; send: 1 1 kp/s (1 p/s avg); recv: 1 1 p/s;";
	assert_int_equal(scan_progress_match(ex, strlen(ex), &s), 0);
	/* invalid number gives 0, the line still matches */
	ex = "0:05 37%; send: 1 1.2.3 Mp/s (1 p/s avg); recv: 1 1 p/s;";
	assert_int_equal(scan_progress_match(ex, strlen(ex), &s), 1);
	assert_true(s.send_millis == 0);
	assert_int_equal(scan_progress_match("", 0, &s), 0);
}

static void test_stream(void **state)
{
	static struct scan_progress p;
	const char *a = "0:01 1%; send: 10 1 p/s (1 p/s avg); re";
	const char *b = "cv: 2 1 p/s;\r0:02 2%; send: 20 1 p/s (1 p/s avg); recv: 3 1 p/s;\n0:03 "
			"3%; send: 30 1 p/s (1 p/s avg); recv: 4 1 p/s;";
	(void)state;
	scan_progress_init(&p);
	assert_int_equal(scan_progress_feed(&p, a, strlen(a)), 0);
	/* the chunk itself matches (line 2), then lines 1 and 2 complete */
	assert_int_equal(scan_progress_feed(&p, b, strlen(b)), 3);
	assert_true(p.last.sent == 20);
	assert_int_equal(scan_progress_finish(&p), 1);
	assert_true(p.last.sent == 30);
	assert_true(p.matches == 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_millis),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
