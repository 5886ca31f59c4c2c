/* lib/hex: lowercase encoding, strict decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "hex.h"

static void test_encode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(hex_encode("", 0, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(hex_encode("\x00\x01\xab\xff", 4, out, sizeof(out)), 0);
	assert_string_equal(out, "0001abff");
	/* exactly enough room, and one byte short */
	assert_int_equal(hex_encode("\x12\x34", 2, out, 5), 0);
	assert_string_equal(out, "1234");
	memset(out, 'Q', sizeof(out));
	assert_int_equal(hex_encode("\x12\x34", 2, out, 4), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(out[0], 'Q');
}

static void test_decode_table(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		unsigned flags;
		int rc;
		const char *want; /* bytes */
		size_t want_len;
	} cases[] = {
		{"", 0, 0, 0, "", 0},
		{"00", 2, 0, 0, "\x00", 1},
		{"0001abff", 8, 0, 0, "\x00\x01\xab\xff", 4},
		{"ABFF", 4, 0, -1, NULL, 0}, /* uppercase refused by default */
		{"ABFF", 4, HEX_ALLOW_UPPER, 0, "\xab\xff", 2},
		{"aBfF", 4, HEX_ALLOW_UPPER, 0, "\xab\xff", 2},
		{"abc", 3, 0, -1, NULL, 0}, /* odd length */
		{"a", 1, 0, -1, NULL, 0},
		{"zz", 2, 0, -1, NULL, 0}, /* not hex */
		{"0g", 2, 0, -1, NULL, 0},
		{"0 ", 2, 0, -1, NULL, 0},
		{" 0", 2, 0, -1, NULL, 0},
		{"0\0", 2, 0, -1, NULL, 0}, /* embedded NUL */
		{"ab\n", 3, 0, -1, NULL, 0},
		{"+1", 2, 0, -1, NULL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[16];
		size_t n = 99;
		int rc =
			hex_decode(cases[i].in, cases[i].len, out, sizeof(out), &n, cases[i].flags);

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(n, cases[i].want_len);
			assert_memory_equal(out, cases[i].want, n);
			assert_true(cases[i].len == 0 ||
				    hex_valid(cases[i].in, cases[i].len, cases[i].flags));
		} else {
			assert_int_equal(errno, EINVAL);
			assert_false(hex_valid(cases[i].in, cases[i].len, cases[i].flags));
		}
	}
	assert_false(hex_valid("", 0, 0));
}

static void test_decode_room(void **state)
{
	uint8_t out[2];
	size_t n;

	(void)state;
	assert_int_equal(hex_decode("abcd", 4, out, 2, &n, 0), 0); /* exact */
	assert_int_equal(n, 2);
	assert_int_equal(hex_decode("abcdef", 6, out, 2, &n, 0), -1); /* one short */
	assert_int_equal(errno, ENOSPC);
}

static void test_round_trip(void **state)
{
	uint8_t in[256], back[256];
	char hex[513];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	assert_int_equal(hex_encode(in, sizeof(in), hex, sizeof(hex)), 0);
	assert_int_equal(strlen(hex), 512);
	assert_int_equal(hex_decode(hex, 512, back, sizeof(back), &n, 0), 0);
	assert_int_equal(n, 256);
	assert_memory_equal(in, back, 256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_decode_room),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
