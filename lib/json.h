#ifndef JSON_H
#define JSON_H
/*
 * JSON values: one small tree used both to build documents and to read them
 * (spec rate-controller.md §0.1, §16.1).
 *
 * Ownership: every constructor returns a new value the caller frees with
 * json_free() (or hands to a container).  json_object_set() and
 * json_array_append() take ownership of the value in ALL cases, also when
 * they fail (then they free it), so builders can chain calls and check once:
 *
 *	struct json_value *o = json_new_object();
 *	int rc = 0;
 *	rc |= json_object_set_int(o, "window", 1);
 *	rc |= json_object_set(o, "interface", json_new_string("eth0"));
 *	if (o == NULL || rc != 0) ...   (every setter tolerates o == NULL)
 *
 * Accessors return pointers into the tree: valid until the tree is freed or
 * that member is replaced.
 *
 * Strings are byte strings with an explicit length; they may contain NUL
 * (read from "\u0000") and are always followed by a terminating NUL, so a
 * caller that refuses embedded NUL compares strlen() with the length.
 *
 * Objects keep their members in insertion order; keys are unique (setting an
 * existing key replaces its value in place).  The canonical writer sorts the
 * keys; JSON_WRITE_INSERTION_ORDER keeps insertion order.
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_INT,    /* a JSON integer (§0.1): no fraction, no exponent, fits int64 */
	JSON_DOUBLE, /* any other number; always finite */
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value;

/* ---- constructors (NULL when out of memory) */
struct json_value *json_new_null(void);
struct json_value *json_new_bool(int b);
struct json_value *json_new_int(int64_t i);
/* A double, kept a double even when integral (written "25.0").  Non-finite
 * values are stored and written as null (§16.1 guard). */
struct json_value *json_new_double(double d);
/* An int when d is integral and fits int64 (written "30"), else a double
 * ("1.5"): the window_seconds rule of §16.3 item 4.  -0.0 gives int 0. */
struct json_value *json_new_number(double d);
/* Copies s (NUL-terminated).  s == NULL gives null (an absent value). */
struct json_value *json_new_string(const char *s);
/* Copies len bytes of s (may contain NUL; bytes need not be valid UTF-8:
 * the writer replaces invalid sequences with \ufffd). */
struct json_value *json_new_stringn(const char *s, size_t len);
struct json_value *json_new_array(void);
struct json_value *json_new_object(void);
/* Deep copy; NULL when out of memory (or v == NULL). */
struct json_value *json_copy(const struct json_value *v);
/* Frees v and everything under it; NULL is fine. */
void json_free(struct json_value *v);

/* ---- building (all take ownership of val, see above; -1 on ENOMEM or when
 * obj/arr is NULL or of the wrong type, or val is NULL) */
int json_object_set(struct json_value *obj, const char *key, struct json_value *val);
int json_object_setn(struct json_value *obj, const char *key, size_t keylen,
		     struct json_value *val);
int json_object_set_int(struct json_value *obj, const char *key, int64_t i);
int json_object_set_double(struct json_value *obj, const char *key, double d);
int json_object_set_number(struct json_value *obj, const char *key, double d);
int json_object_set_bool(struct json_value *obj, const char *key, int b);
int json_object_set_null(struct json_value *obj, const char *key);
/* s == NULL sets null. */
int json_object_set_string(struct json_value *obj, const char *key, const char *s);
int json_object_set_stringn(struct json_value *obj, const char *key, const char *s, size_t len);
/* Removes key if present (0 either way; -1 if obj is not an object). */
int json_object_remove(struct json_value *obj, const char *key);
int json_array_append(struct json_value *arr, struct json_value *val);

/* ---- reading */
/* JSON_NULL for v == NULL (an absent value reads as null). */
enum json_type json_type(const struct json_value *v);
/* 1 if v is a JSON integer (§0.1): true, 1.0, 1e6 and "1" are not. */
int json_is_integer(const struct json_value *v);
/* 1 for JSON_INT or JSON_DOUBLE. */
int json_is_number(const struct json_value *v);
/* Truthiness of scan.md §0 (Python's): false, null, 0, 0.0, "", [], {} are
 * falsy, everything else truthy.  NULL (absent) is falsy. */
int json_truthy(const struct json_value *v);
/* 0 and *out set, or -1 when v is not a JSON integer. */
int json_get_int64(const struct json_value *v, int64_t *out);
/* 0 and *out set for any number (an integer converted to double), else -1. */
int json_get_double(const struct json_value *v, double *out);
/* 0 and *out set (0 or 1) for a bool, else -1. */
int json_get_bool(const struct json_value *v, int *out);
/* The bytes of a string (NUL-terminated; *len, if not NULL, gets the length
 * excluding the terminator), or NULL when v is not a string. */
const char *json_get_string(const struct json_value *v, size_t *len);

/* Member by key, or NULL (absent, or obj is not an object). */
const struct json_value *json_object_get(const struct json_value *obj, const char *key);
const struct json_value *json_object_getn(const struct json_value *obj, const char *key,
					  size_t keylen);
/* Members in insertion order (for unknown-key copying and iteration).
 * Size 0 when obj is not an object; _key_at/_value_at NULL when out of range. */
size_t json_object_size(const struct json_value *obj);
const char *json_object_key_at(const struct json_value *obj, size_t i, size_t *keylen);
const struct json_value *json_object_value_at(const struct json_value *obj, size_t i);
/* Elements; size 0 when arr is not an array, NULL when out of range. */
size_t json_array_size(const struct json_value *arr);
const struct json_value *json_array_get(const struct json_value *arr, size_t i);
/* Mutable access for editing a parsed document in place. */
struct json_value *json_object_get_mut(struct json_value *obj, const char *key);
struct json_value *json_array_get_mut(struct json_value *arr, size_t i);

/* ---- parsing (§16.1 reader) */
enum {
	/* Refuse an object with the same key twice ("duplicate key").  Without
	 * it, the last value wins and the member keeps the position of the first
	 * occurrence (Python's json, scan.md §2.1). */
	JSON_PARSE_NO_DUPLICATES = 1u << 0,
};

/* Pass as max_len when the input is already bounded by the caller. */
#define JSON_NO_LIMIT ((size_t)-1)

struct json_error {
	size_t offset; /* byte offset of the problem (0-based) */
	size_t line;   /* 1-based line */
	size_t column; /* 1-based column in code points (Python's colno) */
	char what[96]; /* "expected ':'", "invalid UTF-8", "input larger than N bytes" ... */
};

/*
 * Parse exactly one JSON text from text[0..len): strict RFC 8259 (no BOM, no
 * comments, no trailing commas, no NaN/Infinity, whitespace is SP HT LF CR
 * only), strictly valid UTF-8 everywhere (no overlong forms, surrogates or
 * code points above U+10FFFF, also not through \u escapes: lone surrogates are
 * refused), nesting depth at most BOUNDS_JSON_DEPTH (32), number tokens at
 * most 63 bytes, numbers that overflow a double refused.
 * len > max_len fails with "input larger than <max_len> bytes".
 * Returns the tree, or NULL with e set to "json: offset 17: expected ':'".
 */
struct json_value *json_parse(const char *text, size_t len, size_t max_len, unsigned flags,
			      struct errbuf *e);
/* As json_parse, with the error as data (je may be NULL); e.g. scan.md §2.1
 * formats "<what> at line <l> column <c>". */
struct json_value *json_parse_detail(const char *text, size_t len, size_t max_len, unsigned flags,
				     struct json_error *je);

/* ---- writing (§16.1 writer) */
enum {
	/* Keep object members in insertion order instead of sorting keys
	 * (installed.json §7.4, the journal §7.5, the channel manifest §13.8,
	 * shard invocations scan.md §14.3). */
	JSON_WRITE_INSERTION_ORDER = 1u << 0,
	/* Multi-line layout of installed.json / the channel manifest: an object
	 * that is not inside an array has one member per line, indented by two
	 * spaces per level, "," at line ends; an array that is not inside an
	 * array and holds an object or array has one element per line; every
	 * other array, and everything inside an array, is written on one line
	 * in the compact canonical layout.  Empty containers are {} and []. */
	JSON_WRITE_PRETTY = 1u << 1,
	/* Append "\n" (files are LF-terminated; the canonical form has none). */
	JSON_WRITE_NEWLINE = 1u << 2,
};
/* flags == 0 is the canonical form: sorted keys (byte order, every level),
 * ", " and ": " separators, ASCII only, no trailing newline. */
#define JSON_WRITE_CANONICAL 0u

/* Write v into buf[0..cap) NUL-terminated; *len (if not NULL) gets the length
 * without the NUL.  -1 with e set ("json: output larger than N bytes") when
 * it does not fit, or on ENOMEM.  v == NULL writes null. */
int json_write(const struct json_value *v, unsigned flags, char *buf, size_t cap, size_t *len,
	       struct errbuf *e);
/* Write v into a new malloc'd NUL-terminated string of at most max bytes
 * (excluding the NUL); caller frees.  NULL with e set on overflow/ENOMEM. */
char *json_write_alloc(const struct json_value *v, unsigned flags, size_t max, size_t *len,
		       struct errbuf *e);
/* Write v through a callback (emit returns 0, or -1 to stop; the write then
 * returns -1).  For callers with their own buffers. */
int json_write_cb(const struct json_value *v, unsigned flags,
		  int (*emit)(void *ctx, const char *p, size_t n), void *ctx, struct errbuf *e);

struct buf;
/* Append v to b (lib/buf.h); all or nothing: on failure (-1, e set, errno
 * E2BIG past the buffer's maximum) b is left as it was. */
int json_write_buf(const struct json_value *v, unsigned flags, struct buf *b, struct errbuf *e);

/* Pieces of the canonical form, for lines that are not whole JSON documents
 * (the §7.2 warning line): s[0..len) as a quoted canonical JSON string, and
 * d as a canonical float ("0.5", "1e-05", "-0.0"; "null" when not finite).
 * Same return convention as json_write. */
int json_write_string(const char *s, size_t len, char *buf, size_t cap, size_t *outlen,
		      struct errbuf *e);
int json_format_double(double d, char *buf, size_t cap, size_t *outlen);
/* Longest output of json_format_double, with its NUL. */
#define JSON_DOUBLE_MAX 32

#endif
