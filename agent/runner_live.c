#include "runner_live.h"

#include "nic.h"
#include "runner.h"

#include <signal.h>
#include <string.h>

int runner_live_init(struct runner_live *r, struct scan_ctx *ctx, const char *iface, double grace,
		     const char *checkpoint)
{
	memset(r, 0, sizeof(*r));
	r->ctx = ctx;
	r->iface = iface;
	r->grace = grace;
	r->checkpoint = checkpoint;
	if (rate_jitter_init(&r->jitter, RATE_JITTER_INTERVAL_SECONDS, NULL) != 0)
		return -1;
	return scan_progress_file_init(&r->pf, ctx->out);
}

void runner_live_free(struct runner_live *r)
{
	scan_tail_free(&r->err);
}

static void live_on_err(void *ctx, const char *p, size_t n)
{
	struct runner_live *r = ctx;
	scan_tail_append(&r->err, p, n);
	scan_progress_file_feed(&r->pf, p, n);
}

enum rate_run_status runner_live_run(void *ctx, int64_t rate, double window_seconds,
				     bool first_window, struct rate_window_out *out)
{
	struct runner_live *r = ctx;
	struct scan_argv argv = {NULL, 0, 0};
	struct runner_spawn_opts so;
	struct runner_child child;
	struct runner_cb cb;
	struct nic_counters before = {0, 0}, after = {0, 0}, delta;
	enum runner_wait w;
	double start, elapsed;
	bool natural = false;
	int stops0 = runner_stop_count(), code;

	r->windows++;
	if (runner_stop_count() > stops0 || runner_stop_count() > 0) {
		out->stop_signal = runner_stop_signal();
		return RATE_RUN_STOP;
	}
	/* 1. argv */
	if (engine_anyscan_command(r->ctx, 1, rate, first_window ? -1 : 1, r->checkpoint, &argv) !=
	    0) {
		err_set(&out->err, "agentd scan: out of memory");
		return RATE_RUN_ERROR;
	}
	/* 2. counters before */
	if (r->iface != NULL)
		nic_read(r->nic_root, r->iface, &before);
	/* 3-4. heartbeat reset, start time; a fresh stderr buffer per window */
	scan_tail_free(&r->err);
	scan_progress_init(&r->pf.p);
	memset(&cb, 0, sizeof(cb));
	cb.on_err = live_on_err;
	cb.ctx = r;
	cb.jitter = &r->jitter;
	start = runner_now();
	rate_jitter_reset(&r->jitter, start);
	/* 5. spawn */
	memset(&so, 0, sizeof(so));
	so.path = r->ctx->scanner;
	so.argv = argv.v;
	so.out = RUNNER_IO_NULL;
	so.err = RUNNER_IO_PIPE;
	so.pdeathsig = SIGKILL;
	if (runner_spawn(&so, &child, &out->err) != 0) {
		scan_argv_free(&argv);
		return RATE_RUN_ERROR;
	}
	scan_argv_free(&argv);
	/* 6. wait up to window_seconds */
	w = runner_wait(&child, start + window_seconds, &cb);
	if (w == RUNNER_W_EXITED) {
		natural = true;
	} else if (w == RUNNER_W_TIMEOUT) {
		runner_terminate(&child, r->grace, &cb, false);
	} else {
		runner_terminate(&child, r->grace, &cb, true);
	}
	/* 7. drain stderr */
	runner_drain(&child, 5.0, &cb);
	scan_progress_file_finish(&r->pf);
	runner_close(&child);
	if (!runner_check(&child))
		runner_kill(&child);
	if (w == RUNNER_W_STOP || runner_stop_count() > stops0) {
		out->stop_signal = runner_stop_signal();
		return RATE_RUN_STOP;
	}
	/* 8. elapsed includes termination and grace */
	elapsed = runner_now() - start;
	/* 9. counters after */
	if (r->iface != NULL)
		nic_read(r->nic_root, r->iface, &after);
	nic_delta(&before, &after, &delta);
	/* 10-12 */
	code = runner_exit_code(&child);
	out->m.set_rate = rate;
	out->m.elapsed_seconds = elapsed;
	out->m.heartbeat_max_latency_ms = rate_jitter_max_gap_ms(&r->jitter);
	out->m.scanner_finished_naturally = natural && code == 0;
	out->m.scanner_exit_code = code;
	nic_apply_measurement(
		&out->m, &delta, r->pf.p.matches > 0,
		r->pf.p.matches > 0
			? (int64_t)(r->pf.p.last.sent > INT64_MAX ? INT64_MAX : r->pf.p.last.sent)
			: 0);
	return RATE_RUN_MEASURED;
}
