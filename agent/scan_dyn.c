#include "scan_dyn.h"

#include "calib.h"
#include "engine_zmap.h"
#include "events.h"
#include "fsutil.h"
#include "nic.h"
#include "rate_ctl.h"
#include "rate_metric.h"
#include "runner.h"
#include "runner_live.h"
#include "scan.h"
#include "sysload.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void flush_warnings(struct rate_warnings *w, int err_fd)
{
	size_t i;

	for (i = 0; i < w->count; i++)
		(void)fsutil_write_all(err_fd, w->lines[i], strlen(w->lines[i]));
	rate_warnings_clear_lines(w);
}

const struct inst_result *scan_dyn_instance(struct scan_dyn_prep *prep, const char *const *envp)
{
	if (prep->ir == NULL)
		prep->ir = inst_detect_once(&prep->inst, envp, inst_fetch_imds, NULL, &prep->w);
	return prep->ir;
}

int scan_dyn_preflight(struct scan_ctx *ctx, const char *const *envp, bool multi,
		       struct scan_dyn_prep *prep, int err_fd, struct errbuf *e)
{
	const struct scan_env *env = ctx->env;
	struct rate_invocation ri;
	const char *msg = NULL;
	int rc = 0;

	memset(prep, 0, sizeof(*prep));
	rate_warnings_init(&prep->w);
	prep->w.suppress = env->shard_mode;
	if (env->dynamic || multi)
		(void)scan_dyn_instance(prep, envp);
	if (env->dynamic) {
		ri.has_rate_limit = ctx->inv->has_rate;
		ri.rate_limit = ctx->inv->rate_limit;
		if (rate_resolve(envp, prep->ir && prep->ir->type[0] ? prep->ir->type : NULL, &ri,
				 &prep->w, &prep->resolved, &msg) != 0) {
			err_set(e, "agentd: invalid rate policy: %s", msg ? msg : "invalid");
			rc = -1;
		} else {
			prep->resolved_ok = true;
		}
	} else if (env->default_rate_invalid != NULL) {
		/* static mode reads SCANNER_DEFAULT_RATE too: the controller's rule */
		rate_warn(&prep->w, "SCANNER_DEFAULT_RATE", env->default_rate_invalid,
			  strlen(env->default_rate_invalid), "a valid integer",
			  "using the default");
	}
	flush_warnings(&prep->w, err_fd);
	return rc;
}

void scan_dyn_prep_free(struct scan_dyn_prep *prep)
{
	rate_warnings_free(&prep->w);
}

int scan_dyn_main(struct scan_ctx *ctx, struct scan_dyn_prep *prep, const char *root, int out_fd,
		  int err_fd)
{
	const struct scan_env *env = ctx->env;
	char route_iface[NIC_IFACE_MAX + 1], calib_path[PATH_MAX], gen_ck[PATH_MAX];
	const char *iface = NULL, *checkpoint;
	struct sysload_readers readers;
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct rate_started st;
	struct runner_live live;
	struct scan_result sres;
	struct events_sink sink;
	struct calib *store = NULL;
	struct zmap_engine *zm = NULL;
	int status;

	memset(&sres, 0, sizeof(sres));
	/* 2. interface */
	if (env->interface != NULL)
		iface = env->interface;
	else if (nic_default_route_iface(NULL, route_iface, sizeof(route_iface)))
		iface = route_iface;
	/* 4. load readers */
	memset(&readers, 0, sizeof(readers));
	readers.vcpu_count = sysload_vcpu_count(0);
	readers.use_psi = prep->resolved.policy.cpu_signal == RATE_CPU_PSI;
	/* 8. calibration store */
	if (env->calibration_path != NULL) {
		if (snprintf(calib_path, sizeof(calib_path), "%s", env->calibration_path) >=
		    (int)sizeof(calib_path))
			goto toolong;
	} else if (snprintf(calib_path, sizeof(calib_path), "%s%s", root ? root : "",
			    CALIB_DEFAULT_REL_PATH) >= (int)sizeof(calib_path)) {
		goto toolong;
	}
	store = calib_new(calib_path, CALIB_LOCK_WAIT_MS);
	/* 9. starting rate */
	rate_resolve_start(&prep->resolved, iface, store);
	/* §12.4 checkpoint */
	if (snprintf(gen_ck, sizeof(gen_ck), "%s.checkpoint", ctx->out) >= (int)sizeof(gen_ck))
		goto toolong;
	checkpoint = ctx->inv->checkpoint_path ? ctx->inv->checkpoint_path : gen_ck;
	if (ctx->engine == SCAN_ENGINE_ANYSCAN && ctx->inv->checkpoint_path == NULL &&
	    !ctx->inv->resume)
		(void)unlink(gen_ck);
	/* 10. scan_engine, controller_started */
	(void)scan_emit_engine(ctx, "dynamic", err_fd);
	events_sink_fd(&sink, err_fd);
	memset(&st, 0, sizeof(st));
	st.policy = &prep->resolved.policy;
	st.interface = iface;
	st.instance_type = prep->ir && prep->ir->type[0] ? prep->ir->type : NULL;
	st.instance_type_source = inst_source_name(prep->ir ? prep->ir->source : INST_SRC_NONE);
	st.starting_rate = prep->resolved.starting_rate;
	st.starting_rate_source = rate_src_name(prep->resolved.starting_source);
	st.fallback_rate = prep->resolved.fallback_rate;
	st.vcpu_count = readers.vcpu_count;
	st.calibration_path = calib_path;
	(void)rate_metric_started(&sink, &st, NULL);

	if (runner_live_init(&live, ctx, iface, env->grace, checkpoint) != 0)
		goto toolong;
	if (ctx->engine == SCAN_ENGINE_ZMAP) {
		/* §13.8 begin (resume, cursor file) and §13.10 warnings */
		zm = engine_zmap_dyn_new(ctx, iface, env->grace);
		if (zm == NULL)
			goto toolong;
	}
	/* 13. controller */
	rate_ctl_config_init(&cfg);
	cfg.policy = prep->resolved.policy;
	cfg.interface = iface;
	cfg.starting_rate = prep->resolved.starting_rate;
	cfg.store = store;
	cfg.persist_on_clean = true;
	cfg.sampler.sample = sysload_sample;
	cfg.sampler.ctx = &readers;
	cfg.sink = &sink;
	cfg.runner.run = zm != NULL ? engine_zmap_run_window : runner_live_run;
	cfg.runner.ctx = zm != NULL ? (void *)zm : (void *)&live;
	if (rate_ctl_run(&cfg, &res) != 0) {
		const char *m = "agentd scan: internal error: no window runner\n";
		(void)fsutil_write_all(err_fd, m, strlen(m));
		status = 1;
		goto out;
	}
	switch (res.status) {
	case RATE_CTL_STOPPED:
		status = 128 + res.stop_signal;
		goto out;
	case RATE_CTL_RUNNER_ERROR: {
		char line[ERRBUF_SIZE + 32];
		/* cannot truncate: line holds the whole errbuf plus the prefix */
		(void)snprintf(line, sizeof(line), "agentd scan: %s\n", res.err.msg);
		(void)fsutil_write_all(err_fd, line, strlen(line));
		status = 1;
		goto out;
	}
	case RATE_CTL_WINDOW_ERROR:
		sres.rc = res.exit_code != 0 ? res.exit_code : 1;
		break;
	default:
		sres.rc = 0;
		break;
	}
	/* 15. result: (rc, "", the last window's stderr; zmap: the last run's) */
	if (zm != NULL) {
		engine_zmap_dyn_finish(zm, res.status == RATE_CTL_COMPLETED, &sres.err);
		zm = NULL;
	} else {
		sres.err = live.err;
		memset(&live.err, 0, sizeof(live.err));
	}
	status = scan_postprocess(ctx, &sres, env->shard_mode, out_fd, err_fd);
out:
	engine_zmap_dyn_finish(zm, false, NULL);
	scan_result_free(&sres);
	runner_live_free(&live);
	calib_free(store);
	return status;
toolong : {
	const char *m = "agentd scan: path too long\n";
	(void)fsutil_write_all(err_fd, m, strlen(m));
	calib_free(store);
	return 1;
}
}
