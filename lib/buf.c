#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *data; /* cap + 1 bytes (room for the NUL), or NULL while empty */
	size_t len;
	size_t cap;
	size_t max;
};

static char empty_string[1];

struct buf *buf_new(size_t max)
{
	struct buf *b = calloc(1, sizeof(*b));

	if (b == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	b->max = max;
	return b;
}

void buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	free(b);
}

/* Make room for need more bytes; the buffer is unchanged on failure. */
static int reserve(struct buf *b, size_t need, struct errbuf *e)
{
	size_t want, ncap;
	char *p;

	if (need > b->max - b->len) {
		errno = E2BIG;
		err_set(e, "data exceeds the limit of %zu bytes", b->max);
		return -1;
	}
	want = b->len + need;
	if (b->data != NULL && want <= b->cap)
		return 0;
	ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < want)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if (ncap > b->max)
		ncap = b->max;
	if (ncap < want)
		ncap = want;
	p = realloc(b->data, ncap + 1);
	if (p == NULL) {
		errno = ENOMEM;
		err_set(e, "out of memory (%zu bytes)", ncap + 1);
		return -1;
	}
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = ncap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t len, struct errbuf *e)
{
	if (reserve(b, len, e) < 0)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_append_str(struct buf *b, const char *s, struct errbuf *e)
{
	return buf_append(b, s, strlen(s), e);
}

int buf_append_byte(struct buf *b, unsigned char c, struct errbuf *e)
{
	return buf_append(b, &c, 1, e);
}

int buf_vprintf(struct buf *b, struct errbuf *e, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		err_set(e, "formatting failed");
		return -1;
	}
	if (reserve(b, (size_t)n, e) < 0)
		return -1;
	/* reserve() guaranteed cap - len >= n, plus the byte for the NUL */
	if (vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap) != n) {
		b->data[b->len] = '\0';
		err_set(e, "formatting failed");
		return -1;
	}
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, struct errbuf *e, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, e, fmt, ap);
	va_end(ap);
	return r;
}

const char *buf_data(const struct buf *b)
{
	return b->data != NULL ? b->data : empty_string;
}

size_t buf_len(const struct buf *b)
{
	return b->len;
}

size_t buf_max(const struct buf *b)
{
	return b->max;
}

void buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

char *buf_steal(struct buf *b, size_t *len_out)
{
	char *p = b->data;

	if (p == NULL) {
		p = malloc(1);
		if (p == NULL) {
			errno = ENOMEM;
			return NULL;
		}
		p[0] = '\0';
	}
	if (len_out != NULL)
		*len_out = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
