/* agent/nic: interface counters, the default-route interface and the
 * scanner fallback (rate-controller.md §8.5, §13; cases c21, c22, n17). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "nic.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkstats(const char *iface, const char *tx, const char *drop)
{
	char p[256];
	snprintf(p, sizeof(p), "root/%s", iface);
	mkdir("root", 0755);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "root/%s/statistics", iface);
	mkdir(p, 0755);
	if (tx != NULL) {
		snprintf(p, sizeof(p), "root/%s/statistics/tx_packets", iface);
		write_file(p, tx);
	}
	if (drop != NULL) {
		snprintf(p, sizeof(p), "root/%s/statistics/tx_dropped", iface);
		write_file(p, drop);
	}
}

static void c21_reads_counters_from_synthetic_root(void **state)
{
	struct nic_counters c;
	(void)state;
	mkstats("eth0", "123\n", "4\n");
	nic_read("root", "eth0", &c);
	assert_int_equal(c.tx_packets, 123);
	assert_int_equal(c.tx_dropped, 4);
}

static void c22_missing_files_return_zero(void **state)
{
	struct nic_counters c;
	(void)state;
	nic_read("/nonexistent", "ghost0", &c);
	assert_int_equal(c.tx_packets, 0);
	assert_int_equal(c.tx_dropped, 0);
	mkstats("eth1", "77\n", NULL); /* one counter missing */
	nic_read("root", "eth1", &c);
	assert_int_equal(c.tx_packets, 77);
	assert_int_equal(c.tx_dropped, 0);
	/* bad names never touch the filesystem */
	mkstats("x", "5", "5");
	nic_read("root", "", &c);
	assert_int_equal(c.tx_packets, 0);
	nic_read("root", ".", &c);
	assert_int_equal(c.tx_packets, 0);
	nic_read("root", "..", &c);
	assert_int_equal(c.tx_packets, 0);
	nic_read("root/x/..", "x", &c);
	assert_int_equal(c.tx_packets, 5);
	nic_read(".", "root/x", &c);
	assert_int_equal(c.tx_packets, 0);
	nic_read("root", NULL, &c);
	assert_int_equal(c.tx_packets, 0);
}

static void counter_parse_table(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		int64_t want;
	} cases[] = {
		{"123\n", 4, 123},
		{"  9 \t\n", 6, 9},
		{"", 0, 0},
		{"\n", 1, 0},
		{"12a", 3, 0},
		{"-5", 2, 0},
		{"+5", 2, 0},
		{"1 2", 3, 0},
		{"18446744073709551615", 20, INT64_MAX},    /* u64 max saturates */
		{"99999999999999999999999", 23, INT64_MAX}, /* beyond u64 */
		{"9223372036854775807", 19, INT64_MAX},
		{"1\0"
		 "2",
		 3, 0}, /* embedded NUL */
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (nic_parse_counter(cases[i].in, cases[i].len) != cases[i].want)
			fail_msg("case %zu", i);
}

static void deltas_clamped(void **state)
{
	struct nic_counters a = {100, 10}, b = {150, 5}, d;
	(void)state;
	nic_delta(&a, &b, &d);
	assert_int_equal(d.tx_packets, 50);
	assert_int_equal(d.tx_dropped, 0);
}

static void n17_scanner_fallback(void **state)
{
	struct rate_measurement m;
	struct nic_counters zero = {0, 0}, moved = {1000, 3};
	(void)state;
	memset(&m, 0, sizeof(m));
	nic_apply_measurement(&m, &zero, true, 15000000);
	assert_int_equal(m.tx_packets_delta, 15000000);
	assert_int_equal(m.measurement_source, RATE_MSOURCE_SCANNER);
	m.elapsed_seconds = 30;
	assert_true(rate_achieved_pps(&m) == 500000.0);
	nic_apply_measurement(&m, &moved, true, 15000000);
	assert_int_equal(m.tx_packets_delta, 1000);
	assert_int_equal(m.tx_dropped_delta, 3);
	assert_int_equal(m.measurement_source, RATE_MSOURCE_NIC);
	nic_apply_measurement(&m, &zero, false, 0);
	assert_int_equal(m.tx_packets_delta, 0);
	assert_int_equal(m.measurement_source, RATE_MSOURCE_NIC);
	assert_string_equal(rate_msource_name(m.measurement_source), "nic");
	/* no interface: counters read (0, 0); progress lines -> scanner */
	nic_read("root", NULL, &moved);
	nic_apply_measurement(&m, &moved, true, 42);
	assert_int_equal(m.tx_packets_delta, 42);
	assert_string_equal(rate_msource_name(m.measurement_source), "scanner");
}

static void default_route(void **state)
{
	static const char hdr[] = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask"
				  "\t\tMTU\tWindow\tIRTT\n";
	char out[64], text[1024];
	(void)state;
	snprintf(text, sizeof(text),
		 "%seth1\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
		 "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
		 hdr);
	assert_true(nic_parse_route(text, strlen(text), out, sizeof(out)));
	assert_string_equal(out, "eth0");
	/* default route without RTF_GATEWAY, or with too few fields: none */
	snprintf(text, sizeof(text), "%seth0\t00000000\t00000000\t0001\t0\t0\t0\t0\t0\t0\t0\n",
		 hdr);
	assert_false(nic_parse_route(text, strlen(text), out, sizeof(out)));
	snprintf(text, sizeof(text), "%seth0\t00000000\t0100A8C0\t0003\t0\t0\t0\n", hdr);
	assert_false(nic_parse_route(text, strlen(text), out, sizeof(out)));
	/* the header line is never a route */
	snprintf(text, sizeof(text), "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t0\t0\t0\t0\n");
	assert_false(nic_parse_route(text, strlen(text), out, sizeof(out)));
	assert_false(nic_parse_route("", 0, out, sizeof(out)));
	/* name longer than the buffer */
	snprintf(text, sizeof(text), "%seth0eth0eth0\t00000000\t01\t0003\t0\t0\t0\t0\t0\t0\t0\n",
		 hdr);
	assert_false(nic_parse_route(text, strlen(text), out, 5));
	assert_false(nic_default_route_iface("/nonexistent/route", out, sizeof(out)));
	write_file("route", "Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window "
			    "IRTT\nens5 00000000 0101A8C0 3 0 0 100 00000000 0 0 0\n");
	assert_true(nic_default_route_iface("route", out, sizeof(out)));
	assert_string_equal(out, "ens5");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(c21_reads_counters_from_synthetic_root),
		cmocka_unit_test(c22_missing_files_return_zero),
		cmocka_unit_test(counter_parse_table),
		cmocka_unit_test(deltas_clamped),
		cmocka_unit_test(n17_scanner_fallback),
		cmocka_unit_test(default_route),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
