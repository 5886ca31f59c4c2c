#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "num.h"

/* Longest number token the reader accepts; num.c copies tokens into a
 * 64-byte buffer.  Every shortest double is at most 24 bytes, an int64 20. */
enum { JSON_NUMBER_TOKEN_MAX = 63 };
/* Objects with more members than this get a hash index for lookups, so
 * parsing an object of n keys stays O(n). */
enum { JSON_OBJECT_INDEX_MIN = 8 };

struct json_member {
	char *key;
	size_t keylen;
	struct json_value *val;
};

struct json_value {
	enum json_type type;
	union {
		int b;
		int64_t i;
		double d;
		struct {
			char *s;
			size_t len;
		} str;
		struct {
			struct json_value **items;
			size_t n, cap;
		} arr;
		struct {
			struct json_member *m;
			size_t n, cap;
			size_t *index; /* member number + 1, 0 = empty slot */
			size_t icap;   /* power of two, or 0 without an index */
		} obj;
	} u;
};

/* ------------------------------------------------------------------ UTF-8 */

/*
 * Decode one UTF-8 sequence from s[0..n) (n >= 1).  Returns the code point
 * and sets *used, or returns -1 with *used = the length of the maximal
 * subpart of an ill-formed sequence (Unicode §3.9, "U+FFFD substitution of
 * maximal subparts"), at least 1.
 */
static long utf8_decode(const unsigned char *s, size_t n, size_t *used)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, k;
	long cp;

	if (c < 0x80) {
		*used = 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		*used = 1;
		return -1;
	}
	for (k = 1; k <= need; k++) {
		if (k >= n || s[k] < lo || s[k] > hi) {
			*used = k;
			return -1;
		}
		cp = (cp << 6) | (s[k] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*used = need + 1;
	return cp;
}

static size_t utf8_encode(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* ------------------------------------------------------------------ values */

static struct json_value *new_value(enum json_type t)
{
	struct json_value *v = calloc(1, sizeof(*v));

	if (v != NULL)
		v->type = t;
	return v;
}

struct json_value *json_new_null(void)
{
	return new_value(JSON_NULL);
}

struct json_value *json_new_bool(int b)
{
	struct json_value *v = new_value(JSON_BOOL);

	if (v != NULL)
		v->u.b = b != 0;
	return v;
}

struct json_value *json_new_int(int64_t i)
{
	struct json_value *v = new_value(JSON_INT);

	if (v != NULL)
		v->u.i = i;
	return v;
}

struct json_value *json_new_double(double d)
{
	struct json_value *v;

	if (!isfinite(d))
		return new_value(JSON_NULL);
	v = new_value(JSON_DOUBLE);
	if (v != NULL)
		v->u.d = d;
	return v;
}

/* 1 and *out set when d is integral and inside int64. */
static int double_as_int64(double d, int64_t *out)
{
	int64_t i;

	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return 0;
	i = (int64_t)d;
	if ((double)i != d)
		return 0;
	*out = i;
	return 1;
}

struct json_value *json_new_number(double d)
{
	int64_t i;

	if (double_as_int64(d, &i))
		return json_new_int(i);
	return json_new_double(d);
}

struct json_value *json_new_stringn(const char *s, size_t len)
{
	struct json_value *v;

	if (len == (size_t)-1)
		return NULL;
	v = new_value(JSON_STRING);
	if (v == NULL)
		return NULL;
	v->u.str.s = malloc(len + 1);
	if (v->u.str.s == NULL) {
		free(v);
		return NULL;
	}
	if (len > 0)
		memcpy(v->u.str.s, s, len);
	v->u.str.s[len] = '\0';
	v->u.str.len = len;
	return v;
}

struct json_value *json_new_string(const char *s)
{
	if (s == NULL)
		return json_new_null();
	return json_new_stringn(s, strlen(s));
}

struct json_value *json_new_array(void)
{
	return new_value(JSON_ARRAY);
}

struct json_value *json_new_object(void)
{
	return new_value(JSON_OBJECT);
}

void json_free(struct json_value *v)
{
	size_t i;

	if (v == NULL)
		return;
	switch (v->type) {
	case JSON_STRING:
		free(v->u.str.s);
		break;
	case JSON_ARRAY:
		for (i = 0; i < v->u.arr.n; i++)
			json_free(v->u.arr.items[i]);
		free(v->u.arr.items);
		break;
	case JSON_OBJECT:
		for (i = 0; i < v->u.obj.n; i++) {
			free(v->u.obj.m[i].key);
			json_free(v->u.obj.m[i].val);
		}
		free(v->u.obj.m);
		free(v->u.obj.index);
		break;
	default:
		break;
	}
	free(v);
}

/* ------------------------------------------------------------------ objects */

static size_t key_hash(const char *k, size_t len)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)k[i];
		h *= 1099511628211u;
	}
	return (size_t)(h ^ (h >> 29));
}

static int key_eq(const struct json_member *m, const char *key, size_t keylen)
{
	return m->keylen == keylen && (keylen == 0 || memcmp(m->key, key, keylen) == 0);
}

static int index_rebuild(struct json_value *obj, size_t icap)
{
	size_t *idx = calloc(icap, sizeof(*idx));
	size_t i, mask = icap - 1;

	if (idx == NULL)
		return -1;
	for (i = 0; i < obj->u.obj.n; i++) {
		size_t h = key_hash(obj->u.obj.m[i].key, obj->u.obj.m[i].keylen) & mask;
		while (idx[h] != 0)
			h = (h + 1) & mask;
		idx[h] = i + 1;
	}
	free(obj->u.obj.index);
	obj->u.obj.index = idx;
	obj->u.obj.icap = icap;
	return 0;
}

/* Member number of key, or (size_t)-1. */
static size_t object_find(const struct json_value *obj, const char *key, size_t keylen)
{
	size_t i;

	if (obj->u.obj.index != NULL) {
		size_t mask = obj->u.obj.icap - 1;
		size_t h = key_hash(key, keylen) & mask;
		while (obj->u.obj.index[h] != 0) {
			i = obj->u.obj.index[h] - 1;
			if (key_eq(&obj->u.obj.m[i], key, keylen))
				return i;
			h = (h + 1) & mask;
		}
		return (size_t)-1;
	}
	for (i = 0; i < obj->u.obj.n; i++)
		if (key_eq(&obj->u.obj.m[i], key, keylen))
			return i;
	return (size_t)-1;
}

int json_object_setn(struct json_value *obj, const char *key, size_t keylen, struct json_value *val)
{
	struct json_member *m;
	size_t i;

	if (obj == NULL || obj->type != JSON_OBJECT || val == NULL || key == NULL ||
	    keylen == (size_t)-1) {
		json_free(val);
		return -1;
	}
	i = object_find(obj, key, keylen);
	if (i != (size_t)-1) {
		json_free(obj->u.obj.m[i].val);
		obj->u.obj.m[i].val = val;
		return 0;
	}
	if (obj->u.obj.n == obj->u.obj.cap) {
		size_t ncap = obj->u.obj.cap ? obj->u.obj.cap * 2 : 8;
		m = realloc(obj->u.obj.m, ncap * sizeof(*m));
		if (m == NULL)
			goto nomem;
		obj->u.obj.m = m;
		obj->u.obj.cap = ncap;
	}
	m = &obj->u.obj.m[obj->u.obj.n];
	m->key = malloc(keylen + 1);
	if (m->key == NULL)
		goto nomem;
	if (keylen > 0)
		memcpy(m->key, key, keylen);
	m->key[keylen] = '\0';
	m->keylen = keylen;
	m->val = val;
	obj->u.obj.n++;
	/* keep the index at most half full */
	if (obj->u.obj.n > JSON_OBJECT_INDEX_MIN && obj->u.obj.n * 2 > obj->u.obj.icap) {
		size_t icap = obj->u.obj.icap ? obj->u.obj.icap * 2 : 32;
		while (icap < obj->u.obj.n * 2)
			icap *= 2;
		if (index_rebuild(obj, icap) < 0) {
			obj->u.obj.n--;
			free(m->key);
			goto nomem;
		}
	} else if (obj->u.obj.index != NULL) {
		size_t mask = obj->u.obj.icap - 1;
		size_t h = key_hash(key, keylen) & mask;
		while (obj->u.obj.index[h] != 0)
			h = (h + 1) & mask;
		obj->u.obj.index[h] = obj->u.obj.n;
	}
	return 0;
nomem:
	json_free(val);
	errno = ENOMEM;
	return -1;
}

int json_object_set(struct json_value *obj, const char *key, struct json_value *val)
{
	if (key == NULL) {
		json_free(val);
		return -1;
	}
	return json_object_setn(obj, key, strlen(key), val);
}

int json_object_set_int(struct json_value *obj, const char *key, int64_t i)
{
	return json_object_set(obj, key, json_new_int(i));
}

int json_object_set_double(struct json_value *obj, const char *key, double d)
{
	return json_object_set(obj, key, json_new_double(d));
}

int json_object_set_number(struct json_value *obj, const char *key, double d)
{
	return json_object_set(obj, key, json_new_number(d));
}

int json_object_set_bool(struct json_value *obj, const char *key, int b)
{
	return json_object_set(obj, key, json_new_bool(b));
}

int json_object_set_null(struct json_value *obj, const char *key)
{
	return json_object_set(obj, key, json_new_null());
}

int json_object_set_string(struct json_value *obj, const char *key, const char *s)
{
	return json_object_set(obj, key, json_new_string(s));
}

int json_object_set_stringn(struct json_value *obj, const char *key, const char *s, size_t len)
{
	return json_object_set(obj, key, json_new_stringn(s, len));
}

int json_object_remove(struct json_value *obj, const char *key)
{
	size_t i;

	if (obj == NULL || obj->type != JSON_OBJECT || key == NULL)
		return -1;
	i = object_find(obj, key, strlen(key));
	if (i == (size_t)-1)
		return 0;
	free(obj->u.obj.m[i].key);
	json_free(obj->u.obj.m[i].val);
	memmove(&obj->u.obj.m[i], &obj->u.obj.m[i + 1],
		(obj->u.obj.n - i - 1) * sizeof(obj->u.obj.m[0]));
	obj->u.obj.n--;
	if (obj->u.obj.index != NULL && index_rebuild(obj, obj->u.obj.icap) < 0) {
		/* lookups fall back to a linear scan */
		free(obj->u.obj.index);
		obj->u.obj.index = NULL;
		obj->u.obj.icap = 0;
	}
	return 0;
}

int json_array_append(struct json_value *arr, struct json_value *val)
{
	if (arr == NULL || arr->type != JSON_ARRAY || val == NULL) {
		json_free(val);
		return -1;
	}
	if (arr->u.arr.n == arr->u.arr.cap) {
		size_t ncap = arr->u.arr.cap ? arr->u.arr.cap * 2 : 8;
		struct json_value **items = realloc(arr->u.arr.items, ncap * sizeof(*items));
		if (items == NULL) {
			json_free(val);
			errno = ENOMEM;
			return -1;
		}
		arr->u.arr.items = items;
		arr->u.arr.cap = ncap;
	}
	arr->u.arr.items[arr->u.arr.n++] = val;
	return 0;
}

struct json_value *json_copy(const struct json_value *v)
{
	struct json_value *c;
	size_t i;

	if (v == NULL)
		return NULL;
	switch (v->type) {
	case JSON_NULL:
		return json_new_null();
	case JSON_BOOL:
		return json_new_bool(v->u.b);
	case JSON_INT:
		return json_new_int(v->u.i);
	case JSON_DOUBLE:
		return json_new_double(v->u.d);
	case JSON_STRING:
		return json_new_stringn(v->u.str.s, v->u.str.len);
	case JSON_ARRAY:
		c = json_new_array();
		for (i = 0; c != NULL && i < v->u.arr.n; i++) {
			if (json_array_append(c, json_copy(v->u.arr.items[i])) < 0) {
				json_free(c);
				c = NULL;
			}
		}
		return c;
	case JSON_OBJECT:
		c = json_new_object();
		for (i = 0; c != NULL && i < v->u.obj.n; i++) {
			const struct json_member *m = &v->u.obj.m[i];
			if (json_object_setn(c, m->key, m->keylen, json_copy(m->val)) < 0) {
				json_free(c);
				c = NULL;
			}
		}
		return c;
	}
	return NULL;
}

/* ------------------------------------------------------------------ access */

enum json_type json_type(const struct json_value *v)
{
	return v == NULL ? JSON_NULL : v->type;
}

int json_is_integer(const struct json_value *v)
{
	return v != NULL && v->type == JSON_INT;
}

int json_is_number(const struct json_value *v)
{
	return v != NULL && (v->type == JSON_INT || v->type == JSON_DOUBLE);
}

int json_truthy(const struct json_value *v)
{
	if (v == NULL)
		return 0;
	switch (v->type) {
	case JSON_NULL:
		return 0;
	case JSON_BOOL:
		return v->u.b;
	case JSON_INT:
		return v->u.i != 0;
	case JSON_DOUBLE:
		return v->u.d != 0.0;
	case JSON_STRING:
		return v->u.str.len != 0;
	case JSON_ARRAY:
		return v->u.arr.n != 0;
	case JSON_OBJECT:
		return v->u.obj.n != 0;
	}
	return 0;
}

int json_get_int64(const struct json_value *v, int64_t *out)
{
	if (v == NULL || v->type != JSON_INT)
		return -1;
	*out = v->u.i;
	return 0;
}

int json_get_double(const struct json_value *v, double *out)
{
	if (v == NULL)
		return -1;
	if (v->type == JSON_INT) {
		*out = (double)v->u.i;
		return 0;
	}
	if (v->type == JSON_DOUBLE) {
		*out = v->u.d;
		return 0;
	}
	return -1;
}

int json_get_bool(const struct json_value *v, int *out)
{
	if (v == NULL || v->type != JSON_BOOL)
		return -1;
	*out = v->u.b;
	return 0;
}

const char *json_get_string(const struct json_value *v, size_t *len)
{
	if (v == NULL || v->type != JSON_STRING)
		return NULL;
	if (len != NULL)
		*len = v->u.str.len;
	return v->u.str.s;
}

const struct json_value *json_object_getn(const struct json_value *obj, const char *key,
					  size_t keylen)
{
	size_t i;

	if (obj == NULL || obj->type != JSON_OBJECT || key == NULL)
		return NULL;
	i = object_find(obj, key, keylen);
	return i == (size_t)-1 ? NULL : obj->u.obj.m[i].val;
}

const struct json_value *json_object_get(const struct json_value *obj, const char *key)
{
	if (key == NULL)
		return NULL;
	return json_object_getn(obj, key, strlen(key));
}

struct json_value *json_object_get_mut(struct json_value *obj, const char *key)
{
	size_t i;

	if (obj == NULL || obj->type != JSON_OBJECT || key == NULL)
		return NULL;
	i = object_find(obj, key, strlen(key));
	return i == (size_t)-1 ? NULL : obj->u.obj.m[i].val;
}

size_t json_object_size(const struct json_value *obj)
{
	return obj != NULL && obj->type == JSON_OBJECT ? obj->u.obj.n : 0;
}

const char *json_object_key_at(const struct json_value *obj, size_t i, size_t *keylen)
{
	if (i >= json_object_size(obj))
		return NULL;
	if (keylen != NULL)
		*keylen = obj->u.obj.m[i].keylen;
	return obj->u.obj.m[i].key;
}

const struct json_value *json_object_value_at(const struct json_value *obj, size_t i)
{
	if (i >= json_object_size(obj))
		return NULL;
	return obj->u.obj.m[i].val;
}

size_t json_array_size(const struct json_value *arr)
{
	return arr != NULL && arr->type == JSON_ARRAY ? arr->u.arr.n : 0;
}

const struct json_value *json_array_get(const struct json_value *arr, size_t i)
{
	if (i >= json_array_size(arr))
		return NULL;
	return arr->u.arr.items[i];
}

struct json_value *json_array_get_mut(struct json_value *arr, size_t i)
{
	if (i >= json_array_size(arr))
		return NULL;
	return arr->u.arr.items[i];
}

/* ------------------------------------------------------------------ reader */

struct reader {
	const unsigned char *start, *p, *end;
	unsigned flags;
	struct json_error *je;
	int failed;
};

static void fail_at(struct reader *r, const unsigned char *at, const char *what)
{
	struct json_error *je = r->je;
	const unsigned char *q;

	if (r->failed)
		return;
	r->failed = 1;
	if (je == NULL)
		return;
	je->offset = (size_t)(at - r->start);
	je->line = 1;
	je->column = 1;
	for (q = r->start; q < at; q++) {
		if (*q == '\n') {
			je->line++;
			je->column = 1;
		} else if ((*q & 0xc0) != 0x80) {
			je->column++;
		}
	}
	(void)snprintf(je->what, sizeof(je->what), "%s", what);
}

static void skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(const unsigned char *s, unsigned long *out)
{
	unsigned long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		unsigned char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned long)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* r->p at the opening quote.  Returns a malloc'd decoded string. */
static char *read_string(struct reader *r, size_t *outlen)
{
	const unsigned char *open = r->p, *q = r->p + 1, *close;
	char *out;
	size_t n = 0;

	/* find the closing quote: the decoded text is never longer */
	while (q < r->end && *q != '"') {
		if (*q == '\\')
			q++;
		q++;
	}
	if (q >= r->end) {
		fail_at(r, open, "unterminated string");
		return NULL;
	}
	close = q;
	out = malloc((size_t)(close - open));
	if (out == NULL) {
		fail_at(r, open, "out of memory");
		return NULL;
	}
	q = open + 1;
	while (q < close) {
		unsigned char c = *q;
		if (c == '\\') {
			unsigned long cp, lo;
			switch (q[1]) {
			case '"':
			case '\\':
			case '/':
				out[n++] = (char)q[1];
				q += 2;
				continue;
			case 'b':
				out[n++] = '\b';
				q += 2;
				continue;
			case 'f':
				out[n++] = '\f';
				q += 2;
				continue;
			case 'n':
				out[n++] = '\n';
				q += 2;
				continue;
			case 'r':
				out[n++] = '\r';
				q += 2;
				continue;
			case 't':
				out[n++] = '\t';
				q += 2;
				continue;
			case 'u':
				break;
			default:
				fail_at(r, q, "invalid escape");
				goto fail;
			}
			if (close - q < 6 || hex4(q + 2, &cp) < 0) {
				fail_at(r, q, "invalid \\u escape");
				goto fail;
			}
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail_at(r, q, "lone surrogate in \\u escape");
				goto fail;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (close - q < 12 || q[6] != '\\' || q[7] != 'u' ||
				    hex4(q + 8, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) {
					fail_at(r, q, "lone surrogate in \\u escape");
					goto fail;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				q += 6;
			}
			q += 6;
			n += utf8_encode(cp, out + n);
		} else if (c < 0x20) {
			fail_at(r, q, "control character in string");
			goto fail;
		} else if (c < 0x80) {
			out[n++] = (char)c;
			q++;
		} else {
			size_t used;
			if (utf8_decode(q, (size_t)(close - q), &used) < 0) {
				fail_at(r, q, "invalid UTF-8");
				goto fail;
			}
			memcpy(out + n, q, used);
			n += used;
			q += used;
		}
	}
	out[n] = '\0';
	*outlen = n;
	r->p = close + 1;
	return out;
fail:
	free(out);
	return NULL;
}

static struct json_value *read_number(struct reader *r)
{
	const unsigned char *s = r->p, *q = r->p;
	int integral = 1;
	struct json_value *v;
	int64_t i;
	double d;

	if (q < r->end && *q == '-')
		q++;
	if (q >= r->end || *q < '0' || *q > '9') {
		fail_at(r, s, "invalid number");
		return NULL;
	}
	if (*q == '0') {
		q++;
		if (q < r->end && *q >= '0' && *q <= '9') {
			fail_at(r, s, "leading zero in number");
			return NULL;
		}
	} else {
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < r->end && *q == '.') {
		integral = 0;
		q++;
		if (q >= r->end || *q < '0' || *q > '9') {
			fail_at(r, s, "invalid number");
			return NULL;
		}
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < r->end && (*q == 'e' || *q == 'E')) {
		integral = 0;
		q++;
		if (q < r->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= r->end || *q < '0' || *q > '9') {
			fail_at(r, s, "invalid number");
			return NULL;
		}
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q - s > JSON_NUMBER_TOKEN_MAX) {
		fail_at(r, s, "number too long");
		return NULL;
	}
	if (integral && num_parse_i64((const char *)s, (size_t)(q - s), &i) == 0) {
		v = json_new_int(i);
	} else if (num_parse_double((const char *)s, (size_t)(q - s), &d) == 0) {
		v = new_value(JSON_DOUBLE);
		if (v != NULL)
			v->u.d = d;
	} else {
		fail_at(r, s, "number out of range");
		return NULL;
	}
	if (v == NULL)
		fail_at(r, s, "out of memory");
	r->p = q;
	return v;
}

static struct json_value *read_value(struct reader *r, int depth);

static struct json_value *read_array(struct reader *r, int depth)
{
	struct json_value *arr = json_new_array();

	if (arr == NULL) {
		fail_at(r, r->p, "out of memory");
		return NULL;
	}
	r->p++; /* [ */
	skip_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return arr;
	}
	for (;;) {
		struct json_value *v = read_value(r, depth);
		if (v == NULL)
			goto fail;
		if (json_array_append(arr, v) < 0) {
			fail_at(r, r->p, "out of memory");
			goto fail;
		}
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == ']') {
			r->p++;
			return arr;
		}
		fail_at(r, r->p, "expected ',' or ']'");
		goto fail;
	}
fail:
	json_free(arr);
	return NULL;
}

static struct json_value *read_object(struct reader *r, int depth)
{
	struct json_value *obj = json_new_object();
	char *key = NULL;

	if (obj == NULL) {
		fail_at(r, r->p, "out of memory");
		return NULL;
	}
	r->p++; /* { */
	skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return obj;
	}
	for (;;) {
		const unsigned char *at;
		struct json_value *v;
		size_t keylen;

		skip_ws(r);
		at = r->p;
		if (r->p >= r->end || *r->p != '"') {
			fail_at(r, r->p, "expected string key");
			goto fail;
		}
		key = read_string(r, &keylen);
		if (key == NULL)
			goto fail;
		if ((r->flags & JSON_PARSE_NO_DUPLICATES) &&
		    json_object_getn(obj, key, keylen) != NULL) {
			fail_at(r, at, "duplicate key");
			goto fail;
		}
		skip_ws(r);
		if (r->p >= r->end || *r->p != ':') {
			fail_at(r, r->p, "expected ':'");
			goto fail;
		}
		r->p++;
		v = read_value(r, depth);
		if (v == NULL)
			goto fail;
		if (json_object_setn(obj, key, keylen, v) < 0) {
			fail_at(r, r->p, "out of memory");
			goto fail;
		}
		free(key);
		key = NULL;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			return obj;
		}
		fail_at(r, r->p, "expected ',' or '}'");
		goto fail;
	}
fail:
	free(key);
	json_free(obj);
	return NULL;
}

static int match_word(struct reader *r, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
		return 0;
	r->p += n;
	return 1;
}

/* depth: containers already open around this value */
static struct json_value *read_value(struct reader *r, int depth)
{
	struct json_value *v;

	skip_ws(r);
	if (r->p >= r->end) {
		fail_at(r, r->p, "expected value");
		return NULL;
	}
	switch (*r->p) {
	case '{':
	case '[':
		if (depth >= BOUNDS_JSON_DEPTH) {
			fail_at(r, r->p, "nesting deeper than 32");
			return NULL;
		}
		if (*r->p == '{')
			return read_object(r, depth + 1);
		return read_array(r, depth + 1);
	case '"': {
		size_t len;
		char *s = read_string(r, &len);
		if (s == NULL)
			return NULL;
		v = new_value(JSON_STRING);
		if (v == NULL) {
			free(s);
			fail_at(r, r->p, "out of memory");
			return NULL;
		}
		v->u.str.s = s;
		v->u.str.len = len;
		return v;
	}
	case 't':
		if (match_word(r, "true"))
			v = json_new_bool(1);
		else
			goto bad;
		break;
	case 'f':
		if (match_word(r, "false"))
			v = json_new_bool(0);
		else
			goto bad;
		break;
	case 'n':
		if (match_word(r, "null"))
			v = json_new_null();
		else
			goto bad;
		break;
	default:
		if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
			return read_number(r);
		goto bad;
	}
	if (v == NULL)
		fail_at(r, r->p, "out of memory");
	return v;
bad:
	fail_at(r, r->p, "expected value");
	return NULL;
}

struct json_value *json_parse_detail(const char *text, size_t len, size_t max_len, unsigned flags,
				     struct json_error *je)
{
	struct reader r;
	struct json_value *v;

	memset(&r, 0, sizeof(r));
	r.start = (const unsigned char *)text;
	r.p = r.start;
	r.end = r.start + len;
	r.flags = flags;
	r.je = je;
	if (je != NULL)
		memset(je, 0, sizeof(*je));
	if (text == NULL && len > 0) {
		fail_at(&r, r.start, "no input");
		return NULL;
	}
	if (len > max_len) {
		char what[64];
		r.end = r.start + max_len;
		(void)snprintf(what, sizeof(what), "input larger than %zu bytes", max_len);
		fail_at(&r, r.end, what);
		return NULL;
	}
	v = read_value(&r, 0);
	if (v == NULL)
		return NULL;
	skip_ws(&r);
	if (r.p != r.end) {
		fail_at(&r, r.p, "trailing data");
		json_free(v);
		return NULL;
	}
	return v;
}

struct json_value *json_parse(const char *text, size_t len, size_t max_len, unsigned flags,
			      struct errbuf *e)
{
	struct json_error je;
	struct json_value *v = json_parse_detail(text, len, max_len, flags, &je);

	if (v == NULL)
		err_set(e, "json: offset %zu: %s", je.offset, je.what);
	return v;
}

/* ------------------------------------------------------------------ numbers */

/* value = digits (no leading or trailing zeros) x 10^(e10) */
struct dec {
	char digits[24];
	size_t n;
	int e10;
};

static void dec_from_u64(uint64_t m, int e10, struct dec *out)
{
	char tmp[24];
	size_t n = 0, i;

	while (m != 0 && m % 10 == 0) {
		m /= 10;
		e10++;
	}
	do {
		tmp[n++] = (char)('0' + m % 10);
		m /= 10;
	} while (m != 0);
	for (i = 0; i < n; i++)
		out->digits[i] = tmp[n - 1 - i];
	out->digits[n] = '\0';
	out->n = n;
	out->e10 = e10;
}

/* Does m x 10^e10 read back as exactly d (d > 0)? */
static int dec_roundtrips(uint64_t m, int e10, double d)
{
	char s[48];
	double back;
	int k = snprintf(s, sizeof(s), "%" PRIu64 "e%d", m, e10);

	if (k < 0 || (size_t)k >= sizeof(s))
		return 0;
	if (num_parse_double(s, (size_t)k, &back) < 0)
		return 0;
	return back == d;
}

/*
 * The shortest digit string that reads back as d (d finite, > 0): for each
 * length p = 1..17 take the correctly rounded p-digit decimal (printf %e is
 * exact in musl and glibc); at a power of two the rounding interval is
 * lopsided, so the neighbours one unit away are tried as well.
 */
static void shortest_digits(double d, struct dec *out)
{
	int p;

	for (p = 1; p <= 17; p++) {
		char s[48];
		uint64_t m = 0;
		int e = 0, esign = 1, k;
		const char *q;

		k = snprintf(s, sizeof(s), "%.*e", p - 1, d);
		if (k < 0 || (size_t)k >= sizeof(s))
			break;
		for (q = s; *q != 'e'; q++)
			if (*q >= '0' && *q <= '9')
				m = m * 10 + (uint64_t)(*q - '0');
		q++;
		if (*q == '-')
			esign = -1;
		q++;
		for (; *q >= '0' && *q <= '9'; q++)
			e = e * 10 + (*q - '0');
		e = esign * e - (p - 1);
		if (dec_roundtrips(m, e, d) || p == 17) {
			dec_from_u64(m, e, out);
			return;
		}
		if (m > 1 && dec_roundtrips(m - 1, e, d)) {
			dec_from_u64(m - 1, e, out);
			return;
		}
		if (dec_roundtrips(m + 1, e, d)) {
			dec_from_u64(m + 1, e, out);
			return;
		}
	}
	dec_from_u64(0, 0, out); /* not reached: 17 digits always round-trip */
}

int json_format_double(double d, char *buf, size_t cap, size_t *outlen)
{
	char s[JSON_DOUBLE_MAX];
	size_t n = 0, i;
	struct dec dc;
	int decpt;

	if (!isfinite(d)) {
		memcpy(s, "null", 4);
		n = 4;
		goto out;
	}
	if (signbit(d))
		s[n++] = '-';
	if (d == 0) {
		memcpy(s + n, "0.0", 3);
		n += 3;
		goto out;
	}
	shortest_digits(fabs(d), &dc);
	/* value = 0.d1...dn x 10^decpt */
	decpt = (int)dc.n + dc.e10;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			s[n++] = '0';
			s[n++] = '.';
			for (i = 0; i < (size_t)-decpt; i++)
				s[n++] = '0';
			memcpy(s + n, dc.digits, dc.n);
			n += dc.n;
		} else if ((size_t)decpt < dc.n) {
			memcpy(s + n, dc.digits, (size_t)decpt);
			n += (size_t)decpt;
			s[n++] = '.';
			memcpy(s + n, dc.digits + decpt, dc.n - (size_t)decpt);
			n += dc.n - (size_t)decpt;
		} else {
			memcpy(s + n, dc.digits, dc.n);
			n += dc.n;
			for (i = dc.n; i < (size_t)decpt; i++)
				s[n++] = '0';
			s[n++] = '.';
			s[n++] = '0';
		}
	} else {
		int x = decpt - 1, k;
		s[n++] = dc.digits[0];
		if (dc.n > 1) {
			s[n++] = '.';
			memcpy(s + n, dc.digits + 1, dc.n - 1);
			n += dc.n - 1;
		}
		k = snprintf(s + n, sizeof(s) - n, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
		if (k < 0 || (size_t)k >= sizeof(s) - n)
			return -1;
		n += (size_t)k;
	}
out:
	if (n >= cap) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	return 0;
}

/* ------------------------------------------------------------------ writer */

enum { OUT_FIXED, OUT_GROW, OUT_CB };
enum { OUT_OK, OUT_FULL, OUT_NOMEM, OUT_STOPPED };

struct out {
	int mode;
	int state;
	char *p;
	size_t len, cap, max;
	int (*emit)(void *ctx, const char *p, size_t n);
	void *ctx;
	char stage[512];
};

static void out_flush(struct out *o)
{
	if (o->mode == OUT_CB && o->len > 0 && o->state == OUT_OK) {
		if (o->emit(o->ctx, o->stage, o->len) < 0)
			o->state = OUT_STOPPED;
		o->len = 0;
	}
}

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->state != OUT_OK)
		return;
	if (o->mode == OUT_CB) {
		while (n > 0 && o->state == OUT_OK) {
			size_t k = sizeof(o->stage) - o->len;
			if (k > n)
				k = n;
			memcpy(o->stage + o->len, s, k);
			o->len += k;
			s += k;
			n -= k;
			if (o->len == sizeof(o->stage))
				out_flush(o);
		}
		return;
	}
	/* room for n bytes and the final NUL */
	if (n > o->max - o->len) {
		o->state = OUT_FULL;
		return;
	}
	if (o->len + n + 1 > o->cap) {
		size_t ncap;
		char *np;
		if (o->mode == OUT_FIXED) {
			o->state = OUT_FULL;
			return;
		}
		ncap = o->cap ? o->cap : 256;
		while (ncap < o->len + n + 1 && ncap <= o->max / 2)
			ncap *= 2;
		if (ncap < o->len + n + 1)
			ncap = o->len + n + 1;
		if (ncap > o->max + 1)
			ncap = o->max + 1;
		np = realloc(o->p, ncap);
		if (np == NULL) {
			o->state = OUT_NOMEM;
			return;
		}
		o->p = np;
		o->cap = ncap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void put_u16(struct out *o, unsigned long u)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = {'\\',       'u', hex[(u >> 12) & 15], hex[(u >> 8) & 15], hex[(u >> 4) & 15],
		     hex[u & 15]};

	out_put(o, e, 6);
}

static void put_string(struct out *o, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run;

	out_put(o, "\"", 1);
	while (i < len && o->state == OUT_OK) {
		unsigned char c = s[i];
		/* copy runs of bytes that need no escape in one go */
		for (run = i; run < len && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' &&
			      s[run] != '\\';
		     run++)
			;
		if (run > i) {
			out_put(o, str + i, run - i);
			i = run;
			continue;
		}
		switch (c) {
		case '"':
			out_put(o, "\\\"", 2);
			break;
		case '\\':
			out_put(o, "\\\\", 2);
			break;
		case '\n':
			out_put(o, "\\n", 2);
			break;
		case '\r':
			out_put(o, "\\r", 2);
			break;
		case '\t':
			out_put(o, "\\t", 2);
			break;
		case '\b':
			out_put(o, "\\b", 2);
			break;
		case '\f':
			out_put(o, "\\f", 2);
			break;
		default:
			if (c < 0x80) {
				put_u16(o, c);
			} else {
				size_t used;
				long cp = utf8_decode(s + i, len - i, &used);
				if (cp < 0) {
					put_u16(o, 0xfffd);
				} else if (cp < 0x10000) {
					put_u16(o, (unsigned long)cp);
				} else {
					unsigned long v = (unsigned long)cp - 0x10000;
					put_u16(o, 0xd800 | (v >> 10));
					put_u16(o, 0xdc00 | (v & 0x3ff));
				}
				i += used;
				continue;
			}
		}
		i++;
	}
	out_put(o, "\"", 1);
}

static int member_cmp(const void *a, const void *b)
{
	const struct json_member *x = *(const struct json_member *const *)a;
	const struct json_member *y = *(const struct json_member *const *)b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = n > 0 ? memcmp(x->key, y->key, n) : 0;

	if (c != 0)
		return c;
	return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static void put_indent(struct out *o, int level)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)level * 2;

	out_put(o, "\n", 1);
	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		out_put(o, spaces, k);
		n -= k;
	}
}

/* inline: inside an array in pretty mode (or not pretty at all) */
static void put_value(struct out *o, const struct json_value *v, unsigned flags, int level, int inl)
{
	char num[JSON_DOUBLE_MAX];
	size_t i, n;
	int pretty = (flags & JSON_WRITE_PRETTY) && !inl;

	if (o->state != OUT_OK)
		return;
	switch (json_type(v)) {
	case JSON_NULL:
		out_put(o, "null", 4);
		break;
	case JSON_BOOL:
		out_str(o, v->u.b ? "true" : "false");
		break;
	case JSON_INT: {
		int k = snprintf(num, sizeof(num), "%" PRId64, v->u.i);
		if (k > 0 && (size_t)k < sizeof(num))
			out_put(o, num, (size_t)k);
		else
			o->state = OUT_STOPPED;
		break;
	}
	case JSON_DOUBLE:
		if (json_format_double(v->u.d, num, sizeof(num), &n) == 0)
			out_put(o, num, n);
		else
			o->state = OUT_STOPPED;
		break;
	case JSON_STRING:
		put_string(o, v->u.str.s, v->u.str.len);
		break;
	case JSON_ARRAY: {
		int expand = 0;
		if (pretty)
			for (i = 0; i < v->u.arr.n && !expand; i++)
				expand = v->u.arr.items[i]->type == JSON_ARRAY ||
					 v->u.arr.items[i]->type == JSON_OBJECT;
		out_put(o, "[", 1);
		for (i = 0; i < v->u.arr.n; i++) {
			if (expand) {
				if (i > 0)
					out_put(o, ",", 1);
				put_indent(o, level + 1);
			} else if (i > 0) {
				out_put(o, ", ", 2);
			}
			put_value(o, v->u.arr.items[i], flags, level + 1, 1);
		}
		if (expand)
			put_indent(o, level);
		out_put(o, "]", 1);
		break;
	}
	case JSON_OBJECT: {
		const struct json_member **order = NULL;
		n = v->u.obj.n;
		if (n > 1 && !(flags & JSON_WRITE_INSERTION_ORDER)) {
			order = malloc(n * sizeof(*order));
			if (order == NULL) {
				o->state = OUT_NOMEM;
				return;
			}
			for (i = 0; i < n; i++)
				order[i] = &v->u.obj.m[i];
			qsort(order, n, sizeof(*order), member_cmp);
		}
		out_put(o, "{", 1);
		for (i = 0; i < n; i++) {
			const struct json_member *m = order ? order[i] : &v->u.obj.m[i];
			if (pretty) {
				if (i > 0)
					out_put(o, ",", 1);
				put_indent(o, level + 1);
			} else if (i > 0) {
				out_put(o, ", ", 2);
			}
			put_string(o, m->key, m->keylen);
			out_put(o, ": ", 2);
			put_value(o, m->val, flags, level + 1, inl);
		}
		if (pretty && n > 0)
			put_indent(o, level);
		out_put(o, "}", 1);
		free(order);
		break;
	}
	}
}

static void put_top(struct out *o, const struct json_value *v, unsigned flags)
{
	put_value(o, v, flags, 0, 0);
	if (flags & JSON_WRITE_NEWLINE)
		out_put(o, "\n", 1);
}

static int out_error(const struct out *o, struct errbuf *e)
{
	switch (o->state) {
	case OUT_OK:
		return 0;
	case OUT_FULL:
		err_set(e, "json: output larger than %zu bytes", o->max);
		errno = ENOSPC;
		break;
	case OUT_NOMEM:
		err_set(e, "json: out of memory");
		errno = ENOMEM;
		break;
	default:
		err_set(e, "json: write stopped");
		if (errno == 0)
			errno = EIO;
		break;
	}
	return -1;
}

int json_write(const struct json_value *v, unsigned flags, char *buf, size_t cap, size_t *len,
	       struct errbuf *e)
{
	struct out o;

	if (buf == NULL || cap == 0) {
		err_set(e, "json: output larger than 0 bytes");
		errno = ENOSPC;
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.mode = OUT_FIXED;
	o.p = buf;
	o.cap = cap;
	o.max = cap - 1;
	put_top(&o, v, flags);
	buf[o.state == OUT_OK ? o.len : 0] = '\0';
	if (out_error(&o, e) < 0)
		return -1;
	if (len != NULL)
		*len = o.len;
	return 0;
}

char *json_write_alloc(const struct json_value *v, unsigned flags, size_t max, size_t *len,
		       struct errbuf *e)
{
	struct out o;

	memset(&o, 0, sizeof(o));
	o.mode = OUT_GROW;
	o.max = max == (size_t)-1 ? max - 1 : max;
	put_top(&o, v, flags);
	if (o.state == OUT_OK && o.p == NULL) {
		o.p = malloc(1);
		if (o.p == NULL)
			o.state = OUT_NOMEM;
	}
	if (out_error(&o, e) < 0) {
		free(o.p);
		return NULL;
	}
	o.p[o.len] = '\0';
	if (len != NULL)
		*len = o.len;
	return o.p;
}

int json_write_cb(const struct json_value *v, unsigned flags,
		  int (*emit)(void *ctx, const char *p, size_t n), void *ctx, struct errbuf *e)
{
	struct out o;

	memset(&o, 0, sizeof(o));
	o.mode = OUT_CB;
	o.emit = emit;
	o.ctx = ctx;
	put_top(&o, v, flags);
	out_flush(&o);
	return out_error(&o, e);
}

int json_write_string(const char *s, size_t len, char *buf, size_t cap, size_t *outlen,
		      struct errbuf *e)
{
	struct out o;

	if (buf == NULL || cap == 0) {
		err_set(e, "json: output larger than 0 bytes");
		errno = ENOSPC;
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.mode = OUT_FIXED;
	o.p = buf;
	o.cap = cap;
	o.max = cap - 1;
	put_string(&o, s, len);
	buf[o.state == OUT_OK ? o.len : 0] = '\0';
	if (out_error(&o, e) < 0)
		return -1;
	if (outlen != NULL)
		*outlen = o.len;
	return 0;
}

struct buf_ctx {
	struct buf *b;
	struct errbuf err;
	int failed;
};

static int buf_emit(void *ctx, const char *p, size_t n)
{
	struct buf_ctx *c = ctx;

	if (buf_append(c->b, p, n, &c->err) < 0) {
		c->failed = 1;
		return -1;
	}
	return 0;
}

int json_write_buf(const struct json_value *v, unsigned flags, struct buf *b, struct errbuf *e)
{
	struct buf_ctx c;
	size_t before;
	int saved;

	if (b == NULL) {
		err_set(e, "json: no buffer");
		errno = EINVAL;
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.b = b;
	before = buf_len(b);
	if (json_write_cb(v, flags, buf_emit, &c, e) == 0)
		return 0;
	saved = errno;
	if (c.failed)
		err_set(e, "json: %s", c.err.msg);
	buf_truncate(b, before);
	errno = saved;
	return -1;
}
