#ifndef SCAN_DYN_H
#define SCAN_DYN_H
/*
 * `agentd scan`'s use of the rate controller (scan.md §12.3, §2.3 row 9):
 * instance detection, policy resolution and its warnings in pre-flight, and
 * the dynamic single-NIC mode (controller loop + live window runner).
 */
#include <stdbool.h>

#include "engine.h"
#include "err.h"
#include "inst_detect.h"
#include "rate_env.h"

struct scan_dyn_prep {
	struct rate_warnings w;
	struct inst_cache inst;
	const struct inst_result *ir; /* NULL until detected */
	struct rate_resolved resolved;
	bool resolved_ok;
};

/* Pre-flight row 9 and the controller's warning lines (printed to err_fd).
 * Runs instance detection when the mode needs it (dynamic, or the multi-NIC
 * parent).  -1 with e = "agentd: invalid rate policy: ..." (exit 2). */
int scan_dyn_preflight(struct scan_ctx *ctx, const char *const *envp, bool multi,
		       struct scan_dyn_prep *prep, int err_fd, struct errbuf *e);
/* The detected type ("" none) and source name, detecting once if needed. */
const struct inst_result *scan_dyn_instance(struct scan_dyn_prep *prep, const char *const *envp);

/* §12.3: the dynamic mode; returns the process exit code. */
int scan_dyn_main(struct scan_ctx *ctx, struct scan_dyn_prep *prep, const char *root, int out_fd,
		  int err_fd);
void scan_dyn_prep_free(struct scan_dyn_prep *prep);

#endif
