/* agent/sysload: loadavg and PSI readers (rate-controller.md §4; cases
 * c35-c38, n18). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sysload.h"

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void c35_reads_one_minute_load_from_synthetic_proc(void **state)
{
	struct sysload_readers r = {.loadavg_path = "loadavg", .vcpu_count = 8};
	struct rate_load l;
	(void)state;
	write_file("loadavg", "8.50 6.10 5.00 1/3000 1234\n", 27);
	assert_true(sysload_sample(&r, &l));
	assert_true(l.load_average_1min == 8.5);
	assert_int_equal(l.vcpu_count, 8);
	assert_true(rate_load_per_vcpu(&l) == 1.0625);
	assert_false(l.has_psi);
}

static void c36_missing_proc_returns_zero_load(void **state)
{
	struct sysload_readers r = {.loadavg_path = "/nonexistent/loadavg", .vcpu_count = 4};
	struct rate_load l;
	(void)state;
	assert_true(sysload_sample(&r, &l));
	assert_true(l.load_average_1min == 0.0);
	assert_int_equal(l.vcpu_count, 4);
}

static void c37_corrupt_proc_returns_zero_load(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		double want;
	} cases[] = {
		{"not-a-number\n", 13, 0.0}, {"", 0, 0.0},          {"   \n", 4, 0.0},
		{"nan 1 2\n", 8, 0.0},       {"inf 1 2\n", 8, 0.0}, {"1e999 1\n", 8, 0.0},
		{"-3.0 1\n", 7, 0.0},                             /* negative -> 0 */
		{"0.25", 4, 0.25},                                /* no newline */
		{"  1.5\t2", 7, 1.5},        {"1.5\0 2", 6, 0.0}, /* embedded NUL inside the token
								   */
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file("loadavg", cases[i].text, cases[i].len);
		if (sysload_read_loadavg("loadavg") != cases[i].want)
			fail_msg("case %zu", i);
	}
}

static void c38_per_vcpu_handles_zero_vcpu_gracefully(void **state)
{
	struct rate_load l = {.load_average_1min = 4.0, .vcpu_count = 0};
	(void)state;
	assert_true(rate_load_per_vcpu(&l) == 4.0);
	l.vcpu_count = -1;
	assert_true(rate_load_per_vcpu(&l) == 4.0);
	assert_int_equal(sysload_vcpu_count(3), 3);
	assert_true(sysload_vcpu_count(0) >= 1);
	assert_true(sysload_vcpu_count(-5) >= 1);
}

static void n18_psi_reader(void **state)
{
	static const char ok[] = "some avg10=30.00 avg60=1.00 avg300=0.50 total=1\n"
				 "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
	static const struct {
		const char *text;
		bool avail;
		double want;
	} cases[] = {
		{ok, true, 30.0},
		{"some avg10=25.00 avg60=1 avg300=0 total=1\n", true, 25.0},
		{"full avg10=1.00\nsome avg60=1 avg10=3.5 total=2\n", true, 3.5},
		{"full avg10=1.00 avg60=1\n", false, 0},
		{"some avg60=1.00\n", false, 0},
		{"some avg10=abc avg60=1\n", false, 0},
		{"some avg10= avg60=1\n", false, 0},
		{"some avg10=-1 avg60=1\n", false, 0},
		{"some avg10=nan\n", false, 0},
		{"somex avg10=1\n", false, 0},
		{"", false, 0},
	};
	struct sysload_readers r = {
		.loadavg_path = "loadavg", .vcpu_count = 8, .use_psi = true, .psi_path = "cpu"};
	struct rate_load l;
	double v = -1;
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file("cpu", cases[i].text, strlen(cases[i].text));
		v = -1;
		if (sysload_read_psi("cpu", &v) != cases[i].avail ||
		    (cases[i].avail && v != cases[i].want))
			fail_msg("case %zu: %g", i, v);
	}
	assert_false(sysload_read_psi("/nonexistent/cpu", &v));
	write_file("cpu", ok, strlen(ok));
	write_file("loadavg", "2.0 1 1\n", 8);
	assert_true(sysload_sample(&r, &l));
	assert_true(l.has_psi);
	assert_true(l.psi_some_avg10 == 30.0);
	assert_true(l.load_average_1min == 2.0);
	r.psi_path = "/nonexistent/cpu";
	assert_true(sysload_sample(&r, &l));
	assert_false(l.has_psi);
	assert_true(l.load_average_1min == 2.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(c35_reads_one_minute_load_from_synthetic_proc),
		cmocka_unit_test(c36_missing_proc_returns_zero_load),
		cmocka_unit_test(c37_corrupt_proc_returns_zero_load),
		cmocka_unit_test(c38_per_vcpu_handles_zero_vcpu_gracefully),
		cmocka_unit_test(n18_psi_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
