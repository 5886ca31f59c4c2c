#include "hex.h"

#include <errno.h>

static const char digits[] = "0123456789abcdef";

int hex_encode(const void *in, size_t len, char *out, size_t out_size)
{
	const uint8_t *p = in;
	size_t i;

	if (len > (SIZE_MAX - 1) / 2 || out_size < 2 * len + 1) {
		errno = ENOSPC;
		return -1;
	}
	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return 0;
}

/* value of one hex digit, or -1 */
static int nibble(unsigned char c, unsigned flags)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if ((flags & HEX_ALLOW_UPPER) && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size, size_t *out_len,
	       unsigned flags)
{
	size_t i;

	if (in_len % 2 != 0) {
		errno = EINVAL;
		return -1;
	}
	if (out_size < in_len / 2) {
		errno = ENOSPC;
		return -1;
	}
	for (i = 0; i < in_len; i += 2) {
		int hi = nibble((unsigned char)in[i], flags);
		int lo = nibble((unsigned char)in[i + 1], flags);

		if (hi < 0 || lo < 0) {
			errno = EINVAL;
			return -1;
		}
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	if (out_len != NULL)
		*out_len = in_len / 2;
	return 0;
}

bool hex_valid(const char *s, size_t len, unsigned flags)
{
	size_t i;

	if (len == 0 || len % 2 != 0)
		return false;
	for (i = 0; i < len; i++)
		if (nibble((unsigned char)s[i], flags) < 0)
			return false;
	return true;
}
