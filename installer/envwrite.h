#ifndef ENVWRITE_H
#define ENVWRITE_H
/*
 * The one locked runtime.env write of install and update (spec
 * bundle-install-update.md §9.1) and of `env defaults` (§8.7): gathers the
 * facts (release files, the current file, host facts §9.6 and probes §9.3
 * when they run), builds the batch with envplan and applies it with
 * envfile_update (§8.4).  The summary lines (§8.6) and the probe lines go
 * to a report buffer.  The caller hands in everything taken from the
 * environment.
 */
#include "buf.h"
#include "envfile.h"
#include "err.h"
#include "layout.h"

#include <stdbool.h>
#include <stddef.h>

struct envwrite_args {
	const char *file;        /* runtime.env on disk */
	const char *rel_dir;     /* the release on disk (site env, template, scanner); NULL: none */
	const char *bundle_name; /* NULL: no installer-owned keys (env defaults) */
	const char *version;     /* for "# added by agent-install <version>" */
	const struct envfile_edit *sets; /* --set pairs (step 1) */
	size_t nsets;
	bool probes;            /* host facts and probes run (DIR is / or --host-probes) */
	const char *probe_root; /* "/" or AGENT_INSTALL_PROBE_ROOT (§24.2) */
	const char *path_env;   /* PATH, for ldconfig */
	bool multi_nic_env_off; /* ANYSCAN_DISABLE_MULTI_NIC_AUTO true-ish in the environment */
	bool dry_run;           /* report only ("would add ...") */
	bool bare;              /* no "runtime.env FILE:" header line in the report */
};

/* Apply.  l maps host paths of SCANNER_BIN to the root.  *changed: the file
 * was (or would be) written; *has_cr: the file holds CR bytes (the caller
 * warns).  0 or -1 (e; errno from envfile_update, e.g. ETIMEDOUT). */
int envwrite_apply(const struct layout *l, const struct envwrite_args *a, bool *changed,
		   bool *has_cr, struct buf *report, struct errbuf *e);

/* AGENT_INSTALL_PROBES=false in sets or in the file pins the probe keys. */
bool envwrite_probes_pinned(const struct envfile_edit *sets, size_t nsets, const char *cur,
			    size_t cur_len);

#endif
