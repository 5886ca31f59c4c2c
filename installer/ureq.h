#ifndef UREQ_H
#define UREQ_H
/*
 * The remote-update request file (spec bundle-install-update.md §15.1) and
 * the attempts counter /opt/agentd/.request-attempts (§14.4).
 *
 * KEY lines read with the runtime.env parser (§8.1, first occurrence wins),
 * at most 4 KiB, a regular file opened with O_NOFOLLOW; unknown keys are
 * ignored.  Root never echoes unparsed request content (§15.6): error texts
 * name the key and the rule, never the value.
 *
 * ureq_parse / ureq_format are pure; the rest does file I/O through
 * lib/fsutil.  Also meant for agentd run (writing requests, §15.2).
 */
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UREQ_FILE_MAX 4096 /* §15.1 */
#define UREQ_WORKER_ID_MAX 128
#define UREQ_URL_MAX 2048 /* a value fits in the 4 KiB file anyway */

enum ureq_source { UREQ_SOURCE_NONE = 0, UREQ_SOURCE_CHANNEL, UREQ_SOURCE_OPERATOR };

struct ureq {
	char requested_at[64]; /* raw value (RFC 3339) */
	int64_t requested;     /* parsed */
	char worker_id[UREQ_WORKER_ID_MAX + 1];
	enum ureq_source source;
	char channel_url[UREQ_URL_MAX + 1]; /* "" = absent */
	char version[65];                   /* informational, "" = absent */
	char fingerprint[65];               /* informational, "" = absent */
	char bundle_url[UREQ_URL_MAX + 1];  /* "" = absent */
	char bundle_sha256[65];             /* "" = absent */
};

/* Parse data[0..len).  Required: REQUESTED_AT (RFC 3339), WORKER_ID (1..128
 * bytes of [A-Za-z0-9._:-]).  Optional: SOURCE (channel|operator),
 * CHANNEL_URL, BUNDLE_URL (no control bytes, at most UREQ_URL_MAX),
 * BUNDLE_SHA256 (64 hex, either case; stored lowercase), VERSION (§13.3
 * grammar), FINGERPRINT (64 hex).  -1 with e = "request file: <KEY> ..."
 * when malformed (the update then consumes it and reports failed). */
int ureq_parse(const char *data, size_t len, struct ureq *out, struct errbuf *e);

/* The request as KEY lines in the order of §15.1 (absent keys omitted). */
int ureq_format(const struct ureq *r, char *out, size_t size, size_t *len, struct errbuf *e);

/* Read path: 0 and *present (false when missing), or -1 with e (unreadable,
 * a symlink, not a regular file, larger than 4 KiB, malformed: errno
 * EINVAL). */
int ureq_read(const char *path, struct ureq *out, bool *present, struct errbuf *e);

/* Write atomically (.remote-update.request.tmp.<pid>, 0644). */
int ureq_write(const char *path, const struct ureq *r, struct errbuf *e);

/* §13.4 "consume": delete path if its REQUESTED_AT is still requested_at;
 * otherwise leave it (a newer request).  *consumed tells which.  A missing
 * file counts as consumed. */
int ureq_consume(const char *path, const char *requested_at, bool *consumed, struct errbuf *e);

/* ---- attempts (§14.4) ------------------------------------------------------ */

/* Read attempts_path: the count recorded for requested_at (0 when the file
 * is missing, malformed or records another request). */
int ureq_attempts_get(const char *attempts_path, const char *requested_at, unsigned *count,
		      struct errbuf *e);
/* Record count for requested_at (atomic, 0600). */
int ureq_attempts_set(const char *attempts_path, const char *requested_at, unsigned count,
		      struct errbuf *e);
/* Remove the file (missing is fine). */
int ureq_attempts_clear(const char *attempts_path, struct errbuf *e);

#endif
