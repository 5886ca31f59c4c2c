/* lib/buf: bounded growable byte buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_empty(void **state)
{
	struct buf *b = buf_new(16);
	char *s;
	size_t n = 99;

	(void)state;
	assert_non_null(b);
	assert_int_equal(buf_len(b), 0);
	assert_int_equal(buf_max(b), 16);
	assert_string_equal(buf_data(b), "");
	assert_int_equal(buf_append(b, "", 0, NULL), 0);
	assert_int_equal(buf_len(b), 0);
	s = buf_steal(b, &n);
	assert_non_null(s);
	assert_int_equal(n, 0);
	assert_string_equal(s, "");
	free(s);
	buf_free(b);
	buf_free(NULL);
}

/* For several maxima: exactly max bytes fit, one more byte fails with E2BIG
 * and leaves the content unchanged. */
static void test_max_and_max_plus_one(void **state)
{
	static const size_t maxima[] = {0, 1, 7, 63, 64, 65, 1000, 4096};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(maxima) / sizeof(maxima[0]); i++) {
		size_t max = maxima[i];
		struct buf *b = buf_new(max);
		struct errbuf e;

		assert_non_null(b);
		for (k = 0; k < max; k++)
			assert_int_equal(buf_append_byte(b, (unsigned char)('a' + k % 26), &e), 0);
		assert_int_equal(buf_len(b), max);
		errno = 0;
		assert_int_equal(buf_append_byte(b, 'z', &e), -1);
		assert_int_equal(errno, E2BIG);
		assert_non_null(strstr(e.msg, "exceeds the limit"));
		assert_int_equal(buf_len(b), max);
		assert_int_equal(buf_data(b)[max], '\0');
		if (max > 0)
			assert_int_equal(buf_data(b)[max - 1], 'a' + (max - 1) % 26);
		buf_free(b);
	}
}

static void test_append_whole_chunk_over_max(void **state)
{
	struct buf *b = buf_new(10);
	struct errbuf e;

	(void)state;
	assert_int_equal(buf_append_str(b, "hello", &e), 0);
	assert_int_equal(buf_append_str(b, "world!", &e), -1); /* 11 > 10 */
	assert_int_equal(errno, E2BIG);
	assert_string_equal(buf_data(b), "hello"); /* all or nothing */
	assert_int_equal(buf_append_str(b, "world", &e), 0);
	assert_string_equal(buf_data(b), "helloworld");
	buf_free(b);
}

static void test_embedded_nul(void **state)
{
	struct buf *b = buf_new(32);

	(void)state;
	assert_int_equal(buf_append(b, "a\0b", 3, NULL), 0);
	assert_int_equal(buf_len(b), 3);
	assert_memory_equal(buf_data(b), "a\0b\0", 4);
	buf_free(b);
}

static void test_printf(void **state)
{
	struct buf *b = buf_new(12);
	struct errbuf e;

	(void)state;
	assert_int_equal(buf_printf(b, &e, "%s=%d", "key", 42), 0);
	assert_string_equal(buf_data(b), "key=42");
	assert_int_equal(buf_printf(b, &e, "%07d", 1), -1); /* 6 + 7 > 12 */
	assert_int_equal(errno, E2BIG);
	assert_string_equal(buf_data(b), "key=42");
	assert_int_equal(buf_printf(b, &e, "%06d", 1), 0); /* exactly 12 */
	assert_string_equal(buf_data(b), "key=42000001");
	buf_free(b);
}

static void test_growth_large(void **state)
{
	struct buf *b = buf_new(1 << 20);
	char chunk[1000];
	size_t i;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	for (i = 0; i < 1048; i++)
		assert_int_equal(buf_append(b, chunk, sizeof(chunk), NULL), 0);
	assert_int_equal(buf_len(b), 1048000);
	assert_int_equal(buf_append(b, chunk, 576, NULL), 0); /* 1048576 exactly */
	assert_int_equal(buf_append(b, chunk, 1, NULL), -1);
	buf_free(b);
}

static void test_truncate_reset_steal(void **state)
{
	struct buf *b = buf_new(64);
	size_t n;
	char *s;

	(void)state;
	assert_int_equal(buf_append_str(b, "abcdef", NULL), 0);
	buf_truncate(b, 10); /* longer: no-op */
	assert_string_equal(buf_data(b), "abcdef");
	buf_truncate(b, 3);
	assert_string_equal(buf_data(b), "abc");
	s = buf_steal(b, &n);
	assert_string_equal(s, "abc");
	assert_int_equal(n, 3);
	free(s);
	assert_int_equal(buf_len(b), 0);
	assert_string_equal(buf_data(b), "");
	assert_int_equal(buf_append_str(b, "again", NULL), 0);
	buf_reset(b);
	assert_int_equal(buf_len(b), 0);
	assert_string_equal(buf_data(b), "");
	buf_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_max_and_max_plus_one),
		cmocka_unit_test(test_append_whole_chunk_over_max),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_growth_large),
		cmocka_unit_test(test_truncate_reset_steal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
