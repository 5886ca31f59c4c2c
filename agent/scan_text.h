#ifndef SCAN_TEXT_H
#define SCAN_TEXT_H
/*
 * Small text helpers shared by the scan modules (scan.md §0): ASCII
 * whitespace, trimming, the env "flag" rule, and a growable byte buffer used
 * for argv building and endpoint output.  No I/O.
 */
#include <stddef.h>
#include <stdint.h>

/* space, \t, \n, \v, \f, \r */
int scan_text_isspace(int c);
/* Trim ASCII whitespace: *s and *len are adjusted in place. */
void scan_text_trim(const char **s, size_t *len);
/* 1 if s[0..len) trimmed is empty. */
int scan_text_blank(const char *s, size_t len);
/* Copy s[0..len) trimmed into a new NUL-terminated string (caller frees);
 * NULL on allocation failure. */
char *scan_text_trimdup(const char *s, size_t len);
/* Env flag (scan.md §0): value NULL or blank -> def; else 1 iff the trimmed,
 * lower-cased value is one of 1, true, yes, on. */
int scan_text_flag(const char *value, int def);
/* Case-insensitive ASCII compare of s[0..len) with the NUL-terminated word. */
int scan_text_eq_nocase(const char *s, size_t len, const char *word);

/* Growable buffer; all functions return 0 or -1 (ENOMEM).  Caller frees with
 * scan_buf_free.  data is always NUL-terminated when len > 0 or after any
 * append. */
struct scan_buf {
	char *data;
	size_t len;
	size_t cap;
};
int scan_buf_append(struct scan_buf *b, const void *p, size_t n);
int scan_buf_appends(struct scan_buf *b, const char *s);
int scan_buf_appendf(struct scan_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void scan_buf_consume(struct scan_buf *b, size_t n);
void scan_buf_free(struct scan_buf *b);

/* A NULL-terminated argv being built; caller frees with scan_argv_free. */
struct scan_argv {
	char **v;
	size_t n;
	size_t cap;
};
int scan_argv_push(struct scan_argv *a, const char *s);
int scan_argv_pushn(struct scan_argv *a, const char *s, size_t len);
void scan_argv_free(struct scan_argv *a);

#endif
