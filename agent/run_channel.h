#ifndef RUN_CHANNEL_H
#define RUN_CHANNEL_H
/*
 * The channel poller of `agentd run` (spec bundle-install-update.md §15.2,
 * §15.3): fetch the channel manifest and its .sig (https through lib/http,
 * or a local path), verify the signature against /etc/agentd/trusted.pem,
 * apply §13.8 (lib/channel), decide, and write the remote-update request
 * (§15.1) and the status `queued` (§13.7).
 *
 * run_channel_decide and run_channel_worker_id are pure; run_channel_poll
 * and run_channel_recheck do the I/O.  Log lines go to the sink handed in.
 */
#include "channel.h"
#include "err.h"
#include "events.h"
#include "http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the decision (pure) ---------------------------------------------------- */

enum run_decision {
	RUN_DEC_WRITE = 0,      /* write the request and status queued */
	RUN_DEC_CURRENT,        /* the offer is agentd's own build */
	RUN_DEC_LOWER,          /* the offer is older than agentd */
	RUN_DEC_FAILED,         /* the offer failed on this host before */
	RUN_DEC_REQUEST_EXISTS, /* a request is already waiting */
	RUN_DEC_UPDATING,       /* status running, less than 30 minutes old */
	RUN_DEC_NOT_IN_ROLLOUT, /* bucket >= rollout_percent */
	RUN_DEC_SCAN_BUSY,      /* an agentd scan holds the scan lock: re-check in 60 s */
};

struct run_decide_in {
	const char *own_fingerprint; /* "" when unknown */
	const char *own_version;     /* compiled in; "" or invalid: any version proceeds */
	bool in_failed;              /* the offer's fingerprint is in installed.json failed */
	bool request_exists;
	bool status_running; /* status file says running ... */
	int64_t status_time; /* ... with this UPDATED_AT (0 when unknown) */
	int64_t now;
	unsigned bucket; /* §15.3 */
	bool scan_busy;
};

#define RUN_UPDATING_FRESH_S (30 * 60) /* §15.2: running less than 30 minutes old */

/* The outcome for offer c (already verified and parsed). */
enum run_decision run_channel_decide(const struct channel *c, const struct run_decide_in *in);

/* WORKER_ID of §15.1 from the §15.3 id: bytes outside [A-Za-z0-9._:-]
 * become '_', cut at 128 bytes; "unknown" when id is empty. */
void run_channel_worker_id(const char *id, char out[129]);

/* ---- the poller ------------------------------------------------------------- */

struct run_channel_config {
	const char *url;             /* manifest: https URL or local path */
	const char *platform;        /* §1.1 */
	const char *own_fingerprint; /* §22.1 ("" when not run from a release) */
	const char *own_version;
	const char *rollout_id;     /* §15.3 id */
	const char *worker_id;      /* WORKER_ID (run_channel_worker_id) */
	const char *trusted_path;   /* /etc/agentd/trusted.pem */
	const char *installed_path; /* /var/lib/agentd/installed.json (published copy) */
	const char *request_path;   /* AGENT_REMOTE_UPDATE_REQUEST_FILE */
	const char *status_path;    /* AGENT_REMOTE_UPDATE_STATUS_FILE */
	const char *scan_lock_path; /* /run/agentd/scan.lock */
	struct http_client *http;   /* for https URLs; NULL refuses them */
	int64_t budget_ms;          /* per poll (§15.2: 60 s) */
	const struct events_sink *log;
};

struct run_channel_state {
	int64_t last_success; /* wall clock of the last verified poll, 0 = none */
	uint64_t failures;    /* failed polls since start */
	bool last_failed;     /* the most recent poll failed */
	bool offered;
	char offered_version[65];
	char offered_fingerprint[65];
	char rollout_logged[65]; /* version whose "not in rollout" line was written */
	bool pending;            /* an offer waits for the scan lock */
	struct channel offer;    /* the last verified offer */
	char last_error[ERRBUF_SIZE];
};

void run_channel_state_init(struct run_channel_state *s);

/* One poll at wall time now.  Returns the decision (RUN_DEC_SCAN_BUSY: call
 * run_channel_recheck in 60 s), or -1 when the poll failed (counted, logged
 * as a metric line, the status file untouched). */
int run_channel_poll(const struct run_channel_config *cfg, struct run_channel_state *s,
		     int64_t now);

/* Re-evaluate the pending offer without fetching (the scan lock wait). */
int run_channel_recheck(const struct run_channel_config *cfg, struct run_channel_state *s,
			int64_t now);

/* Count and log a failed poll (a metric line "channel_poll_failed"). */
void run_channel_failed(const struct run_channel_config *cfg, struct run_channel_state *s,
			const char *what);

/* §15.2: true when some agentd scan holds the scan lock (a shared flock on
 * path); a missing file means no scan. */
bool run_channel_scan_busy(const char *path);

#endif
