#ifndef ENVPLAN_H
#define ENVPLAN_H
/*
 * What install and update write into runtime.env (spec
 * bundle-install-update.md §9): the ordered batch of edits for one locked
 * write (§9.1) -- --set pairs, the installer-owned keys (§9.2), site
 * defaults from the release's env/runtime.env (§9.4) and computed defaults
 * (§9.5), the last two if absent or empty and preceded by the comment
 * "# added by agent-install <version>".  Pure: the caller gathers the facts.
 *
 * Probe keys (§9.3) come third when the caller ran the probes and they are
 * not pinned (AGENT_INSTALL_PROBES=false).
 */
#include "envfile.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

/* True for AGENT_BUNDLE_NAME, AGENT_REMOTE_UPDATE_REQUEST_FILE,
 * AGENT_REMOTE_UPDATE_STATUS_FILE (§9.2: --set of these is a usage error). */
bool envplan_is_owned(const char *key);

struct envplan_in {
	const char *bundle_name;         /* NULL: no installer-owned keys (env defaults) */
	const struct envfile_edit *sets; /* --set pairs (ENVFILE_UPSERT), already validated */
	size_t nsets;
	bool probes; /* write the three probe keys (always, step 3) */
	bool xdp, pfring, dpdk;
	const char *site; /* the release's env/runtime.env, NULL when it has none */
	size_t site_len;
	bool release_has_scanner; /* the release has bin/scanner */
	bool scanner_available;   /* §9.5 "scanner available" */
	bool host_facts;          /* §9.5 "host facts" available: the fields below */
	unsigned cpus;
	const char *default_iface; /* NULL or "" when none */
	const char *const *ifaces; /* interface list (§9.6), default first */
	size_t nifaces;
	bool multi_nic_auto_disabled;
	/* current file content (after --set), for "ANYSCAN_*_INTERFACE absent" */
	const char *current;
	size_t current_len;
};

struct envplan;

/* True for the three probe keys of §9.3. */
bool envplan_is_probe(const char *key);

/* Build the batch.  NULL with e when out of memory or the site env holds an
 * invalid line (it was checked at build time, §6.1). */
struct envplan *envplan_build(const struct envplan_in *in, struct errbuf *e);
void envplan_free(struct envplan *p);
const struct envfile_edit *envplan_edits(const struct envplan *p, size_t *n);

#endif
