/* lib/events: metric and warning lines (rate-controller.md §16.2, §16.3, §7.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "json.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One metric line through a capture sink, compared byte for byte. */
static void check_metric(const char *name, struct json_value *fields, const char *want)
{
	struct events_capture cap;
	struct events_sink sink;
	struct errbuf e;

	memset(&cap, 0, sizeof(cap));
	events_capture_sink(&cap, &sink);
	assert_int_equal(events_metric(&sink, name, fields, &e), 0);
	assert_non_null(cap.data);
	if (strcmp(cap.data, want) != 0)
		print_error("want %s got  %s", want, cap.data);
	assert_string_equal(cap.data, want);
	assert_int_equal(cap.lines, 1);
	events_capture_free(&cap);
}

struct adj {
	int64_t window, set_rate, achieved_pps, tx_dropped_delta, latency, next_rate;
	int finished;
	const char *classification;
	const char *interface;
	int with_load; /* loadavg_per_vcpu and vcpu_count */
	double load;   /* loadavg sum, divided by vcpus then rounded */
	int64_t vcpus;
	const char *source; /* measurement_source, NULL for the previous format */
	const char *cpu_signal;
	int with_psi;
	double psi;
	const char *want;
};

/* §16.3 item 1: every rate_adjustment example line, built from values */
static void test_rate_adjustment_lines(void **state)
{
	static const struct adj cases[] = {
		{1, 500000, 485000, 0, 100, 700000, 0, "clean", "eth0", 0, 0, 0, NULL, NULL, 0, 0,
		 "[anyscan-rate-controller] metric={\"achieved_pps\": 485000, \"classification\": "
		 "\"clean\", \"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": 100, "
		 "\"interface\": \"eth0\", \"next_rate\": 700000, \"scanner_finished_naturally\": "
		 "false, \"set_rate\": 500000, \"tx_dropped_delta\": 0, \"window\": 1}\n"},
		{1, 4000000, 3880000, 0, 6000, 4000000, 0, "slip_cpu", "eth0", 1, 8.5, 8, NULL,
		 NULL, 0, 0,
		 "[anyscan-rate-controller] metric={\"achieved_pps\": 3880000, \"classification\": "
		 "\"slip_cpu\", \"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": "
		 "6000, "
		 "\"interface\": \"eth0\", \"loadavg_per_vcpu\": 1.062, \"next_rate\": 4000000, "
		 "\"scanner_finished_naturally\": false, \"set_rate\": 4000000, "
		 "\"tx_dropped_delta\": 0, \"vcpu_count\": 8, \"window\": 1}\n"},
		{1, 500000, 485000, 0, 100, 700000, 0, "clean", "eth0", 0, 0, 0, "nic", NULL, 0, 0,
		 "[anyscan-rate-controller] metric={\"achieved_pps\": 485000, \"classification\": "
		 "\"clean\", \"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": 100, "
		 "\"interface\": \"eth0\", \"measurement_source\": \"nic\", \"next_rate\": 700000, "
		 "\"scanner_finished_naturally\": false, \"set_rate\": 500000, "
		 "\"tx_dropped_delta\": 0, \"window\": 1}\n"},
		{1, 4000000, 3880000, 0, 6000, 4000000, 0, "slip_cpu", "eth0", 1, 8.5, 8, "nic",
		 NULL, 0, 0,
		 "[anyscan-rate-controller] metric={\"achieved_pps\": 3880000, \"classification\": "
		 "\"slip_cpu\", \"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": "
		 "6000, "
		 "\"interface\": \"eth0\", \"loadavg_per_vcpu\": 1.062, \"measurement_source\": "
		 "\"nic\", \"next_rate\": 4000000, \"scanner_finished_naturally\": false, "
		 "\"set_rate\": 4000000, \"tx_dropped_delta\": 0, \"vcpu_count\": 8, \"window\": "
		 "1}\n"},
		/* scanner fallback, load 5.0 over 16 vCPUs */
		{4, 1500000, 1450000, 0, 52, 1700000, 0, "clean", "eth1", 1, 5.0, 16, "scanner",
		 NULL, 0, 0,
		 "[anyscan-rate-controller] metric={\"achieved_pps\": 1450000, \"classification\": "
		 "\"clean\", \"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": 52, "
		 "\"interface\": \"eth1\", \"loadavg_per_vcpu\": 0.312, \"measurement_source\": "
		 "\"scanner\", \"next_rate\": 1700000, \"scanner_finished_naturally\": false, "
		 "\"set_rate\": 1500000, \"tx_dropped_delta\": 0, \"vcpu_count\": 16, \"window\": "
		 "4}\n"},
		/* both opt-ins */
		{2, 1000000, 700000, 0, 51, 700000, 0, "slip_starved", "eth0", 1, 2.0, 8, "nic",
		 "psi", 1, 3.5,
		 "[anyscan-rate-controller] metric={\"achieved_pps\": 700000, \"classification\": "
		 "\"slip_starved\", \"cpu_psi_some_avg10\": 3.5, \"cpu_signal\": \"psi\", "
		 "\"event\": "
		 "\"rate_adjustment\", \"heartbeat_max_latency_ms\": 51, \"interface\": \"eth0\", "
		 "\"loadavg_per_vcpu\": 0.25, \"measurement_source\": \"nic\", \"next_rate\": "
		 "700000, \"scanner_finished_naturally\": false, \"set_rate\": 1000000, "
		 "\"tx_dropped_delta\": 0, \"vcpu_count\": 8, \"window\": 2}\n"},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		const struct adj *c = &cases[i];
		struct json_value *o = json_new_object();
		int rc = 0;

		/* deliberately not in sorted order: the writer sorts */
		rc |= json_object_set_int(o, "window", c->window);
		rc |= json_object_set_int(o, "set_rate", c->set_rate);
		rc |= json_object_set_int(o, "achieved_pps", c->achieved_pps);
		rc |= json_object_set_int(o, "tx_dropped_delta", c->tx_dropped_delta);
		rc |= json_object_set_int(o, "heartbeat_max_latency_ms", c->latency);
		rc |= json_object_set_bool(o, "scanner_finished_naturally", c->finished);
		rc |= json_object_set_string(o, "classification", c->classification);
		rc |= json_object_set_int(o, "next_rate", c->next_rate);
		rc |= json_object_set_string(o, "interface", c->interface);
		if (c->with_load) {
			rc |= json_object_set_double(o, "loadavg_per_vcpu",
						     events_round3(c->load / (double)c->vcpus));
			rc |= json_object_set_int(o, "vcpu_count", c->vcpus);
		}
		if (c->source != NULL)
			rc |= json_object_set_string(o, "measurement_source", c->source);
		if (c->cpu_signal != NULL)
			rc |= json_object_set_string(o, "cpu_signal", c->cpu_signal);
		if (c->with_psi)
			rc |= json_object_set_double(o, "cpu_psi_some_avg10", c->psi);
		assert_int_equal(rc, 0);
		check_metric("rate_adjustment", o, c->want);
		json_free(o);
	}
}

/* §16.3 items 2 and 3 */
static void test_calibration_lines(void **state)
{
	struct json_value *o;
	(void)state;

	o = json_new_object();
	assert_int_equal(json_object_set_string(o, "interface", "eth0"), 0);
	assert_int_equal(json_object_set_string(o, "error", "disk full"), 0);
	check_metric("calibration_persist_failed", o,
		     "[anyscan-rate-controller] metric={\"error\": \"disk full\", \"event\": "
		     "\"calibration_persist_failed\", \"interface\": \"eth0\"}\n");
	json_free(o);

	o = json_new_object();
	assert_int_equal(json_object_set_string(o, "interface", "eth0"), 0);
	assert_int_equal(
		json_object_set_string(o, "error",
				       "write /var/lib/agentd/rate-calibration.json.tmp.4242: "
				       "No space left on device"),
		0);
	check_metric("calibration_persist_failed", o,
		     "[anyscan-rate-controller] metric={\"error\": \"write "
		     "/var/lib/agentd/rate-calibration.json.tmp.4242: No space left on device\", "
		     "\"event\": \"calibration_persist_failed\", \"interface\": \"eth0\"}\n");
	json_free(o);

	o = json_new_object();
	assert_int_equal(json_object_set_int(o, "waited_ms", 10000), 0);
	assert_int_equal(json_object_set_string(o, "path", "/var/lib/agentd/rate-calibration.json"),
			 0);
	assert_int_equal(json_object_set_string(o, "interface", "eth0"), 0);
	check_metric(
		"calibration_lock_timeout", o,
		"[anyscan-rate-controller] metric={\"event\": \"calibration_lock_timeout\", "
		"\"interface\": \"eth0\", \"path\": \"/var/lib/agentd/rate-calibration.json\", "
		"\"waited_ms\": 10000}\n");
	json_free(o);
}

/* §16.3 item 4, both formats; window_seconds integral -> int */
static void test_controller_started_lines(void **state)
{
	struct json_value *o;
	int pass, rc;
	(void)state;

	for (pass = 0; pass < 2; pass++) {
		o = json_new_object();
		rc = 0;
		rc |= json_object_set_string(o, "interface", "eth0");
		rc |= json_object_set_string(o, "instance_type", "c6in.xlarge");
		rc |= json_object_set_int(o, "starting_rate", 500000);
		rc |= json_object_set_int(o, "fallback_rate", 500000);
		rc |= json_object_set_int(o, "policy_floor", 100000);
		rc |= json_object_set_int(o, "policy_ceiling", 2000000);
		rc |= json_object_set_int(o, "additive_step", 200000);
		rc |= json_object_set_double(o, "multiplicative_factor", 0.5);
		rc |= json_object_set_number(o, "window_seconds", 1.0);
		rc |= json_object_set_int(o, "heartbeat_threshold_ms", 5000);
		rc |= json_object_set_double(o, "cpu_load_threshold", 0.8);
		rc |= json_object_set_double(o, "drop_ratio_threshold", 0.001);
		rc |= json_object_set_int(o, "vcpu_count", 2);
		rc |= json_object_set_string(o, "calibration_path", "/tmp/dyn/calib.json");
		if (pass == 1) {
			rc |= json_object_set_double(o, "achieved_ratio_floor", 0.9);
			rc |= json_object_set_string(o, "cpu_signal", "loadavg");
			rc |= json_object_set_string(o, "starved_policy", "halve");
			rc |= json_object_set_string(o, "instance_type_source", "env");
			rc |= json_object_set_string(o, "starting_rate_source", "instance-table");
		}
		assert_int_equal(rc, 0);
		if (pass == 0)
			check_metric(
				"controller_started", o,
				"[anyscan-rate-controller] metric={\"additive_step\": 200000, "
				"\"calibration_path\": \"/tmp/dyn/calib.json\", "
				"\"cpu_load_threshold\": "
				"0.8, \"drop_ratio_threshold\": 0.001, \"event\": "
				"\"controller_started\", \"fallback_rate\": 500000, "
				"\"heartbeat_threshold_ms\": 5000, \"instance_type\": "
				"\"c6in.xlarge\", "
				"\"interface\": \"eth0\", \"multiplicative_factor\": 0.5, "
				"\"policy_ceiling\": 2000000, \"policy_floor\": 100000, "
				"\"starting_rate\": 500000, \"vcpu_count\": 2, \"window_seconds\": "
				"1}\n");
		else
			check_metric(
				"controller_started", o,
				"[anyscan-rate-controller] metric={\"achieved_ratio_floor\": 0.9, "
				"\"additive_step\": 200000, \"calibration_path\": "
				"\"/tmp/dyn/calib.json\", \"cpu_load_threshold\": 0.8, "
				"\"cpu_signal\": "
				"\"loadavg\", \"drop_ratio_threshold\": 0.001, \"event\": "
				"\"controller_started\", \"fallback_rate\": 500000, "
				"\"heartbeat_threshold_ms\": 5000, \"instance_type\": "
				"\"c6in.xlarge\", "
				"\"instance_type_source\": \"env\", \"interface\": \"eth0\", "
				"\"multiplicative_factor\": 0.5, \"policy_ceiling\": 2000000, "
				"\"policy_floor\": 100000, \"starting_rate\": 500000, "
				"\"starting_rate_source\": \"instance-table\", \"starved_policy\": "
				"\"halve\", \"vcpu_count\": 2, \"window_seconds\": 1}\n");
		json_free(o);
	}

	/* a fractional window is a float */
	o = json_new_object();
	assert_int_equal(json_object_set_number(o, "window_seconds", 1.5), 0);
	check_metric("controller_started", o,
		     "[anyscan-rate-controller] metric={\"event\": \"controller_started\", "
		     "\"window_seconds\": 1.5}\n");
	assert_int_equal(json_object_set_number(o, "window_seconds", 30.0), 0);
	check_metric("controller_started", o,
		     "[anyscan-rate-controller] metric={\"event\": \"controller_started\", "
		     "\"window_seconds\": 30}\n");
	json_free(o);
}

/* §16.3 item 5 */
static void test_multi_nic_line(void **state)
{
	struct json_value *o = json_new_object(), *ifs = json_new_array(), *req;
	int rc = 0;
	(void)state;

	rc |= json_array_append(ifs, json_new_string("eth0"));
	rc |= json_array_append(ifs, json_new_string("eth1"));
	req = json_copy(ifs);
	rc |= json_object_set(o, "interfaces", ifs);
	rc |= json_object_set(o, "requested_interfaces", req);
	rc |= json_object_set_int(o, "shard_count", 2);
	rc |= json_object_set_int(o, "max_concurrent", 4);
	rc |= json_object_set_string(o, "instance_type", NULL);
	rc |= json_object_set_string(o, "target_range", "10.0.0.0-10.0.0.7");
	assert_int_equal(rc, 0);
	check_metric(
		"multi_nic_orchestration_started", o,
		"[anyscan-rate-controller] metric={\"event\": "
		"\"multi_nic_orchestration_started\", \"instance_type\": null, \"interfaces\": "
		"[\"eth0\", \"eth1\"], \"max_concurrent\": 4, \"requested_interfaces\": "
		"[\"eth0\", \"eth1\"], \"shard_count\": 2, \"target_range\": "
		"\"10.0.0.0-10.0.0.7\"}\n");
	json_free(o);
}

static void test_metric_edge_cases(void **state)
{
	struct events_capture cap;
	struct events_sink sink;
	struct json_value *o, *arr;
	struct errbuf e;
	char *line;
	size_t len;
	(void)state;

	check_metric("bare", NULL, "[anyscan-rate-controller] metric={\"event\": \"bare\"}\n");
	/* a caller's "event" is replaced, not duplicated */
	o = json_new_object();
	assert_int_equal(json_object_set_int(o, "event", 5), 0);
	check_metric("x", o, "[anyscan-rate-controller] metric={\"event\": \"x\"}\n");
	json_free(o);
	/* non-ASCII and control bytes are escaped: one line, ASCII only */
	o = json_new_object();
	assert_int_equal(json_object_set_string(o, "error", "a\nb\xc3\xa9"), 0);
	check_metric("x", o,
		     "[anyscan-rate-controller] metric={\"error\": \"a\\nb\\u00e9\", \"event\": "
		     "\"x\"}\n");
	json_free(o);
	/* not an object */
	arr = json_new_array();
	assert_null(events_format_metric("x", arr, &len, &e));
	assert_string_equal(e.msg, "events: metric fields are not an object");
	json_free(arr);
	assert_null(events_format_metric(NULL, NULL, &len, &e));
	/* two lines in a row */
	memset(&cap, 0, sizeof(cap));
	events_capture_sink(&cap, &sink);
	assert_int_equal(events_metric(&sink, "a", NULL, &e), 0);
	assert_int_equal(events_metric(&sink, "b", NULL, &e), 0);
	assert_string_equal(cap.data, "[anyscan-rate-controller] metric={\"event\": \"a\"}\n"
				      "[anyscan-rate-controller] metric={\"event\": \"b\"}\n");
	assert_int_equal(cap.lines, 2);
	events_capture_free(&cap);
	line = events_format_metric("a", NULL, &len, &e);
	assert_non_null(line);
	assert_int_equal(len, strlen(line));
	free(line);
}

/* §16.2: round(x, 3), correctly rounded, exact binary ties to even */
static void test_round3(void **state)
{
	static const struct {
		double in, want;
		const char *text;
	} cases[] = {
		{1.0625, 1.062, "1.062"}, /* tie: 2 is even */
		{0.8125, 0.812, "0.812"}, /* tie */
		{0.3125, 0.312, "0.312"}, /* tie */
		{0.0625, 0.062, "0.062"}, /* tie */
		{0.1875, 0.188, "0.188"}, /* tie, rounds up to the even 8 */
		{1.1875, 1.188, "1.188"}, /* tie */
		{-1.0625, -1.062, "-1.062"},
		{8.5 / 8.0, 1.062, "1.062"},
		{5.0 / 16.0, 0.312, "0.312"},
		{0.25, 0.25, "0.25"},
		{2.0 / 3.0, 0.667, "0.667"},
		{0.0005, 0.001, "0.001"}, /* the double is just above the decimal tie */
		{1.0005, 1.0, "1.0"},     /* ... and this one just below */
		{2.675, 2.675, "2.675"},
		{0.0, 0.0, "0.0"},
		{-0.0001, -0.0, "-0.0"},
		{123456.78949, 123456.789, "123456.789"},
		{1e300, 1e300, "1e+300"},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		double got = events_round3(cases[i].in);
		char buf[JSON_DOUBLE_MAX];
		assert_true(got == cases[i].want);
		assert_int_equal(json_format_double(got, buf, sizeof(buf), NULL), 0);
		assert_string_equal(buf, cases[i].text);
	}
	assert_true(isnan(events_round3(NAN)));
	assert_true(isinf(events_round3(INFINITY)));
}

/* §7.2 warning lines */
static void test_warning_lines(void **state)
{
	static const struct {
		const char *name, *value;
		size_t vlen; /* 0: strlen */
		const char *what, *action, *want;
	} cases[] = {
		{"ANYSCAN_RATE_FLOOR", "abc", 0, "a valid integer", "using the default",
		 "[anyscan-rate-controller] warning: ANYSCAN_RATE_FLOOR=\"abc\" is not a valid "
		 "integer; using the default\n"},
		{"ANYSCAN_CPU_LOAD_THRESHOLD", "nan", 0, "a valid number", "using the default",
		 "[anyscan-rate-controller] warning: ANYSCAN_CPU_LOAD_THRESHOLD=\"nan\" is not a "
		 "valid number; using the default\n"},
		{"ANYSCAN_CPU_SIGNAL", "p\xc3\xa9i\"", 0, "one of loadavg, psi",
		 "using the default",
		 "[anyscan-rate-controller] warning: ANYSCAN_CPU_SIGNAL=\"p\\u00e9i\\\"\" is not "
		 "one "
		 "of loadavg, psi; using the default\n"},
		{"ANYSCAN_INSTANCE_TYPE", "c6in..x", 0, "a valid instance type", "ignoring it",
		 "[anyscan-rate-controller] warning: ANYSCAN_INSTANCE_TYPE=\"c6in..x\" is not a "
		 "valid instance type; ignoring it\n"},
		{"X", "a\0b", 3, "a valid integer", "using the default",
		 "[anyscan-rate-controller] warning: X=\"a\\u0000b\" is not a valid integer; using "
		 "the default\n"},
	};
	size_t i;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		struct events_capture cap;
		struct events_sink sink;
		struct errbuf e;
		size_t vlen = cases[i].vlen ? cases[i].vlen : strlen(cases[i].value);
		size_t len;
		char *line = events_format_invalid(cases[i].name, cases[i].value, vlen,
						   cases[i].what, cases[i].action, &len, &e);

		assert_non_null(line);
		assert_string_equal(line, cases[i].want);
		assert_int_equal(len, strlen(cases[i].want));
		free(line);
		memset(&cap, 0, sizeof(cap));
		events_capture_sink(&cap, &sink);
		assert_int_equal(events_warn_invalid(&sink, cases[i].name, cases[i].value, vlen,
						     cases[i].what, cases[i].action, &e),
				 0);
		assert_string_equal(cap.data, cases[i].want);
		events_capture_free(&cap);
	}
	{
		struct events_capture cap;
		struct events_sink sink;
		memset(&cap, 0, sizeof(cap));
		events_capture_sink(&cap, &sink);
		assert_int_equal(events_warning(&sink, "something odd", NULL), 0);
		assert_string_equal(cap.data, "[anyscan-rate-controller] warning: something odd\n");
		events_capture_free(&cap);
	}
}

/* The fd sink: the whole line arrives, also one bigger than PIPE_BUF. */
static void test_fd_sink(void **state)
{
	struct events_sink sink;
	struct json_value *o = json_new_object();
	char *big = malloc(100000), *got = malloc(200000), *want;
	struct errbuf e;
	size_t wlen, n = 0;
	ssize_t r;
	int fd;
	(void)state;

	assert_non_null(big);
	assert_non_null(got);
	memset(big, 'x', 99999);
	big[99999] = '\0';
	assert_int_equal(json_object_set_string(o, "blob", big), 0);
	fd = open("metrics.log", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	events_sink_fd(&sink, fd);
	assert_int_equal(events_metric(&sink, "big", o, &e), 0);
	assert_int_equal(events_metric(&sink, "small", NULL, &e), 0);
	want = events_format_metric("big", o, &wlen, &e);
	assert_non_null(want);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	while ((r = read(fd, got + n, 200000 - n - 1)) > 0)
		n += (size_t)r;
	got[n] = '\0';
	assert_int_equal(n, wlen + strlen("[anyscan-rate-controller] metric={\"event\": "
					  "\"small\"}\n"));
	assert_memory_equal(got, want, wlen);
	assert_string_equal(got + wlen,
			    "[anyscan-rate-controller] metric={\"event\": \"small\"}\n");
	close(fd);
	/* a closed fd: -1 with the reason */
	assert_int_equal(events_metric(&sink, "x", NULL, &e), -1);
	assert_int_equal(errno, EBADF);
	assert_non_null(strstr(e.msg, "write metric line"));
	assert_int_equal(events_sink_write(NULL, "x\n", 2, &e), -1);
	free(want);
	free(big);
	free(got);
	json_free(o);
}

static int failing_line(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	(void)line;
	(void)len;
	errno = EPIPE;
	return -1;
}

static void test_failing_sink(void **state)
{
	struct events_sink sink = {failing_line, NULL, -1};
	struct errbuf e;
	(void)state;

	assert_int_equal(events_metric(&sink, "x", NULL, &e), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(events_warning(&sink, "w", &e), -1);
	assert_int_equal(events_warn_invalid(&sink, "A", "b", 1, "c", "d", &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_adjustment_lines),
		cmocka_unit_test(test_calibration_lines),
		cmocka_unit_test(test_controller_started_lines),
		cmocka_unit_test(test_multi_nic_line),
		cmocka_unit_test(test_metric_edge_cases),
		cmocka_unit_test(test_round3),
		cmocka_unit_test(test_warning_lines),
		cmocka_unit_test(test_fd_sink),
		cmocka_unit_test(test_failing_sink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
