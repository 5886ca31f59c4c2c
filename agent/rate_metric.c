#include "rate_metric.h"

#include <errno.h>

static int emit(const struct events_sink *s, const char *name, struct json_value *fields, int rc,
		struct errbuf *e)
{
	if (fields == NULL || rc != 0) {
		json_free(fields);
		err_set(e, "metric %s: out of memory", name);
		errno = ENOMEM;
		return -1;
	}
	if (s != NULL)
		rc = events_metric(s, name, fields, e);
	json_free(fields);
	return rc;
}

struct json_value *rate_metric_adjustment_fields(const struct rate_policy *p,
						 const struct rate_report *r, const char *interface)
{
	struct json_value *o = json_new_object();
	int rc = 0;

	rc |= json_object_set_int(o, "window", r->index);
	rc |= json_object_set_int(o, "set_rate", r->set_rate);
	rc |= json_object_set_int(o, "achieved_pps", rate_d2i(rate_achieved_pps(&r->m)));
	rc |= json_object_set_int(o, "tx_dropped_delta", r->m.tx_dropped_delta);
	rc |= json_object_set_int(o, "heartbeat_max_latency_ms", r->m.heartbeat_max_latency_ms);
	rc |= json_object_set_bool(o, "scanner_finished_naturally",
				   r->m.scanner_finished_naturally);
	rc |= json_object_set_string(o, "classification", rate_class_name(r->classification));
	rc |= json_object_set_int(o, "next_rate", r->next_rate);
	rc |= json_object_set_string(o, "interface",
				     interface != NULL && interface[0] != '\0' ? interface : NULL);
	rc |= json_object_set_string(o, "measurement_source",
				     rate_msource_name(r->m.measurement_source));
	if (r->has_load) {
		rc |= json_object_set_double(o, "loadavg_per_vcpu",
					     events_round3(rate_load_per_vcpu(&r->load)));
		rc |= json_object_set_int(o, "vcpu_count", r->load.vcpu_count);
		if (p->cpu_signal == RATE_CPU_PSI) {
			rc |= json_object_set_string(o, "cpu_signal",
						     r->load.has_psi ? "psi" : "loadavg");
			if (r->load.has_psi)
				rc |= json_object_set_double(o, "cpu_psi_some_avg10",
							     r->load.psi_some_avg10);
		}
	}
	if (rc != 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

int rate_metric_adjustment(const struct events_sink *s, const struct rate_policy *p,
			   const struct rate_report *r, const char *interface, struct errbuf *e)
{
	return emit(s, "rate_adjustment", rate_metric_adjustment_fields(p, r, interface), 0, e);
}

int rate_metric_persist_failed(const struct events_sink *s, const char *interface,
			       const char *error, struct errbuf *e)
{
	struct json_value *o = json_new_object();
	int rc = 0;

	rc |= json_object_set_string(o, "interface", interface);
	rc |= json_object_set_string(o, "error", error);
	return emit(s, "calibration_persist_failed", o, rc, e);
}

int rate_metric_lock_timeout(const struct events_sink *s, const char *interface, const char *path,
			     int64_t waited_ms, struct errbuf *e)
{
	struct json_value *o = json_new_object();
	int rc = 0;

	rc |= json_object_set_string(o, "interface", interface);
	rc |= json_object_set_string(o, "path", path);
	rc |= json_object_set_int(o, "waited_ms", waited_ms);
	return emit(s, "calibration_lock_timeout", o, rc, e);
}

struct json_value *rate_metric_started_fields(const struct rate_started *st)
{
	const struct rate_policy *p = st->policy;
	struct json_value *o = json_new_object();
	int rc = 0;

	rc |= json_object_set_string(o, "interface", st->interface);
	rc |= json_object_set_string(o, "instance_type", st->instance_type);
	rc |= json_object_set_int(o, "starting_rate", st->starting_rate);
	rc |= json_object_set_int(o, "fallback_rate", st->fallback_rate);
	rc |= json_object_set_int(o, "policy_floor", p->floor);
	rc |= json_object_set_int(o, "policy_ceiling", p->ceiling);
	rc |= json_object_set_int(o, "additive_step", p->additive_step);
	rc |= json_object_set_double(o, "multiplicative_factor", p->multiplicative_factor);
	rc |= json_object_set_number(o, "window_seconds", p->window_seconds);
	rc |= json_object_set_int(o, "heartbeat_threshold_ms", p->heartbeat_latency_threshold_ms);
	rc |= json_object_set_double(o, "cpu_load_threshold", p->cpu_load_threshold);
	rc |= json_object_set_double(o, "drop_ratio_threshold", p->drop_ratio_threshold);
	rc |= json_object_set_int(o, "vcpu_count", st->vcpu_count);
	rc |= json_object_set_string(o, "calibration_path", st->calibration_path);
	rc |= json_object_set_double(o, "achieved_ratio_floor", p->achieved_ratio_floor);
	rc |= json_object_set_string(o, "cpu_signal", rate_cpu_signal_name(p->cpu_signal));
	rc |= json_object_set_string(o, "starved_policy",
				     rate_starved_policy_name(p->starved_policy));
	rc |= json_object_set_string(o, "instance_type_source", st->instance_type_source);
	rc |= json_object_set_string(o, "starting_rate_source", st->starting_rate_source);
	if (rc != 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

int rate_metric_started(const struct events_sink *s, const struct rate_started *st,
			struct errbuf *e)
{
	return emit(s, "controller_started", rate_metric_started_fields(st), 0, e);
}

struct json_value *rate_metric_policy_object(const struct rate_policy *p)
{
	struct json_value *o = json_new_object();
	int rc = 0;

	rc |= json_object_set_int(o, "floor", p->floor);
	rc |= json_object_set_int(o, "ceiling", p->ceiling);
	rc |= json_object_set_int(o, "additive_step", p->additive_step);
	rc |= json_object_set_double(o, "multiplicative_factor", p->multiplicative_factor);
	rc |= json_object_set_double(o, "achieved_ratio_floor", p->achieved_ratio_floor);
	rc |= json_object_set_int(o, "heartbeat_latency_threshold_ms",
				  p->heartbeat_latency_threshold_ms);
	rc |= json_object_set_number(o, "window_seconds", p->window_seconds);
	rc |= json_object_set_double(o, "cpu_load_threshold", p->cpu_load_threshold);
	rc |= json_object_set_double(o, "drop_ratio_threshold", p->drop_ratio_threshold);
	rc |= json_object_set_string(o, "cpu_signal", rate_cpu_signal_name(p->cpu_signal));
	rc |= json_object_set_double(o, "cpu_psi_threshold", p->cpu_psi_threshold);
	rc |= json_object_set_string(o, "starved_policy",
				     rate_starved_policy_name(p->starved_policy));
	if (rc != 0) {
		json_free(o);
		return NULL;
	}
	return o;
}
