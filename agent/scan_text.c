#include "scan_text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int scan_text_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

void scan_text_trim(const char **s, size_t *len)
{
	const char *p = *s;
	size_t n = *len;

	while (n > 0 && scan_text_isspace((unsigned char)p[0])) {
		p++;
		n--;
	}
	while (n > 0 && scan_text_isspace((unsigned char)p[n - 1]))
		n--;
	*s = p;
	*len = n;
}

int scan_text_blank(const char *s, size_t len)
{
	scan_text_trim(&s, &len);
	return len == 0;
}

char *scan_text_trimdup(const char *s, size_t len)
{
	char *r;

	scan_text_trim(&s, &len);
	r = malloc(len + 1);
	if (r == NULL)
		return NULL;
	memcpy(r, s, len);
	r[len] = '\0';
	return r;
}

int scan_text_eq_nocase(const char *s, size_t len, const char *word)
{
	size_t i;

	if (strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++) {
		int a = (unsigned char)s[i], b = (unsigned char)word[i];
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return 0;
	}
	return 1;
}

int scan_text_flag(const char *value, int def)
{
	size_t len;

	if (value == NULL)
		return def;
	len = strlen(value);
	scan_text_trim(&value, &len);
	if (len == 0)
		return def;
	return scan_text_eq_nocase(value, len, "1") || scan_text_eq_nocase(value, len, "true") ||
	       scan_text_eq_nocase(value, len, "yes") || scan_text_eq_nocase(value, len, "on");
}

static int buf_reserve(struct scan_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1) {
		errno = ENOMEM;
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int scan_buf_append(struct scan_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int scan_buf_appends(struct scan_buf *b, const char *s)
{
	return scan_buf_append(b, s, strlen(s));
}

int scan_buf_appendf(struct scan_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) != 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		return -1;
	b->len += (size_t)n;
	return 0;
}

void scan_buf_consume(struct scan_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

void scan_buf_free(struct scan_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int scan_argv_pushn(struct scan_argv *a, const char *s, size_t len)
{
	char *c;

	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	c = malloc(len + 1);
	if (c == NULL)
		return -1;
	memcpy(c, s, len);
	c[len] = '\0';
	a->v[a->n++] = c;
	a->v[a->n] = NULL;
	return 0;
}

int scan_argv_push(struct scan_argv *a, const char *s)
{
	return scan_argv_pushn(a, s, strlen(s));
}

void scan_argv_free(struct scan_argv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}
