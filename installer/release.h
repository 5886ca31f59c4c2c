#ifndef RELEASE_H
#define RELEASE_H
/*
 * Release directories under /opt/agentd/releases/<fp12> (spec
 * bundle-install-update.md §7.1, §7.2, §13.9, §14, §16.2): the relative
 * `current` symlink switched atomically, the /opt/agentd/bin links through
 * it, keeping releases (GC), the release re-check against its own MANIFEST,
 * and removal of leftovers.
 *
 * Everything takes the struct layout of the command, so tests work under a
 * temporary root.  Functions return 0, or -1 with e filled.
 */
#include "err.h"
#include "installed.h"
#include "layout.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define RELEASE_FP12_LEN 12
#define RELEASE_MAX 64 /* release directories considered by list/GC */

/* True when s is exactly 12 lowercase hex digits (a release name). */
bool release_name_valid(const char *s);

/* Where `current` points: *present false when there is no `current` link
 * (before the first switch).  A link that is not "releases/<fp12>" is an
 * error ("current points at X, not at a release"). */
int release_current(const struct layout *l, char fp12[RELEASE_FP12_LEN + 1], bool *present,
		    struct errbuf *e);

/* §7.2: make `current` -> "releases/<fp12>" (relative) by creating the
 * symlink current.tmp.<pid> and renaming it over `current`, then fsyncing
 * /opt/agentd.  The release directory must exist. */
int release_switch(const struct layout *l, const char *fp12, struct errbuf *e);

/* The file names linked from /opt/agentd/bin (§7.2), NULL-terminated. */
extern const char *const release_bin_names[];

/* §7.2: for each name, /opt/agentd/bin/<f> -> ../current/bin/<f> when the
 * current release has bin/<f>, else remove bin/<f>.  A link already right is
 * left alone; anything else (a wrong link, a regular file from the previous
 * implementation) is replaced through <f>.tmp.<pid> + rename.  bin/ is
 * created (0755) if missing and fsynced after a change. */
int release_fix_links(const struct layout *l, struct errbuf *e);

/* Names of the release directories (12-hex names only), sorted bytewise,
 * at most max; *n gets the count. */
int release_list(const struct layout *l, char (*out)[RELEASE_FP12_LEN + 1], size_t max, size_t *n,
		 struct errbuf *e);

/* §13.9, pure: the releases to keep -- current, previous (each if not ""),
 * then the newest other history entries until `keep` are kept (current and
 * previous are kept whatever keep is).  out holds up to
 * INSTALLED_HISTORY_MAX + 2 names; returns the count. */
size_t release_gc_keep(const char *current, const char *previous,
		       const char (*history)[RELEASE_FP12_LEN + 1], size_t nhistory, unsigned keep,
		       char (*out)[RELEASE_FP12_LEN + 1]);

/* §13.9: remove every releases/<fp12> not in keep[0..nkeep), every
 * *.partial and *.bad.* directory.  GC failures are warnings: the number of
 * entries that could not be removed is returned in *failures (e holds the
 * last reason); the return value is -1 only when releases/ cannot be read. */
int release_gc(const struct layout *l, const char (*keep)[RELEASE_FP12_LEN + 1], size_t nkeep,
	       size_t *failures, struct errbuf *e);

/* §16.2: releases/<fp12> passes when its MANIFEST hashes to a fingerprint
 * starting with fp12, every listed file exists as a regular file (not a
 * link) with the listed size, mode and SHA-256, and nothing else exists
 * (directories only as parents of listed files).  e gets the first problem,
 * e.g. "release 3f9a1c07be52: bin/agentd: sha256 differs from MANIFEST".
 * fingerprint (may be NULL) gets the MANIFEST's 64-hex fingerprint;
 * version (may be NULL, 65 bytes) the MANIFEST version. */
int release_recheck(const struct layout *l, const char *fp12, char *fingerprint, char *version,
		    struct errbuf *e);

/* The MANIFEST header of releases/<fp12> without checking files (status
 * listing): version (65 bytes) and fingerprint (65 bytes, may be NULL). */
int release_read_version(const struct layout *l, const char *fp12, char *version, char *fingerprint,
			 struct errbuf *e);

struct manifest;
/* Read and parse releases/<fp12>/MANIFEST (its hash must start with fp12);
 * *m is the caller's (manifest_free), fingerprint gets the 64 hex digits.
 * Files are not checked (release_recheck does that). */
int release_read_manifest(const struct layout *l, const char *fp12, struct manifest **m,
			  char fingerprint[65], struct errbuf *e);

/* Copy the regular file src to dst with mode, atomically, only when the
 * bytes or the mode differ (then *changed is set); dst's directory is
 * created (0755) if missing.  At most 1 MiB. */
int release_copy_if_different(const char *src, const char *dst, mode_t mode, bool *changed,
			      struct errbuf *e);

/* Remove a directory tree (no symlink is followed; a missing path is not an
 * error). */
int release_rmtree(const char *path, struct errbuf *e);

/* §14.3 step 1, the /opt/agentd part: remove releases/ *.partial,
 * releases/.incoming/ *, current.tmp.*, bin/ *.tmp.*.  *removed (may be
 * NULL) gets the number of entries removed. */
int release_cleanup_leftovers(const struct layout *l, size_t *removed, struct errbuf *e);

#endif
