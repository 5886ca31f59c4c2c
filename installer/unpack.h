#ifndef UNPACK_H
#define UNPACK_H
/*
 * Extraction of a verified bundle into /opt/agentd/releases/<fp12> (spec
 * bundle-install-update.md §5.5): into a fresh <fp12>.partial (0700), by a
 * second streaming pass of the verifier whose hooks write the files, so each
 * file's size and hash are checked again while writing.  Files are created
 * O_EXCL|O_NOFOLLOW with the MANIFEST mode (0755/0644, independent of the
 * umask), fsynced, then every directory is chmod 0755 and fsynced, the
 * directory is renamed to <fp12> and releases/ is fsynced.
 *
 * Paths were checked by the verifier (charset, no "..", no absolute path,
 * regular files and directories only) and are created by this code inside a
 * directory only root can write, so no link can redirect a write; libarchive
 * never writes to disk here.
 */
#include "err.h"
#include "layout.h"
#include "verify.h"

#include <stdbool.h>
#include <stdint.h>

/* Unpack the bundle at path (already verified with o; o->hooks is replaced)
 * as releases/<fp12>.  If releases/<fp12> exists it is re-checked (§16.2):
 * reused when it passes (*reused true), else renamed <fp12>.bad.<now> and
 * unpacked again.  r gets the second pass's result (caller frees).  On
 * failure the partial directory is removed and r->code says why
 * (entry-sha256 when the file changed between the passes). */
int unpack_release(const struct layout *l, const struct verify_opts *o, const char *fp12,
		   int64_t now, bool *reused, struct verify_result *r, struct errbuf *e);

#endif
