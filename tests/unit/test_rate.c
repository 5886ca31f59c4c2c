/* agent/rate: policy validation, classification and next rate
 * (rate-controller.md §2, §5, §6; cases c01-c09, c27-c34, n19-n21). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "rate.h"

/* mm(set, ach, el=30, drop=0, hb=0, fin=false) of §20.1 */
static struct rate_measurement mmx(int64_t set, double ach, double el, int64_t drop, int64_t hb,
				   bool fin)
{
	struct rate_measurement m;

	memset(&m, 0, sizeof(m));
	m.set_rate = set;
	m.elapsed_seconds = el;
	m.tx_packets_delta = rate_d2i(ach * el);
	m.tx_dropped_delta = drop;
	m.heartbeat_max_latency_ms = hb;
	m.scanner_finished_naturally = fin;
	return m;
}

static struct rate_measurement mm(int64_t set, double ach)
{
	return mmx(set, ach, 30, 0, 0, false);
}

static struct rate_load load(double l, int v)
{
	struct rate_load x;

	memset(&x, 0, sizeof(x));
	x.load_average_1min = l;
	x.vcpu_count = v;
	return x;
}

static struct rate_policy defp(void)
{
	struct rate_policy p;

	rate_policy_default(&p);
	return p;
}

static void check_next(const struct rate_policy *p, int64_t cur, struct rate_measurement m,
		       const struct rate_load *l, enum rate_class want_cls, int64_t want_next)
{
	enum rate_class c;
	int64_t n = rate_next(p, cur, &m, l, &c);

	assert_string_equal(rate_class_name(c), rate_class_name(want_cls));
	assert_int_equal(n, want_next);
	assert_int_equal(rate_classify(p, &m, l), want_cls);
}

static void c01_clean_window_bumps_additively(void **state)
{
	struct rate_policy p = defp();
	(void)state;
	check_next(&p, 500000, mm(500000, 480000), NULL, RATE_CLEAN, 700000);
}

static void c02_slip_due_to_drops_halves(void **state)
{
	struct rate_policy p = defp();
	(void)state;
	check_next(&p, 2000000, mmx(2000000, 1900000, 30, 42, 0, false), NULL, RATE_SLIP_NETWORK,
		   1000000);
}

static void c03_slip_due_to_heartbeat_halves(void **state)
{
	struct rate_policy p = defp();
	(void)state;
	check_next(&p, 3000000, mmx(3000000, 2800000, 30, 0, 6000, false), NULL, RATE_SLIP_NETWORK,
		   1500000);
}

static void c04_slip_due_to_starved_achieved_rate(void **state)
{
	struct rate_policy p = defp();
	(void)state;
	check_next(&p, 5000000, mm(5000000, 1500000), NULL, RATE_SLIP_NETWORK, 2500000);
}

static void c05_natural_finish_skips_achieved_floor(void **state)
{
	struct rate_policy p = defp();
	struct rate_measurement m = mmx(2000000, 80000, 0.5, 0, 0, true);
	(void)state;
	assert_int_equal(rate_classify(&p, &m, NULL), RATE_CLEAN);
}

static void c06_ceiling_clamp_on_clean(void **state)
{
	struct rate_policy p = defp();
	(void)state;
	p.ceiling = 1000000;
	check_next(&p, 950000, mm(950000, 940000), NULL, RATE_CLEAN, 1000000);
}

static void c07_floor_clamp_on_slip(void **state)
{
	struct rate_policy p = defp();
	(void)state;
	p.floor = 300000;
	p.multiplicative_factor = 0.25;
	check_next(&p, 400000, mmx(400000, 10000, 30, 10, 0, false), NULL, RATE_SLIP_NETWORK,
		   300000);
}

static void c08_clamp_rate_pulls_in_outside_band(void **state)
{
	struct rate_policy p = defp();
	(void)state;
	assert_int_equal(rate_clamp(&p, 50000), 100000);
	assert_int_equal(rate_clamp(&p, 10000000), 4000000);
	assert_int_equal(rate_clamp(&p, 2000000), 2000000);
	/* clamping applies even when the current rate is outside the band */
	check_next(&p, 10000000, mm(10000000, 9700000), NULL, RATE_CLEAN, 4000000);
}

static void expect_invalid(struct rate_policy p, const char *msg)
{
	const char *got = rate_policy_validate(&p);
	assert_non_null(got);
	assert_string_equal(got, msg);
}

static void c09_invalid_policy_rejected(void **state)
{
	struct rate_policy p = defp();
	(void)state;
	assert_null(rate_policy_validate(&p));
	p.floor = 0;
	expect_invalid(p, "floor must be > 0");
	p = defp();
	p.floor = 500000;
	p.ceiling = 400000;
	expect_invalid(p, "ceiling must be >= floor");
	p = defp();
	p.multiplicative_factor = 0.0;
	expect_invalid(p, "multiplicative_factor must be in (0, 1)");
	p.multiplicative_factor = 1.0;
	expect_invalid(p, "multiplicative_factor must be in (0, 1)");
}

static void c27_cpu_pressure_holds_rate_instead_of_halving(void **state)
{
	struct rate_policy p = defp();
	struct rate_load l = load(8.5, 8);
	(void)state;
	check_next(&p, 4000000, mmx(4000000, 3900000, 30, 0, 6000, false), &l, RATE_SLIP_CPU,
		   4000000);
}

static void c28_network_pressure_still_halves_rate_with_low_load(void **state)
{
	struct rate_policy p = defp();
	struct rate_load l = load(2.0, 8);
	(void)state;
	check_next(&p, 4000000, mmx(4000000, 3900000, 30, 10000, 200, false), &l, RATE_SLIP_NETWORK,
		   2000000);
}

static void c29_both_pressure_picks_dominant_via_drop_ratio(void **state)
{
	struct rate_policy p = defp();
	struct rate_load l = load(8.5, 8);
	struct rate_measurement a = mmx(4000000, 3900000, 30, 200000, 6000, false);
	struct rate_measurement b = mmx(4000000, 3900000, 30, 10, 6000, false);
	(void)state;
	assert_int_equal(a.tx_packets_delta, 117000000);
	assert_int_equal(rate_classify(&p, &a, &l), RATE_SLIP_NETWORK);
	assert_int_equal(rate_classify(&p, &b, &l), RATE_SLIP_CPU);
}

static void c30_legacy_classify_when_no_system_load_supplied(void **state)
{
	struct rate_policy p = defp();
	(void)state;
	check_next(&p, 2000000, mmx(2000000, 1900000, 30, 42, 0, false), NULL, RATE_SLIP_NETWORK,
		   1000000);
}

static void c31_low_load_with_heartbeat_jitter_classified_network(void **state)
{
	struct rate_policy p = defp();
	struct rate_load l = load(1.0, 8);
	struct rate_measurement m = mmx(2000000, 1900000, 30, 0, 6000, false);
	(void)state;
	assert_int_equal(rate_classify(&p, &m, &l), RATE_SLIP_NETWORK);
}

static void c32_drops_with_low_load_classified_network(void **state)
{
	struct rate_policy p = defp();
	struct rate_load l = load(1.0, 8);
	struct rate_measurement m = mmx(2000000, 1950000, 30, 500, 200, false);
	(void)state;
	assert_int_equal(rate_classify(&p, &m, &l), RATE_SLIP_NETWORK);
}

static void c33_clean_window_with_load_info_still_clean(void **state)
{
	struct rate_policy p = defp();
	struct rate_load l = load(10.0, 8);
	struct rate_measurement m = mm(1000000, 970000);
	(void)state;
	assert_int_equal(rate_classify(&p, &m, &l), RATE_CLEAN);
}

static void c34_invalid_policy_rejects_bad_thresholds(void **state)
{
	struct rate_policy p = defp();
	(void)state;
	p.cpu_load_threshold = 0.0;
	expect_invalid(p, "cpu_load_threshold must be > 0");
	p = defp();
	p.drop_ratio_threshold = -0.1;
	expect_invalid(p, "drop_ratio_threshold must be in [0, 1]");
	p.drop_ratio_threshold = 1.5;
	expect_invalid(p, "drop_ratio_threshold must be in [0, 1]");
}

static void n19_track_policy(void **state)
{
	struct rate_policy p = defp();
	struct rate_load l2 = load(2.0, 8), l1 = load(1.0, 8), l10 = load(10.0, 8);
	(void)state;
	p.starved_policy = RATE_STARVED_TRACK;
	check_next(&p, 1000000, mmx(1000000, 700000, 30, 0, 100, false), &l2, RATE_SLIP_STARVED,
		   700000);
	check_next(&p, 1000000, mmx(1000000, 700000, 30, 0, 100, false), NULL, RATE_SLIP_STARVED,
		   700000);
	check_next(&p, 1000000, mmx(1000000, 700000, 30, 1, 100, false), &l2, RATE_SLIP_NETWORK,
		   500000);
	check_next(&p, 1000000, mmx(1000000, 700000, 30, 0, 6000, false), &l1, RATE_SLIP_NETWORK,
		   500000);
	check_next(&p, 1000000, mmx(1000000, 700000, 30, 0, 100, false), &l10, RATE_SLIP_NETWORK,
		   500000);
	check_next(&p, 1000000, mm(1000000, 50000), NULL, RATE_SLIP_STARVED, 100000);
	p.starved_policy = RATE_STARVED_HALVE;
	check_next(&p, 1000000, mmx(1000000, 700000, 30, 0, 100, false), &l2, RATE_SLIP_NETWORK,
		   500000);
	/* the §6 examples */
	p = defp();
	check_next(&p, 3000000, mmx(3000000, 0, 30, 1, 0, false), NULL, RATE_SLIP_NETWORK, 1500000);
	check_next(&p, 5000000, mm(5000000, 0), NULL, RATE_SLIP_NETWORK, 2500000);
}

static void n20_boundaries(void **state)
{
	struct rate_policy p = defp();
	struct rate_load l, l8 = load(8.5, 8);
	struct rate_measurement m;
	(void)state;
	/* starvation: achieved exactly 0.9 x set is not starved */
	m = mm(1000000, 900000);
	assert_false(rate_is_starved(&p, &m));
	m = mm(1000000, 899999);
	assert_true(rate_is_starved(&p, &m));
	assert_int_equal(rate_classify(&p, &m, NULL), RATE_SLIP_NETWORK);
	/* heartbeat */
	m = mmx(1000000, 970000, 30, 0, 5000, false);
	assert_int_equal(rate_classify(&p, &m, NULL), RATE_CLEAN);
	m.heartbeat_max_latency_ms = 5001;
	assert_int_equal(rate_classify(&p, &m, NULL), RATE_SLIP_NETWORK);
	/* per-vCPU load exactly 0.8 is not saturated */
	l = load(6.4, 8);
	assert_false(rate_cpu_saturated(&p, &l, NULL));
	l = load(6.5, 8);
	assert_true(rate_cpu_saturated(&p, &l, NULL));
	/* drop ratio exactly 0.001 -> slip_cpu */
	m = mmx(4000000, 1000000, 30, 30000, 6000, false);
	assert_int_equal(m.tx_packets_delta, 30000000);
	assert_int_equal(rate_classify(&p, &m, &l8), RATE_SLIP_CPU);
	m.tx_dropped_delta = 30001;
	assert_int_equal(rate_classify(&p, &m, &l8), RATE_SLIP_NETWORK);
	/* both pressures, drops > 0, tx_packets 0 -> ratio 0 -> slip_cpu */
	m = mmx(4000000, 0, 30, 5, 6000, false);
	assert_int_equal(rate_classify(&p, &m, &l8), RATE_SLIP_CPU);
	/* saturated, hb slip, starvation, 0 drops -> slip_cpu */
	m = mmx(4000000, 100000, 30, 0, 6000, false);
	assert_int_equal(rate_classify(&p, &m, &l8), RATE_SLIP_CPU);
	/* saturated host, no hb slip: starvation -> slip_network */
	m = mmx(4000000, 100000, 30, 0, 100, false);
	assert_int_equal(rate_classify(&p, &m, &l8), RATE_SLIP_NETWORK);
	/* factor 0.3 at 333333 -> 99999.9 -> 99999 -> clamped 100000 */
	p.multiplicative_factor = 0.3;
	check_next(&p, 333333, mmx(333333, 0, 30, 1, 0, false), NULL, RATE_SLIP_NETWORK, 100000);
	/* per-vCPU with 0 vCPUs is the raw load */
	l = load(4.0, 0);
	assert_true(rate_load_per_vcpu(&l) == 4.0);
	/* elapsed 0 -> achieved 0 */
	m = mmx(100, 5, 0, 0, 0, false);
	m.tx_packets_delta = 5;
	assert_true(rate_achieved_pps(&m) == 0.0);
	/* saturation: additions and conversions */
	assert_int_equal(rate_add_sat(INT64_MAX - 1, 200000), INT64_MAX);
	assert_int_equal(rate_d2i(1e300), INT64_MAX);
	assert_int_equal(rate_d2i(-1e300), INT64_MIN);
	assert_int_equal(rate_d2i(NAN), 0);
	assert_int_equal(rate_d2i(99999.9), 99999);
	p = defp();
	p.ceiling = INT64_MAX;
	check_next(&p, INT64_MAX - 5, mmx(INT64_MAX - 5, 1, 1, 0, 0, true), NULL, RATE_CLEAN,
		   INT64_MAX);
}

static void n18_psi_rule(void **state)
{
	struct rate_policy p = defp();
	struct rate_load l = load(1.0, 8);
	bool used;
	(void)state;
	p.cpu_signal = RATE_CPU_PSI;
	l.has_psi = true;
	l.psi_some_avg10 = 30.0;
	assert_true(rate_cpu_saturated(&p, &l, &used));
	assert_true(used);
	l.psi_some_avg10 = 25.0;
	assert_false(rate_cpu_saturated(&p, &l, &used));
	l.psi_some_avg10 = 25.01;
	assert_true(rate_cpu_saturated(&p, &l, &used));
	/* psi unavailable -> the loadavg rule */
	l.has_psi = false;
	l.load_average_1min = 6.5;
	assert_true(rate_cpu_saturated(&p, &l, &used));
	assert_false(used);
	/* default signal ignores psi */
	p.cpu_signal = RATE_CPU_LOADAVG;
	l.has_psi = true;
	l.psi_some_avg10 = 99.0;
	l.load_average_1min = 1.0;
	assert_false(rate_cpu_saturated(&p, &l, &used));
}

struct vcase {
	const char *field;
	const char *msg;
};

static void n21_validation_order_and_nan(void **state)
{
	struct rate_policy p;
	(void)state;
	/* first failure wins: break everything, then fix one at a time */
	p = defp();
	p.floor = 0;
	p.ceiling = -1;
	p.additive_step = 0;
	p.multiplicative_factor = 2;
	p.achieved_ratio_floor = 0;
	p.heartbeat_latency_threshold_ms = 0;
	p.window_seconds = 0;
	p.cpu_load_threshold = 0;
	p.drop_ratio_threshold = 2;
	p.cpu_psi_threshold = 0;
	expect_invalid(p, "floor must be > 0");
	p.floor = 1;
	expect_invalid(p, "ceiling must be >= floor");
	p.ceiling = 1; /* == floor is allowed */
	expect_invalid(p, "additive_step must be > 0");
	p.additive_step = 1;
	expect_invalid(p, "multiplicative_factor must be in (0, 1)");
	p.multiplicative_factor = 0.5;
	expect_invalid(p, "achieved_ratio_floor must be in (0, 1]");
	p.achieved_ratio_floor = 1.0; /* 1 is inside (0, 1] */
	expect_invalid(p, "heartbeat_latency_threshold_ms must be > 0");
	p.heartbeat_latency_threshold_ms = 1;
	expect_invalid(p, "window_seconds must be > 0");
	p.window_seconds = 0.001;
	expect_invalid(p, "cpu_load_threshold must be > 0");
	p.cpu_load_threshold = 1e-9;
	expect_invalid(p, "drop_ratio_threshold must be in [0, 1]");
	p.drop_ratio_threshold = 0; /* 0 is allowed */
	expect_invalid(p, "cpu_psi_threshold must be in (0, 100]");
	p.cpu_psi_threshold = 100.5;
	expect_invalid(p, "cpu_psi_threshold must be in (0, 100]");
	p.cpu_psi_threshold = 100;
	assert_null(rate_policy_validate(&p));

	/* NaN and infinities fail their own rule */
	p = defp();
	p.multiplicative_factor = NAN;
	expect_invalid(p, "multiplicative_factor must be in (0, 1)");
	p = defp();
	p.achieved_ratio_floor = NAN;
	expect_invalid(p, "achieved_ratio_floor must be in (0, 1]");
	p = defp();
	p.window_seconds = NAN;
	expect_invalid(p, "window_seconds must be > 0");
	p.window_seconds = INFINITY;
	expect_invalid(p, "window_seconds must be > 0");
	p = defp();
	p.cpu_load_threshold = NAN;
	expect_invalid(p, "cpu_load_threshold must be > 0");
	p.cpu_load_threshold = INFINITY;
	expect_invalid(p, "cpu_load_threshold must be > 0");
	p = defp();
	p.drop_ratio_threshold = NAN;
	expect_invalid(p, "drop_ratio_threshold must be in [0, 1]");
	p = defp();
	p.cpu_psi_threshold = NAN;
	expect_invalid(p, "cpu_psi_threshold must be in (0, 100]");
}

static void policy_equality(void **state)
{
	struct rate_policy a = defp(), b = defp();
	(void)state;
	assert_true(rate_policy_equal(&a, &b));
	b.cpu_psi_threshold = 25.000001;
	assert_false(rate_policy_equal(&a, &b));
	b = defp();
	b.starved_policy = RATE_STARVED_TRACK;
	assert_false(rate_policy_equal(&a, &b));
	assert_string_equal(rate_field_env(RATE_F_HEARTBEAT_MS),
			    "ANYSCAN_HEARTBEAT_LATENCY_THRESHOLD_MS");
	assert_string_equal(rate_field_name(RATE_F_STARVED_POLICY), "starved_policy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(c01_clean_window_bumps_additively),
		cmocka_unit_test(c02_slip_due_to_drops_halves),
		cmocka_unit_test(c03_slip_due_to_heartbeat_halves),
		cmocka_unit_test(c04_slip_due_to_starved_achieved_rate),
		cmocka_unit_test(c05_natural_finish_skips_achieved_floor),
		cmocka_unit_test(c06_ceiling_clamp_on_clean),
		cmocka_unit_test(c07_floor_clamp_on_slip),
		cmocka_unit_test(c08_clamp_rate_pulls_in_outside_band),
		cmocka_unit_test(c09_invalid_policy_rejected),
		cmocka_unit_test(c27_cpu_pressure_holds_rate_instead_of_halving),
		cmocka_unit_test(c28_network_pressure_still_halves_rate_with_low_load),
		cmocka_unit_test(c29_both_pressure_picks_dominant_via_drop_ratio),
		cmocka_unit_test(c30_legacy_classify_when_no_system_load_supplied),
		cmocka_unit_test(c31_low_load_with_heartbeat_jitter_classified_network),
		cmocka_unit_test(c32_drops_with_low_load_classified_network),
		cmocka_unit_test(c33_clean_window_with_load_info_still_clean),
		cmocka_unit_test(c34_invalid_policy_rejects_bad_thresholds),
		cmocka_unit_test(n18_psi_rule),
		cmocka_unit_test(n19_track_policy),
		cmocka_unit_test(n20_boundaries),
		cmocka_unit_test(n21_validation_order_and_nan),
		cmocka_unit_test(policy_equality),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
