#ifndef INSTALLED_H
#define INSTALLED_H
/*
 * installed.json (spec bundle-install-update.md §7.4): the authoritative
 * install state in /opt/agentd/installed.json plus the published copy in
 * /var/lib/agentd/installed.json.
 *
 * installed_parse / installed_format are pure.  installed_read reads only
 * the authoritative copy (never the published one: it sits in a directory
 * the agentd user owns).  installed_write writes both atomically through
 * lib/fsutil (authoritative first).
 */
#include "buf.h"
#include "err.h"
#include "layout.h"

#include <stdbool.h>
#include <stddef.h>

#define INSTALLED_HISTORY_MAX 16 /* §7.4 */
#define INSTALLED_FAILED_MAX 10  /* §7.4 */
#define INSTALLED_FILE_MAX (64 * 1024)
#define INSTALLED_REASON_MAX 512
#define INSTALLED_SERVICE_MAX 4104 /* "command=" + a path */

struct installed_ref {
	char version[65]; /* "" when unknown */
	char bundle_name[256];
	char fingerprint[65]; /* 64 lowercase hex */
};

struct installed_failed {
	char version[65];
	char fingerprint[65];
	char at[32]; /* timestamp */
	char reason[INSTALLED_REASON_MAX + 1];
};

struct installed {
	char version[65]; /* "" when unknown; otherwise as recorded */
	char bundle_name[256];
	char fingerprint[65]; /* 64 lowercase hex */
	char platform[65];
	char installed_at[32];
	char signature[16]; /* "verified" or "skipped" */
	char key_id[17];    /* "" = null */
	char service[INSTALLED_SERVICE_MAX];
	bool has_previous;
	struct installed_ref previous;
	size_t nhistory;
	char history[INSTALLED_HISTORY_MAX][13]; /* fp12, newest first */
	size_t nfailed;
	struct installed_failed failed[INSTALLED_FAILED_MAX]; /* newest first */
};

/* Parse data[0..len): any valid JSON object with the fields of §7.4
 * (unknown keys ignored).  Required: format 1, fingerprint (64 lowercase
 * hex), bundle_name, version, service (strings).  Optional: platform,
 * installed_at, signature, key_id (string or null), previous (object or
 * null), history (fp12 strings; at most 16 kept), failed (objects; at most
 * 10 kept).  -1 with e = "installed.json: reason". */
int installed_parse(const char *data, size_t len, struct installed *out, struct errbuf *e);

/* The exact bytes of §7.4: pretty-printed, two-space indent, keys in the
 * order of the spec, LF-terminated.  out is reset first. */
int installed_format(const struct installed *in, struct buf *out, struct errbuf *e);

/* Read and parse the authoritative copy.  -1 with errno ENOENT when there
 * is none (nothing installed), other errno/e otherwise. */
int installed_read(const struct layout *l, struct installed *out, struct errbuf *e);

/* Write the authoritative copy, then the published copy (both mode 0644,
 * atomic).  The published copy's directory is created if missing. */
int installed_write(const struct layout *l, const struct installed *in, struct errbuf *e);

/* Put fp12 at the front of history (removing an older occurrence), keeping
 * at most INSTALLED_HISTORY_MAX entries. */
void installed_history_push(struct installed *in, const char *fp12);

/* Put a failed entry at the front, keeping at most INSTALLED_FAILED_MAX;
 * reason is truncated to INSTALLED_REASON_MAX bytes. */
void installed_failed_add(struct installed *in, const char *version, const char *fingerprint,
			  const char *at, const char *reason);
/* The failed entry for fingerprint (64 hex), or NULL. */
const struct installed_failed *installed_failed_find(const struct installed *in,
						     const char *fingerprint);

#endif
