#ifndef RUNNER_LIVE_H
#define RUNNER_LIVE_H
/*
 * The live window runner of the anyscan engine (rate-controller.md §14,
 * scan.md §11.4): one scanner process per window, driven by the controller
 * loop through the rate_run_fn interface of rate_ctl.h.
 */
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "rate_ctl.h"
#include "rate_jitter.h"
#include "scan.h"

struct runner_live {
	struct scan_ctx *ctx;
	const char *iface;      /* NIC whose counters are read; NULL: none ((0, 0)) */
	const char *nic_root;   /* NULL: /sys/class/net */
	double grace;           /* g */
	const char *checkpoint; /* --checkpoint-file of every window (§12.4) */
	struct rate_jitter jitter;
	struct scan_tail err; /* the last window's stderr */
	struct scan_progress_file pf;
	int64_t windows;
};

/* Set up r (zeroed first); -1 if the progress paths are too long. */
int runner_live_init(struct runner_live *r, struct scan_ctx *ctx, const char *iface, double grace,
		     const char *checkpoint);
/* rate_run_fn: ctx is a struct runner_live. */
enum rate_run_status runner_live_run(void *ctx, int64_t rate, double window_seconds,
				     bool first_window, struct rate_window_out *out);
void runner_live_free(struct runner_live *r);

#endif
