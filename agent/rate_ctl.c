#include "rate_ctl.h"

#include "calib.h"
#include "rate_metric.h"

#include <stdio.h>
#include <string.h>

void rate_ctl_config_init(struct rate_ctl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	rate_policy_default(&cfg->policy);
	cfg->persist_on_clean = true;
}

/* §15.3: write only a new high-water mark; failures become metric lines. */
static void persist(const struct rate_ctl_config *cfg, struct rate_ctl_result *res, int64_t learned)
{
	struct calib_write_info info;
	struct errbuf e;

	if (!cfg->persist_on_clean || cfg->store == NULL || cfg->interface == NULL ||
	    cfg->interface[0] == '\0' || learned <= res->last_persisted)
		return;
	err_clear(&e);
	if (calib_store(cfg->store, cfg->interface, learned, NULL, &info, &e) < 0) {
		rate_metric_persist_failed(cfg->sink, cfg->interface, e.msg, NULL);
		return;
	}
	res->last_persisted = learned;
	if (!info.locked)
		rate_metric_lock_timeout(cfg->sink, cfg->interface, calib_path(cfg->store),
					 info.waited_ms, NULL);
}

int rate_ctl_run(const struct rate_ctl_config *cfg, struct rate_ctl_result *res)
{
	const struct rate_policy *p = &cfg->policy;
	int64_t rate, idx = 0;

	memset(res, 0, sizeof(*res));
	if (cfg->runner.run == NULL)
		return -1;
	rate = rate_clamp(p, cfg->starting_rate);
	for (;;) {
		struct rate_window_out out;
		struct rate_report r;
		enum rate_run_status st;

		idx++;
		if (cfg->max_windows > 0 && idx > cfg->max_windows) {
			res->status = RATE_CTL_WINDOW_LIMIT;
			break;
		}
		memset(&out, 0, sizeof(out));
		st = cfg->runner.run(cfg->runner.ctx, rate, p->window_seconds, idx == 1, &out);
		if (st == RATE_RUN_STOP) {
			res->status = RATE_CTL_STOPPED;
			res->stop_signal = out.stop_signal;
			break;
		}
		if (st != RATE_RUN_MEASURED) {
			res->status = RATE_CTL_RUNNER_ERROR;
			res->err = out.err;
			break;
		}
		out.m.set_rate = rate;
		/* crash check (§15.2 step 3): only before the deadline */
		if (!out.m.scanner_finished_naturally && out.m.scanner_exit_code != 0 &&
		    out.m.elapsed_seconds < p->window_seconds) {
			res->status = RATE_CTL_WINDOW_ERROR;
			res->exit_code = out.m.scanner_exit_code;
			res->window_index = idx;
			res->set_rate = rate;
			break;
		}
		memset(&r, 0, sizeof(r));
		r.index = idx;
		r.set_rate = rate;
		r.m = out.m;
		if (out.has_load) {
			r.has_load = true;
			r.load = out.load;
		} else if (cfg->sampler.sample != NULL) {
			r.has_load = cfg->sampler.sample(cfg->sampler.ctx, &r.load);
		}
		r.next_rate =
			rate_next(p, rate, &r.m, r.has_load ? &r.load : NULL, &r.classification);
		res->windows++;
		if (cfg->on_report != NULL)
			cfg->on_report(cfg->report_ctx, &r);
		rate_metric_adjustment(cfg->sink, p, &r, cfg->interface, NULL);

		/* high-water mark (§15.2 step 7; D1e: an under-delivering natural
		 * finish does not count) */
		if (r.classification == RATE_CLEAN && rate > res->max_clean &&
		    !(r.m.scanner_finished_naturally &&
		      rate_achieved_pps(&r.m) + 1e-9 < p->achieved_ratio_floor * (double)rate)) {
			res->max_clean = rate;
			persist(cfg, res, res->max_clean);
		}
		if (r.m.scanner_finished_naturally) {
			res->status = RATE_CTL_COMPLETED;
			break;
		}
		rate = r.next_rate;
	}
	/* every way out: the terminal persist (no-op unless above last_persisted) */
	if (res->max_clean > 0)
		persist(cfg, res, res->max_clean);
	return 0;
}

int rate_ctl_window_error_text(const struct rate_ctl_result *res, char *out, size_t outsz)
{
	int n = snprintf(out, outsz,
			 "scanner exited unexpectedly during window %lld (rate=%lld, code=%d)",
			 (long long)res->window_index, (long long)res->set_rate, res->exit_code);

	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}
