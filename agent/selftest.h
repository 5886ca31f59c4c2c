#ifndef SELFTEST_H
#define SELFTEST_H
/*
 * `agentd self-test` (spec bundle-install-update.md §10.4): the updater runs
 * a new release's agentd with `self-test` before switching to it and relies
 * only on the exit status.  The checks prove that this binary works on this
 * host: its crypto, JSON, platform, and that the configuration it will run
 * with can be read.  Nothing is written.
 *
 * Failures are things that make the release unusable here (the update is
 * then refused); warnings are host configuration an operator should fix
 * but that an older release would trip over just the same.
 */
#include "err.h"

#include <stdbool.h>

struct selftest_config {
	const char *runtime_env; /* DIR/etc/agentd/runtime.env */
	const char *trusted;     /* DIR/etc/agentd/trusted.pem */
	const char *calib;       /* the calibration file */
	const char *channel_url; /* "" when no channel is configured */
	const char *ca_file;     /* AGENTD_CA_FILE under DIR, or NULL */
};

enum selftest_result { SELFTEST_OK, SELFTEST_WARN, SELFTEST_FAIL, SELFTEST_SKIP };

/* Called once per check with its name and, unless OK, a reason. */
typedef void selftest_report_fn(void *ctx, const char *check, enum selftest_result r,
				const char *reason);

/* Run every check; returns the number of failed checks. */
int selftest_run(const struct selftest_config *c, selftest_report_fn *report, void *ctx);

#endif
