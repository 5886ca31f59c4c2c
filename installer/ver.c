#include "ver.h"

#include <errno.h>
#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A decimal number without leading zeros (except "0"), below 2^31. */
static int number(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		if (v > (0x7fffffffu - (uint32_t)(s[i] - '0')) / 10)
			return -1; /* would reach 2^31 */
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int fail(struct errbuf *e, const char *s, size_t len, const char *why)
{
	int n = len > VER_MAX ? VER_MAX : (int)len;
	err_set(e, "invalid version '%.*s%s': %s", n, s, len > VER_MAX ? "..." : "", why);
	errno = EINVAL;
	return -1;
}

int ver_parse(const char *s, size_t len, struct ver *out, struct errbuf *e)
{
	uint32_t nums[3];
	size_t i = 0, part, start;

	if (len == 0)
		return fail(e, s, len, "empty");
	if (len > VER_MAX)
		return fail(e, s, len, "longer than 64 bytes");
	if (memchr(s, '\0', len) != NULL)
		return fail(e, s, strlen(s), "contains a NUL byte");
	for (part = 0; part < 3; part++) {
		start = i;
		while (i < len && is_digit(s[i]))
			i++;
		if (number(s + start, i - start, &nums[part]) != 0)
			return fail(e, s, len,
				    "MAJOR.MINOR.PATCH must be numbers without leading zeros, "
				    "below 2^31");
		if (part < 2) {
			if (i >= len || s[i] != '.')
				return fail(e, s, len, "expected MAJOR.MINOR.PATCH");
			i++;
		}
	}
	out->major = nums[0];
	out->minor = nums[1];
	out->patch = nums[2];
	out->pre[0] = '\0';
	if (i == len)
		return 0;
	if (s[i] != '-')
		return fail(e, s, len, "unexpected character after PATCH");
	i++;
	start = i;
	for (;;) {
		size_t id = i;
		bool numeric = true;
		while (i < len && is_alnum(s[i])) {
			if (!is_digit(s[i]))
				numeric = false;
			i++;
		}
		if (i == id)
			return fail(e, s, len, "empty pre-release identifier");
		if (numeric && i - id > 1 && s[id] == '0')
			return fail(e, s, len,
				    "numeric pre-release identifier with a leading zero");
		if (i == len)
			break;
		if (s[i] != '.')
			return fail(e, s, len,
				    "pre-release identifiers are [0-9A-Za-z]+ joined by '.'");
		i++;
	}
	memcpy(out->pre, s + start, len - start);
	out->pre[len - start] = '\0';
	return 0;
}

bool ver_valid(const char *s, size_t len)
{
	struct ver v;
	return ver_parse(s, len, &v, NULL) == 0;
}

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* One pre-release identifier against another (§13.3). */
static int cmp_ident(const char *a, size_t na, const char *b, size_t nb)
{
	bool da = all_digits(a, na), db = all_digits(b, nb);
	int c;

	if (da && db) {
		/* no leading zeros: the longer number is the larger */
		if (na != nb)
			return na < nb ? -1 : 1;
		c = memcmp(a, b, na);
		return c < 0 ? -1 : c > 0 ? 1 : 0;
	}
	if (da != db)
		return da ? -1 : 1;
	c = memcmp(a, b, na < nb ? na : nb);
	if (c != 0)
		return c < 0 ? -1 : 1;
	return na < nb ? -1 : na > nb ? 1 : 0;
}

int ver_cmp(const struct ver *a, const struct ver *b)
{
	const char *pa = a->pre, *pb = b->pre;
	int c;

	if ((c = cmp_u32(a->major, b->major)) != 0)
		return c;
	if ((c = cmp_u32(a->minor, b->minor)) != 0)
		return c;
	if ((c = cmp_u32(a->patch, b->patch)) != 0)
		return c;
	if (pa[0] == '\0' || pb[0] == '\0')
		return pa[0] == pb[0] ? 0 : pa[0] == '\0' ? 1 : -1;
	for (;;) {
		size_t na = strcspn(pa, "."), nb = strcspn(pb, ".");
		if ((c = cmp_ident(pa, na, pb, nb)) != 0)
			return c;
		pa += na;
		pb += nb;
		if (*pa == '\0' || *pb == '\0')
			return *pa == *pb ? 0 : *pa == '\0' ? -1 : 1;
		pa++;
		pb++;
	}
}

int ver_cmp_str(const char *a, const char *b, int *out, struct errbuf *e)
{
	struct ver va, vb;

	if (ver_parse(a, strlen(a), &va, e) != 0 || ver_parse(b, strlen(b), &vb, e) != 0)
		return -1;
	*out = ver_cmp(&va, &vb);
	return 0;
}
