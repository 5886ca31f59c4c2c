#ifndef RUN_HEALTH_H
#define RUN_HEALTH_H
/*
 * /run/agentd/health.json (spec bundle-install-update.md §22.1), written by
 * `agentd run`: one line of canonical JSON (keys sorted), LF-terminated,
 * mode 0644, through <dir>/.health.json.tmp.<pid> and rename (lib/fsutil).
 *
 * The updater (§13.5, installer/health.h) reads bundle_fingerprint, status,
 * pid and updated_at.  run_health_format is pure; run_health_write does the
 * I/O.  run_health_fingerprint finds the fingerprint of the release that
 * holds the running executable.
 */
#include "buf.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

enum run_status { RUN_STARTING = 0, RUN_OK, RUN_DEGRADED, RUN_FAILING, RUN__STATUS_COUNT };

/* "starting", "ok", "degraded", "failing" (NULL out of range). */
const char *run_status_name(enum run_status s);

struct run_health {
	const char *fingerprint; /* 64 lowercase hex, or "" when not run from a release */
	const char *bundle_name; /* AGENT_BUNDLE_NAME or "" */
	const char *version;     /* the compiled-in version */
	int64_t pid;
	int64_t started; /* seconds since the epoch */
	int64_t updated; /* time of this write */
	enum run_status status;
};

/* The document of §22.1, LF included, appended to out.  0 or -1 (e). */
int run_health_format(const struct run_health *h, struct buf *out, struct errbuf *e);

/* Format and atomically replace path (mode 0644, hidden temp name). */
int run_health_write(const char *path, const struct run_health *h, struct errbuf *e);

/* §22.1 bundle_fingerprint of the executable exe (e.g. the resolved
 * /proc/self/exe): when exe ends in "/bin/agentd", the SHA-256 (lowercase
 * hex) of <release>/MANIFEST (at most BOUNDS_MANIFEST_MAX bytes) where
 * <release> is exe without "/bin/agentd".  out gets "" when exe is not in a
 * release or the release has no readable MANIFEST (0 either way); -1 only
 * for bad arguments.  out must hold 65 bytes. */
int run_health_fingerprint(const char *exe, char out[65]);

#endif
