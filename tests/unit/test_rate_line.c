/* agent/rate_line and agent/rate_model: measurement lines (§18.1) and the
 * simulate co-process runner (§18.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rate_line.h"
#include "rate_model.h"

extern char **environ;

struct lcase {
	const char *in;
	const char *err; /* NULL: parses */
};

static void line_table(void **state)
{
	static const struct lcase cases[] = {
		{"{\"set_rate\": 1, \"elapsed_seconds\": 30, \"tx_packets_delta\": 1, "
		 "\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0}",
		 NULL},
		{"", "invalid JSON: "},
		{"[]", "not a JSON object"},
		{"{}", "set_rate: missing"},
		{"{\"set_rate\": null}", "set_rate: missing"},
		{"{\"set_rate\": 1.0}", "set_rate: expected an integer"},
		{"{\"set_rate\": 1}", "elapsed_seconds: missing"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": \"30\"}",
		 "elapsed_seconds: expected a number"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": 30}", "tx_packets_delta: missing"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": 30, \"tx_packets_delta\": -1}",
		 "tx_packets_delta: expected an integer >= 0"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": 30, \"tx_packets_delta\": 1, "
		 "\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0, \"scanner_exit_code\": "
		 "99999999999}",
		 "scanner_exit_code: expected an integer"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": 30, \"tx_packets_delta\": 1, "
		 "\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0, "
		 "\"measurement_source\": "
		 "\"dpdk\"}",
		 "measurement_source: expected nic or scanner"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": 30, \"tx_packets_delta\": 1, "
		 "\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0, \"load_average_1min\": "
		 "-1}",
		 "load_average_1min: expected a number >= 0"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": 30, \"tx_packets_delta\": 1, "
		 "\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0, \"policy\": []}",
		 "policy: expected an object"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": 30, \"tx_packets_delta\": 1, "
		 "\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0, \"policy\": "
		 "{\"cpu_signal\": \"PSI\"}}",
		 "policy.cpu_signal: expected loadavg or psi"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": 30, \"tx_packets_delta\": 1, "
		 "\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0, \"policy\": "
		 "{\"multiplicative_factor\": 1}}",
		 "multiplicative_factor must be in (0, 1)"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": 30, \"tx_packets_delta\": 1, "
		 "\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0, \"policy\": "
		 "{\"a\\u0000b\": 1}}",
		 "policy.a?b: unknown key"},
		{"{\"set_rate\": 1, \"elapsed_seconds\": NaN}", "invalid JSON: "},
		{"{\"set_rate\": 1,", "invalid JSON: "},
	};
	struct rate_policy p;
	struct rate_line rl;
	struct errbuf e;
	size_t i;
	(void)state;
	rate_policy_default(&p);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		err_clear(&e);
		rc = rate_line_parse(cases[i].in, strlen(cases[i].in), &p, RATE_LINE_ALLOW_POLICY,
				     &rl, &e);
		if (cases[i].err == NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, e.msg);
		} else if (rc == 0 || strncmp(e.msg, cases[i].err, strlen(cases[i].err)) != 0) {
			fail_msg("case %zu: got \"%s\"", i, e.msg);
		}
	}
	/* simulate replies: set_rate optional, policy refused */
	{
		static const char r1[] =
			"{\"elapsed_seconds\": 30, \"tx_packets_delta\": 1, "
			"\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0}";
		static const char r2[] =
			"{\"elapsed_seconds\": 30, \"tx_packets_delta\": 1, "
			"\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0, "
			"\"policy\": {}}";
		assert_int_equal(
			rate_line_parse(r1, strlen(r1), &p, RATE_LINE_OPTIONAL_SET_RATE, &rl, &e),
			0);
		assert_false(rl.has_set_rate);
		assert_int_equal(
			rate_line_parse(r2, strlen(r2), &p, RATE_LINE_OPTIONAL_SET_RATE, &rl, &e),
			-1);
	}
	assert_string_equal(e.msg, "policy: not allowed here");
}

static int stop_pipe[2];

static struct rate_model *start(const char *cmd, int timeout_ms)
{
	static struct rate_policy p;
	struct rate_model_opts o;
	struct rate_model *m = NULL;

	rate_policy_default(&p);
	memset(&o, 0, sizeof(o));
	o.command = cmd;
	o.envp = environ;
	o.stop_fd = stop_pipe[0];
	o.reply_timeout_ms = timeout_ms;
	o.exit_wait_ms = 1000;
	o.policy = &p;
	assert_int_equal(rate_model_start(&o, &m, NULL), 0);
	return m;
}

static const char reply[] = "{\"elapsed_seconds\": 30, \"tx_packets_delta\": 15000000, "
			    "\"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 10, "
			    "\"load_average_1min\": 1.0, \"vcpu_count\": 4}";

static void model_runner(void **state)
{
	struct rate_window_out out;
	struct rate_model *m;
	char cmd[512];
	(void)state;
	assert_int_equal(pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK), 0);
	signal(SIGPIPE, SIG_IGN);

	/* a measurement, with a load sample */
	snprintf(cmd, sizeof(cmd), "while read l; do echo '%s'; done", reply);
	m = start(cmd, 5000);
	memset(&out, 0, sizeof(out));
	assert_int_equal(rate_model_run(m, 500000, 30, true, &out), RATE_RUN_MEASURED);
	assert_int_equal(out.m.set_rate, 500000);
	assert_int_equal(out.m.tx_packets_delta, 15000000);
	assert_true(out.has_load);
	assert_int_equal(out.load.vcpu_count, 4);
	/* a stop byte ends the next window */
	assert_int_equal(write(stop_pipe[1], "\017", 1), 1);
	memset(&out, 0, sizeof(out));
	assert_int_equal(rate_model_run(m, 700000, 30, false, &out), RATE_RUN_STOP);
	assert_int_equal(out.stop_signal, 15);
	rate_model_finish(m);

	/* a blocked model: the reply timeout */
	m = start("sleep 5", 200);
	memset(&out, 0, sizeof(out));
	assert_int_equal(rate_model_run(m, 1, 30, true, &out), RATE_RUN_ERROR);
	assert_non_null(strstr(out.err.msg, "did not reply"));
	rate_model_finish(m);

	/* a blocked model and a stop signal while waiting */
	m = start("sleep 5", 5000);
	assert_int_equal(write(stop_pipe[1], "\002", 1), 1);
	memset(&out, 0, sizeof(out));
	assert_int_equal(rate_model_run(m, 1, 30, true, &out), RATE_RUN_STOP);
	assert_int_equal(out.stop_signal, 2);
	rate_model_finish(m);

	/* set_rate in the reply must match */
	m = start("read l; echo '{\"set_rate\": 5, \"elapsed_seconds\": 30, \"tx_packets_delta\": "
		  "1, \"tx_dropped_delta\": 0, \"heartbeat_max_latency_ms\": 0}'",
		  5000);
	memset(&out, 0, sizeof(out));
	assert_int_equal(rate_model_run(m, 6, 30, true, &out), RATE_RUN_ERROR);
	assert_non_null(strstr(out.err.msg, "set_rate 5, expected 6"));
	rate_model_finish(m);

	/* EOF then exit 0: a clean end; exit 3: an error */
	m = start("exit 0", 5000);
	memset(&out, 0, sizeof(out));
	assert_int_equal(rate_model_run(m, 1, 30, true, &out), RATE_RUN_ERROR);
	assert_true(rate_model_clean_eof(m));
	rate_model_finish(m);
	m = start("exit 3", 5000);
	memset(&out, 0, sizeof(out));
	assert_int_equal(rate_model_run(m, 1, 30, true, &out), RATE_RUN_ERROR);
	assert_false(rate_model_clean_eof(m));
	assert_non_null(strstr(out.err.msg, "status 3"));
	rate_model_finish(m);
	/* a partial last line is an error */
	m = start("printf '{'", 5000);
	memset(&out, 0, sizeof(out));
	assert_int_equal(rate_model_run(m, 1, 30, true, &out), RATE_RUN_ERROR);
	rate_model_finish(m);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(line_table),
		cmocka_unit_test(model_runner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
