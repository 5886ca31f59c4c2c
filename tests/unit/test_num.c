/* lib/num: the checked number parsers every other parser relies on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "num.h"

struct i64_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	int ok;
	int64_t want;
};

static void test_i64_table(void **state)
{
	static const struct i64_case cases[] = {
		{"0", 0, 1, 0},
		{"42", 0, 1, 42},
		{"-42", 0, 1, -42},
		{"+7", 0, 1, 7},
		{"9223372036854775807", 0, 1, INT64_MAX},
		{"-9223372036854775808", 0, 1, INT64_MIN},
		{"9223372036854775808", 0, 0, 0},  /* max+1 */
		{"-9223372036854775809", 0, 0, 0}, /* min-1 */
		{"", 0, 0, 0},
		{"-", 0, 0, 0},
		{" 1", 0, 0, 0},
		{"1 ", 0, 0, 0},
		{"1.0", 0, 0, 0},
		{"1e3", 0, 0, 0},
		{"0x10", 0, 0, 0},
		{"12\0"
		 "3",
		 4, 0, 0},         /* embedded NUL */
		{"123", 2, 1, 12}, /* length bounds the token */
		{"99999999999999999999999999999999999999999999999999999999999999999", 0, 0, 0},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct i64_case *c = &cases[i];
		int64_t v = -1;
		size_t len = c->len ? c->len : strlen(c->in);
		int rc = num_parse_i64(c->in, len, &v);
		if (c->ok) {
			assert_int_equal(rc, 0);
			assert_true(v == c->want);
		} else {
			assert_int_equal(rc, -1);
		}
	}
}

static void test_u64(void **state)
{
	uint64_t v = 0;
	(void)state;
	assert_int_equal(num_parse_u64("18446744073709551615", 20, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(num_parse_u64("18446744073709551616", 20, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(num_parse_u64("-1", 2, &v), -1);
	assert_int_equal(num_parse_u64("+1", 2, &v), -1);
	assert_int_equal(num_parse_u64("", 0, &v), -1);
}

static void test_double_table(void **state)
{
	static const struct {
		const char *in;
		int ok;
		double want;
	} cases[] = {
		{"1.5", 1, 1.5},    {"30", 1, 30.0}, {"-0.25", 1, -0.25}, {"1e-3", 1, 0.001},
		{"2E+2", 1, 200.0}, {".5", 1, 0.5},  {"5.", 1, 5.0},      {"nan", 0, 0},
		{"inf", 0, 0},      {"1e999", 0, 0}, {"0x1p3", 0, 0},     {"", 0, 0},
		{".", 0, 0},        {"1e", 0, 0},    {" 1", 0, 0},        {"1,5", 0, 0},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double v = 0;
		int rc = num_parse_double(cases[i].in, strlen(cases[i].in), &v);
		assert_int_equal(rc, cases[i].ok ? 0 : -1);
		if (cases[i].ok)
			assert_true(v == cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i64_table),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_double_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
