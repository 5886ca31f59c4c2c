/* agent/rate_env: policy from the environment, the instance table's
 * precedence and the starting rate (rate-controller.md §7, §8.3, §8.4;
 * cases c23-c26, c41-c44, n01-n07). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib.h"
#include "rate_env.h"

#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})

static struct rate_resolved resolve_ok(const char *const *envp, const char *inst,
				       const struct rate_invocation *inv)
{
	struct rate_resolved r;
	const char *msg = NULL;

	if (rate_resolve(envp, inst, inv, NULL, &r, &msg) != 0)
		fail_msg("unexpected validation failure: %s", msg);
	return r;
}

static void expect_fail(const char *const *envp, const char *inst, const char *want)
{
	struct rate_resolved r;
	const char *msg = NULL;

	assert_int_equal(rate_resolve(envp, inst, NULL, NULL, &r, &msg), -1);
	assert_non_null(msg);
	assert_string_equal(msg, want);
}

static void c23_policy_from_env_round_trip(void **state)
{
	struct rate_resolved r = resolve_ok(
		ENV("ANYSCAN_RATE_FLOOR=150000", "ANYSCAN_RATE_CEILING=3500000",
		    "ANYSCAN_RATE_ADDITIVE_STEP=250000", "ANYSCAN_RATE_MULTIPLICATIVE_FACTOR=0.25",
		    "ANYSCAN_RATE_WINDOW_SECONDS=45",
		    "ANYSCAN_HEARTBEAT_LATENCY_THRESHOLD_MS=3000"),
		NULL, NULL);
	(void)state;
	assert_int_equal(r.policy.floor, 150000);
	assert_int_equal(r.policy.ceiling, 3500000);
	assert_int_equal(r.policy.additive_step, 250000);
	assert_true(r.policy.multiplicative_factor == 0.25);
	assert_true(r.policy.window_seconds == 45.0);
	assert_int_equal(r.policy.heartbeat_latency_threshold_ms, 3000);
	assert_int_equal(r.sources[RATE_F_FLOOR], RATE_SRC_ENV);
	assert_int_equal(r.sources[RATE_F_ACHIEVED_RATIO_FLOOR], RATE_SRC_DEFAULT);
	/* every other field default; the enums too */
	r = resolve_ok(ENV("ANYSCAN_CPU_SIGNAL= PSI ", "ANYSCAN_RATE_STARVED_POLICY=Track",
			   "ANYSCAN_CPU_PSI_THRESHOLD=30", "ANYSCAN_DROP_RATIO_THRESHOLD=0.01",
			   "ANYSCAN_CPU_LOAD_THRESHOLD=0.9", "ANYSCAN_RATE_ACHIEVED_RATIO_FLOOR=1"),
		       NULL, NULL);
	assert_int_equal(r.policy.cpu_signal, RATE_CPU_PSI);
	assert_int_equal(r.policy.starved_policy, RATE_STARVED_TRACK);
	assert_true(r.policy.cpu_psi_threshold == 30.0);
	assert_true(r.policy.drop_ratio_threshold == 0.01);
	assert_true(r.policy.cpu_load_threshold == 0.9);
	assert_true(r.policy.achieved_ratio_floor == 1.0);
}

static void c24_env_flag_default_when_missing(void **state)
{
	(void)state;
	assert_true(rate_env_flag(ENV("Y=1"), "X", true));
	assert_false(rate_env_flag(ENV("X=no"), "X", true));
	assert_true(rate_env_flag(ENV("X=1"), "X", false));
	assert_false(rate_env_flag(ENV("X=2"), "X", true));
	assert_true(rate_env_flag(ENV("X= YES "), "X", false));
	assert_true(rate_env_flag(ENV("X=On"), "X", false));
	assert_true(rate_env_flag(ENV("X=   "), "X", true)); /* blank = unset */
	assert_false(rate_env_flag(ENV("X="), "X", false));
	assert_false(rate_env_flag(ENV("XY=1"), "X", false)); /* prefix is not a match */
	assert_false(rate_env_flag(NULL, "X", false));
}

static void c25_resolve_starting_rate_prefers_calibration(void **state)
{
	struct calib *c = calib_new("calib.json", 1000);
	struct calib_write_info info;
	struct rate_resolved r = resolve_ok(ENV("A=B"), NULL, NULL);
	(void)state;
	assert_int_equal(r.fallback_rate, 500000);
	assert_int_equal(calib_store(c, "eth0", 1700000, NULL, &info, NULL), 0);
	rate_resolve_start(&r, "eth0", c);
	assert_int_equal(r.starting_rate, 1700000);
	assert_int_equal(r.starting_source, RATE_SRC_CALIBRATION);
	/* no entry for the interface, no interface, no store: the fallback */
	rate_resolve_start(&r, "eth9", c);
	assert_int_equal(r.starting_rate, 500000);
	assert_int_equal(r.starting_source, RATE_SRC_DEFAULT);
	rate_resolve_start(&r, "", c);
	assert_int_equal(r.starting_rate, 500000);
	rate_resolve_start(&r, "eth0", NULL);
	assert_int_equal(r.starting_rate, 500000);
	calib_free(c);
}

static void c26_resolve_starting_rate_clamps_calibration_into_band(void **state)
{
	struct calib *c = calib_new("calib.json", 1000);
	struct calib_write_info info;
	struct rate_resolved r = resolve_ok(ENV("A=B"), NULL, NULL);
	(void)state;
	assert_int_equal(calib_store(c, "eth0", 99000000, NULL, &info, NULL), 0);
	rate_resolve_start(&r, "eth0", c);
	assert_int_equal(r.starting_rate, 4000000);
	assert_int_equal(r.starting_source, RATE_SRC_CALIBRATION);
	calib_free(c);
}

static void c41_apply_fills_unset_knobs_for_metal(void **state)
{
	struct rate_resolved r = resolve_ok(ENV("A=B"), "c6in.metal", NULL);
	(void)state;
	assert_int_equal(r.policy.floor, 1000000);
	assert_int_equal(r.policy.ceiling, 12000000);
	assert_int_equal(r.starting_rate, 4000000);
	assert_int_equal(r.sources[RATE_F_FLOOR], RATE_SRC_TABLE);
	assert_int_equal(r.sources[RATE_F_CEILING], RATE_SRC_TABLE);
	assert_int_equal(r.fallback_source, RATE_SRC_TABLE);
	assert_int_equal(r.starting_source, RATE_SRC_TABLE);
}

static void c42_apply_preserves_explicit_env_overrides(void **state)
{
	struct rate_resolved r =
		resolve_ok(ENV("ANYSCAN_RATE_FLOOR=200000", "ANYSCAN_RATE_CEILING=5000000",
			       "SCANNER_DEFAULT_RATE=750000"),
			   "c6in.metal", NULL);
	(void)state;
	assert_int_equal(r.policy.floor, 200000);
	assert_int_equal(r.policy.ceiling, 5000000);
	assert_int_equal(r.fallback_rate, 750000);
	assert_int_equal(r.starting_rate, 750000);
	assert_int_equal(r.starting_source, RATE_SRC_ENV);
}

static void c43_apply_partial_overrides_only_fills_missing(void **state)
{
	struct rate_resolved r = resolve_ok(ENV("ANYSCAN_RATE_FLOOR=300000"), "c6in.metal", NULL);
	(void)state;
	assert_int_equal(r.policy.floor, 300000);
	assert_int_equal(r.policy.ceiling, 12000000);
	assert_int_equal(r.starting_rate, 4000000);
}

static void c44_apply_unknown_instance_type_is_no_op(void **state)
{
	struct rate_resolved r0 = resolve_ok(ENV("A=B"), NULL, NULL);
	struct rate_resolved r1 = resolve_ok(ENV("A=B"), "alien.42xlarge", NULL);
	struct rate_policy d;
	(void)state;
	rate_policy_default(&d);
	assert_true(rate_policy_equal(&r0.policy, &d));
	assert_true(rate_policy_equal(&r1.policy, &d));
	assert_int_equal(r0.starting_rate, 500000);
	assert_int_equal(r1.starting_rate, 500000);
	assert_null(r1.table);
}

static void n01_explicit_ceiling_below_table_floor(void **state)
{
	struct rate_resolved r = resolve_ok(ENV("ANYSCAN_RATE_CEILING=500000"), "c6in.metal", NULL);
	(void)state;
	assert_int_equal(r.policy.floor, 500000);
	assert_int_equal(r.policy.ceiling, 500000);
	assert_int_equal(r.starting_rate, 500000);
	assert_int_equal(r.sources[RATE_F_FLOOR], RATE_SRC_ENV);
	assert_int_equal(r.sources[RATE_F_CEILING], RATE_SRC_ENV);
	assert_int_equal(r.fallback_rate, 4000000);
}

static void n02_explicit_ceiling_below_default_floor(void **state)
{
	struct rate_resolved r = resolve_ok(ENV("ANYSCAN_RATE_CEILING=50000"), NULL, NULL);
	(void)state;
	assert_int_equal(r.policy.floor, 50000);
	assert_int_equal(r.policy.ceiling, 50000);
	assert_int_equal(r.starting_rate, 50000);
	r = resolve_ok(ENV("ANYSCAN_RATE_CEILING=50000"), "c6in.metal", NULL);
	assert_int_equal(r.policy.floor, 50000);
	assert_int_equal(r.policy.ceiling, 50000);
	assert_int_equal(r.starting_rate, 50000);
	/* a ceiling below 1 is not reconciled: floor stays, validation fails */
	expect_fail(ENV("ANYSCAN_RATE_CEILING=0"), NULL, "ceiling must be >= floor");
}

static void n03_explicit_floor_above_table_ceiling(void **state)
{
	struct rate_resolved r = resolve_ok(ENV("ANYSCAN_RATE_FLOOR=3000000"), "m5.xlarge", NULL);
	(void)state;
	assert_int_equal(r.policy.floor, 3000000);
	assert_int_equal(r.policy.ceiling, 3000000);
	assert_int_equal(r.starting_rate, 3000000); /* clamp(200000) */
	assert_int_equal(r.sources[RATE_F_CEILING], RATE_SRC_ENV);
}

static void n04_explicit_floor_rules(void **state)
{
	struct rate_resolved r;
	(void)state;
	expect_fail(ENV("ANYSCAN_RATE_FLOOR=5000000"), NULL, "ceiling must be >= floor");
	r = resolve_ok(ENV("ANYSCAN_RATE_FLOOR=5000000"), "c6in.metal", NULL);
	assert_int_equal(r.policy.floor, 5000000);
	assert_int_equal(r.policy.ceiling, 12000000);
	assert_int_equal(r.starting_rate, 5000000);
	expect_fail(ENV("ANYSCAN_RATE_FLOOR=600000", "ANYSCAN_RATE_CEILING=500000"), "c6in.metal",
		    "ceiling must be >= floor");
	expect_fail(ENV("ANYSCAN_RATE_FLOOR=600000", "ANYSCAN_RATE_CEILING=500000"), NULL,
		    "ceiling must be >= floor");
}

static void n05_invocation_rate_limit(void **state)
{
	struct rate_invocation inv = {.has_rate_limit = true, .rate_limit = 300000};
	struct rate_invocation zero = {.has_rate_limit = true, .rate_limit = 0};
	struct rate_resolved r;
	int64_t cal = 1700000;
	(void)state;
	r = resolve_ok(ENV("A=B"), "c6in.xlarge", &inv);
	assert_int_equal(r.starting_rate, 300000);
	assert_int_equal(r.starting_source, RATE_SRC_INVOCATION);
	r = resolve_ok(ENV("A=B"), "c6in.metal", &inv);
	assert_int_equal(r.starting_rate, 1000000);
	assert_int_equal(r.starting_source, RATE_SRC_INVOCATION);
	r = resolve_ok(ENV("A=B"), "c6in.metal", &zero);
	assert_int_equal(r.starting_rate, 4000000);
	assert_int_equal(r.starting_source, RATE_SRC_TABLE);
	r = resolve_ok(ENV("A=B"), NULL, &zero);
	assert_int_equal(r.starting_rate, 100000);
	assert_int_equal(r.fallback_rate, 0);
	r = resolve_ok(ENV("A=B"), NULL, &inv);
	rate_resolve_start_from(&r, &cal);
	assert_int_equal(r.starting_rate, 1700000);
	assert_int_equal(r.starting_source, RATE_SRC_CALIBRATION);
	/* rate_limit 0 with SCANNER_DEFAULT_RATE explicit on metal: clamped up */
	r = resolve_ok(ENV("SCANNER_DEFAULT_RATE=750000"), "c6in.metal", &zero);
	assert_int_equal(r.starting_rate, 1000000);
	/* SCANNER_DEFAULT_RATE=0 gives 1 (then the floor) */
	r = resolve_ok(ENV("SCANNER_DEFAULT_RATE=0"), NULL, NULL);
	assert_int_equal(r.fallback_rate, 1);
	assert_int_equal(r.starting_rate, 100000);
}

static void expect_warning(struct rate_warnings *w, const char *line)
{
	assert_int_equal(w->count, 1);
	assert_string_equal(w->lines[0], line);
	rate_warnings_free(w);
}

static void n06_invalid_env_values_warn(void **state)
{
	struct rate_warnings w;
	struct rate_resolved r;
	const char *msg = NULL;
	(void)state;
	rate_warnings_init(&w);
	assert_int_equal(rate_resolve(ENV("ANYSCAN_RATE_FLOOR=abc"), NULL, NULL, &w, &r, &msg), 0);
	assert_int_equal(r.policy.floor, 100000);
	assert_int_equal(r.sources[RATE_F_FLOOR], RATE_SRC_DEFAULT);
	expect_warning(&w, "[anyscan-rate-controller] warning: ANYSCAN_RATE_FLOOR=\"abc\" is not "
			   "a valid integer; using the default\n");

	static const char *const bad_ints[] = {"1_000", "45.5", "0x10",
					       "1e3",   "12 3", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad_ints) / sizeof(bad_ints[0]); i++) {
		char var[64];
		snprintf(var, sizeof(var), "ANYSCAN_RATE_FLOOR=%s", bad_ints[i]);
		rate_warnings_init(&w);
		assert_int_equal(rate_resolve(ENV(var), NULL, NULL, &w, &r, &msg), 0);
		assert_int_equal(r.policy.floor, 100000);
		assert_int_equal(w.count, 1);
		rate_warnings_free(&w);
	}
	r = resolve_ok(ENV("ANYSCAN_RATE_FLOOR=+150000"), NULL, NULL);
	assert_int_equal(r.policy.floor, 150000);
	r = resolve_ok(ENV("ANYSCAN_RATE_FLOOR= 0150000\t"), NULL, NULL);
	assert_int_equal(r.policy.floor, 150000);
	expect_fail(ENV("ANYSCAN_RATE_FLOOR=-5"), NULL, "floor must be > 0");

	static const char *const bad_nums[] = {"nan",   "inf",   "Infinity", "-inf", "NaN",
					       "0x1p3", "1e999", "1,5",      "",     "abc"};
	for (size_t i = 0; i < sizeof(bad_nums) / sizeof(bad_nums[0]); i++) {
		char var[80];
		snprintf(var, sizeof(var), "ANYSCAN_RATE_MULTIPLICATIVE_FACTOR=%s", bad_nums[i]);
		rate_warnings_init(&w);
		assert_int_equal(rate_resolve(ENV(var), NULL, NULL, &w, &r, &msg), 0);
		assert_true(r.policy.multiplicative_factor == 0.5);
		assert_int_equal(w.count, bad_nums[i][0] == '\0' ? 0 : 1);
		rate_warnings_free(&w);
	}
	rate_warnings_init(&w);
	assert_int_equal(
		rate_resolve(ENV("ANYSCAN_CPU_LOAD_THRESHOLD=nan"), NULL, NULL, &w, &r, &msg), 0);
	expect_warning(&w, "[anyscan-rate-controller] warning: ANYSCAN_CPU_LOAD_THRESHOLD=\"nan\" "
			   "is not a valid number; using the default\n");

	r = resolve_ok(ENV("ANYSCAN_RATE_WINDOW_SECONDS=1.5"), NULL, NULL);
	assert_true(r.policy.window_seconds == 1.5);
	r = resolve_ok(ENV("ANYSCAN_RATE_WINDOW_SECONDS=1e1"), NULL, NULL);
	assert_true(r.policy.window_seconds == 10.0);
	r = resolve_ok(ENV("ANYSCAN_RATE_WINDOW_SECONDS=.5"), NULL, NULL);
	assert_true(r.policy.window_seconds == 0.5);
	r = resolve_ok(ENV("ANYSCAN_RATE_WINDOW_SECONDS=5."), NULL, NULL);
	assert_true(r.policy.window_seconds == 5.0);
	/* underflow is accepted and then fails validation */
	expect_fail(ENV("ANYSCAN_RATE_WINDOW_SECONDS=1e-400"), NULL, "window_seconds must be > 0");

	/* invalid floor on metal: treated as unset -> the table */
	rate_warnings_init(&w);
	assert_int_equal(
		rate_resolve(ENV("ANYSCAN_RATE_FLOOR=abc"), "c6in.metal", NULL, &w, &r, &msg), 0);
	assert_int_equal(r.policy.floor, 1000000);
	assert_int_equal(w.count, 1);

	/* the same variable again in this process: no second warning */
	rate_warnings_clear_lines(&w);
	assert_int_equal(rate_resolve(ENV("ANYSCAN_RATE_FLOOR=abc"), NULL, NULL, &w, &r, &msg), 0);
	assert_int_equal(w.count, 0);
	rate_warnings_free(&w);

	/* shard mode: no warning */
	rate_warnings_init(&w);
	assert_int_equal(
		rate_resolve(ENV("ANYSCAN_RATE_FLOOR=abc", "ANYSCAN_ADAPTER_SHARD_MODE=true"), NULL,
			     NULL, &w, &r, &msg),
		0);
	assert_int_equal(w.count, 0);
	rate_warnings_free(&w);

	/* enums and escaping of the value */
	rate_warnings_init(&w);
	assert_int_equal(
		rate_resolve(ENV("ANYSCAN_CPU_SIGNAL=p\"si\x01"), NULL, NULL, &w, &r, &msg), 0);
	expect_warning(&w,
		       "[anyscan-rate-controller] warning: ANYSCAN_CPU_SIGNAL=\"p\\\"si\\u0001\" "
		       "is not one of loadavg, psi; using the default\n");
	rate_warnings_init(&w);
	assert_int_equal(
		rate_resolve(ENV("ANYSCAN_RATE_STARVED_POLICY= half "), NULL, NULL, &w, &r, &msg),
		0);
	expect_warning(&w,
		       "[anyscan-rate-controller] warning: ANYSCAN_RATE_STARVED_POLICY=\"half\" "
		       "is not one of halve, track; using the default\n");
}

static void n07_invalid_scanner_default_rate_is_unset(void **state)
{
	struct rate_warnings w;
	struct rate_resolved r;
	const char *msg = NULL;
	(void)state;
	rate_warnings_init(&w);
	assert_int_equal(
		rate_resolve(ENV("SCANNER_DEFAULT_RATE=x"), "c6in.metal", NULL, &w, &r, &msg), 0);
	assert_int_equal(r.starting_rate, 4000000);
	assert_int_equal(r.starting_source, RATE_SRC_TABLE);
	expect_warning(&w, "[anyscan-rate-controller] warning: SCANNER_DEFAULT_RATE=\"x\" is not a "
			   "valid integer; using the default\n");
	/* instance type from the environment only (classify/simulate) */
	{
		char buf[64];
		rate_warnings_init(&w);
		assert_string_equal(
			rate_env_instance_type(ENV("ANYSCAN_INSTANCE_TYPE= c6in.metal "), &w, buf,
					       sizeof(buf)),
			"c6in.metal");
		assert_null(rate_env_instance_type(ENV("ANYSCAN_INSTANCE_TYPE=Amazon EC2"), &w, buf,
						   sizeof(buf)));
		expect_warning(&w,
			       "[anyscan-rate-controller] warning: ANYSCAN_INSTANCE_TYPE=\"Amazon "
			       "EC2\" is not a valid instance type; ignoring it\n");
	}
}

/* Each test runs in its own fresh subdirectory of the runner's temp dir. */
static char base_dir[4096];

static int enter_fresh_dir(void **state)
{
	char tmpl[] = "t.XXXXXX";
	(void)state;
	if (getcwd(base_dir, sizeof(base_dir)) == NULL || mkdtemp(tmpl) == NULL || chdir(tmpl) != 0)
		return -1;
	return 0;
}

static int leave_dir(void **state)
{
	(void)state;
	return chdir(base_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(c23_policy_from_env_round_trip, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(c24_env_flag_default_when_missing, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(c25_resolve_starting_rate_prefers_calibration,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(
			c26_resolve_starting_rate_clamps_calibration_into_band, enter_fresh_dir,
			leave_dir),
		cmocka_unit_test_setup_teardown(c41_apply_fills_unset_knobs_for_metal,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(c42_apply_preserves_explicit_env_overrides,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(c43_apply_partial_overrides_only_fills_missing,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(c44_apply_unknown_instance_type_is_no_op,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(n01_explicit_ceiling_below_table_floor,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(n02_explicit_ceiling_below_default_floor,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(n03_explicit_floor_above_table_ceiling,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(n04_explicit_floor_rules, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(n05_invocation_rate_limit, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(n06_invalid_env_values_warn, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(n07_invalid_scanner_default_rate_is_unset,
						enter_fresh_dir, leave_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
