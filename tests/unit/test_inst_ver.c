/* installer/ver: §13.3 version grammar and precedence. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bname.h"
#include "ver.h"

static void test_grammar(void **state)
{
	static const struct {
		const char *s;
		size_t len; /* 0: strlen */
		int ok;
	} cases[] = {
		{"1.4.0", 0, 1},
		{"0.0.0", 0, 1},
		{"2.0.0-rc.1", 0, 1},
		{"1.0.0-alpha", 0, 1},
		{"1.0.0-alpha.beta.0", 0, 1},
		{"1.0.0-0A", 0, 1},
		{"1.0.0-01a", 0, 1}, /* alphanumeric may start with 0 */
		{"2147483647.2147483647.2147483647", 0, 1},
		{"2147483648.0.0", 0, 0}, /* 2^31 */
		{"0.2147483648.0", 0, 0},
		{"99999999999.0.0", 0, 0},
		{"", 0, 0},
		{"1", 0, 0},
		{"1.2", 0, 0},
		{"1.2.", 0, 0},
		{"1.2.3.4", 0, 0},
		{"01.2.3", 0, 0},
		{"1.02.3", 0, 0},
		{"1.2.03", 0, 0},
		{"v1.2.3", 0, 0},
		{"1.2.3-", 0, 0},
		{"1.2.3-rc..1", 0, 0},
		{"1.2.3-rc.", 0, 0},
		{"1.2.3-.rc", 0, 0},
		{"1.2.3-rc.01", 0, 0},
		{"1.2.3-rc_1", 0, 0},
		{"1.2.3+build", 0, 0},
		{"1.2.3-rc+build", 0, 0},
		{" 1.2.3", 0, 0},
		{"1.2.3 ", 0, 0},
		{"-1.2.3", 0, 0},
		{"1.2.3\0-rc", 9, 0}, /* embedded NUL */
		{"1.2.3-rc", 5, 1},   /* the length bounds the token */
		/* 64 bytes: the maximum */
		{"1.2.3-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 1},
		/* 65 bytes: max + 1 */
		{"1.2.3-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].s);
		struct ver v;
		struct errbuf e = {{0}};
		int rc = ver_parse(cases[i].s, len, &v, &e);
		if (cases[i].ok) {
			if (rc != 0)
				fail_msg("'%s' refused: %s", cases[i].s, e.msg);
		} else {
			if (rc == 0)
				fail_msg("'%s' accepted", cases[i].s);
			assert_true(strstr(e.msg, "invalid version") != NULL);
		}
		/* the builder's grammar agrees */
		assert_int_equal(bname_version_valid(cases[i].s, len), cases[i].ok);
	}
}

static void test_fields(void **state)
{
	struct ver v;
	(void)state;
	assert_int_equal(ver_parse("12.0.345-rc.1", 13, &v, NULL), 0);
	assert_int_equal(v.major, 12);
	assert_int_equal(v.minor, 0);
	assert_int_equal(v.patch, 345);
	assert_string_equal(v.pre, "rc.1");
	assert_int_equal(ver_parse("1.2.3", 5, &v, NULL), 0);
	assert_string_equal(v.pre, "");
}

static int sign(int x)
{
	return x < 0 ? -1 : x > 0 ? 1 : 0;
}

static void test_order(void **state)
{
	/* strictly increasing (semver.org §11 example plus numeric edge cases) */
	static const char *const chain[] = {
		"0.0.0",       "0.0.1",         "0.1.0",
		"0.9.9",       "0.10.0",        "1.0.0-0",
		"1.0.0-1",     "1.0.0-2",       "1.0.0-10",
		"1.0.0-A",     "1.0.0-Z",       "1.0.0-a",
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
		"1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
		"1.0.0-rc.1",  "1.0.0",         "1.0.1",
		"1.2.0",       "1.10.0",        "2.0.0-rc.1",
		"2.0.0",       "10.0.0",        "2147483647.0.0",
	};
	size_t n = sizeof(chain) / sizeof(chain[0]), i, j;
	(void)state;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			int c = 99;
			struct errbuf e = {{0}};
			if (ver_cmp_str(chain[i], chain[j], &c, &e) != 0)
				fail_msg("%s", e.msg);
			if (sign(c) != (i < j ? -1 : i > j ? 1 : 0))
				fail_msg("%s vs %s gave %d", chain[i], chain[j], c);
		}
}

static void test_cmp_invalid(void **state)
{
	int c = 5;
	struct errbuf e = {{0}};
	(void)state;
	assert_int_equal(ver_cmp_str("1.0.0", "1.0", &c, &e), -1);
	assert_int_equal(c, 5);
	assert_true(strstr(e.msg, "'1.0'") != NULL);
	assert_false(ver_valid("", 0));
	assert_true(ver_valid("1.4.0", 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grammar),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_cmp_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
