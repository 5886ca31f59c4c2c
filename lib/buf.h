#ifndef BUF_H
#define BUF_H
/*
 * A growable byte buffer with a hard maximum fixed at creation (STYLE.md:
 * every buffer filled from outside has one).  Appending past the maximum
 * fails with errno E2BIG and "... exceeds the limit of N bytes"; the buffer
 * is then unchanged.  Memory grows geometrically up to the maximum, never
 * beyond it.
 *
 * The content is always followed by a NUL byte (not counted in buf_len and
 * not counted against the maximum), so buf_data() of text can be used as a
 * C string; the content may itself contain NUL bytes.
 */
#include "err.h"

#include <stdarg.h>
#include <stddef.h>

struct buf;

/* A new empty buffer that will never hold more than max bytes.  NULL with
 * errno ENOMEM when out of memory.  Caller frees with buf_free(). */
struct buf *buf_new(size_t max);
/* Free b and its content (NULL: no-op). */
void buf_free(struct buf *b);

/* Append data[0..len).  0, or -1 (errno E2BIG past the maximum, ENOMEM)
 * with the buffer unchanged. */
int buf_append(struct buf *b, const void *data, size_t len, struct errbuf *e);
/* Append a NUL-terminated string (without its NUL). */
int buf_append_str(struct buf *b, const char *s, struct errbuf *e);
/* Append one byte. */
int buf_append_byte(struct buf *b, unsigned char c, struct errbuf *e);
/* Append printf-formatted text (without a NUL); all or nothing. */
int buf_printf(struct buf *b, struct errbuf *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int buf_vprintf(struct buf *b, struct errbuf *e, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Content (NUL-terminated; never NULL, "" when empty).  Valid until the
 * next modifying call. */
const char *buf_data(const struct buf *b);
size_t buf_len(const struct buf *b);
size_t buf_max(const struct buf *b);
/* Drop the content (keeps memory and maximum). */
void buf_reset(struct buf *b);
/* Shorten to len bytes (len > buf_len: no-op). */
void buf_truncate(struct buf *b, size_t len);
/* Hand the content over to the caller (malloc'd, NUL-terminated, caller
 * frees; *len_out gets the length if not NULL) and leave b empty.  NULL with
 * errno ENOMEM only when b was empty and a 1-byte allocation failed. */
char *buf_steal(struct buf *b, size_t *len_out);

#endif
