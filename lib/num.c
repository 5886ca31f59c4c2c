#include "num.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* long enough for any number a JSON text may carry (a 100-digit integer is
 * read as a double, as the JSON reader requires) */
enum { NUM_MAX_TOKEN = 1024 };

static int copy_token(const char *s, size_t len, char *buf)
{
	if (len == 0 || len >= NUM_MAX_TOKEN || memchr(s, '\0', len) != NULL) {
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

static int all_digits_after_sign(const char *buf, int allow_sign)
{
	const char *p = buf;
	if (allow_sign && (*p == '-' || *p == '+'))
		p++;
	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

int num_parse_i64(const char *s, size_t len, int64_t *out)
{
	char buf[NUM_MAX_TOKEN];
	char *end = NULL;
	long long v;

	if (copy_token(s, len, buf) < 0)
		return -1;
	if (!all_digits_after_sign(buf, 1)) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno == ERANGE)
		return -1;
	if (end == NULL || *end != '\0') {
		errno = EINVAL;
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

int num_parse_u64(const char *s, size_t len, uint64_t *out)
{
	char buf[NUM_MAX_TOKEN];
	char *end = NULL;
	unsigned long long v;

	if (copy_token(s, len, buf) < 0)
		return -1;
	if (!all_digits_after_sign(buf, 0)) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno == ERANGE)
		return -1;
	if (end == NULL || *end != '\0') {
		errno = EINVAL;
		return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

int num_parse_double(const char *s, size_t len, double *out)
{
	char buf[NUM_MAX_TOKEN];
	char *end = NULL;
	const char *p;
	double v;
	int digits = 0;

	if (copy_token(s, len, buf) < 0)
		return -1;
	/* only [+-]digits[.digits][(e|E)[+-]digits]: no hex, nan, inf, spaces */
	p = buf;
	if (*p == '-' || *p == '+')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++)
			digits++;
	}
	if (digits == 0) {
		errno = EINVAL;
		return -1;
	}
	if (*p == 'e' || *p == 'E') {
		int exp_digits = 0;
		p++;
		if (*p == '-' || *p == '+')
			p++;
		for (; *p >= '0' && *p <= '9'; p++)
			exp_digits++;
		if (exp_digits == 0) {
			errno = EINVAL;
			return -1;
		}
	}
	if (*p != '\0') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtod(buf, &end);
	if (end == NULL || *end != '\0' || !isfinite(v)) {
		errno = isfinite(v) ? EINVAL : ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}
