#include "scan_progress.h"

#include "scan_text.h"

#include <stdio.h>
#include <string.h>

static int isdig(char c)
{
	return c >= '0' && c <= '9';
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	if (a != 0 && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t digits_value(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++)
		v = add_sat(mul_sat(v, 10), (uint64_t)(s[i] - '0'));
	return v;
}

uint64_t scan_progress_millis(const char *num, size_t len, char unit)
{
	const char *dot = memchr(num, '.', len);
	size_t ilen = dot ? (size_t)(dot - num) : len, flen = dot ? len - ilen - 1 : 0, i;
	int exp = 3; /* x 1000 */
	uint64_t v;

	for (i = 0; i < len; i++)
		if (!isdig(num[i]) && &num[i] != dot)
			return 0;
	if (ilen == 0 && flen == 0)
		return 0;
	if (dot != NULL && memchr(dot + 1, '.', flen) != NULL)
		return 0;
	if (unit == 'K')
		exp += 3;
	else if (unit == 'M')
		exp += 6;
	else if (unit == 'G')
		exp += 9;
	/* integer part, then as many fraction digits as the exponent covers */
	v = digits_value(num, ilen);
	for (i = 0; i < (size_t)exp; i++) {
		uint64_t d = i < flen ? (uint64_t)(dot[1 + i] - '0') : 0;
		v = add_sat(mul_sat(v, 10), d);
	}
	return v;
}

/* cursor helpers over s[0..len) */
struct cur {
	const char *s;
	size_t len, i;
};

static int ws(struct cur *c)
{
	size_t st = c->i;
	while (c->i < c->len && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
		c->i++;
	return c->i > st;
}

static int lit(struct cur *c, const char *t)
{
	size_t n = strlen(t);
	if (c->len - c->i < n || memcmp(c->s + c->i, t, n) != 0)
		return 0;
	c->i += n;
	return 1;
}

static int digits(struct cur *c, uint64_t *v)
{
	size_t st = c->i;
	while (c->i < c->len && isdig(c->s[c->i]))
		c->i++;
	if (c->i == st)
		return 0;
	if (v != NULL)
		*v = digits_value(c->s + st, c->i - st);
	return 1;
}

/* <rate>: [0-9.]+ [ \t]* [KMG]? "p/s" */
static int rate(struct cur *c, uint64_t *millis)
{
	size_t st = c->i, nl;
	char unit = 0;

	while (c->i < c->len && (isdig(c->s[c->i]) || c->s[c->i] == '.'))
		c->i++;
	if (c->i == st)
		return 0;
	nl = c->i - st;
	(void)ws(c);
	if (c->i < c->len && (c->s[c->i] == 'K' || c->s[c->i] == 'M' || c->s[c->i] == 'G'))
		unit = c->s[c->i++];
	if (!lit(c, "p/s"))
		return 0;
	*millis = scan_progress_millis(c->s + st, nl, unit);
	return 1;
}

static int match_at(const char *s, size_t len, size_t at, struct scan_progress_snap *o)
{
	struct cur c = {s, len, at};

	return digits(&c, NULL) && lit(&c, ":") && digits(&c, NULL) && ws(&c) &&
	       digits(&c, &o->percent) && lit(&c, "%;") && ws(&c) && lit(&c, "send:") && ws(&c) &&
	       digits(&c, &o->sent) && ws(&c) && rate(&c, &o->send_millis) && ws(&c) &&
	       lit(&c, "(") && rate(&c, &o->avg_millis) && ws(&c) && lit(&c, "avg);") && ws(&c) &&
	       lit(&c, "recv:") && ws(&c) && digits(&c, &o->recv) && ws(&c) &&
	       rate(&c, &o->recv_millis) && lit(&c, ";");
}

int scan_progress_match(const char *s, size_t len, struct scan_progress_snap *out)
{
	size_t i;

	scan_text_trim(&s, &len);
	for (i = 0; i < len; i++) {
		struct scan_progress_snap o;
		if (!isdig(s[i]) || (i > 0 && isdig(s[i - 1])))
			continue;
		memset(&o, 0, sizeof(o));
		if (match_at(s, len, i, &o)) {
			*out = o;
			return 1;
		}
	}
	return 0;
}

int scan_progress_format(const struct scan_progress_snap *s, char *buf, size_t cap)
{
	int n = snprintf(buf, cap,
			 "{\"progress_percent\": %llu, \"sent_total\": %llu, \"recv_total\": %llu, "
			 "\"probe_rate_millis\": %llu, \"average_probe_rate_millis\": %llu, "
			 "\"receive_rate_millis\": %llu}",
			 (unsigned long long)s->percent, (unsigned long long)s->sent,
			 (unsigned long long)s->recv, (unsigned long long)s->send_millis,
			 (unsigned long long)s->avg_millis, (unsigned long long)s->recv_millis);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void scan_progress_init(struct scan_progress *p)
{
	memset(p, 0, sizeof(*p));
}

static int try(struct scan_progress *p, const char *s, size_t len)
{
	struct scan_progress_snap o;

	if (!scan_progress_match(s, len, &o))
		return 0;
	p->last = o;
	p->matches++;
	return 1;
}

int scan_progress_feed(struct scan_progress *p, const char *chunk, size_t n)
{
	int hits = try(p, chunk, n);
	size_t i, start = 0;

	if (n > sizeof(p->pending) - p->plen) {
		/* an overlong line: drop what is pending, keep the newest bytes */
		const char *tail = n > sizeof(p->pending) ? chunk + n - sizeof(p->pending) : chunk;
		size_t tl = n > sizeof(p->pending) ? sizeof(p->pending) : n;
		memcpy(p->pending, tail, tl);
		p->plen = tl;
	} else {
		memcpy(p->pending + p->plen, chunk, n);
		p->plen += n;
	}
	for (i = 0; i < p->plen; i++) {
		if (p->pending[i] == '\n' || p->pending[i] == '\r') {
			hits += try(p, p->pending + start, i - start);
			start = i + 1;
		}
	}
	if (start > 0) {
		memmove(p->pending, p->pending + start, p->plen - start);
		p->plen -= start;
	}
	return hits;
}

int scan_progress_finish(struct scan_progress *p)
{
	int hits = p->plen ? try(p, p->pending, p->plen) : 0;
	p->plen = 0;
	return hits;
}
