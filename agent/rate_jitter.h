#ifndef RATE_JITTER_H
#define RATE_JITTER_H
/*
 * Heartbeat tracker (rate-controller.md §12): the largest wake-to-wake gap
 * of the wait loop's periodic timer since the last reset.  Pure: the caller
 * passes monotonic timestamps (seconds); the live wait loop calls
 * rate_jitter_tick() on each timer expiry only.
 */
#include "err.h"

#include <stdint.h>

#define RATE_JITTER_INTERVAL_SECONDS 0.05 /* §1 JITTER_INTERVAL */

struct rate_jitter {
	double interval_seconds;
	double last_tick;
	double max_gap;
};

/* interval_seconds must be > 0 ("interval_seconds must be > 0"). */
int rate_jitter_init(struct rate_jitter *j, double interval_seconds, struct errbuf *e);
/* Window start: last_tick = now, max_gap = 0. */
void rate_jitter_reset(struct rate_jitter *j, double now);
/* A timer expiry at now. */
void rate_jitter_tick(struct rate_jitter *j, double now);
/* truncate(max_gap seconds * 1000). */
int64_t rate_jitter_max_gap_ms(const struct rate_jitter *j);

#endif
