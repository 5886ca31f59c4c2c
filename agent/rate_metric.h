#ifndef RATE_METRIC_H
#define RATE_METRIC_H
/*
 * The controller's metric lines (rate-controller.md §16.3), byte-compatible
 * with the previous implementation:
 *   [anyscan-rate-controller] metric={"achieved_pps": ..., "event": "rate_adjustment", ...}
 * Built as canonical JSON (lib/json) and handed to an events sink (one
 * write(2) per line for fd sinks).
 */
#include "err.h"
#include "events.h"
#include "json.h"
#include "rate.h"
#include "rate_ctl.h"

#include <stdint.h>

/* rate_adjustment payload for one report (without "event"); caller frees. */
struct json_value *rate_metric_adjustment_fields(const struct rate_policy *p,
						 const struct rate_report *r,
						 const char *interface);
int rate_metric_adjustment(const struct events_sink *s, const struct rate_policy *p,
			   const struct rate_report *r, const char *interface, struct errbuf *e);
int rate_metric_persist_failed(const struct events_sink *s, const char *interface,
			       const char *error, struct errbuf *e);
int rate_metric_lock_timeout(const struct events_sink *s, const char *interface, const char *path,
			     int64_t waited_ms, struct errbuf *e);

/* controller_started (§16.3 item 4). */
struct rate_started {
	const struct rate_policy *policy;
	const char *interface;            /* NULL: null */
	const char *instance_type;        /* NULL: null */
	const char *instance_type_source; /* env, dmi, imds, none */
	int64_t starting_rate;
	const char
		*starting_rate_source; /* calibration, invocation, env, instance-table, default */
	int64_t fallback_rate;
	int vcpu_count;
	const char *calibration_path; /* NULL: null */
};
struct json_value *rate_metric_started_fields(const struct rate_started *st);
int rate_metric_started(const struct events_sink *s, const struct rate_started *st,
			struct errbuf *e);

/* The policy as the object of `agentd rate policy` (§18.3). */
struct json_value *rate_metric_policy_object(const struct rate_policy *p);

#endif
