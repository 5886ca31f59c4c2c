/* agent/runner: spawn with a close-on-exec error pipe, exit codes (-N for a
 * signal), the wait loop's deadline and pipes, the termination sequence
 * (scan.md §11.1-§11.3).  Uses /bin/sh children; no network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rate_jitter.h"
#include "runner.h"
#include "scan_text.h"

static void on_err(void *ctx, const char *p, size_t n)
{
	(void)scan_buf_append(ctx, p, n);
}

static int spawn_sh(const char *script, struct runner_child *c, struct errbuf *e)
{
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)script, NULL};
	struct runner_spawn_opts o;
	memset(&o, 0, sizeof(o));
	o.path = "/bin/sh";
	o.argv = argv;
	o.out = RUNNER_IO_NULL;
	o.err = RUNNER_IO_PIPE;
	o.pdeathsig = SIGKILL;
	return runner_spawn(&o, c, e);
}

static void test_exit_codes(void **state)
{
	struct runner_child c;
	struct runner_cb cb;
	struct scan_buf err = {NULL, 0, 0};
	struct errbuf e;
	(void)state;
	assert_int_equal(runner_signals_init(&e), 0);
	memset(&cb, 0, sizeof(cb));
	cb.on_err = on_err;
	cb.ctx = &err;
	assert_int_equal(spawn_sh("echo oops >&2; exit 7", &c, &e), 0);
	assert_int_equal(runner_wait(&c, -1, &cb), RUNNER_W_EXITED);
	runner_drain(&c, 5, &cb);
	runner_close(&c);
	assert_int_equal(runner_exit_code(&c), 7);
	assert_string_equal(err.data, "oops\n");
	scan_buf_free(&err);
	assert_int_equal(spawn_sh("kill -SEGV $$", &c, &e), 0);
	assert_int_equal(runner_wait(&c, -1, &cb), RUNNER_W_EXITED);
	runner_close(&c);
	assert_int_equal(runner_exit_code(&c), -SIGSEGV);
}

static void test_exec_failure(void **state)
{
	char *argv[] = {(char *)"nope", NULL};
	struct runner_spawn_opts o;
	struct runner_child c;
	struct errbuf e;
	(void)state;
	memset(&o, 0, sizeof(o));
	o.path = "/nonexistent/scanner";
	o.argv = argv;
	err_clear(&e);
	assert_int_equal(runner_spawn(&o, &c, &e), -1);
	assert_string_equal(e.msg, "exec /nonexistent/scanner: No such file or directory");
}

/* §11.3: SIGINT first; a child that exits on it gets nothing further */
static void test_terminate_int(void **state)
{
	struct runner_child c;
	struct runner_cb cb;
	struct scan_buf err = {NULL, 0, 0};
	struct errbuf e;
	(void)state;
	memset(&cb, 0, sizeof(cb));
	cb.on_err = on_err;
	cb.ctx = &err;
	assert_int_equal(spawn_sh("trap 'echo INT >&2; exit 3' INT; trap 'echo TERM >&2' TERM; "
				  "echo ready >&2; while :; do sleep 0.05; done",
				  &c, &e),
			 0);
	/* deadline: the child runs on */
	assert_int_equal(runner_wait(&c, runner_now() + 0.5, &cb), RUNNER_W_TIMEOUT);
	runner_terminate(&c, 5, &cb, false);
	runner_drain(&c, 5, &cb);
	runner_close(&c);
	assert_true(c.exited);
	assert_int_equal(runner_exit_code(&c), 3);
	assert_non_null(strstr(err.data, "ready\nINT\n"));
	assert_null(strstr(err.data, "TERM\n"));
	scan_buf_free(&err);
}

/* a child ignoring SIGINT and SIGTERM: SIGTERM after g, SIGKILL after 2g */
static void test_terminate_escalation(void **state)
{
	struct runner_child c;
	struct runner_cb cb;
	struct scan_buf err = {NULL, 0, 0};
	struct rate_jitter j;
	struct errbuf e;
	double t0;
	(void)state;
	memset(&cb, 0, sizeof(cb));
	cb.on_err = on_err;
	cb.ctx = &err;
	assert_int_equal(rate_jitter_init(&j, RATE_JITTER_INTERVAL_SECONDS, &e), 0);
	cb.jitter = &j;
	assert_int_equal(spawn_sh("trap 'echo INT >&2' INT; trap 'echo TERM >&2' TERM; echo ready "
				  ">&2; while :; do sleep 0.05; done",
				  &c, &e),
			 0);
	rate_jitter_reset(&j, runner_now());
	assert_int_equal(runner_wait(&c, runner_now() + 0.3, &cb), RUNNER_W_TIMEOUT);
	t0 = runner_now();
	runner_terminate(&c, 0.3, &cb, false);
	assert_true(runner_now() - t0 >= 0.6); /* two full graces before SIGKILL */
	runner_drain(&c, 5, &cb);
	runner_close(&c);
	assert_int_equal(runner_exit_code(&c), -SIGKILL);
	/* sh may also report its sleep's death ("Terminated") */
	assert_non_null(strstr(err.data, "ready\nINT\n"));
	assert_non_null(strstr(err.data, "TERM\n"));
	assert_true(strstr(err.data, "INT\n") < strstr(err.data, "TERM\n"));
	/* the heartbeat ticked during the wait: the 50 ms interval at least */
	assert_true(rate_jitter_max_gap_ms(&j) >= 50);
	scan_buf_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_terminate_int),
		cmocka_unit_test(test_terminate_escalation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
