#ifndef TXN_H
#define TXN_H
/*
 * The pieces of a switch between installed releases, shared by rollback,
 * the revert of §13.6 and recovery (§14.3): what a release is (from its
 * MANIFEST), switching the service files + `current` + bin links, the
 * runtime.env owned key and the copies under /etc/agentd, and GC.
 */
#include "err.h"
#include "installed.h"
#include "layout.h"
#include "service.h"

#include <stdbool.h>

struct txn_release {
	char fp12[13];
	char fingerprint[65];
	char version[65];
	char platform[65];
	char bundle_name[256]; /* derived from the MANIFEST header (§1.4) */
};

/* Describe releases/<fp12> from its MANIFEST (name rebuilt per §1.4). */
int txn_release_info(const struct layout *l, const char *fp12, struct txn_release *out,
		     struct errbuf *e);

/* Switch to fp12: service files from the release (svc may be NULL), then
 * `current`, then the bin links.  *svc_changed (may be NULL) tells whether
 * a service file changed. */
int txn_switch(const struct layout *l, struct service *svc, const char *textfile_dir,
	       const char *fp12, bool *svc_changed, struct errbuf *e);

/* AGENT_BUNDLE_NAME in runtime.env (created from the release's template when
 * missing), /etc/agentd/runtime.env.template and runtime.env.bundle copied
 * from the release (the latter removed when the release has none). */
int txn_apply_env(const struct layout *l, const struct txn_release *r, struct errbuf *e);

/* installed.json after switching from `from` (the release that was current;
 * NULL: none) to `to`: version, name, fingerprint and platform of `to`,
 * installed_at now, previous = from (when it differs), history push.
 * signature, key_id, service, failed are kept from *in. */
void txn_installed_switch(struct installed *in, const struct txn_release *from,
			  const struct txn_release *to, const char *now);

/* §13.9 with the kept set built from *in and `current`.  Failures are
 * counted (warnings), never fatal. */
void txn_gc(const struct layout *l, const struct installed *in, const char *current_fp12,
	    unsigned keep, size_t *failures, struct errbuf *e);

/* Restart agentd through svc and run the health check (§13.5) for
 * fingerprint with the settings' timeout and interval.  *restarted tells
 * whether anything was restarted (false for backends that manage nothing,
 * §11.5: then 0 without a check).  journal (may be NULL) gets phase
 * restarted with restart_at written before the restart.  -1 with e = the
 * reason ("restart failed: ...", "timed out after 120s (...)"). */
struct health_clock;
struct journal;
int txn_restart_and_check(const struct layout *l, struct service *svc, const char *fingerprint,
			  int timeout, int interval, const struct health_clock *clk,
			  struct journal *journal, bool *restarted, struct errbuf *e);

#endif
