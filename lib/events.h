#ifndef EVENTS_H
#define EVENTS_H
/*
 * Metric and warning lines of the rate controller (spec rate-controller.md
 * §16.2, §16.3, §7.2):
 *
 *	[anyscan-rate-controller] metric=<canonical JSON>\n
 *	[anyscan-rate-controller] warning: NAME="value" is not <what>; <action>\n
 *
 * Modules never write to stderr themselves: they are handed a line sink.
 * main makes one for stderr (or stdout for `rate simulate`) with
 * events_sink_fd(); tests capture lines in memory with events_capture.
 */
#include <stddef.h>

#include "err.h"
#include "json.h"

#define EVENTS_PREFIX "[anyscan-rate-controller] "

/*
 * A line sink.  write_line gets one complete line, "\n" included, and
 * returns 0 or -1 (with errno).  When write_line is NULL the line goes to fd
 * with events_write_fd().  A plain value: copy it freely.
 */
struct events_sink {
	int (*write_line)(void *ctx, const char *line, size_t len);
	void *ctx;
	int fd;
};

/* A sink writing to fd (not owned, never closed). */
void events_sink_fd(struct events_sink *s, int fd);
/* Hand a line to the sink: 0, or -1 with errno (and e set). */
int events_sink_write(const struct events_sink *s, const char *line, size_t len, struct errbuf *e);
/*
 * buf[0..len) with one write(2) so concurrent writers never interleave
 * (§16.2); retried on EINTR.  If the kernel takes only part of it (a
 * pipe above PIPE_BUF, a full disk), the rest follows in further calls.
 * 0, or -1 with errno.
 */
int events_write_fd(int fd, const char *buf, size_t len);

/*
 * The metric line for event `name`: sets fields["event"] = name (fields is
 * the caller's object and stays the caller's; NULL means no payload) and
 * writes the canonical JSON.  events_format_metric returns the malloc'd line
 * ("\n" included, NUL-terminated; caller frees), at most
 * BOUNDS_METRIC_LINE_MAX bytes.
 */
char *events_format_metric(const char *name, struct json_value *fields, size_t *len,
			   struct errbuf *e);
int events_metric(const struct events_sink *s, const char *name, struct json_value *fields,
		  struct errbuf *e);

/*
 * The §7.2 warning line for an invalid value: value[0..vlen) is the trimmed
 * value, written as a canonical JSON string; what is "a valid integer", "a
 * valid number", "one of loadavg, psi" ...; action is "using the default" (or
 * "ignoring it" for ANYSCAN_INSTANCE_TYPE, §7.3):
 *	[anyscan-rate-controller] warning: ANYSCAN_RATE_FLOOR="abc" is not a valid integer; using
 *the default\n Malloc'd, caller frees.
 */
char *events_format_invalid(const char *name, const char *value, size_t vlen, const char *what,
			    const char *action, size_t *len, struct errbuf *e);
int events_warn_invalid(const struct events_sink *s, const char *name, const char *value,
			size_t vlen, const char *what, const char *action, struct errbuf *e);
/* A free-form warning: "[anyscan-rate-controller] warning: <text>\n". */
int events_warning(const struct events_sink *s, const char *text, struct errbuf *e);

/*
 * round(x, 3) of §16.2 for loadavg_per_vcpu: x correctly rounded to 3
 * decimals (exact binary ties to the even digit), parsed back.
 * 1.0625 -> 1.062, 0.8125 -> 0.812, 0.3125 -> 0.312.  Non-finite x and
 * values too large to have decimals are returned unchanged.
 */
double events_round3(double x);

/* An in-memory sink for tests: every line appended to data (NUL-terminated,
 * at most 64 MiB in all).  Zero-initialise, then events_capture_sink(). */
struct events_capture {
	char *data;
	size_t len;
	size_t cap;
	size_t lines;
};
void events_capture_sink(struct events_capture *c, struct events_sink *s);
void events_capture_free(struct events_capture *c);

#endif
