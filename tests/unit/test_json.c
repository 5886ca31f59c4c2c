/* lib/json: the canonical writer and the strict reader (rate-controller.md §16.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "json.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Write v canonically (or with flags) and compare with want. */
static void check_write(const struct json_value *v, unsigned flags, const char *want)
{
	struct errbuf e;
	size_t len = 0;
	char *got = json_write_alloc(v, flags, 1 << 20, &len, &e);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		print_error("want %s\n got %s\n", want, got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
}

/* ------------------------------------------------------------ strings */

struct str_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *want;
};

static void test_write_strings(void **state)
{
	static const struct str_case cases[] = {
		/* the §16.1 example: é, DEL, U+0001, /, 😀 */
		{"\xc3\xa9\x7f\x01/\xf0\x9f\x98\x80", 0,
		 "\"\\u00e9\\u007f\\u0001/\\ud83d\\ude00\""},
		{"", 0, "\"\""},
		{"plain ascii ~", 0, "\"plain ascii ~\""},
		{"\"\\", 0, "\"\\\"\\\\\""},
		{"\n\r\t\b\f", 0, "\"\\n\\r\\t\\b\\f\""},
		{"\x1f\x0b\x1b", 0, "\"\\u001f\\u000b\\u001b\""},
		{"a\0b", 3, "\"a\\u0000b\""}, /* embedded NUL */
		{"/", 0, "\"/\""},
		{"\xef\xbf\xbf", 0, "\"\\uffff\""},            /* U+FFFF */
		{"\xf4\x8f\xbf\xbf", 0, "\"\\udbff\\udfff\""}, /* U+10FFFF */
		{"\xf0\x90\x80\x80", 0, "\"\\ud800\\udc00\""}, /* U+10000 */
		{"\xe2\x82\xac", 0, "\"\\u20ac\""},            /* € */
		{"\xc2\x80", 0, "\"\\u0080\""},                /* U+0080 */
		{"\xdf\xbf", 0, "\"\\u07ff\""},                /* U+07FF */
		{"\xe0\xa0\x80", 0, "\"\\u0800\""},            /* U+0800 */
		/* invalid UTF-8: one U+FFFD per maximal subpart */
		{"\x80", 0, "\"\\ufffd\""},
		{"\xff", 0, "\"\\ufffd\""},
		{"\xc0\xaf", 0, "\"\\ufffd\\ufffd\""},                       /* overlong '/' */
		{"\xe0\x80\x80", 0, "\"\\ufffd\\ufffd\\ufffd\""},            /* overlong */
		{"\xed\xa0\x80", 0, "\"\\ufffd\\ufffd\\ufffd\""},            /* raw surrogate */
		{"\xf4\x90\x80\x80", 0, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* > U+10FFFF */
		{"\xe2\x82", 0, "\"\\ufffd\""}, /* truncated at the end */
		{"\xe2\x82"
		 "A",
		 0, "\"\\ufffdA\""}, /* truncated in the middle */
		{"\xf0\x9f\x98", 0, "\"\\ufffd\""},
		{"a\xc3", 0, "\"a\\ufffd\""},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		const struct str_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		struct json_value *v = json_new_stringn(c->in, len);
		char buf[128];
		size_t n;

		assert_non_null(v);
		check_write(v, JSON_WRITE_CANONICAL, c->want);
		json_free(v);
		assert_int_equal(json_write_string(c->in, len, buf, sizeof(buf), &n, NULL), 0);
		assert_string_equal(buf, c->want);
		assert_int_equal(n, strlen(c->want));
	}
}

/* ------------------------------------------------------------ floats */

struct dbl_case {
	double d;
	const char *want;
};

static void test_write_doubles(void **state)
{
	static const struct dbl_case cases[] = {
		/* every example of §16.1 */
		{0.5, "0.5"},
		{1.062, "1.062"},
		{0.0, "0.0"},
		{25.0, "25.0"},
		{0.001, "0.001"},
		{0.0001, "0.0001"},
		{1e-05, "1e-05"},
		{1.5e-07, "1.5e-07"},
		{1000000000000000.0, "1000000000000000.0"},
		{1e+16, "1e+16"},
		{12345678901234567.0, "1.2345678901234568e+16"},
		{-0.0, "-0.0"},
		/* more of Python's repr */
		{-1.5, "-1.5"},
		{0.1 + 0.2, "0.30000000000000004"},
		{1.0 / 3.0, "0.3333333333333333"},
		{123.456, "123.456"},
		{0.8, "0.8"},
		{0.001, "0.001"},
		{3.5, "3.5"},
		{0.9, "0.9"},
		{1e22, "1e+22"},
		{1e100, "1e+100"},
		{1.5e300, "1.5e+300"},
		{-2.5e-10, "-2.5e-10"},
		{9999999999999998.0, "9999999999999998.0"},
		{1234567890123456.8, "1234567890123456.8"},
		{5e-324, "5e-324"},
		{DBL_MAX, "1.7976931348623157e+308"},
		{DBL_MIN, "2.2250738585072014e-308"},
		{9007199254740993.0, "9007199254740992.0"},
		{0.00012345, "0.00012345"},
		{2.0e-5, "2e-05"},
		{1e-4, "0.0001"},
		/* §16.1 guard: non-finite is never produced, null if asked */
		{NAN, "null"},
		{INFINITY, "null"},
		{-INFINITY, "null"},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		char buf[JSON_DOUBLE_MAX];
		size_t n = 0;
		struct json_value *v;

		assert_int_equal(json_format_double(cases[i].d, buf, sizeof(buf), &n), 0);
		if (strcmp(buf, cases[i].want) != 0)
			print_error("case %zu: want %s got %s\n", i, cases[i].want, buf);
		assert_string_equal(buf, cases[i].want);
		assert_int_equal(n, strlen(buf));
		v = json_new_double(cases[i].d);
		check_write(v, 0, cases[i].want);
		json_free(v);
	}
}

static void test_format_double_small_buffer(void **state)
{
	char buf[4];
	size_t n;
	(void)state;

	assert_int_equal(json_format_double(0.5, buf, sizeof(buf), &n), 0); /* "0.5" fits */
	assert_string_equal(buf, "0.5");
	assert_int_equal(json_format_double(1.25, buf, sizeof(buf), &n), -1); /* "1.25" does not */
}

/* json_new_number: the window_seconds rule (§16.3 item 4) */
static void test_number_integral(void **state)
{
	static const struct dbl_case cases[] = {
		{30.0, "30"},
		{1.0, "1"},
		{1.5, "1.5"},
		{0.25, "0.25"},
		{-0.0, "0"},
		{-7.0, "-7"},
		{9223372036854775807.0, "9.223372036854776e+18"}, /* 2^63: outside int64 */
		{-9223372036854775808.0, "-9223372036854775808"}, /* -2^63 fits */
		{1e20, "1e+20"},
		{NAN, "null"},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		struct json_value *v = json_new_number(cases[i].d);
		check_write(v, 0, cases[i].want);
		json_free(v);
	}
}

/* ------------------------------------------------------------ building */

static void test_build_sorted(void **state)
{
	struct json_value *o = json_new_object(), *inner = json_new_object();
	struct json_value *arr = json_new_array();
	int rc = 0;
	(void)state;

	rc |= json_object_set_int(inner, "z", 1);
	rc |= json_object_set_int(inner, "a", 2);
	rc |= json_array_append(arr, json_new_int(3));
	rc |= json_array_append(arr, json_new_string("b"));
	rc |= json_array_append(arr, json_new_object());
	rc |= json_array_append(arr, json_new_array());
	rc |= json_object_set(o, "zeta", inner);
	rc |= json_object_set(o, "arr", arr);
	rc |= json_object_set_bool(o, "t", 1);
	rc |= json_object_set_bool(o, "f", 0);
	rc |= json_object_set_null(o, "n");
	rc |= json_object_set_string(o, "absent", NULL);
	rc |= json_object_set_string(o, "\xc3\xa9", "e acute"); /* sorts after ASCII */
	rc |= json_object_set_string(o, "Z", "capital first");  /* 'Z' < 'a' */
	rc |= json_object_set_string(o, "", "empty key");
	rc |= json_object_set_int(o, "i", INT64_MIN);
	rc |= json_object_set_int(o, "j", INT64_MAX);
	rc |= json_object_set_double(o, "d", 2.0);
	assert_int_equal(rc, 0);
	check_write(o, JSON_WRITE_CANONICAL,
		    "{\"\": \"empty key\", \"Z\": \"capital first\", \"absent\": null, "
		    "\"arr\": [3, \"b\", {}, []], \"d\": 2.0, \"f\": false, "
		    "\"i\": -9223372036854775808, \"j\": 9223372036854775807, \"n\": null, "
		    "\"t\": true, \"zeta\": {\"a\": 2, \"z\": 1}, \"\\u00e9\": \"e acute\"}");
	check_write(o, JSON_WRITE_INSERTION_ORDER,
		    "{\"zeta\": {\"z\": 1, \"a\": 2}, \"arr\": [3, \"b\", {}, []], \"t\": true, "
		    "\"f\": false, \"n\": null, \"absent\": null, \"\\u00e9\": \"e acute\", "
		    "\"Z\": \"capital first\", \"\": \"empty key\", \"i\": -9223372036854775808, "
		    "\"j\": 9223372036854775807, \"d\": 2.0}");
	json_free(o);

	o = json_new_object();
	check_write(o, 0, "{}");
	check_write(o, JSON_WRITE_PRETTY | JSON_WRITE_NEWLINE, "{}\n");
	json_free(o);
	check_write(NULL, 0, "null");
}

/* keys that share a prefix, keys with NUL, byte order above 0x7f */
static void test_key_order(void **state)
{
	struct json_value *o = json_new_object();
	int rc = 0;
	(void)state;

	rc |= json_object_set_int(o, "ab", 1);
	rc |= json_object_set_int(o, "a", 2);
	rc |= json_object_setn(o, "a\0c", 3, json_new_int(3));
	rc |= json_object_set_int(o, "\xf0\x9f\x98\x80", 4); /* U+1F600 */
	rc |= json_object_set_int(o, "\xef\xbf\xbd", 5);     /* U+FFFD */
	rc |= json_object_set_int(o, "b", 6);
	assert_int_equal(rc, 0);
	check_write(o, 0,
		    "{\"a\": 2, \"a\\u0000c\": 3, \"ab\": 1, \"b\": 6, \"\\ufffd\": 5, "
		    "\"\\ud83d\\ude00\": 4}");
	json_free(o);
}

static void test_set_replaces_in_place(void **state)
{
	struct json_value *o = json_new_object();
	const struct json_value *v;
	int64_t i;
	(void)state;

	assert_int_equal(json_object_set_int(o, "b", 1), 0);
	assert_int_equal(json_object_set_int(o, "a", 2), 0);
	assert_int_equal(json_object_set_string(o, "b", "x"), 0);
	assert_int_equal(json_object_size(o), 2);
	check_write(o, JSON_WRITE_INSERTION_ORDER, "{\"b\": \"x\", \"a\": 2}");
	assert_int_equal(json_object_remove(o, "b"), 0);
	assert_int_equal(json_object_remove(o, "nope"), 0);
	check_write(o, 0, "{\"a\": 2}");
	v = json_object_get(o, "a");
	assert_int_equal(json_get_int64(v, &i), 0);
	assert_true(i == 2);
	assert_null(json_object_get(o, "b"));
	/* setters on non-objects fail and free the value */
	assert_int_equal(json_object_set(NULL, "k", json_new_string("leak?")), -1);
	assert_int_equal(json_array_append(o, json_new_int(1)), -1);
	assert_int_equal(json_object_set(o, "k", NULL), -1);
	json_free(o);
}

/* Many members: the hash index path, with replacement and removal. */
static void test_many_keys(void **state)
{
	struct json_value *o = json_new_object(), *c;
	char key[32];
	int i, k;
	int64_t got;
	(void)state;

	for (i = 0; i < 2000; i++) {
		k = snprintf(key, sizeof(key), "k%d", i);
		assert_true(k > 0 && (size_t)k < sizeof(key));
		assert_int_equal(json_object_set_int(o, key, i), 0);
	}
	for (i = 0; i < 2000; i += 2) {
		k = snprintf(key, sizeof(key), "k%d", i);
		assert_true(k > 0 && (size_t)k < sizeof(key));
		assert_int_equal(json_object_set_int(o, key, -i), 0);
	}
	assert_int_equal(json_object_size(o), 2000);
	assert_int_equal(json_object_remove(o, "k7"), 0);
	assert_int_equal(json_object_size(o), 1999);
	assert_null(json_object_get(o, "k7"));
	c = json_copy(o);
	assert_non_null(c);
	for (i = 0; i < 2000; i++) {
		k = snprintf(key, sizeof(key), "k%d", i);
		assert_true(k > 0 && (size_t)k < sizeof(key));
		if (i == 7)
			continue;
		assert_int_equal(json_get_int64(json_object_get(c, key), &got), 0);
		assert_true(got == (i % 2 == 0 ? -i : i));
	}
	assert_string_equal(json_object_key_at(o, 0, NULL), "k0");
	assert_string_equal(json_object_key_at(o, 7, NULL), "k8");
	json_free(o);
	json_free(c);
}

/* installed.json §7.4 layout: pretty, insertion order, LF-terminated */
static void test_pretty_installed(void **state)
{
	static const char want[] =
		"{\n"
		"  \"format\": 1,\n"
		"  \"version\": \"1.4.0\",\n"
		"  \"previous\": {\n"
		"    \"version\": \"1.3.2\",\n"
		"    \"fingerprint\": \"b4c8\"\n"
		"  },\n"
		"  \"history\": [\"3f9a1c07be52\", \"b4c8f66164a8\", \"1afdc5ce162c\"],\n"
		"  \"empty\": [],\n"
		"  \"none\": {},\n"
		"  \"failed\": [\n"
		"    {\"version\": \"1.4.1\", \"at\": \"2026-03-02T08:00:11Z\", \"nested\": "
		"{\"b\": 1, "
		"\"a\": [1, 2]}}\n"
		"  ]\n"
		"}\n";
	struct json_value *o = json_new_object(), *prev = json_new_object();
	struct json_value *hist = json_new_array(), *failed = json_new_array();
	struct json_value *f1 = json_new_object(), *nested = json_new_object();
	struct json_value *a = json_new_array(), *back;
	char *text;
	size_t len;
	int rc = 0;
	(void)state;

	rc |= json_object_set_int(o, "format", 1);
	rc |= json_object_set_string(o, "version", "1.4.0");
	rc |= json_object_set_string(prev, "version", "1.3.2");
	rc |= json_object_set_string(prev, "fingerprint", "b4c8");
	rc |= json_object_set(o, "previous", prev);
	rc |= json_array_append(hist, json_new_string("3f9a1c07be52"));
	rc |= json_array_append(hist, json_new_string("b4c8f66164a8"));
	rc |= json_array_append(hist, json_new_string("1afdc5ce162c"));
	rc |= json_object_set(o, "history", hist);
	rc |= json_object_set(o, "empty", json_new_array());
	rc |= json_object_set(o, "none", json_new_object());
	rc |= json_object_set_string(f1, "version", "1.4.1");
	rc |= json_object_set_string(f1, "at", "2026-03-02T08:00:11Z");
	rc |= json_object_set_int(nested, "b", 1);
	rc |= json_array_append(a, json_new_int(1));
	rc |= json_array_append(a, json_new_int(2));
	rc |= json_object_set(nested, "a", a);
	rc |= json_object_set(f1, "nested", nested);
	rc |= json_array_append(failed, f1);
	rc |= json_object_set(o, "failed", failed);
	assert_int_equal(rc, 0);
	check_write(o, JSON_WRITE_PRETTY | JSON_WRITE_INSERTION_ORDER | JSON_WRITE_NEWLINE, want);
	/* sorted pretty sorts every level, inline parts included */
	text = json_write_alloc(o, JSON_WRITE_PRETTY, 4096, &len, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text,
			       "{\"at\": \"2026-03-02T08:00:11Z\", \"nested\": {\"a\": [1, 2], "
			       "\"b\": 1}, \"version\": \"1.4.1\"}"));
	/* and the pretty text reads back to the same document */
	back = json_parse(text, len, len, 0, NULL);
	assert_non_null(back);
	free(text);
	text = json_write_alloc(back, 0, 4096, NULL, NULL);
	assert_non_null(text);
	check_write(o, 0, text);
	free(text);
	json_free(back);
	json_free(o);
}

/* the channel manifest §13.8: nested objects, no arrays */
static void test_pretty_manifest(void **state)
{
	static const char doc[] = "{\n"
				  "  \"format\": 1,\n"
				  "  \"channel\": \"stable\",\n"
				  "  \"rollout_percent\": 100,\n"
				  "  \"platforms\": {\n"
				  "    \"linux-x86_64\": {\n"
				  "      \"bundle\": \"b.tar.gz\",\n"
				  "      \"size\": 4193771\n"
				  "    }\n"
				  "  }\n"
				  "}\n";
	struct json_value *v = json_parse(doc, strlen(doc), 65536, JSON_PARSE_NO_DUPLICATES, NULL);
	(void)state;

	assert_non_null(v);
	check_write(v, JSON_WRITE_PRETTY | JSON_WRITE_INSERTION_ORDER | JSON_WRITE_NEWLINE, doc);
	json_free(v);
}

static void test_write_bounds(void **state)
{
	struct json_value *v = json_new_string("abc"); /* "\"abc\"": 5 bytes */
	struct errbuf e;
	char buf[8];
	size_t len = 99;
	char *p;
	struct buf *b;
	(void)state;

	assert_int_equal(json_write(v, 0, buf, 6, &len, &e), 0); /* exact fit with the NUL */
	assert_string_equal(buf, "\"abc\"");
	assert_int_equal(len, 5);
	assert_int_equal(json_write(v, 0, buf, 5, &len, &e), -1); /* max+1 */
	assert_string_equal(e.msg, "json: output larger than 4 bytes");
	assert_string_equal(buf, "");
	assert_int_equal(json_write(v, 0, buf, 0, &len, &e), -1);
	p = json_write_alloc(v, 0, 5, &len, &e);
	assert_non_null(p);
	assert_string_equal(p, "\"abc\"");
	free(p);
	assert_null(json_write_alloc(v, 0, 4, &len, &e));
	assert_int_equal(json_write_string("abc", 3, buf, 5, &len, &e), -1);

	/* lib/buf: appended, all or nothing */
	b = buf_new(8);
	assert_non_null(b);
	assert_int_equal(buf_append_str(b, "x=", NULL), 0);
	assert_int_equal(json_write_buf(v, 0, b, &e), 0);
	assert_string_equal(buf_data(b), "x=\"abc\"");
	assert_int_equal(json_write_buf(v, 0, b, &e), -1);
	assert_string_equal(buf_data(b), "x=\"abc\"");
	buf_free(b);
	json_free(v);
}

struct cb_state {
	char out[4096];
	size_t len;
	int calls;
	int fail_after;
};

static int cb_emit(void *ctx, const char *p, size_t n)
{
	struct cb_state *s = ctx;

	if (s->fail_after >= 0 && s->calls >= s->fail_after)
		return -1;
	s->calls++;
	assert_true(s->len + n < sizeof(s->out));
	memcpy(s->out + s->len, p, n);
	s->len += n;
	s->out[s->len] = '\0';
	return 0;
}

static void test_write_cb(void **state)
{
	struct json_value *arr = json_new_array();
	struct cb_state s;
	struct errbuf e;
	char *want;
	int i;
	(void)state;

	for (i = 0; i < 300; i++)
		assert_int_equal(json_array_append(arr, json_new_int(i)), 0);
	want = json_write_alloc(arr, 0, 1 << 16, NULL, NULL);
	assert_non_null(want);
	memset(&s, 0, sizeof(s));
	s.fail_after = -1;
	assert_int_equal(json_write_cb(arr, 0, cb_emit, &s, &e), 0);
	assert_string_equal(s.out, want);
	assert_true(s.calls > 1); /* more than one staging buffer */
	memset(&s, 0, sizeof(s));
	s.fail_after = 1;
	assert_int_equal(json_write_cb(arr, 0, cb_emit, &s, &e), -1);
	free(want);
	json_free(arr);
}

/* ------------------------------------------------------------ reader */

struct parse_case {
	const char *in;
	size_t len;       /* 0: strlen */
	const char *want; /* canonical re-write */
};

/* Documents that parse; want is their canonical form. */
static void test_parse_accept(void **state)
{
	static const struct parse_case cases[] = {
		{"0", 0, "0"},
		{"-0", 0, "0"},
		{"-0.0", 0, "-0.0"},
		{" \t\r\n1 \t\r\n", 0, "1"},
		{"true", 0, "true"},
		{"false", 0, "false"},
		{"null", 0, "null"},
		{"\"\"", 0, "\"\""},
		{"[]", 0, "[]"},
		{"{}", 0, "{}"},
		{"[ ]", 0, "[]"},
		{"{ }", 0, "{}"},
		{"1.0", 0, "1.0"},
		{"1e6", 0, "1000000.0"},
		{"1E+2", 0, "100.0"},
		{"2.5e-3", 0, "0.0025"},
		{"-12.5E-1", 0, "-1.25"},
		{"1e-400", 0, "0.0"}, /* underflow is accepted */
		{"9223372036854775807", 0, "9223372036854775807"},
		{"-9223372036854775808", 0, "-9223372036854775808"},
		{"9223372036854775808", 0, "9.223372036854776e+18"},
		{"-9223372036854775809", 0, "-9.223372036854776e+18"},
		{"123456789012345678901234567890", 0, "1.2345678901234568e+29"},
		{"{\"b\":1,\"a\":[1,2,{\"d\":null,\"c\":true}]}", 0,
		 "{\"a\": [1, 2, {\"c\": true, \"d\": null}], \"b\": 1}"},
		{"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 0, "\"\\\"\\\\/\\b\\f\\n\\r\\t\""},
		{"\"\\u00E9\\u00e9\"", 0, "\"\\u00e9\\u00e9\""},
		{"\"\\uD83D\\uDE00\"", 0, "\"\\ud83d\\ude00\""},
		{"\"\xf0\x9f\x98\x80\"", 0, "\"\\ud83d\\ude00\""},
		{"\"\xc3\xa9\x7f\"", 0, "\"\\u00e9\\u007f\""},
		{"\"\\u0000\"", 0, "\"\\u0000\""},
		{"\"\xef\xbb\xbf\"", 0, "\"\\ufeff\""}, /* a BOM inside a string is a character */
		{"{\"a\":1,\"a\":2}", 0, "{\"a\": 2}"}, /* duplicates: last wins */
		{"{\"\":0}", 0, "{\"\": 0}"},
		{"[1,[2,[3]]]", 0, "[1, [2, [3]]]"},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		const struct parse_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		struct errbuf e;
		struct json_value *v;

		e.msg[0] = '\0';
		v = json_parse(c->in, len, len, 0, &e);
		if (v == NULL)
			print_error("case %zu %s: %s\n", i, c->in, e.msg);
		assert_non_null(v);
		check_write(v, 0, c->want);
		json_free(v);
	}
}

struct reject_case {
	const char *in;
	size_t len; /* 0: strlen */
	unsigned flags;
	size_t offset;
	const char *what;
};

static void test_parse_reject(void **state)
{
	static const struct reject_case cases[] = {
		{"", 0, 0, 0, "expected value"},
		{" ", 0, 0, 1, "expected value"},
		{"\0", 1, 0, 0, "expected value"},
		{"1\0", 2, 0, 1, "trailing data"},
		{"{", 0, 0, 1, "expected string key"},
		{"[", 0, 0, 1, "expected value"},
		{"[1", 0, 0, 2, "expected ',' or ']'"},
		{"[1,]", 0, 0, 3, "expected value"},
		{"{\"a\":1,}", 0, 0, 7, "expected string key"},
		{"{\"a\" 1}", 0, 0, 5, "expected ':'"},
		{"{\"a\":1 \"b\":2}", 0, 0, 7, "expected ',' or '}'"},
		{"{1:2}", 0, 0, 1, "expected string key"},
		{"{'a':1}", 0, 0, 1, "expected string key"},
		{"1 2", 0, 0, 2, "trailing data"},
		{"[] []", 0, 0, 3, "trailing data"},
		{"01", 0, 0, 0, "leading zero in number"},
		{"-01", 0, 0, 0, "leading zero in number"},
		{"00", 0, 0, 0, "leading zero in number"},
		{"1.", 0, 0, 0, "invalid number"},
		{"1.e5", 0, 0, 0, "invalid number"},
		{".5", 0, 0, 0, "expected value"},
		{"+1", 0, 0, 0, "expected value"},
		{"-", 0, 0, 0, "invalid number"},
		{"-a", 0, 0, 0, "invalid number"},
		{"1e", 0, 0, 0, "invalid number"},
		{"1e+", 0, 0, 0, "invalid number"},
		{"0x10", 0, 0, 1, "trailing data"},
		{"1e400", 0, 0, 0, "number out of range"},
		{"-1e400", 0, 0, 0, "number out of range"},
		{"1234567890123456789012345678901234567890123456789012345678901234", 0, 0, 0,
		 "number too long"},
		{"NaN", 0, 0, 0, "expected value"},
		{"Infinity", 0, 0, 0, "expected value"},
		{"-Infinity", 0, 0, 0, "invalid number"},
		{"[1, NaN]", 0, 0, 4, "expected value"},
		{"tru", 0, 0, 0, "expected value"},
		{"nul", 0, 0, 0, "expected value"},
		{"True", 0, 0, 0, "expected value"},
		{"\xef\xbb\xbf"
		 "1",
		 0, 0, 0, "expected value"}, /* BOM */
		{"\"abc", 0, 0, 0, "unterminated string"},
		{"\"abc\\\"", 0, 0, 0, "unterminated string"},
		{"\"\\", 0, 0, 0, "unterminated string"},
		{"\"a\x01\"", 0, 0, 2, "control character in string"},
		{"\"a\nb\"", 0, 0, 2, "control character in string"},
		{"\"a\0b\"", 5, 0, 2, "control character in string"}, /* raw NUL */
		{"\"\\x\"", 0, 0, 1, "invalid escape"},
		{"\"\\U00e9\"", 0, 0, 1, "invalid escape"},
		{"\"\\u12\"", 0, 0, 1, "invalid \\u escape"},
		{"\"\\u12g4\"", 0, 0, 1, "invalid \\u escape"},
		{"\"\\ud800\"", 0, 0, 1, "lone surrogate in \\u escape"},
		{"\"\\udc00\"", 0, 0, 1, "lone surrogate in \\u escape"},
		{"\"\\ud800\\u0041\"", 0, 0, 1, "lone surrogate in \\u escape"},
		{"\"\\ud800\\ud800\"", 0, 0, 1, "lone surrogate in \\u escape"},
		{"\"\\ud800x\"", 0, 0, 1, "lone surrogate in \\u escape"},
		{"\"x\\udfff\\ud800\"", 0, 0, 2, "lone surrogate in \\u escape"},
		{"\"\xc0\xaf\"", 0, 0, 1, "invalid UTF-8"},         /* overlong */
		{"\"\xe0\x80\xaf\"", 0, 0, 1, "invalid UTF-8"},     /* overlong */
		{"\"\xf0\x80\x80\xaf\"", 0, 0, 1, "invalid UTF-8"}, /* overlong */
		{"\"\xed\xa0\x80\"", 0, 0, 1, "invalid UTF-8"},     /* raw surrogate */
		{"\"\xf4\x90\x80\x80\"", 0, 0, 1, "invalid UTF-8"}, /* > U+10FFFF */
		{"\"\xff\"", 0, 0, 1, "invalid UTF-8"},
		{"\"ab\x80\"", 0, 0, 3, "invalid UTF-8"},
		{"\"\xe2\x82\"", 0, 0, 1, "invalid UTF-8"}, /* truncated sequence */
		{"\xc3\xa9", 0, 0, 0, "expected value"},
		{"{\"a\":1,\"a\":2}", 0, JSON_PARSE_NO_DUPLICATES, 7, "duplicate key"},
		{"{\"a\":{\"x\":1,\"y\":2,\"x\":3}}", 0, JSON_PARSE_NO_DUPLICATES, 18,
		 "duplicate key"},
		{"[1,2", 0, 0, 4, "expected ',' or ']'"},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		const struct reject_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		struct json_error je;
		struct json_value *v = json_parse_detail(c->in, len, len, c->flags, &je);

		if (v != NULL)
			print_error("case %zu %s: accepted\n", i, c->in);
		assert_null(v);
		if (je.offset != c->offset || strcmp(je.what, c->what) != 0)
			print_error("case %zu %s: want %zu %s got %zu %s\n", i, c->in, c->offset,
				    c->what, je.offset, je.what);
		assert_string_equal(je.what, c->what);
		assert_int_equal(je.offset, c->offset);
	}
}

static void test_error_text(void **state)
{
	static const char doc[] = "{\"window\": 1, \"a\" 2}";
	static const char doc2[] = "{\n  \"\xc3\xa9\" 1}";
	struct errbuf e;
	struct json_error je;
	(void)state;

	assert_null(json_parse(doc, strlen(doc), 1024, 0, &e));
	assert_string_equal(e.msg, "json: offset 18: expected ':'");
	assert_null(json_parse_detail(doc2, strlen(doc2), 1024, 0, &je));
	assert_int_equal(je.offset, 9);
	assert_int_equal(je.line, 2);
	assert_int_equal(je.column, 7); /* code points, like Python's colno */
	assert_string_equal(je.what, "expected ':'");
	assert_null(json_parse_detail(doc, strlen(doc), 1024, 0, NULL)); /* je optional */
}

/* max size and max+1 */
static void test_parse_size_limit(void **state)
{
	static const char doc[] = "[1, 2, 3]";
	size_t len = strlen(doc);
	struct json_value *v;
	struct errbuf e;
	(void)state;

	v = json_parse(doc, len, len, 0, &e);
	assert_non_null(v);
	json_free(v);
	assert_null(json_parse(doc, len, len - 1, 0, &e));
	assert_string_equal(e.msg, "json: offset 8: input larger than 8 bytes");
	v = json_parse(doc, len, JSON_NO_LIMIT, 0, &e);
	assert_non_null(v);
	json_free(v);
}

/* nesting: 32 levels are fine, 33 are refused, for arrays and objects */
static void test_parse_depth(void **state)
{
	char doc[512];
	size_t n, i;
	int levels, obj;
	(void)state;

	for (obj = 0; obj <= 1; obj++) {
		for (levels = 31; levels <= 34; levels++) {
			struct json_error je;
			struct json_value *v;
			n = 0;
			for (i = 0; i < (size_t)levels; i++) {
				if (obj) {
					memcpy(doc + n, "{\"k\":", 5);
					n += 5;
				} else {
					doc[n++] = '[';
				}
			}
			doc[n++] = '0';
			for (i = 0; i < (size_t)levels; i++)
				doc[n++] = obj ? '}' : ']';
			v = json_parse_detail(doc, n, sizeof(doc), 0, &je);
			if (levels <= BOUNDS_JSON_DEPTH) {
				assert_non_null(v);
				json_free(v);
			} else {
				assert_null(v);
				assert_string_equal(je.what, "nesting deeper than 32");
				assert_int_equal(je.offset, (size_t)(obj ? 5 : 1) * 32);
			}
		}
	}
}

/* Every proper prefix of a valid document is refused. */
static void test_parse_truncated(void **state)
{
	static const char doc[] = "{\"a\": [1, -2.5e3, \"x\\u00e9\\ud83d\\ude00\xc3\xa9\", true, "
				  "false, null, {}], \"b\": {\"c\": -0}}";
	size_t len = strlen(doc), i;
	struct json_value *v;
	(void)state;

	for (i = 0; i < len; i++) {
		v = json_parse(doc, i, len, 0, NULL);
		if (v != NULL)
			print_error("prefix of %zu bytes accepted\n", i);
		assert_null(v);
	}
	v = json_parse(doc, len, len, 0, NULL);
	assert_non_null(v);
	json_free(v);
}

/* Integer-ness (§0.1): 1 is an integer; 1.0, 1e6, true and "1" are not. */
struct int_case {
	const char *in;
	enum json_type type;
	int is_int;
	int64_t i;
	double d;
};

static void test_integerness(void **state)
{
	static const struct int_case cases[] = {
		{"1", JSON_INT, 1, 1, 1.0},
		{"-1", JSON_INT, 1, -1, -1.0},
		{"0", JSON_INT, 1, 0, 0.0},
		{"-0", JSON_INT, 1, 0, 0.0},
		{"1.0", JSON_DOUBLE, 0, 0, 1.0},
		{"1e6", JSON_DOUBLE, 0, 0, 1e6},
		{"1E0", JSON_DOUBLE, 0, 0, 1.0},
		{"true", JSON_BOOL, 0, 0, 0},
		{"false", JSON_BOOL, 0, 0, 0},
		{"null", JSON_NULL, 0, 0, 0},
		{"\"1\"", JSON_STRING, 0, 0, 0},
		{"[1]", JSON_ARRAY, 0, 0, 0},
		{"{}", JSON_OBJECT, 0, 0, 0},
		{"9223372036854775807", JSON_INT, 1, INT64_MAX, 9223372036854775807.0},
		{"-9223372036854775808", JSON_INT, 1, INT64_MIN, -9223372036854775808.0},
		{"9223372036854775808", JSON_DOUBLE, 0, 0, 9223372036854775808.0},
		{"-9223372036854775809", JSON_DOUBLE, 0, 0, -9223372036854775808.0},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		const struct int_case *c = &cases[i];
		struct json_value *v = json_parse(c->in, strlen(c->in), 64, 0, NULL);
		int64_t got = 42;
		double d = 42;

		assert_non_null(v);
		assert_int_equal(json_type(v), c->type);
		assert_int_equal(json_is_integer(v), c->is_int);
		if (c->is_int) {
			assert_int_equal(json_get_int64(v, &got), 0);
			assert_true(got == c->i);
		} else {
			assert_int_equal(json_get_int64(v, &got), -1);
			assert_true(got == 42);
		}
		if (c->type == JSON_INT || c->type == JSON_DOUBLE) {
			assert_int_equal(json_is_number(v), 1);
			assert_int_equal(json_get_double(v, &d), 0);
			assert_true(d == c->d);
		} else {
			assert_int_equal(json_is_number(v), 0);
			assert_int_equal(json_get_double(v, &d), -1);
		}
		json_free(v);
	}
}

static void test_accessors(void **state)
{
	static const char doc[] = "{\"s\": \"a\\u0000b\", \"b\": true, \"n\": null, "
				  "\"arr\": [10, \"x\"], \"o\": {\"k\": false}}";
	struct json_value *v = json_parse(doc, strlen(doc), 1024, 0, NULL);
	const struct json_value *arr;
	const char *s;
	size_t len = 0;
	int b = -1;
	int64_t i;
	(void)state;

	assert_non_null(v);
	s = json_get_string(json_object_get(v, "s"), &len);
	assert_non_null(s);
	assert_int_equal(len, 3); /* embedded NUL kept, length explicit */
	assert_memory_equal(s, "a\0b", 4);
	assert_null(json_get_string(json_object_get(v, "b"), &len));
	assert_int_equal(json_get_bool(json_object_get(v, "b"), &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(json_get_bool(json_object_get(v, "n"), &b), -1);
	assert_int_equal(json_type(json_object_get(v, "n")), JSON_NULL);
	assert_null(json_object_get(v, "missing"));
	assert_int_equal(json_type(json_object_get(v, "missing")), JSON_NULL);
	arr = json_object_get(v, "arr");
	assert_int_equal(json_array_size(arr), 2);
	assert_int_equal(json_get_int64(json_array_get(arr, 0), &i), 0);
	assert_true(i == 10);
	assert_null(json_array_get(arr, 2));
	assert_int_equal(json_array_size(v), 0);
	assert_int_equal(json_object_size(arr), 0);
	assert_null(json_object_get(arr, "k"));
	assert_int_equal(json_object_size(v), 5);
	assert_string_equal(json_object_key_at(v, 3, &len), "arr");
	assert_int_equal(len, 3);
	assert_null(json_object_key_at(v, 5, &len));
	assert_null(json_object_value_at(v, 5));
	assert_int_equal(json_object_getn(v, "arrx", 3), arr);
	/* edit in place */
	assert_int_equal(json_object_set_int(json_object_get_mut(v, "o"), "k", 5), 0);
	assert_int_equal(json_array_append(json_object_get_mut(v, "arr"), json_new_null()), 0);
	check_write(v, 0,
		    "{\"arr\": [10, \"x\", null], \"b\": true, \"n\": null, \"o\": {\"k\": 5}, "
		    "\"s\": \"a\\u0000b\"}");
	json_free(v);
}

static void test_truthy(void **state)
{
	static const struct {
		const char *in;
		int truthy;
	} cases[] = {
		{"true", 1},  {"false", 0}, {"null", 0}, {"0", 0},   {"1", 1},
		{"-1", 1},    {"0.0", 0},   {"-0.0", 0}, {"0.5", 1}, {"\"\"", 0},
		{"\"0\"", 1}, {"[]", 0},    {"[0]", 1},  {"{}", 0},  {"{\"a\": 0}", 1},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		struct json_value *v = json_parse(cases[i].in, strlen(cases[i].in), 64, 0, NULL);
		assert_non_null(v);
		assert_int_equal(json_truthy(v), cases[i].truthy);
		json_free(v);
	}
	assert_int_equal(json_truthy(NULL), 0);
}

/* canonical documents survive parse -> write byte for byte */
static void test_round_trip(void **state)
{
	static const char *const docs[] = {
		"{\"achieved_pps\": 485000, \"classification\": \"clean\", \"event\": "
		"\"rate_adjustment\", \"heartbeat_max_latency_ms\": 100, \"interface\": \"eth0\", "
		"\"next_rate\": 700000, \"scanner_finished_naturally\": false, \"set_rate\": "
		"500000, "
		"\"tx_dropped_delta\": 0, \"window\": 1}",
		"{\"eth0\": {\"learned_rate\": 1500000, \"updated_at\": \"2026-03-01T12:00:00Z\"}}",
		"[0.5, 1.062, 0.0, 25.0, 0.001, 0.0001, 1e-05, 1.5e-07, 1000000000000000.0, 1e+16, "
		"1.2345678901234568e+16, -0.0]",
		"\"\\u00e9\\u007f\\u0001/\\ud83d\\ude00\"",
		"{\"\": [], \"a\": {}, \"b\": [[], [{}]], \"c\": null, \"d\": true, \"e\": false}",
		"-9223372036854775808",
		"\"\\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\"",
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(docs); i++) {
		size_t len = strlen(docs[i]);
		struct json_value *v =
			json_parse(docs[i], len, len, JSON_PARSE_NO_DUPLICATES, NULL);
		assert_non_null(v);
		check_write(v, 0, docs[i]);
		json_free(v);
	}
}

static void test_constructors(void **state)
{
	struct json_value *v;
	size_t len;
	(void)state;

	v = json_new_string(NULL);
	assert_int_equal(json_type(v), JSON_NULL);
	json_free(v);
	v = json_new_stringn(NULL, 0);
	assert_non_null(json_get_string(v, &len));
	assert_int_equal(len, 0);
	json_free(v);
	v = json_new_double(NAN);
	assert_int_equal(json_type(v), JSON_NULL);
	json_free(v);
	v = json_new_bool(7);
	check_write(v, 0, "true");
	json_free(v);
	json_free(NULL);
	assert_null(json_copy(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_strings),
		cmocka_unit_test(test_write_doubles),
		cmocka_unit_test(test_format_double_small_buffer),
		cmocka_unit_test(test_number_integral),
		cmocka_unit_test(test_build_sorted),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_set_replaces_in_place),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_pretty_installed),
		cmocka_unit_test(test_pretty_manifest),
		cmocka_unit_test(test_write_bounds),
		cmocka_unit_test(test_write_cb),
		cmocka_unit_test(test_parse_accept),
		cmocka_unit_test(test_parse_reject),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_parse_size_limit),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_integerness),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_truthy),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_constructors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
