#ifndef ENVFILE_H
#define ENVFILE_H
/*
 * runtime.env (spec bundle-install-update.md §8): KEY=value lines read
 * literally, never executed.
 *
 * Format (§8.1): lines separated by LF.  A line is a KEY line for KEY when it
 * begins in column 0 with "KEY=".  The value is every byte after the first
 * '=' up to the LF, raw (a trailing CR is part of the value).  "# KEY=",
 * " KEY=" and "export KEY=" never match.  A present key with an empty value
 * counts as absent for every "if absent" decision.
 *
 * The pure functions (envfile_get, envfile_check_*, envfile_apply,
 * envfile_summary) work on memory and do no I/O.  envfile_update() is the
 * locked read-modify-write of §8.4 built on them and lib/fsutil.
 */
#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- lookup (§8.1) -------------------------------------------------------- */

/* Find the first KEY line of data[0..len) for key (key_len bytes).  Returns
 * true and points *val / *val_len at the raw value inside data, or false when
 * there is no KEY line.  An empty value is found (true, *val_len 0): use
 * envfile_is_absent() for "absent or empty". */
bool envfile_get(const char *data, size_t len, const char *key, size_t key_len, const char **val,
		 size_t *val_len);
/* True when key has no KEY line or the first one has an empty value. */
bool envfile_is_absent(const char *data, size_t len, const char *key, size_t key_len);

/* Call fn(ctx, key, key_len, val, val_len) for every KEY-shaped line (a line
 * starting with [A-Za-z_][A-Za-z0-9_]* followed by '='), in file order; other
 * lines are ignored.  A key may come more than once: §8.1 says the first KEY
 * line wins, so a caller keeps the first (`env exec` uses setenv(..., 0)).
 * fn returning non-zero stops the walk and that value is returned; else 0. */
int envfile_each(const char *data, size_t len,
		 int (*fn)(void *ctx, const char *key, size_t key_len, const char *val,
			   size_t val_len),
		 void *ctx);

/* ---- validation (§8.5) ---------------------------------------------------- */

/* Key: [A-Za-z_][A-Za-z0-9_]*, 1..BOUNDS_ENV_KEY_MAX bytes. */
bool envfile_key_valid(const char *key, size_t key_len);
/* As envfile_key_valid with a reason in e: "invalid key 'K': ...". */
int envfile_check_key(const char *key, size_t key_len, struct errbuf *e);
/* Value: no LF, CR or NUL, at most BOUNDS_ENV_VALUE_MAX bytes.  e gets
 * "value for KEY contains a newline" / "... a carriage return" /
 * "... a NUL byte" / "value for KEY is longer than 4096 bytes". */
int envfile_check_value(const char *key, const char *val, size_t val_len, struct errbuf *e);
/* §8.5 warning: true when the value has leading or trailing space or tab, or
 * contains any of " ' \ $ `.  The caller prints "value may be read
 * differently by systemd's EnvironmentFile= than by agentd". */
bool envfile_value_warns(const char *val, size_t val_len);

/* ---- editing (§8.2, §8.3) ------------------------------------------------- */

enum envfile_op {
	ENVFILE_UPSERT, /* replace every KEY line by KEY=VALUE, append if none */
	ENVFILE_REMOVE, /* drop every KEY line */
};

/* flags of an edit */
#define ENVFILE_E_IF_ABSENT 0x01u /* upsert only when absent or empty (§8.2) */
#define ENVFILE_E_COMMENT 0x02u   /* see append_comment of envfile_apply */

struct envfile_edit {
	enum envfile_op op;
	const char *key;   /* NUL-terminated */
	const char *value; /* NUL-terminated, for ENVFILE_UPSERT; ignored for REMOVE */
	unsigned flags;    /* ENVFILE_E_* */
};

enum envfile_outcome_kind {
	ENVFILE_UNCHANGED = 0,
	ENVFILE_ADDED,   /* no KEY line was there (or the file was missing) */
	ENVFILE_CHANGED, /* some KEY line had other bytes; old_value = first one's */
	ENVFILE_REMOVED, /* KEY lines dropped; old_value = first one's */
};

/* One per edit, filled by envfile_apply.  old_value is malloc'd (NULL when
 * there was no KEY line); release with envfile_outcomes_free. */
struct envfile_outcome {
	enum envfile_outcome_kind kind;
	char *old_value; /* NUL-terminated copy of the first KEY line's raw value */
	size_t old_len;
};
void envfile_outcomes_free(struct envfile_outcome *oc, size_t n);

/* Validate a batch: every key (envfile_check_key), every upsert value
 * (envfile_check_value), and no key twice ("KEY given more than once").  The
 * CLI maps a failure here to exit 2 (§8.5). */
int envfile_check_edits(const struct envfile_edit *edits, size_t n, struct errbuf *e);

/* Apply edits, in order, to in[0..in_len) (exists false: the file is
 * missing, in is ignored and treated as empty) and write the new content to
 * out (which is reset first; its maximum bounds the result: the CLI uses
 * BOUNDS_ENVFILE_MAX, E2BIG past it).  Lines that are not KEY lines of an
 * edited key are copied byte for byte and in order; appended lines go at the
 * end in edit order.  If at least one edit changed something, the output ends
 * with LF (the single normalisation of §8.2); if nothing changed, out holds
 * in unchanged (no normalisation) and *changed is false.
 *
 * append_comment (NULL for none): a full line without LF (e.g. "# added by
 * agent-install 1.4.0") appended once, right before the first line appended
 * by an edit flagged ENVFILE_E_COMMENT (§9.1).
 *
 * oc (may be NULL) gets one outcome per edit; free with envfile_outcomes_free
 * (also after a failure).  Runs envfile_check_edits first.  0 or -1 (e). */
int envfile_apply(const char *in, size_t in_len, bool exists, const struct envfile_edit *edits,
		  size_t n, const char *append_comment, struct buf *out, struct envfile_outcome *oc,
		  bool *changed, struct errbuf *e);

/* ---- summary (§8.6) ------------------------------------------------------- */

/* Append the summary lines of a batch to out:
 *   "added   KEY=VALUE\n", "changed KEY=VALUE (was OLD)\n", "removed KEY\n"
 * (with dry_run: "would add KEY=VALUE", "would change KEY=VALUE (was OLD)",
 * "would remove KEY").  Unchanged edits print nothing.  Values of keys whose
 * name contains PASSWORD, SECRET or TOKEN (any case) are shown as ***, and
 * the user-info of URL values ("scheme://user:pass@host") as ***@.  0 or -1
 * (e, E2BIG when out is full). */
int envfile_summary(const struct envfile_edit *edits, const struct envfile_outcome *oc, size_t n,
		    bool dry_run, struct buf *out, struct errbuf *e);

/* Append value as the summary shows it for key (masked per §8.6) to out. */
int envfile_mask_value(const char *key, const char *val, size_t val_len, struct buf *out,
		       struct errbuf *e);

/* ---- locked read-modify-write (§8.4) -------------------------------------- */

/* Do everything except writing (and take no lock): outcomes only. */
#define ENVFILE_U_DRY_RUN 0x01u

struct envfile_update_opts {
	int lock_timeout_ms;        /* §8.4: 30000; negative waits forever */
	mode_t new_mode;            /* mode of a new file (§8.4: 0640) */
	uid_t new_uid;              /* owner of a new file, (uid_t)-1 = caller's */
	gid_t new_gid;              /* group of a new file, (gid_t)-1 = caller's */
	const char *initial;        /* content used when the file is missing (e.g. */
	size_t initial_len;         /*   the template copy of §9.1); NULL = empty */
	const char *append_comment; /* passed to envfile_apply */
	unsigned flags;             /* ENVFILE_U_* */
};
/* Defaults of §8.4 (30 s, 0640, caller's owner, no initial content). */
void envfile_update_opts_init(struct envfile_update_opts *o);

/* §8.4: validate the batch (envfile_check_edits, errno EINVAL), take an exclusive flock on
 * "<path>.lock" (created 0600, never deleted; path as given, not resolved),
 * read path (at most BOUNDS_ENVFILE_MAX bytes, following a symlink; missing
 * = empty), apply all edits, and if anything changed write the result once
 * through fsutil (temp <dir>/.<base>.tmp.<pid>, existing owner/group/mode
 * preserved, new file new_mode/new_uid/new_gid, a symlink written through to
 * its resolved target).  Nothing changed: nothing written, mtime kept (but
 * a missing file with o->initial set is always created).
 * *changed (may be NULL) tells whether the file was (or, dry run, would be)
 * written; oc as for envfile_apply.  -1 with e on any failure; errno is
 * ETIMEDOUT with e = "PATH is locked by another writer" on lock timeout,
 * EFBIG for a file (or result) over 1 MiB, EPERM when the owner cannot be
 * preserved; the file is then untouched. */
int envfile_update(const char *path, const struct envfile_edit *edits, size_t n,
		   const struct envfile_update_opts *o, struct envfile_outcome *oc, bool *changed,
		   struct errbuf *e);

#endif
