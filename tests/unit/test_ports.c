/* agent/ports: scan.md §8 (validation, lenient set, ascending list). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ports.h"

struct pcase {
	const char *in;
	size_t len; /* 0: strlen */
	int ok;
	const char *msg; /* when !ok */
	uint16_t want[8];
	size_t nwant;
};

static void test_validate_table(void **state)
{
	static const struct pcase cases[] = {
		{"443, 80-82, 90-88", 0, 1, NULL, {80, 81, 82, 88, 89, 90, 443}, 7},
		{"80 - 82", 0, 1, NULL, {80, 81, 82}, 3},
		{"80", 0, 1, NULL, {80}, 1},
		{" 65535 ,1", 0, 1, NULL, {1, 65535}, 2},
		{"00080", 0, 1, NULL, {80}, 1},
		{",80,,", 0, 1, NULL, {80}, 1},
		{"443, 80-82,0,70000, 90-88",
		 0,
		 0,
		 "'0' (expected a port 1-65535 or a range lo-hi)",
		 {0},
		 0},
		{"80,http", 0, 0, "'http' (expected a port 1-65535 or a range lo-hi)", {0}, 0},
		{"1-70000", 0, 0, "'1-70000' (expected a port 1-65535 or a range lo-hi)", {0}, 0},
		{"70000", 0, 0, "'70000' (expected a port 1-65535 or a range lo-hi)", {0}, 0},
		{"65536", 0, 0, "'65536' (expected a port 1-65535 or a range lo-hi)", {0}, 0},
		{"000080", 0, 0, "'000080' (expected a port 1-65535 or a range lo-hi)", {0}, 0},
		{"+80", 0, 0, "'+80' (expected a port 1-65535 or a range lo-hi)", {0}, 0},
		{"1-2-3", 0, 0, "'1-2-3' (expected a port 1-65535 or a range lo-hi)", {0}, 0},
		{"-80", 0, 0, "'-80' (expected a port 1-65535 or a range lo-hi)", {0}, 0},
		{",,,", 0, 0, "no port given", {0}, 0},
		{"", 0, 0, "no port given", {0}, 0},
		{"   ", 0, 0, "no port given", {0}, 0},
		{"8\0"
		 "0",
		 3,
		 0,
		 "'8' (expected a port 1-65535 or a range lo-hi)",
		 {0},
		 0}, /* embedded NUL */
	};
	size_t i, j;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		struct ports set;
		struct errbuf e;
		uint16_t list[16];
		size_t n;
		int rc;

		err_clear(&e);
		rc = ports_validate(c->in, c->len ? c->len : strlen(c->in), &set, &e);
		if (!c->ok) {
			assert_int_equal(rc, -1);
			assert_string_equal(e.msg, c->msg);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(set.count, c->nwant);
		n = ports_list(&set, list, 16);
		assert_int_equal(n, c->nwant);
		for (j = 0; j < n; j++)
			assert_int_equal(list[j], c->want[j]);
	}
}

static void test_lenient(void **state)
{
	struct ports set;
	uint16_t list[16];
	static const uint16_t want[] = {80, 81, 82, 88, 89, 90, 443};
	size_t n, j;
	const char *s = "443, 80-82,0,70000, 90-88";
	(void)state;
	ports_parse_lenient(s, strlen(s), &set);
	n = ports_list(&set, list, 16);
	assert_int_equal(n, 7);
	for (j = 0; j < n; j++)
		assert_int_equal(list[j], want[j]);
	assert_true(ports_has(&set, 443));
	assert_false(ports_has(&set, 0));
	assert_false(ports_has(&set, 70000));
	ports_parse_lenient("", 0, &set);
	assert_int_equal(set.count, 0);
}

static void test_full_range(void **state)
{
	struct ports set;
	uint16_t list[4];
	(void)state;
	assert_int_equal(ports_validate("1-65535", 7, &set, NULL), 0);
	assert_int_equal(set.count, 65535);
	assert_int_equal(ports_list(&set, list, 4), 4);
	assert_int_equal(list[3], 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_table),
		cmocka_unit_test(test_lenient),
		cmocka_unit_test(test_full_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
