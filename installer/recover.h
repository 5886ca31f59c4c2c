#ifndef RECOVER_H
#define RECOVER_H
/*
 * Recovery (spec bundle-install-update.md §14.3): the first thing every
 * mutating command does (under the lock), and `agent-install recover`.
 *
 *   1. remove leftovers: releases/ *.partial, .incoming/ *, current.tmp.*,
 *      bin/ *.tmp.*, stray .<name>.tmp.* files in /etc/agentd,
 *      /etc/systemd/system, /etc/sv/ *, and in /var/lib/agentd when older
 *      than 10 minutes;
 *   2. no journal: done;
 *   3. decide by where `current` points (see recover.c);
 *   4. remove the journal.
 */
#include "err.h"
#include "health.h"
#include "layout.h"
#include "service.h"
#include "settings.h"

#include <stdint.h>

enum recover_outcome {
	RECOVER_NOTHING,       /* no journal */
	RECOVER_RESOLVED,      /* resolved without a revert (exit 0) */
	RECOVER_REVERTED,      /* reverted and healthy (exit 3) */
	RECOVER_REVERT_FAILED, /* the revert failed (exit 4) */
};

struct recover_result {
	enum recover_outcome outcome;
	char message[512]; /* what was done, for the log and the status file */
	size_t leftovers;  /* entries removed in step 1 */
};

/* svc may be NULL (built from installed.json inside when needed is not
 * done here: the caller passes the recorded backend).  now is the wall
 * clock for the 10-minute rule.  -1 only when the state cannot be read
 * (e); the outcome is in r otherwise. */
int recover_run(const struct layout *l, const struct settings *set, struct service *svc,
		const struct health_clock *clk, struct recover_result *r, struct errbuf *e);

/* Step 1 alone.  *removed counts entries removed. */
int recover_leftovers(const struct layout *l, int64_t now, size_t *removed, struct errbuf *e);

#endif
