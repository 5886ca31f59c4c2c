#include "events.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "num.h"

#define METRIC_PREFIX EVENTS_PREFIX "metric="
#define WARNING_PREFIX EVENTS_PREFIX "warning: "

/* Total bytes an events_capture keeps (tests only). */
enum { EVENTS_CAPTURE_MAX = 64 * 1024 * 1024 };

int events_write_fd(int fd, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* a non-blocking fd we were handed: wait until it drains */
				struct pollfd pfd = {.fd = fd, .events = POLLOUT};
				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					return -1;
				continue;
			}
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

void events_sink_fd(struct events_sink *s, int fd)
{
	s->write_line = NULL;
	s->ctx = NULL;
	s->fd = fd;
}

int events_sink_write(const struct events_sink *s, const char *line, size_t len, struct errbuf *e)
{
	int rc;

	if (s == NULL) {
		err_set(e, "events: no line sink");
		errno = EINVAL;
		return -1;
	}
	if (s->write_line != NULL)
		rc = s->write_line(s->ctx, line, len);
	else
		rc = events_write_fd(s->fd, line, len);
	if (rc < 0) {
		int saved = errno;
		err_sys(e, saved, "write metric line");
		errno = saved;
		return -1;
	}
	return 0;
}

/* prefix + middle + suffix as one malloc'd NUL-terminated line */
static char *join3(const char *a, size_t alen, const char *b, size_t blen, const char *c,
		   size_t clen, size_t *len, struct errbuf *e)
{
	char *line;
	size_t n = alen + blen + clen;

	if (n > BOUNDS_METRIC_LINE_MAX) {
		err_set(e, "events: line larger than %d bytes", BOUNDS_METRIC_LINE_MAX);
		errno = ENOSPC;
		return NULL;
	}
	line = malloc(n + 1);
	if (line == NULL) {
		err_set(e, "events: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	memcpy(line, a, alen);
	memcpy(line + alen, b, blen);
	memcpy(line + alen + blen, c, clen);
	line[n] = '\0';
	if (len != NULL)
		*len = n;
	return line;
}

char *events_format_metric(const char *name, struct json_value *fields, size_t *len,
			   struct errbuf *e)
{
	struct json_value *own = NULL;
	char *json, *line;
	size_t jlen;

	if (name == NULL) {
		err_set(e, "events: metric without an event name");
		errno = EINVAL;
		return NULL;
	}
	if (fields == NULL)
		fields = own = json_new_object();
	if (json_type(fields) != JSON_OBJECT) {
		err_set(e, "events: metric fields are not an object");
		json_free(own);
		errno = EINVAL;
		return NULL;
	}
	if (json_object_set_string(fields, "event", name) < 0) {
		err_set(e, "events: out of memory");
		json_free(own);
		errno = ENOMEM;
		return NULL;
	}
	json = json_write_alloc(fields, JSON_WRITE_CANONICAL,
				BOUNDS_METRIC_LINE_MAX - (sizeof(METRIC_PREFIX) - 1) - 1, &jlen, e);
	json_free(own);
	if (json == NULL)
		return NULL;
	line = join3(METRIC_PREFIX, sizeof(METRIC_PREFIX) - 1, json, jlen, "\n", 1, len, e);
	free(json);
	return line;
}

int events_metric(const struct events_sink *s, const char *name, struct json_value *fields,
		  struct errbuf *e)
{
	size_t len;
	char *line = events_format_metric(name, fields, &len, e);
	int rc;

	if (line == NULL)
		return -1;
	rc = events_sink_write(s, line, len, e);
	free(line);
	return rc;
}

char *events_format_invalid(const char *name, const char *value, size_t vlen, const char *what,
			    const char *action, size_t *len, struct errbuf *e)
{
	struct json_value *str;
	char *quoted, *head = NULL, *tail = NULL, *line = NULL;
	size_t qlen, hlen, tlen;
	int k;

	if (name == NULL || what == NULL || action == NULL || (value == NULL && vlen > 0)) {
		err_set(e, "events: incomplete warning");
		errno = EINVAL;
		return NULL;
	}
	str = json_new_stringn(value != NULL ? value : "", vlen);
	if (str == NULL) {
		err_set(e, "events: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	quoted = json_write_alloc(str, JSON_WRITE_CANONICAL, BOUNDS_METRIC_LINE_MAX, &qlen, e);
	json_free(str);
	if (quoted == NULL)
		return NULL;
	hlen = sizeof(WARNING_PREFIX) - 1 + strlen(name) + 1;
	tlen = strlen(" is not ") + strlen(what) + strlen("; ") + strlen(action) + 1;
	head = malloc(hlen + 1);
	tail = malloc(tlen + 1);
	if (head == NULL || tail == NULL) {
		err_set(e, "events: out of memory");
		errno = ENOMEM;
		goto out;
	}
	k = snprintf(head, hlen + 1, "%s%s=", WARNING_PREFIX, name);
	if (k < 0 || (size_t)k != hlen)
		goto trunc;
	k = snprintf(tail, tlen + 1, " is not %s; %s\n", what, action);
	if (k < 0 || (size_t)k != tlen)
		goto trunc;
	line = join3(head, hlen, quoted, qlen, tail, tlen, len, e);
	goto out;
trunc:
	err_set(e, "events: cannot format warning");
	errno = EINVAL;
out:
	free(head);
	free(tail);
	free(quoted);
	return line;
}

int events_warn_invalid(const struct events_sink *s, const char *name, const char *value,
			size_t vlen, const char *what, const char *action, struct errbuf *e)
{
	size_t len;
	char *line = events_format_invalid(name, value, vlen, what, action, &len, e);
	int rc;

	if (line == NULL)
		return -1;
	rc = events_sink_write(s, line, len, e);
	free(line);
	return rc;
}

int events_warning(const struct events_sink *s, const char *text, struct errbuf *e)
{
	size_t len;
	char *line;
	int rc;

	if (text == NULL) {
		err_set(e, "events: empty warning");
		errno = EINVAL;
		return -1;
	}
	line = join3(WARNING_PREFIX, sizeof(WARNING_PREFIX) - 1, text, strlen(text), "\n", 1, &len,
		     e);
	if (line == NULL)
		return -1;
	rc = events_sink_write(s, line, len, e);
	free(line);
	return rc;
}

double events_round3(double x)
{
	char buf[64];
	double back;
	int k;

	/* at and above 2^52 every double is an integer: nothing to round */
	if (!isfinite(x) || fabs(x) >= 4503599627370496.0)
		return x;
	/* printf rounds the exact binary value, ties to even (musl and glibc) */
	k = snprintf(buf, sizeof(buf), "%.3f", x);
	if (k < 0 || (size_t)k >= sizeof(buf))
		return x;
	if (num_parse_double(buf, (size_t)k, &back) < 0)
		return x;
	return back;
}

static int capture_line(void *ctx, const char *line, size_t len)
{
	struct events_capture *c = ctx;

	if (len > EVENTS_CAPTURE_MAX - c->len) {
		errno = ENOSPC;
		return -1;
	}
	if (c->len + len + 1 > c->cap) {
		size_t ncap = c->cap ? c->cap : 256;
		char *p;
		while (ncap < c->len + len + 1)
			ncap *= 2;
		p = realloc(c->data, ncap);
		if (p == NULL) {
			errno = ENOMEM;
			return -1;
		}
		c->data = p;
		c->cap = ncap;
	}
	memcpy(c->data + c->len, line, len);
	c->len += len;
	c->data[c->len] = '\0';
	c->lines++;
	return 0;
}

void events_capture_sink(struct events_capture *c, struct events_sink *s)
{
	s->write_line = capture_line;
	s->ctx = c;
	s->fd = -1;
}

void events_capture_free(struct events_capture *c)
{
	free(c->data);
	c->data = NULL;
	c->len = 0;
	c->cap = 0;
	c->lines = 0;
}
