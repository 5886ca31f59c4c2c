#ifndef JOURNAL_H
#define JOURNAL_H
/*
 * Transaction journal /opt/agentd/.transaction.json (spec
 * bundle-install-update.md §7.5): written atomically (mode 0600) before each
 * phase of install, update and rollback starts (§14.2), removed when the
 * command ends, read by recovery (§14.3).
 *
 * One line of canonical JSON with the keys in the order of §7.5:
 *   {"format": 1, "op": "update", "phase": "restarted", "from": null,
 *    "to": "<fp>", "requested_at": "...", "started_at": "...", "restart_at": "..."}
 * requested_at and restart_at are present only when set.
 */
#include "buf.h"
#include "err.h"
#include "layout.h"

#include <stdbool.h>
#include <stddef.h>

#define JOURNAL_FILE_MAX (16 * 1024)

enum journal_op { JOURNAL_OP_INSTALL, JOURNAL_OP_UPDATE, JOURNAL_OP_ROLLBACK };

enum journal_phase {
	JOURNAL_FETCHING,
	JOURNAL_UNPACKED,
	JOURNAL_SWITCHING,
	JOURNAL_SWITCHED,
	JOURNAL_RESTARTED,
	JOURNAL_REVERTING,
};

struct journal {
	enum journal_op op;
	enum journal_phase phase;
	char from[65];         /* fingerprint, "" = null (first install) */
	char to[65];           /* fingerprint */
	char requested_at[32]; /* "" = absent */
	char started_at[32];
	char restart_at[32]; /* "" = absent */
};

const char *journal_op_name(enum journal_op op);
const char *journal_phase_name(enum journal_phase p);
/* Name to value; -1 when unknown. */
int journal_op_parse(const char *s, enum journal_op *out);
int journal_phase_parse(const char *s, enum journal_phase *out);

/* Pure.  Parse: op, phase, to (64 hex), from (64 hex or null) required;
 * timestamps optional strings.  -1 with e = "journal: reason". */
int journal_parse(const char *data, size_t len, struct journal *out, struct errbuf *e);
int journal_format(const struct journal *j, struct buf *out, struct errbuf *e);

/* Read the journal: 0 and *present true/false (missing file), or -1 (e). */
int journal_read(const struct layout *l, struct journal *out, bool *present, struct errbuf *e);
/* Write atomically (0600) and durably (the directory is fsynced). */
int journal_write(const struct layout *l, const struct journal *j, struct errbuf *e);
/* Remove the journal (missing is fine) and fsync /opt/agentd. */
int journal_remove(const struct layout *l, struct errbuf *e);

#endif
