#ifndef BUILD_H
#define BUILD_H
/*
 * agent-bundle build (spec bundle-install-update.md §6.1): audit the inputs,
 * hash them into a MANIFEST, name the bundle after the fingerprint, write the
 * reproducible archive (§3), its .sha256 and, with a key, its .sig (§4), all
 * through lib/fsutil's atomic writes.
 */
#include "audit.h"
#include "bname.h"
#include "buf.h"
#include "err.h"
#include "sig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct build_opts {
	const char *version;   /* §13.3 grammar */
	const char *platform;  /* normalised key */
	const char *input_dir; /* may be NULL when every input is a --file */
	const char *site_env;  /* env/runtime.env, may be NULL */
	const char *out_dir;
	const struct audit_override *files; /* --file BUNDLEPATH=SRC */
	size_t nfiles;
	uint64_t sde;
	bool strict;
	struct sig_key *key; /* sign with it, may be NULL */
	audit_warn_fn *warn;
	void *warn_ctx;
};

struct build_result {
	char name[BNAME_NAME_MAX + 1];
	char fingerprint[65];
	uint64_t files, bytes; /* MANIFEST file lines and their total size */
};

/* Build.  -1 with *usage set for a usage error (e); -1 with problem lines
 * appended to problems (one per line) for input problems (§6.1: all are
 * reported together); -1 with e otherwise. */
int build_run(const struct build_opts *o, struct build_result *r, struct buf *problems, bool *usage,
	      struct errbuf *e);

#endif
