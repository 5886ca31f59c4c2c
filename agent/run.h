#ifndef RUN_H
#define RUN_H
/*
 * `agentd run`: the long-running service loop (spec bundle-install-update.md
 * §15.2, §22).  One poll(2) loop on a signalfd with the timeout of the
 * nearest CLOCK_MONOTONIC deadline:
 *
 *   health  health.json (and agentd.prom when a textfile directory is set)
 *           at start (status "starting") and every health_interval_s;
 *   poll    the channel poller, first after U[30 s, P], then P x U(0.8, 1.2);
 *   recheck an offer waiting for the scan lock, every 60 s.
 *
 * Signals arrive on the caller's signalfd: SIGTERM and SIGINT end the loop
 * (0); SIGHUP writes health now and polls the channel now.
 */
#include "err.h"
#include "events.h"
#include "run_channel.h"
#include "run_health.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct run_config {
	const char *health_path;  /* DIR/run/agentd/health.json */
	const char *textfile_dir; /* NULL: no agentd.prom */
	const char *status_path;  /* remote-update.status (for metrics) */
	const char *calib_path;   /* rate-calibration.json (for metrics) */
	int health_interval_s;    /* AGENTD_HEALTH_INTERVAL_SECONDS */
	const char *fingerprint;  /* §22.1 */
	const char *bundle_name;
	const char *version;
	const char *platform;
	bool channel_on;  /* AGENTD_CHANNEL_URL set and updates enabled */
	int poll_seconds; /* P */
	struct run_channel_config channel;
	const struct events_sink *log; /* warnings and metric lines */
	int sigfd;                     /* signalfd for SIGTERM, SIGINT, SIGHUP */
};

/* Random factor helpers (exposed for tests): the delay of the first poll
 * in ms, uniform in [30 s, P]; the following ones, P x U(0.8, 1.2).  r is a
 * uniform 32-bit random value. */
int64_t run_first_poll_ms(int poll_seconds, uint32_t r);
int64_t run_next_poll_ms(int poll_seconds, uint32_t r);

/* Run until SIGTERM or SIGINT.  0 on a clean stop, -1 with e when the
 * health file cannot be written at start (nothing could watch us). */
int run_loop(const struct run_config *c, struct errbuf *e);

#endif
