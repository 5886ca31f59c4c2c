#include "target.h"

#include "scan_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int target_parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	uint32_t v = 0;
	size_t i = 0;
	int octet;

	for (octet = 0; octet < 4; octet++) {
		unsigned val = 0;
		size_t digits = 0, start = i;

		if (octet > 0) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
			start = i;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			val = val * 10 + (unsigned)(s[i] - '0');
			i++;
			digits++;
		}
		if (digits == 0 || digits > 3 || val > 255)
			return -1;
		if (digits > 1 && s[start] == '0')
			return -1;
		v = (v << 8) | val;
	}
	if (i != len)
		return -1;
	*out = v;
	return 0;
}

void target_format_ipv4(uint32_t v, char *out)
{
	/* at most 15 characters: cannot truncate in 16 bytes */
	(void)snprintf(out, 16, "%u.%u.%u.%u", (unsigned)(v >> 24), (unsigned)((v >> 16) & 255),
		       (unsigned)((v >> 8) & 255), (unsigned)(v & 255));
}

/* Prefix length of [s, e] if it is exactly one aligned block, else -1. */
static int single_block(uint32_t s, uint32_t e)
{
	uint64_t size = (uint64_t)e - s + 1;
	int bits = 0;

	if ((size & (size - 1)) != 0)
		return -1;
	while (((uint64_t)1 << bits) < size)
		bits++;
	if (bits < 32 && (s & (((uint32_t)1 << bits) - 1)) != 0)
		return -1;
	return 32 - bits;
}

static char *dupn(const char *s, size_t len)
{
	char *r = malloc(len + 1);

	if (r == NULL)
		return NULL;
	memcpy(r, s, len);
	r[len] = '\0';
	return r;
}

static int parse_dash(const char *s, size_t len, uint32_t *a, uint32_t *b)
{
	const char *dash = memchr(s, '-', len);
	const char *l = s, *r;
	size_t ll, rl;

	if (dash == NULL)
		return -1;
	ll = (size_t)(dash - s);
	r = dash + 1;
	rl = len - ll - 1;
	scan_text_trim(&l, &ll);
	scan_text_trim(&r, &rl);
	if (target_parse_ipv4(l, ll, a) != 0 || target_parse_ipv4(r, rl, b) != 0)
		return -1;
	return 0;
}

char *target_normalize(const char *in)
{
	const char *s = in;
	size_t len = strlen(in);
	uint32_t a, b;
	char buf[TARGET_TEXT_MAX + 8];
	int prefix;

	scan_text_trim(&s, &len);
	if (len == 0 || memchr(s, '/', len) != NULL)
		return dupn(s, len);
	if (memchr(s, '-', len) != NULL) {
		if (parse_dash(s, len, &a, &b) != 0 || a > b)
			return dupn(s, len);
		prefix = single_block(a, b);
		if (prefix < 0)
			return dupn(s, len);
		target_format_ipv4(a, buf);
		/* at most 18 characters in 40 bytes: cannot truncate */
		(void)snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%d", prefix);
		return dupn(buf, strlen(buf));
	}
	if (target_parse_ipv4(s, len, &a) == 0) {
		char *r = malloc(len + 4);
		if (r == NULL)
			return NULL;
		memcpy(r, s, len);
		memcpy(r + len, "/32", 4);
		return r;
	}
	return dupn(s, len);
}

int target_parse_range(const char *in, uint32_t *start, uint32_t *end)
{
	const char *s = in, *slash;
	size_t len = strlen(in);
	uint32_t a, b;

	scan_text_trim(&s, &len);
	if (len == 0)
		return -1;
	slash = memchr(s, '/', len);
	if (slash != NULL) {
		size_t al = (size_t)(slash - s), pl = len - al - 1;
		const char *p = slash + 1;
		unsigned prefix = 0;
		size_t i;
		uint32_t mask;

		if (pl < 1 || pl > 2)
			return -1;
		for (i = 0; i < pl; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			prefix = prefix * 10 + (unsigned)(p[i] - '0');
		}
		if (prefix > 32 || target_parse_ipv4(s, al, &a) != 0)
			return -1;
		mask = prefix == 0 ? 0 : (uint32_t)(0xffffffffu << (32 - prefix));
		*start = a & mask;
		*end = (a & mask) | ~mask;
		return 0;
	}
	if (memchr(s, '-', len) != NULL) {
		if (parse_dash(s, len, &a, &b) != 0 || a > b)
			return -1;
		*start = a;
		*end = b;
		return 0;
	}
	if (target_parse_ipv4(s, len, &a) != 0)
		return -1;
	*start = *end = a;
	return 0;
}

void target_format_range(uint32_t s, uint32_t e, char *out)
{
	target_format_ipv4(s, out);
	if (s != e) {
		size_t n = strlen(out);
		out[n] = '-';
		target_format_ipv4(e, out + n + 1);
	}
}

void target_list_free(char **list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

int target_split(const char *in, int64_t n, char ***out, size_t *count)
{
	uint32_t s, e;
	uint64_t total, shards, base, rem, cursor, i;
	char **list;
	char buf[TARGET_TEXT_MAX];

	if (target_parse_range(in, &s, &e) != 0) {
		const char *t = in;
		size_t len = strlen(in);

		scan_text_trim(&t, &len);
		list = calloc(2, sizeof(*list));
		if (list == NULL || (list[0] = dupn(t, len)) == NULL) {
			free(list);
			return -1;
		}
		*out = list;
		*count = 1;
		return 0;
	}
	total = (uint64_t)e - s + 1;
	if (n <= 1 || s >= e)
		shards = 1;
	else
		shards = (uint64_t)n < total ? (uint64_t)n : total;
	list = calloc((size_t)shards + 1, sizeof(*list));
	if (list == NULL)
		return -1;
	base = total / shards;
	rem = total % shards;
	cursor = s;
	for (i = 0; i < shards; i++) {
		uint64_t size = base + (i < rem ? 1 : 0);
		target_format_range((uint32_t)cursor, (uint32_t)(cursor + size - 1), buf);
		list[i] = dupn(buf, strlen(buf));
		if (list[i] == NULL) {
			target_list_free(list);
			return -1;
		}
		cursor += size;
	}
	*out = list;
	*count = (size_t)shards;
	return 0;
}

size_t target_cidr_list(uint32_t s, uint32_t e, struct target_cidr *out)
{
	uint64_t cur = s, end = e;
	size_t n = 0;

	while (cur <= end && n < TARGET_CIDR_MAX) {
		unsigned bits = 32;
		/* largest aligned block at cur that stays within end */
		while (bits > 0 && ((cur & (((uint64_t)1 << bits) - 1)) != 0 ||
				    cur + ((uint64_t)1 << bits) - 1 > end))
			bits--;
		out[n].addr = (uint32_t)cur;
		out[n].prefix = 32 - bits;
		n++;
		cur += (uint64_t)1 << bits;
	}
	return n;
}

void target_format_cidr(const struct target_cidr *c, char *out)
{
	size_t n;

	target_format_ipv4(c->addr, out);
	n = strlen(out);
	/* "a.b.c.d/pp" is at most 18 characters: cannot truncate */
	(void)snprintf(out + n, 19 - n, "/%u", c->prefix);
}
