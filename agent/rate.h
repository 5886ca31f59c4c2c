#ifndef RATE_H
#define RATE_H
/*
 * AIMD rate policy, window measurement, classification and next rate
 * (rate-controller.md §1-§6).  Everything here is a pure function of its
 * arguments: no I/O, no environment, no globals.
 */
#include <stdbool.h>
#include <stdint.h>

/* §1 defaults */
#define RATE_DEFAULT_FLOOR 100000
#define RATE_DEFAULT_CEILING 4000000
#define RATE_DEFAULT_ADDITIVE_STEP 200000
#define RATE_DEFAULT_MULTIPLICATIVE_FACTOR 0.5
#define RATE_DEFAULT_ACHIEVED_RATIO_FLOOR 0.9
#define RATE_DEFAULT_HEARTBEAT_LATENCY_THRESHOLD_MS 5000
#define RATE_DEFAULT_WINDOW_SECONDS 30.0
#define RATE_DEFAULT_CPU_LOAD_THRESHOLD 0.8
#define RATE_DEFAULT_DROP_RATIO_THRESHOLD 0.001
#define RATE_DEFAULT_CPU_PSI_THRESHOLD 25.0
#define RATE_DEFAULT_FALLBACK_RATE 500000
#define RATE_METRIC_PREFIX "[anyscan-rate-controller]"

enum rate_cpu_signal { RATE_CPU_LOADAVG = 0, RATE_CPU_PSI };
enum rate_starved_policy { RATE_STARVED_HALVE = 0, RATE_STARVED_TRACK };

/* §2.1.  A plain value: copy it, change a field, validate the copy. */
struct rate_policy {
	int64_t floor;
	int64_t ceiling;
	int64_t additive_step;
	double multiplicative_factor;
	double achieved_ratio_floor;
	int64_t heartbeat_latency_threshold_ms;
	double window_seconds;
	double cpu_load_threshold;
	double drop_ratio_threshold;
	enum rate_cpu_signal cpu_signal;
	double cpu_psi_threshold;
	enum rate_starved_policy starved_policy;
};

enum rate_class { RATE_CLEAN = 0, RATE_SLIP_NETWORK, RATE_SLIP_CPU, RATE_SLIP_STARVED };
enum rate_msource { RATE_MSOURCE_NIC = 0, RATE_MSOURCE_SCANNER };

/* §3.1: one window. */
struct rate_measurement {
	int64_t set_rate;
	double elapsed_seconds;
	int64_t tx_packets_delta;         /* >= 0 */
	int64_t tx_dropped_delta;         /* >= 0 */
	int64_t heartbeat_max_latency_ms; /* >= 0 */
	bool scanner_finished_naturally;
	int scanner_exit_code; /* -N when killed by signal N */
	enum rate_msource measurement_source;
};

/* §3.2: a system-load sample taken after the window. */
struct rate_load {
	double load_average_1min; /* >= 0 */
	int vcpu_count;
	bool has_psi;
	double psi_some_avg10; /* percent, when has_psi */
};

/* The twelve fields of §2.1, in the order of that table (names as in
 * `agentd rate policy` output). */
enum rate_field {
	RATE_F_FLOOR = 0,
	RATE_F_CEILING,
	RATE_F_ADDITIVE_STEP,
	RATE_F_MULTIPLICATIVE_FACTOR,
	RATE_F_ACHIEVED_RATIO_FLOOR,
	RATE_F_HEARTBEAT_MS,
	RATE_F_WINDOW_SECONDS,
	RATE_F_CPU_LOAD_THRESHOLD,
	RATE_F_DROP_RATIO_THRESHOLD,
	RATE_F_CPU_SIGNAL,
	RATE_F_CPU_PSI_THRESHOLD,
	RATE_F_STARVED_POLICY,
	RATE_F_COUNT
};

/* Field name ("floor", "heartbeat_latency_threshold_ms", ...). */
const char *rate_field_name(enum rate_field f);
/* Environment variable of a field ("ANYSCAN_RATE_FLOOR", ...). */
const char *rate_field_env(enum rate_field f);

/* The default policy (§1, §2.1). */
void rate_policy_default(struct rate_policy *p);
/* §2.2: NULL when valid, else the message of the first failing check
 * (a static string). */
const char *rate_policy_validate(const struct rate_policy *p);
/* §2.3: every field equal (doubles compared exactly). */
bool rate_policy_equal(const struct rate_policy *a, const struct rate_policy *b);
/* §2.3 */
int64_t rate_clamp(const struct rate_policy *p, int64_t rate);

/* Saturating double -> int64 conversion, truncating toward zero (NaN -> 0). */
int64_t rate_d2i(double v);
/* Saturating int64 addition. */
int64_t rate_add_sat(int64_t a, int64_t b);

/* §3.1: tx_packets_delta / elapsed_seconds, 0.0 when elapsed <= 0. */
double rate_achieved_pps(const struct rate_measurement *m);
/* §3.2: load / vcpu, or the raw load when vcpu <= 0. */
double rate_load_per_vcpu(const struct rate_load *l);

/* §5.1 base signals */
bool rate_is_starved(const struct rate_policy *p, const struct rate_measurement *m);
/* §5.1 cpu_saturated; load NULL -> false.  *psi_used (may be NULL) tells
 * whether the PSI rule decided (psi signal with PSI available). */
bool rate_cpu_saturated(const struct rate_policy *p, const struct rate_load *load, bool *psi_used);

/* §5: classify one window; load NULL selects legacy mode (§5.2). */
enum rate_class rate_classify(const struct rate_policy *p, const struct rate_measurement *m,
			      const struct rate_load *load);
/* §6: classify, then clamp(proposed).  *cls (may be NULL) gets the class. */
int64_t rate_next(const struct rate_policy *p, int64_t current_rate,
		  const struct rate_measurement *m, const struct rate_load *load,
		  enum rate_class *cls);

/* "clean", "slip_network", "slip_cpu", "slip_starved" */
const char *rate_class_name(enum rate_class c);
/* "nic", "scanner" */
const char *rate_msource_name(enum rate_msource s);
/* "loadavg", "psi" */
const char *rate_cpu_signal_name(enum rate_cpu_signal s);
/* "halve", "track" */
const char *rate_starved_policy_name(enum rate_starved_policy s);

#endif
