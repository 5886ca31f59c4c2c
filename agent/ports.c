#include "ports.h"

#include "scan_text.h"

#include <string.h>

static void set_add_range(struct ports *set, unsigned lo, unsigned hi)
{
	unsigned p;

	for (p = lo; p <= hi; p++) {
		if (!(set->bits[p >> 3] & (1u << (p & 7)))) {
			set->bits[p >> 3] |= (uint8_t)(1u << (p & 7));
			set->count++;
		}
	}
}

/* 1-5 decimal digits with value 1-65535. */
static int parse_port(const char *s, size_t len, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	scan_text_trim(&s, &len);
	if (len < 1 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = v;
	return 0;
}

/* A trimmed, non-empty chunk: P or P-Q. */
static int parse_chunk(const char *s, size_t len, unsigned *lo, unsigned *hi)
{
	const char *dash = memchr(s, '-', len);
	unsigned a, b;

	if (dash == NULL) {
		if (parse_port(s, len, &a) != 0)
			return -1;
		*lo = *hi = a;
		return 0;
	}
	if (parse_port(s, (size_t)(dash - s), &a) != 0 ||
	    parse_port(dash + 1, len - (size_t)(dash - s) - 1, &b) != 0)
		return -1;
	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
	return 0;
}

static int walk(const char *s, size_t len, struct ports *set, int strict, struct errbuf *e)
{
	size_t i = 0;
	int chunks = 0;

	memset(set, 0, sizeof(*set));
	scan_text_trim(&s, &len);
	while (i <= len) {
		const char *c = s + i;
		const char *comma = memchr(c, ',', len - i);
		size_t cl = comma ? (size_t)(comma - c) : len - i;
		unsigned lo, hi;

		i += cl + 1;
		scan_text_trim(&c, &cl);
		if (cl == 0)
			continue;
		if (parse_chunk(c, cl, &lo, &hi) != 0) {
			if (strict) {
				err_set(e, "'%.*s' (expected a port 1-65535 or a range lo-hi)",
					(int)(cl > 200 ? 200 : cl), c);
				return -1;
			}
			continue;
		}
		chunks++;
		set_add_range(set, lo, hi);
	}
	if (strict && chunks == 0) {
		err_set(e, "no port given");
		return -1;
	}
	return 0;
}

int ports_validate(const char *s, size_t len, struct ports *set, struct errbuf *e)
{
	return walk(s, len, set, 1, e);
}

void ports_parse_lenient(const char *s, size_t len, struct ports *set)
{
	(void)walk(s, len, set, 0, NULL);
}

int ports_has(const struct ports *set, unsigned port)
{
	return port < 65536 && (set->bits[port >> 3] & (1u << (port & 7))) != 0;
}

size_t ports_list(const struct ports *set, uint16_t *out, size_t max)
{
	size_t n = 0;
	unsigned p;

	for (p = 1; p < 65536 && n < max; p++)
		if (ports_has(set, p))
			out[n++] = (uint16_t)p;
	return n;
}
