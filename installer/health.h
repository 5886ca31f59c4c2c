#ifndef HEALTH_H
#define HEALTH_H
/*
 * The update health check (spec bundle-install-update.md §13.5) on
 * /run/agentd/health.json (§22.1).
 *
 * health_parse and health_observe are pure: a test feeds synthetic poll
 * sequences.  health_read_poll gathers one observation from the host (file,
 * pid, service state); health_run polls until success or timeout with an
 * injected clock and sleep.
 */
#include "err.h"
#include "layout.h"
#include "service.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEALTH_FILE_MAX (64 * 1024)
#define HEALTH_REASON_MAX 160

struct health_file {
	char bundle_fingerprint[65];
	char status[16]; /* starting ok degraded failing */
	int64_t pid;
	int64_t updated; /* updated_at, seconds */
};

/* Parse a health.json document: a JSON object with bundle_fingerprint and
 * status (strings), pid (positive integer) and updated_at (RFC 3339).
 * -1 when any is missing or malformed. */
int health_parse(const char *data, size_t len, struct health_file *out);

/* One poll as seen from outside. */
struct health_obs {
	bool present; /* the file exists */
	bool valid;   /* and parses (f filled) */
	struct health_file f;
	bool pid_running;    /* f.pid exists */
	bool service_active; /* the backend reports agentd active (true when not asked) */
};

struct health_check {
	char expected[65]; /* fingerprint */
	int64_t restart_at;
	int64_t pass_pid; /* pid of the last passing poll, 0 = none */
	char reason[HEALTH_REASON_MAX];
};

void health_init(struct health_check *h, const char *expected_fp, int64_t restart_at);
/* Feed one poll; true when the check has succeeded (the second consecutive
 * passing poll with the same pid).  h->reason holds the last failure
 * reason in the words of §13.5. */
bool health_observe(struct health_check *h, const struct health_obs *o);

/* One observation from the host: LAYOUT_HEALTH (O_NOFOLLOW, at most 64 KiB),
 * kill(pid, 0), and service_state when svc is not NULL (UNKNOWN counts as
 * active: nothing to ask). */
void health_read_poll(const struct layout *l, struct service *svc, struct health_obs *o);

struct health_clock {
	int64_t (*now)(void *ctx); /* wall clock, seconds */
	void (*sleep)(void *ctx, int seconds);
	void *ctx;
	/* NULL, or true when the check must end now (a stop signal, §13.4):
	 * health_run then fails with "interrupted" */
	bool (*stopped)(void *ctx);
};

/* Poll every interval seconds until timeout seconds after restart_at.  0 on
 * success; -1 with e = "timed out after <T>s (<last reason>)". */
int health_run(const struct layout *l, struct service *svc, const char *expected_fp,
	       int64_t restart_at, int timeout, int interval, const struct health_clock *clk,
	       struct errbuf *e);

#endif
