/*
 * lib/json: parse arbitrary bytes; whatever parses must write canonically,
 * re-parse, and re-write to the same bytes (rate-controller.md §16.1).  The
 * pretty and insertion-order layouts must read back to the same document,
 * and any byte string must survive the string writer and the reader.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

enum { FUZZ_JSON_MAX = 1 << 16, FUZZ_OUT_MAX = 1 << 24 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *canonical(const struct json_value *v, size_t *len)
{
	char *s = json_write_alloc(v, JSON_WRITE_CANONICAL, FUZZ_OUT_MAX, len, NULL);

	if (s == NULL)
		abort();
	return s;
}

static void check_document(const char *text, size_t size, unsigned flags)
{
	struct json_value *v, *w, *p;
	char *one, *two, *pretty, *three;
	size_t n1, n2, np, n3;

	v = json_parse(text, size, FUZZ_JSON_MAX, flags, NULL);
	if (v == NULL)
		return;
	one = canonical(v, &n1);
	w = json_parse(one, n1, JSON_NO_LIMIT, JSON_PARSE_NO_DUPLICATES, NULL);
	if (w == NULL)
		abort();
	two = canonical(w, &n2);
	if (n1 != n2 || memcmp(one, two, n1) != 0)
		abort();
	/* pretty, insertion order: same document */
	pretty = json_write_alloc(
		v, JSON_WRITE_PRETTY | JSON_WRITE_INSERTION_ORDER | JSON_WRITE_NEWLINE,
		FUZZ_OUT_MAX, &np, NULL);
	if (pretty == NULL)
		abort();
	p = json_parse(pretty, np, JSON_NO_LIMIT, JSON_PARSE_NO_DUPLICATES, NULL);
	if (p == NULL)
		abort();
	three = canonical(p, &n3);
	if (n1 != n3 || memcmp(one, three, n1) != 0)
		abort();
	free(one);
	free(two);
	free(pretty);
	free(three);
	json_free(v);
	json_free(w);
	json_free(p);
}

/* Any bytes as a string: written as printable ASCII, read back as valid
 * UTF-8 that writes the same text again; without a U+FFFD in the output
 * (no invalid input) the bytes read back are exactly the input. */
static void check_string(const char *bytes, size_t size)
{
	struct json_value *s = json_new_stringn(bytes, size), *back;
	char *text, *again;
	const char *got;
	size_t len, glen, alen, i;

	if (s == NULL)
		abort();
	text = canonical(s, &len);
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
			abort();
	back = json_parse(text, len, JSON_NO_LIMIT, 0, NULL);
	if (back == NULL)
		abort();
	got = json_get_string(back, &glen);
	if (got == NULL)
		abort();
	if (strstr(text, "\\ufffd") == NULL && (glen != size || memcmp(got, bytes, size) != 0))
		abort();
	again = canonical(back, &alen);
	if (alen != len || memcmp(again, text, len) != 0)
		abort();
	free(again);
	free(text);
	json_free(s);
	json_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	if (size > FUZZ_JSON_MAX + 1)
		return 0;
	check_document(text, size, 0);
	check_document(text, size, JSON_PARSE_NO_DUPLICATES);
	if (size <= 4096)
		check_string(text, size);
	return 0;
}
