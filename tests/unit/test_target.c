/* agent/target: scan.md §7 (normalise, parse, format, split, CIDR list);
 * multi-NIC inventory MN-07..MN-17 and zmap ZU-01. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

static uint32_t ip(const char *s)
{
	uint32_t v = 0;
	assert_int_equal(target_parse_ipv4(s, strlen(s), &v), 0);
	return v;
}

static void test_ipv4_strict(void **state)
{
	static const struct {
		const char *in;
		int ok;
		uint32_t want;
	} cases[] = {
		{"0.0.0.0", 1, 0},
		{"255.255.255.255", 1, 0xffffffffu},
		{"10.0.0.1", 1, 0x0a000001u},
		{"256.0.0.1", 0, 0},
		{"10.0.0", 0, 0},
		{"10.0.0.1.2", 0, 0},
		{"010.0.0.1", 0, 0},
		{"10.00.0.1", 0, 0},
		{" 10.0.0.1", 0, 0},
		{"10.0.0.1 ", 0, 0},
		{"10..0.1", 0, 0},
		{"", 0, 0},
		{"1000.0.0.1", 0, 0},
		{"a.b.c.d", 0, 0},
		{"::1", 0, 0},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t v = 0;
		int rc = target_parse_ipv4(cases[i].in, strlen(cases[i].in), &v);
		assert_int_equal(rc, cases[i].ok ? 0 : -1);
		if (cases[i].ok)
			assert_true(v == cases[i].want);
	}
	/* embedded NUL */
	assert_int_equal(target_parse_ipv4("10.0.0.1\0", 9, &(uint32_t){0}), -1);
}

static void test_normalize(void **state)
{
	static const char *const cases[][2] = {
		{"10.0.0.0-10.0.0.7", "10.0.0.0/29"},
		{"10.0.0.4-10.0.0.7", "10.0.0.4/30"},
		{"10.0.0.0-10.0.0.0", "10.0.0.0/32"},
		{"10.0.0.0 - 10.0.0.7", "10.0.0.0/29"},
		{"10.0.0.1-10.0.0.8", "10.0.0.1-10.0.0.8"},
		{"10.0.0.5", "10.0.0.5/32"},
		{"10.0.0.0/24", "10.0.0.0/24"},
		{"scan.example", "scan.example"},
		{"  10.0.0.5 ", "10.0.0.5/32"},
		{"", ""},
		{"   ", ""},
		{"10.0.0.9-10.0.0.1", "10.0.0.9-10.0.0.1"},
		{"0.0.0.0-255.255.255.255", "0.0.0.0/0"},
		{"10.0.0.1 - 10.0.0.8", "10.0.0.1 - 10.0.0.8"},
		{"::1", "::1"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = target_normalize(cases[i][0]);
		assert_non_null(r);
		assert_string_equal(r, cases[i][1]);
		free(r);
	}
}

static void test_parse_range(void **state)
{
	static const struct {
		const char *in;
		int ok;
		const char *s, *e;
	} cases[] = {
		{"10.0.0.5/24", 1, "10.0.0.0", "10.0.0.255"},
		{"10.0.0.0/08", 1, "10.0.0.0", "10.255.255.255"},
		{"0.0.0.0/0", 1, "0.0.0.0", "255.255.255.255"},
		{"10.0.0.1/32", 1, "10.0.0.1", "10.0.0.1"},
		{"10.0.0.0/33", 0, NULL, NULL},
		{"10.0.0.0/255.255.255.0", 0, NULL, NULL},
		{"10.0.0.0/", 0, NULL, NULL},
		{"10.0.0.0/008", 0, NULL, NULL},
		{"::/0", 0, NULL, NULL},
		{" 10.0.0.1 - 10.0.0.9 ", 1, "10.0.0.1", "10.0.0.9"},
		{"10.0.0.9-10.0.0.1", 0, NULL, NULL},
		{"10.0.0.7", 1, "10.0.0.7", "10.0.0.7"},
		{"", 0, NULL, NULL},
		{"not-an-ip", 0, NULL, NULL},
		{"scan.example", 0, NULL, NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t s = 1, e = 1;
		int rc = target_parse_range(cases[i].in, &s, &e);
		assert_int_equal(rc, cases[i].ok ? 0 : -1);
		if (cases[i].ok) {
			assert_true(s == ip(cases[i].s));
			assert_true(e == ip(cases[i].e));
		}
	}
}

/* MN-07, MN-08 */
static void test_format_range(void **state)
{
	char buf[TARGET_TEXT_MAX];
	(void)state;
	target_format_range(0x0A000001u, 0x0A000001u, buf);
	assert_string_equal(buf, "10.0.0.1");
	target_format_range(0x0A000000u, 0x0A0000FFu, buf);
	assert_string_equal(buf, "10.0.0.0-10.0.0.255");
	target_format_range(0, 0xffffffffu, buf);
	assert_string_equal(buf, "0.0.0.0-255.255.255.255");
	assert_true(strlen(buf) < TARGET_TEXT_MAX);
}

struct split_case {
	const char *in;
	int64_t n;
	const char *want[8];
};

static void check_split(const struct split_case *c)
{
	char **list = NULL;
	size_t count = 0, i;
	assert_int_equal(target_split(c->in, c->n, &list, &count), 0);
	for (i = 0; c->want[i] != NULL; i++) {
		assert_true(i < count);
		assert_string_equal(list[i], c->want[i]);
	}
	assert_int_equal(count, i);
	assert_null(list[count]);
	target_list_free(list);
}

/* MN-09..MN-16 and the §7.4 table */
static void test_split_table(void **state)
{
	static const struct split_case cases[] = {
		{"not-an-ip", 4, {"not-an-ip"}},              /* MN-09 */
		{"10.0.0.0/24", 1, {"10.0.0.0-10.0.0.255"}},  /* MN-10 */
		{"10.0.0.0/24", 0, {"10.0.0.0-10.0.0.255"}},  /* MN-11 */
		{"10.0.0.0/24", -5, {"10.0.0.0-10.0.0.255"}}, /* MN-11 */
		{"10.0.0.1", 4, {"10.0.0.1"}},                /* MN-12 */
		{"10.0.0.0/24",
		 4,
		 {"10.0.0.0-10.0.0.63", "10.0.0.64-10.0.0.127", "10.0.0.128-10.0.0.191",
		  "10.0.0.192-10.0.0.255"}}, /* MN-13 */
		{"10.0.0.0-10.0.0.9",
		 3,
		 {"10.0.0.0-10.0.0.3", "10.0.0.4-10.0.0.6", "10.0.0.7-10.0.0.9"}}, /* MN-14 */
		{"192.168.1.0-192.168.1.7",
		 2,
		 {"192.168.1.0-192.168.1.3", "192.168.1.4-192.168.1.7"}}, /* MN-15 */
		{"10.0.0.0-10.0.0.3",
		 8,
		 {"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"}}, /* MN-16 */
		{"10.0.0.1/32", 3, {"10.0.0.1"}},
		{"10.0.0.0-10.0.0.4", 3, {"10.0.0.0-10.0.0.1", "10.0.0.2-10.0.0.3", "10.0.0.4"}},
		{"0.0.0.0/0",
		 4,
		 {"0.0.0.0-63.255.255.255", "64.0.0.0-127.255.255.255", "128.0.0.0-191.255.255.255",
		  "192.0.0.0-255.255.255.255"}},
		{"10.0.0.9-10.0.0.1", 3, {"10.0.0.9-10.0.0.1"}},
		{"  fe80::/64 ", 2, {"fe80::/64"}},
		{"10.0.0.0-10.0.0.255",
		 6,
		 {"10.0.0.0-10.0.0.42", "10.0.0.43-10.0.0.85", "10.0.0.86-10.0.0.128",
		  "10.0.0.129-10.0.0.171", "10.0.0.172-10.0.0.213", "10.0.0.214-10.0.0.255"}},
		{"10.0.0.0/22",
		 7,
		 {"10.0.0.0-10.0.0.146", "10.0.0.147-10.0.1.37", "10.0.1.38-10.0.1.183",
		  "10.0.1.184-10.0.2.73", "10.0.2.74-10.0.2.219", "10.0.2.220-10.0.3.109",
		  "10.0.3.110-10.0.3.255"}},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_split(&cases[i]);
}

/* MN-17: disjoint, contiguous, covering */
static void test_split_cover(void **state)
{
	char **list = NULL;
	size_t count = 0, i;
	static uint8_t seen[1024];
	uint32_t expect_next = 0x0A000000u;
	(void)state;
	memset(seen, 0, sizeof(seen));
	assert_int_equal(target_split("10.0.0.0/22", 7, &list, &count), 0);
	assert_true(count > 1);
	for (i = 0; i < count; i++) {
		uint32_t s, e, a;
		assert_int_equal(target_parse_range(list[i], &s, &e), 0);
		assert_true(s == expect_next);
		for (a = s; a <= e; a++) {
			assert_true(a >= 0x0A000000u && a <= 0x0A0003FFu);
			assert_int_equal(seen[a - 0x0A000000u], 0);
			seen[a - 0x0A000000u] = 1;
		}
		expect_next = e + 1;
	}
	for (i = 0; i < 1024; i++)
		assert_int_equal(seen[i], 1);
	target_list_free(list);
}

struct cidr_case {
	const char *s, *e;
	size_t n;
	const char *want[10];
};

/* ZU-01: §7.5 */
static void test_cidr_list(void **state)
{
	static const struct cidr_case cases[] = {
		{"10.0.0.0", "10.0.0.5", 2, {"10.0.0.0/30", "10.0.0.4/31"}},
		{"10.0.0.6", "10.0.0.9", 2, {"10.0.0.6/31", "10.0.0.8/31"}},
		{"10.0.0.0", "10.0.0.99", 3, {"10.0.0.0/26", "10.0.0.64/27", "10.0.0.96/30"}},
		{"10.0.0.1",
		 "10.0.0.8",
		 4,
		 {"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/30", "10.0.0.8/32"}},
		{"0.0.0.0", "255.255.255.255", 1, {"0.0.0.0/0"}},
		{"240.0.0.0",
		 "240.3.13.63",
		 6,
		 {"240.0.0.0/15", "240.2.0.0/16", "240.3.0.0/21", "240.3.8.0/22", "240.3.12.0/24",
		  "240.3.13.0/26"}},
		{"240.0.0.0",
		 "240.160.55.159",
		 9,
		 {"240.0.0.0/9", "240.128.0.0/11", "240.160.0.0/19", "240.160.32.0/20",
		  "240.160.48.0/22", "240.160.52.0/23", "240.160.54.0/24", "240.160.55.0/25",
		  "240.160.55.128/27"}},
		{"255.255.255.255", "255.255.255.255", 1, {"255.255.255.255/32"}},
	};
	size_t i, j;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct target_cidr out[TARGET_CIDR_MAX];
		size_t n = target_cidr_list(ip(cases[i].s), ip(cases[i].e), out);
		assert_int_equal(n, cases[i].n);
		for (j = 0; j < n; j++) {
			char buf[20];
			target_format_cidr(&out[j], buf);
			assert_string_equal(buf, cases[i].want[j]);
		}
	}
}

static void test_cidr_list_62(void **state)
{
	struct target_cidr out[TARGET_CIDR_MAX];
	char buf[20];
	uint64_t total = 0;
	size_t n, j;
	(void)state;
	n = target_cidr_list(1, 0xfffffffeu, out);
	assert_int_equal(n, 62);
	target_format_cidr(&out[0], buf);
	assert_string_equal(buf, "0.0.0.1/32");
	target_format_cidr(&out[61], buf);
	assert_string_equal(buf, "255.255.255.254/32");
	for (j = 0; j < n; j++)
		total += (uint64_t)1 << (32 - out[j].prefix);
	assert_true(total == 0xfffffffeull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_strict), cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_parse_range), cmocka_unit_test(test_format_range),
		cmocka_unit_test(test_split_table), cmocka_unit_test(test_split_cover),
		cmocka_unit_test(test_cidr_list),   cmocka_unit_test(test_cidr_list_62),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
