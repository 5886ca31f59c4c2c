#include "rate.h"

#include <math.h>
#include <stddef.h>

static const struct {
	const char *name;
	const char *env;
} fields[RATE_F_COUNT] = {
	[RATE_F_FLOOR] = {"floor", "ANYSCAN_RATE_FLOOR"},
	[RATE_F_CEILING] = {"ceiling", "ANYSCAN_RATE_CEILING"},
	[RATE_F_ADDITIVE_STEP] = {"additive_step", "ANYSCAN_RATE_ADDITIVE_STEP"},
	[RATE_F_MULTIPLICATIVE_FACTOR] = {"multiplicative_factor",
					  "ANYSCAN_RATE_MULTIPLICATIVE_FACTOR"},
	[RATE_F_ACHIEVED_RATIO_FLOOR] = {"achieved_ratio_floor",
					 "ANYSCAN_RATE_ACHIEVED_RATIO_FLOOR"},
	[RATE_F_HEARTBEAT_MS] = {"heartbeat_latency_threshold_ms",
				 "ANYSCAN_HEARTBEAT_LATENCY_THRESHOLD_MS"},
	[RATE_F_WINDOW_SECONDS] = {"window_seconds", "ANYSCAN_RATE_WINDOW_SECONDS"},
	[RATE_F_CPU_LOAD_THRESHOLD] = {"cpu_load_threshold", "ANYSCAN_CPU_LOAD_THRESHOLD"},
	[RATE_F_DROP_RATIO_THRESHOLD] = {"drop_ratio_threshold", "ANYSCAN_DROP_RATIO_THRESHOLD"},
	[RATE_F_CPU_SIGNAL] = {"cpu_signal", "ANYSCAN_CPU_SIGNAL"},
	[RATE_F_CPU_PSI_THRESHOLD] = {"cpu_psi_threshold", "ANYSCAN_CPU_PSI_THRESHOLD"},
	[RATE_F_STARVED_POLICY] = {"starved_policy", "ANYSCAN_RATE_STARVED_POLICY"},
};

const char *rate_field_name(enum rate_field f)
{
	return (unsigned)f < RATE_F_COUNT ? fields[f].name : "?";
}

const char *rate_field_env(enum rate_field f)
{
	return (unsigned)f < RATE_F_COUNT ? fields[f].env : "?";
}

void rate_policy_default(struct rate_policy *p)
{
	p->floor = RATE_DEFAULT_FLOOR;
	p->ceiling = RATE_DEFAULT_CEILING;
	p->additive_step = RATE_DEFAULT_ADDITIVE_STEP;
	p->multiplicative_factor = RATE_DEFAULT_MULTIPLICATIVE_FACTOR;
	p->achieved_ratio_floor = RATE_DEFAULT_ACHIEVED_RATIO_FLOOR;
	p->heartbeat_latency_threshold_ms = RATE_DEFAULT_HEARTBEAT_LATENCY_THRESHOLD_MS;
	p->window_seconds = RATE_DEFAULT_WINDOW_SECONDS;
	p->cpu_load_threshold = RATE_DEFAULT_CPU_LOAD_THRESHOLD;
	p->drop_ratio_threshold = RATE_DEFAULT_DROP_RATIO_THRESHOLD;
	p->cpu_signal = RATE_CPU_LOADAVG;
	p->cpu_psi_threshold = RATE_DEFAULT_CPU_PSI_THRESHOLD;
	p->starved_policy = RATE_STARVED_HALVE;
}

/* Every check is written as "fail unless the good condition holds", so a NaN
 * (for which every comparison is false) fails it. */
const char *rate_policy_validate(const struct rate_policy *p)
{
	if (!(p->floor > 0))
		return "floor must be > 0";
	if (!(p->ceiling >= p->floor))
		return "ceiling must be >= floor";
	if (!(p->additive_step > 0))
		return "additive_step must be > 0";
	if (!(p->multiplicative_factor > 0.0 && p->multiplicative_factor < 1.0))
		return "multiplicative_factor must be in (0, 1)";
	if (!(p->achieved_ratio_floor > 0.0 && p->achieved_ratio_floor <= 1.0))
		return "achieved_ratio_floor must be in (0, 1]";
	if (!(p->heartbeat_latency_threshold_ms > 0))
		return "heartbeat_latency_threshold_ms must be > 0";
	if (!(p->window_seconds > 0.0 && isfinite(p->window_seconds)))
		return "window_seconds must be > 0";
	if (!(p->cpu_load_threshold > 0.0 && isfinite(p->cpu_load_threshold)))
		return "cpu_load_threshold must be > 0";
	if (!(p->drop_ratio_threshold >= 0.0 && p->drop_ratio_threshold <= 1.0))
		return "drop_ratio_threshold must be in [0, 1]";
	if (!(p->cpu_psi_threshold > 0.0 && p->cpu_psi_threshold <= 100.0))
		return "cpu_psi_threshold must be in (0, 100]";
	return NULL;
}

bool rate_policy_equal(const struct rate_policy *a, const struct rate_policy *b)
{
	return a->floor == b->floor && a->ceiling == b->ceiling &&
	       a->additive_step == b->additive_step &&
	       a->multiplicative_factor == b->multiplicative_factor &&
	       a->achieved_ratio_floor == b->achieved_ratio_floor &&
	       a->heartbeat_latency_threshold_ms == b->heartbeat_latency_threshold_ms &&
	       a->window_seconds == b->window_seconds &&
	       a->cpu_load_threshold == b->cpu_load_threshold &&
	       a->drop_ratio_threshold == b->drop_ratio_threshold &&
	       a->cpu_signal == b->cpu_signal && a->cpu_psi_threshold == b->cpu_psi_threshold &&
	       a->starved_policy == b->starved_policy;
}

int64_t rate_clamp(const struct rate_policy *p, int64_t rate)
{
	if (rate < p->floor)
		return p->floor;
	if (rate > p->ceiling)
		return p->ceiling;
	return rate;
}

int64_t rate_d2i(double v)
{
	/* 2^63 is exactly representable; anything >= it saturates. */
	if (isnan(v))
		return 0;
	if (v >= 9223372036854775808.0)
		return INT64_MAX;
	if (v <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)v; /* C conversion truncates toward zero */
}

int64_t rate_add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

double rate_achieved_pps(const struct rate_measurement *m)
{
	if (!(m->elapsed_seconds > 0.0))
		return 0.0;
	return (double)m->tx_packets_delta / m->elapsed_seconds;
}

double rate_load_per_vcpu(const struct rate_load *l)
{
	if (l->vcpu_count <= 0)
		return l->load_average_1min;
	return l->load_average_1min / (double)l->vcpu_count;
}

bool rate_is_starved(const struct rate_policy *p, const struct rate_measurement *m)
{
	if (m->scanner_finished_naturally)
		return false;
	return rate_achieved_pps(m) + 1e-9 < p->achieved_ratio_floor * (double)m->set_rate;
}

bool rate_cpu_saturated(const struct rate_policy *p, const struct rate_load *load, bool *psi_used)
{
	if (psi_used != NULL)
		*psi_used = false;
	if (load == NULL)
		return false;
	if (p->cpu_signal == RATE_CPU_PSI && load->has_psi) {
		if (psi_used != NULL)
			*psi_used = true;
		return load->psi_some_avg10 > p->cpu_psi_threshold;
	}
	return rate_load_per_vcpu(load) > p->cpu_load_threshold;
}

enum rate_class rate_classify(const struct rate_policy *p, const struct rate_measurement *m,
			      const struct rate_load *load)
{
	bool drops = m->tx_dropped_delta > 0;
	bool starved = rate_is_starved(p, m);
	bool hb = m->heartbeat_max_latency_ms > p->heartbeat_latency_threshold_ms;
	bool cpu = rate_cpu_saturated(p, load, NULL);
	bool cpu_pressure, net_pressure;

	if (p->starved_policy == RATE_STARVED_TRACK && starved && !drops && !hb && !cpu)
		return RATE_SLIP_STARVED;
	if (load == NULL)
		return (drops || starved || hb) ? RATE_SLIP_NETWORK : RATE_CLEAN;
	cpu_pressure = cpu && hb;
	net_pressure = drops || starved || (hb && !cpu);
	if (!cpu_pressure && !net_pressure)
		return RATE_CLEAN;
	if (cpu_pressure && !net_pressure)
		return RATE_SLIP_CPU;
	if (!cpu_pressure)
		return RATE_SLIP_NETWORK;
	{
		double ratio = 0.0;
		if (m->tx_packets_delta > 0)
			ratio = (double)m->tx_dropped_delta / (double)m->tx_packets_delta;
		return ratio > p->drop_ratio_threshold ? RATE_SLIP_NETWORK : RATE_SLIP_CPU;
	}
}

int64_t rate_next(const struct rate_policy *p, int64_t current_rate,
		  const struct rate_measurement *m, const struct rate_load *load,
		  enum rate_class *cls)
{
	enum rate_class c = rate_classify(p, m, load);
	int64_t proposed = current_rate;

	switch (c) {
	case RATE_CLEAN:
		proposed = rate_add_sat(current_rate, p->additive_step);
		break;
	case RATE_SLIP_CPU:
		proposed = current_rate;
		break;
	case RATE_SLIP_NETWORK:
		proposed = rate_d2i((double)current_rate * p->multiplicative_factor);
		break;
	case RATE_SLIP_STARVED:
		proposed = rate_d2i(rate_achieved_pps(m));
		break;
	}
	if (cls != NULL)
		*cls = c;
	return rate_clamp(p, proposed);
}

const char *rate_class_name(enum rate_class c)
{
	switch (c) {
	case RATE_CLEAN:
		return "clean";
	case RATE_SLIP_NETWORK:
		return "slip_network";
	case RATE_SLIP_CPU:
		return "slip_cpu";
	case RATE_SLIP_STARVED:
		return "slip_starved";
	}
	return "?";
}

const char *rate_msource_name(enum rate_msource s)
{
	return s == RATE_MSOURCE_SCANNER ? "scanner" : "nic";
}

const char *rate_cpu_signal_name(enum rate_cpu_signal s)
{
	return s == RATE_CPU_PSI ? "psi" : "loadavg";
}

const char *rate_starved_policy_name(enum rate_starved_policy s)
{
	return s == RATE_STARVED_TRACK ? "track" : "halve";
}
