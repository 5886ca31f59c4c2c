#ifndef USTATUS_H
#define USTATUS_H
/*
 * The remote-update status file (spec bundle-install-update.md §13.7):
 * exactly three LF-terminated lines
 *
 *   STATUS=<queued|running|success|failed|rolled_back|rollback_failed>
 *   UPDATED_AT=<timestamp>
 *   MESSAGE=<one line, at most 512 bytes of printable ASCII>
 *
 * ustatus_format / ustatus_parse are pure.  ustatus_write goes through
 * <dir>/.remote-update.status.tmp.<pid> (O_EXCL|O_NOFOLLOW, 0644), fsync,
 * rename, directory fsync (lib/fsutil).  Also used by agentd run (queued).
 */
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USTATUS_MESSAGE_MAX 512
#define USTATUS_FILE_MAX 4096 /* what a reader reads; longer files are refused */

enum ustatus_kind {
	USTATUS_NONE = 0, /* no status (missing file, or unknown STATUS) */
	USTATUS_QUEUED,
	USTATUS_RUNNING,
	USTATUS_SUCCESS,
	USTATUS_FAILED,
	USTATUS_ROLLED_BACK,
	USTATUS_ROLLBACK_FAILED,
};

struct ustatus {
	enum ustatus_kind status;
	bool has_time;                         /* UPDATED_AT parsed as RFC 3339 */
	int64_t updated;                       /* seconds since the epoch when has_time */
	char updated_at[64];                   /* raw UPDATED_AT ("" when absent or too long) */
	char message[USTATUS_MESSAGE_MAX + 1]; /* "" = none */
};

/* "queued" ...; NULL for USTATUS_NONE. */
const char *ustatus_name(enum ustatus_kind k);
/* USTATUS_NONE for an unknown name. */
enum ustatus_kind ustatus_from_name(const char *s, size_t len);

/* §13.7 message rule into out (USTATUS_MESSAGE_MAX + 1): control characters
 * (bytes < 0x20 and 0x7f) become a space, other bytes outside printable
 * ASCII become '?', and the result is cut at 512 bytes. */
void ustatus_sanitize(const char *msg, size_t len, char out[USTATUS_MESSAGE_MAX + 1]);

/* The three lines for k (not NONE) at time now with msg (sanitised here)
 * into out (size at least 600).  Returns the length, or -1 for NONE. */
int ustatus_format(enum ustatus_kind k, int64_t now, const char *msg, char *out, size_t size);

/* Read the lines of data[0..len) (first STATUS=, UPDATED_AT=, MESSAGE= line
 * of each key wins; extra lines ignored).  Never fails: an unknown STATUS
 * gives USTATUS_NONE, a bad UPDATED_AT has_time false. */
void ustatus_parse(const char *data, size_t len, struct ustatus *out);

/* Write the status file path atomically (mode 0644, temp
 * .remote-update.status.tmp.<pid> in the same directory). */
int ustatus_write(const char *path, enum ustatus_kind k, int64_t now, const char *msg,
		  struct errbuf *e);

/* Read path (O_NOFOLLOW, regular file, at most USTATUS_FILE_MAX bytes).  A
 * missing file gives 0 with status USTATUS_NONE. */
int ustatus_read(const char *path, struct ustatus *out, struct errbuf *e);

#endif
