#include "rate_jitter.h"

#include <math.h>

int rate_jitter_init(struct rate_jitter *j, double interval_seconds, struct errbuf *e)
{
	if (!(interval_seconds > 0.0) || !isfinite(interval_seconds)) {
		err_set(e, "interval_seconds must be > 0");
		return -1;
	}
	j->interval_seconds = interval_seconds;
	j->last_tick = 0.0;
	j->max_gap = 0.0;
	return 0;
}

void rate_jitter_reset(struct rate_jitter *j, double now)
{
	j->last_tick = now;
	j->max_gap = 0.0;
}

void rate_jitter_tick(struct rate_jitter *j, double now)
{
	double gap = now - j->last_tick;

	j->last_tick = now;
	if (gap > j->max_gap)
		j->max_gap = gap;
}

int64_t rate_jitter_max_gap_ms(const struct rate_jitter *j)
{
	double ms = j->max_gap * 1000.0;

	if (!(ms > 0.0))
		return 0;
	if (ms >= 9.2e18)
		return INT64_MAX;
	return (int64_t)ms;
}
