/* agent/rate_ctl + rate_metric: the controller loop, its persistence rules
 * and the metric lines (rate-controller.md §15, §16.3, §17; cases c16-c19,
 * c50-c53, n10-n12, n19, n23). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "calib.h"
#include "events.h"
#include "rate_ctl.h"
#include "rate_metric.h"
#include "sysload.h"

/* ---- scripted runner */

struct window {
	double achieved;
	int64_t drops;
	int64_t hb;
	double elapsed;
	bool fin;
	int exit_code;
	bool stop;
	int stop_signal;
};

struct script {
	void (*window)(struct script *s, int64_t call, int64_t rate, struct window *w);
	int64_t rates[64];
	int64_t calls;
	int param;
};

static enum rate_run_status script_run(void *ctx, int64_t rate, double window_seconds,
				       bool first_window, struct rate_window_out *out)
{
	struct script *s = ctx;
	struct window w = {.elapsed = window_seconds};

	assert_int_equal(first_window, s->calls == 0);
	if (s->calls < 64)
		s->rates[s->calls] = rate;
	s->calls++;
	s->window(s, s->calls, rate, &w);
	if (w.stop) {
		out->stop_signal = w.stop_signal;
		return RATE_RUN_STOP;
	}
	out->m.set_rate = rate;
	out->m.elapsed_seconds = w.elapsed;
	out->m.tx_packets_delta = rate_d2i(w.achieved * w.elapsed);
	out->m.tx_dropped_delta = w.drops;
	out->m.heartbeat_max_latency_ms = w.hb;
	out->m.scanner_finished_naturally = w.fin;
	out->m.scanner_exit_code = w.exit_code;
	return RATE_RUN_MEASURED;
}

/* §17 reference network profile */
static void reference_profile(struct script *s, int64_t call, int64_t rate, struct window *w)
{
	double r = (double)rate;
	(void)s;
	(void)call;
	if (r <= 100000) {
		w->achieved = 1.75 * r;
		w->hb = 50;
	} else if (r <= 1000000) {
		w->achieved = 0.97 * r < 2220000 ? 0.97 * r : 2220000;
		w->hb = 100;
	} else if (r <= 2000000) {
		double a = 1700000 + 0.5 * (r - 1000000);
		w->achieved = a < 2220000 ? a : 2220000;
		w->hb = 800;
	} else if (r <= 3000000) {
		w->achieved = 2220000 - 0.4 * (r - 2000000);
		w->drops = (int64_t)(0.05 * (r - 2000000));
		w->hb = 4500;
	} else {
		w->achieved = 1500000;
		w->drops = (int64_t)(0.1 * (r - 3000000));
		w->hb = 7000;
	}
}

struct reports {
	struct rate_report r[64];
	int n;
};

static void collect(void *ctx, const struct rate_report *r)
{
	struct reports *rs = ctx;
	if (rs->n < 64)
		rs->r[rs->n++] = *r;
}

static void setup_cfg(struct rate_ctl_config *cfg, struct script *s, struct reports *rs,
		      const struct events_sink *sink)
{
	rate_ctl_config_init(cfg);
	cfg->runner.run = script_run;
	cfg->runner.ctx = s;
	cfg->on_report = collect;
	cfg->report_ctx = rs;
	cfg->sink = sink;
}

static size_t count_substr(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p = hay;

	while (p != NULL && (p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static void c16_converges_into_sweet_spot_within_a_handful_of_windows(void **state)
{
	static const struct {
		int64_t set, achieved, drops, hb;
		enum rate_class cls;
		int64_t next;
	} want[10] = {
		{500000, 485000, 0, 100, RATE_CLEAN, 700000},
		{700000, 679000, 0, 100, RATE_CLEAN, 900000},
		{900000, 873000, 0, 100, RATE_CLEAN, 1100000},
		{1100000, 1750000, 0, 800, RATE_CLEAN, 1300000},
		{1300000, 1850000, 0, 800, RATE_CLEAN, 1500000},
		{1500000, 1950000, 0, 800, RATE_CLEAN, 1700000},
		{1700000, 2050000, 0, 800, RATE_CLEAN, 1900000},
		{1900000, 2150000, 0, 800, RATE_CLEAN, 2100000},
		{2100000, 2180000, 5000, 4500, RATE_SLIP_NETWORK, 1050000},
		{1050000, 1725000, 0, 800, RATE_CLEAN, 1250000},
	};
	struct script s = {.window = reference_profile};
	struct reports rs = {.n = 0};
	struct events_capture cap = {0};
	struct events_sink sink;
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	int i;
	(void)state;
	events_capture_sink(&cap, &sink);
	setup_cfg(&cfg, &s, &rs, &sink);
	cfg.interface = "eth0";
	cfg.starting_rate = 500000;
	cfg.persist_on_clean = false;
	cfg.max_windows = 10;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(res.status, RATE_CTL_WINDOW_LIMIT);
	assert_int_equal(rs.n, 10);
	for (i = 0; i < 10; i++) {
		assert_int_equal(rs.r[i].index, i + 1);
		assert_int_equal(rs.r[i].set_rate, want[i].set);
		assert_int_equal(rate_d2i(rate_achieved_pps(&rs.r[i].m)), want[i].achieved);
		assert_int_equal(rs.r[i].m.tx_dropped_delta, want[i].drops);
		assert_int_equal(rs.r[i].m.heartbeat_max_latency_ms, want[i].hb);
		assert_int_equal(rs.r[i].classification, want[i].cls);
		assert_int_equal(rs.r[i].next_rate, want[i].next);
		assert_true(rs.r[i].set_rate <= 4000000);
	}
	assert_int_equal(cap.lines, 10);
	assert_int_equal(count_substr(cap.data, "\"event\": \"rate_adjustment\""), 10);
	assert_non_null(strstr(cap.data,
			       "[anyscan-rate-controller] metric={\"achieved_pps\": 485000, "
			       "\"classification\": \"clean\", \"event\": "
			       "\"rate_adjustment\", \"heartbeat_max_latency_ms\": 100, "
			       "\"interface\": \"eth0\", \"measurement_source\": \"nic\", "
			       "\"next_rate\": 700000, \"scanner_finished_naturally\": "
			       "false, \"set_rate\": 500000, \"tx_dropped_delta\": 0, "
			       "\"window\": 1}\n"));
	events_capture_free(&cap);
}

static void clean_095(struct script *s, int64_t call, int64_t rate, struct window *w)
{
	(void)s;
	(void)call;
	w->achieved = 0.95 * (double)rate;
	w->hb = 50;
}

static void c17_clean_only_scenario_walks_up_to_ceiling(void **state)
{
	static const int64_t want[8] = {200000,  400000,  600000,  800000,
					1000000, 1000000, 1000000, 1000000};
	struct script s = {.window = clean_095};
	struct reports rs = {.n = 0};
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	int i;
	(void)state;
	setup_cfg(&cfg, &s, &rs, NULL);
	cfg.policy.ceiling = 1000000;
	cfg.starting_rate = 200000;
	cfg.persist_on_clean = false;
	cfg.max_windows = 8;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(rs.n, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(rs.r[i].set_rate, want[i]);
}

static void c18_persists_max_clean_rate_after_run(void **state)
{
	struct script s = {.window = reference_profile};
	struct reports rs = {.n = 0};
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct calib *c = calib_new("rate-calibration.json", 1000);
	int64_t r;
	(void)state;
	setup_cfg(&cfg, &s, &rs, NULL);
	cfg.interface = "eth0";
	cfg.starting_rate = 500000;
	cfg.store = c;
	cfg.max_windows = 8;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_true(calib_lookup(c, "eth0", &r));
	assert_true(r >= 900000);
	assert_int_equal(r, 1900000);
	assert_int_equal(res.last_persisted, 1900000);
	calib_free(c);
}

static void crash_always(struct script *s, int64_t call, int64_t rate, struct window *w)
{
	(void)s;
	(void)call;
	(void)rate;
	w->elapsed = 1.0;
	w->exit_code = 139;
}

static void c19_mid_window_failure_aborts_loop(void **state)
{
	struct script s = {.window = crash_always};
	struct reports rs = {.n = 0};
	struct events_capture cap = {0};
	struct events_sink sink;
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	char text[128];
	(void)state;
	events_capture_sink(&cap, &sink);
	setup_cfg(&cfg, &s, &rs, &sink);
	cfg.starting_rate = 500000;
	cfg.max_windows = 5;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(res.status, RATE_CTL_WINDOW_ERROR);
	assert_int_equal(res.exit_code, 139);
	assert_int_equal(res.window_index, 1);
	assert_int_equal(res.set_rate, 500000);
	assert_int_equal(s.calls, 1);
	assert_int_equal(rs.n, 0);
	assert_int_equal(cap.lines, 0);
	assert_int_equal(rate_ctl_window_error_text(&res, text, sizeof(text)), 0);
	assert_string_equal(text,
			    "scanner exited unexpectedly during window 1 (rate=500000, code=139)");
	events_capture_free(&cap);
}

static void deadline_nonzero_exit(struct script *s, int64_t call, int64_t rate, struct window *w)
{
	(void)s;
	(void)call;
	w->achieved = 0.97 * (double)rate;
	w->exit_code = -2; /* SIGINT at the deadline: elapsed >= window */
}

static void nonzero_exit_at_deadline_is_not_a_crash(void **state)
{
	struct script s = {.window = deadline_nonzero_exit};
	struct reports rs = {.n = 0};
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	(void)state;
	setup_cfg(&cfg, &s, &rs, NULL);
	cfg.starting_rate = 500000;
	cfg.max_windows = 3;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(res.status, RATE_CTL_WINDOW_LIMIT);
	assert_int_equal(rs.n, 3);
}

static void clean_then_crash(struct script *s, int64_t call, int64_t rate, struct window *w)
{
	w->achieved = 0.97 * (double)rate;
	w->hb = 100;
	if (call == s->param) {
		w->elapsed = 1.0;
		w->exit_code = 139;
	}
}

static void c50_persists_on_each_clean_window(void **state)
{
	struct script s = {.window = clean_then_crash, .param = 3};
	struct reports rs = {.n = 0};
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct calib *c = calib_new("rate-calibration.json", 1000);
	int64_t r;
	(void)state;
	setup_cfg(&cfg, &s, &rs, NULL);
	cfg.interface = "eth0";
	cfg.starting_rate = 500000;
	cfg.store = c;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(res.status, RATE_CTL_WINDOW_ERROR);
	assert_int_equal(s.calls, 3);
	assert_int_equal(s.rates[0], 500000);
	assert_int_equal(s.rates[1], 700000);
	assert_int_equal(s.rates[2], 900000);
	assert_true(calib_lookup(c, "eth0", &r));
	assert_int_equal(r, 700000);
	calib_free(c);
}

static void c51_persists_when_crash_strikes_before_any_clean_window(void **state)
{
	struct script s = {.window = clean_then_crash, .param = 1};
	struct reports rs = {.n = 0};
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct calib *c = calib_new("rate-calibration.json", 1000);
	struct calib_write_info info;
	struct calib_map m;
	(void)state;
	assert_int_equal(calib_store(c, "eth0", 1500000, "2026-04-26T00:00:00Z", &info, NULL), 0);
	setup_cfg(&cfg, &s, &rs, NULL);
	cfg.interface = "eth0";
	cfg.starting_rate = 500000;
	cfg.store = c;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(res.status, RATE_CTL_WINDOW_ERROR);
	calib_load(c, &m);
	assert_int_equal(m.count, 1);
	assert_int_equal(calib_map_find(&m, "eth0")->learned_rate, 1500000);
	assert_string_equal(calib_map_find(&m, "eth0")->updated_at, "2026-04-26T00:00:00Z");
	calib_map_free(&m);
	calib_free(c);
}

static void clean_then_stop(struct script *s, int64_t call, int64_t rate, struct window *w)
{
	(void)s;
	w->achieved = 0.97 * (double)rate;
	if (call == 3) {
		w->stop = true;
		w->stop_signal = 15;
	}
}

static void c52_persists_when_interrupted_by_systemexit_mid_loop(void **state)
{
	struct script s = {.window = clean_then_stop};
	struct reports rs = {.n = 0};
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct calib *c = calib_new("rate-calibration.json", 1000);
	int64_t r;
	(void)state;
	setup_cfg(&cfg, &s, &rs, NULL);
	cfg.interface = "eth2";
	cfg.starting_rate = 500000;
	cfg.store = c;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(res.status, RATE_CTL_STOPPED);
	assert_int_equal(128 + res.stop_signal, 143);
	assert_int_equal(rs.n, 2);
	assert_true(calib_lookup(c, "eth2", &r));
	assert_int_equal(r, 700000);
	calib_free(c);
}

static void finish_from_2(struct script *s, int64_t call, int64_t rate, struct window *w)
{
	w->achieved = rate == 500000 ? 480000 : rate == 700000 ? (double)s->param : 0;
	w->hb = 100;
	w->fin = call >= 2;
}

static void c53_persists_after_natural_finish(void **state)
{
	struct script s = {.window = finish_from_2, .param = 680000};
	struct reports rs = {.n = 0};
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct calib *c = calib_new("rate-calibration.json", 1000);
	int64_t r;
	(void)state;
	setup_cfg(&cfg, &s, &rs, NULL);
	cfg.interface = "eth1";
	cfg.starting_rate = 500000;
	cfg.store = c;
	cfg.max_windows = 5;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(res.status, RATE_CTL_COMPLETED);
	assert_int_equal(s.calls, 2);
	assert_true(calib_lookup(c, "eth1", &r));
	assert_int_equal(r, 700000);
	calib_free(c);
}

static void n11_underdelivering_natural_finish_keeps_mark(void **state)
{
	struct script s = {.window = finish_from_2, .param = 0};
	struct reports rs = {.n = 0};
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct calib *c = calib_new("rate-calibration.json", 1000);
	int64_t r;
	(void)state;
	setup_cfg(&cfg, &s, &rs, NULL);
	cfg.interface = "eth0";
	cfg.starting_rate = 500000;
	cfg.store = c;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(res.status, RATE_CTL_COMPLETED);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.r[1].classification, RATE_CLEAN); /* natural finish is clean */
	assert_true(calib_lookup(c, "eth0", &r));
	assert_int_equal(r, 500000);
	calib_free(c);
}

static void clean_097(struct script *s, int64_t call, int64_t rate, struct window *w)
{
	(void)s;
	(void)call;
	w->achieved = 0.97 * (double)rate;
	w->hb = 100;
}

static void n12_persist_failure_is_reported(void **state)
{
	struct script s = {.window = clean_097};
	struct reports rs = {.n = 0};
	struct events_capture cap = {0};
	struct events_sink sink;
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct calib *c;
	FILE *f = fopen("notadir", "w");
	(void)state;
	/* a regular file where the directory should be fails even for root */
	assert_non_null(f);
	fclose(f);
	c = calib_new("notadir/rate-calibration.json", 1000);
	events_capture_sink(&cap, &sink);
	setup_cfg(&cfg, &s, &rs, &sink);
	cfg.interface = "eth0";
	cfg.starting_rate = 500000;
	cfg.store = c;
	cfg.max_windows = 2;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(res.last_persisted, 0);
	assert_int_equal(res.max_clean, 700000);
	/* 500k and 700k high-water marks, plus the terminal persist */
	assert_int_equal(count_substr(cap.data, "\"event\": \"calibration_persist_failed\""), 3);
	assert_non_null(strstr(cap.data, "[anyscan-rate-controller] metric={\"error\": \"mkdir "
					 "notadir: "));
	assert_non_null(strstr(cap.data, "\"event\": \"calibration_persist_failed\", "
					 "\"interface\": \"eth0\"}\n"));
	events_capture_free(&cap);
	calib_free(c);
}

static void n10_lock_timeout_metric(void **state)
{
	struct script s = {.window = clean_097};
	struct reports rs = {.n = 0};
	struct events_capture cap = {0};
	struct events_sink sink;
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct calib *c = calib_new("rate-calibration.json", 200);
	int fd;
	int64_t r;
	(void)state;
	fd = open("rate-calibration.json.lock", O_CREAT | O_WRONLY | O_CLOEXEC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	events_capture_sink(&cap, &sink);
	setup_cfg(&cfg, &s, &rs, &sink);
	cfg.interface = "eth0";
	cfg.starting_rate = 500000;
	cfg.store = c;
	cfg.max_windows = 1;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	close(fd);
	assert_int_equal(res.last_persisted, 500000);
	assert_int_equal(count_substr(cap.data, "\"event\": \"calibration_lock_timeout\""), 1);
	assert_non_null(strstr(cap.data, "{\"event\": \"calibration_lock_timeout\", \"interface\": "
					 "\"eth0\", \"path\": \"rate-calibration.json\", "
					 "\"waited_ms\": "));
	assert_true(calib_lookup(c, "eth0", &r));
	assert_int_equal(r, 500000);
	events_capture_free(&cap);
	calib_free(c);
}

static void starved_then_done(struct script *s, int64_t call, int64_t rate, struct window *w)
{
	(void)s;
	(void)call;
	w->achieved = rate == 1000000 ? 700000 : 0.97 * (double)rate;
	w->hb = 100;
}

static void n19_slip_starved_never_raises_the_mark(void **state)
{
	struct script s = {.window = starved_then_done};
	struct reports rs = {.n = 0};
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct calib *c = calib_new("n19.json", 1000);
	int64_t r;
	(void)state;
	setup_cfg(&cfg, &s, &rs, NULL);
	cfg.policy.starved_policy = RATE_STARVED_TRACK;
	cfg.interface = "eth0";
	cfg.starting_rate = 1000000;
	cfg.store = c;
	cfg.max_windows = 1;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_int_equal(rs.r[0].classification, RATE_SLIP_STARVED);
	assert_int_equal(rs.r[0].next_rate, 700000);
	assert_false(calib_lookup(c, "eth0", &r));
	calib_free(c);
}

static void runner_error_still_persists(void **state)
{
	struct script s = {.window = clean_097};
	struct reports rs = {.n = 0};
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct calib *c = calib_new("re.json", 1000);
	int64_t r;
	(void)state;
	setup_cfg(&cfg, &s, &rs, NULL);
	cfg.interface = "eth0";
	cfg.starting_rate = 500000;
	cfg.store = c;
	cfg.persist_on_clean = false;
	cfg.max_windows = 2;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_false(calib_lookup(c, "eth0", &r)); /* persist off: nothing */
	calib_free(c);
	cfg.runner.run = NULL;
	assert_int_equal(rate_ctl_run(&cfg, &res), -1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The live sampler (sysload) plugged into the loop: psi fields only with
 * ANYSCAN_CPU_SIGNAL=psi, "loadavg" when PSI is unavailable. */
static void n18_psi_sampler_in_the_loop(void **state)
{
	struct script s = {.window = clean_097};
	struct reports rs = {.n = 0};
	struct events_capture cap = {0};
	struct events_sink sink;
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct sysload_readers rd = {
		.loadavg_path = "loadavg", .vcpu_count = 8, .use_psi = true, .psi_path = "cpu"};
	(void)state;
	write_file("loadavg", "2.0 1.0 1.0 1/100 1\n");
	write_file("cpu", "some avg10=30.00 avg60=1.00 avg300=0.50 total=1\n"
			  "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	events_capture_sink(&cap, &sink);
	setup_cfg(&cfg, &s, &rs, &sink);
	cfg.policy.cpu_signal = RATE_CPU_PSI;
	cfg.sampler.sample = sysload_sample;
	cfg.sampler.ctx = &rd;
	cfg.starting_rate = 500000;
	cfg.max_windows = 1;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_true(rs.r[0].has_load);
	assert_true(rs.r[0].load.has_psi);
	assert_non_null(strstr(cap.data, "\"cpu_psi_some_avg10\": 30.0, \"cpu_signal\": \"psi\""));
	assert_non_null(strstr(cap.data, "\"loadavg_per_vcpu\": 0.25"));
	events_capture_free(&cap);

	/* PSI file missing: the loadavg rule, cpu_signal loadavg, no psi value */
	memset(&cap, 0, sizeof(cap));
	events_capture_sink(&cap, &sink);
	rd.psi_path = "/nonexistent/cpu";
	s.calls = 0;
	rs.n = 0;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_non_null(strstr(cap.data, "\"cpu_signal\": \"loadavg\""));
	assert_null(strstr(cap.data, "cpu_psi_some_avg10"));
	events_capture_free(&cap);

	/* the default signal: no psi fields at all */
	memset(&cap, 0, sizeof(cap));
	events_capture_sink(&cap, &sink);
	cfg.policy.cpu_signal = RATE_CPU_LOADAVG;
	rd.use_psi = false;
	s.calls = 0;
	rs.n = 0;
	assert_int_equal(rate_ctl_run(&cfg, &res), 0);
	assert_null(strstr(cap.data, "cpu_signal"));
	assert_null(strstr(cap.data, "cpu_psi"));
	assert_non_null(strstr(cap.data, "\"vcpu_count\": 8"));
	events_capture_free(&cap);
}

/* ---- n23: exact bytes of the §16.3 examples */

static void expect_line(const struct rate_policy *p, const struct rate_report *r, const char *iface,
			const char *want)
{
	struct events_capture cap = {0};
	struct events_sink sink;

	events_capture_sink(&cap, &sink);
	assert_int_equal(rate_metric_adjustment(&sink, p, r, iface, NULL), 0);
	assert_string_equal(cap.data, want);
	events_capture_free(&cap);
}

static void n23_metric_lines_byte_exact(void **state)
{
	struct rate_policy p;
	struct rate_report r;
	struct events_capture cap = {0};
	struct events_sink sink;
	struct rate_started st;
	(void)state;

	rate_policy_default(&p);
	memset(&r, 0, sizeof(r));
	r.index = 1;
	r.set_rate = 500000;
	r.m.set_rate = 500000;
	r.m.elapsed_seconds = 30;
	r.m.tx_packets_delta = 485000 * 30;
	r.m.heartbeat_max_latency_ms = 100;
	r.classification = RATE_CLEAN;
	r.next_rate = 700000;
	expect_line(
		&p, &r, "eth0",
		"[anyscan-rate-controller] metric={\"achieved_pps\": 485000, \"classification\": "
		"\"clean\", \"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": 100, "
		"\"interface\": \"eth0\", \"measurement_source\": \"nic\", \"next_rate\": "
		"700000, \"scanner_finished_naturally\": false, \"set_rate\": 500000, "
		"\"tx_dropped_delta\": 0, \"window\": 1}\n");
	/* no interface: null */
	expect_line(
		&p, &r, NULL,
		"[anyscan-rate-controller] metric={\"achieved_pps\": 485000, \"classification\": "
		"\"clean\", \"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": 100, "
		"\"interface\": null, \"measurement_source\": \"nic\", \"next_rate\": "
		"700000, \"scanner_finished_naturally\": false, \"set_rate\": 500000, "
		"\"tx_dropped_delta\": 0, \"window\": 1}\n");

	memset(&r, 0, sizeof(r));
	r.index = 1;
	r.set_rate = 4000000;
	r.m.elapsed_seconds = 30;
	r.m.tx_packets_delta = 3880000LL * 30;
	r.m.heartbeat_max_latency_ms = 6000;
	r.has_load = true;
	r.load.load_average_1min = 8.5;
	r.load.vcpu_count = 8;
	r.classification = RATE_SLIP_CPU;
	r.next_rate = 4000000;
	expect_line(
		&p, &r, "eth0",
		"[anyscan-rate-controller] metric={\"achieved_pps\": 3880000, \"classification\": "
		"\"slip_cpu\", \"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": "
		"6000, \"interface\": \"eth0\", \"loadavg_per_vcpu\": 1.062, "
		"\"measurement_source\": \"nic\", \"next_rate\": 4000000, "
		"\"scanner_finished_naturally\": false, \"set_rate\": 4000000, "
		"\"tx_dropped_delta\": 0, \"vcpu_count\": 8, \"window\": 1}\n");

	memset(&r, 0, sizeof(r));
	r.index = 4;
	r.set_rate = 1500000;
	r.m.elapsed_seconds = 30;
	r.m.tx_packets_delta = 1450000LL * 30;
	r.m.heartbeat_max_latency_ms = 52;
	r.m.measurement_source = RATE_MSOURCE_SCANNER;
	r.has_load = true;
	r.load.load_average_1min = 5.0;
	r.load.vcpu_count = 16;
	r.classification = RATE_CLEAN;
	r.next_rate = 1700000;
	expect_line(
		&p, &r, "eth1",
		"[anyscan-rate-controller] metric={\"achieved_pps\": 1450000, \"classification\": "
		"\"clean\", \"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": 52, "
		"\"interface\": \"eth1\", \"loadavg_per_vcpu\": 0.312, \"measurement_source\": "
		"\"scanner\", \"next_rate\": 1700000, \"scanner_finished_naturally\": false, "
		"\"set_rate\": 1500000, \"tx_dropped_delta\": 0, \"vcpu_count\": 16, \"window\": "
		"4}\n");

	p.cpu_signal = RATE_CPU_PSI;
	p.starved_policy = RATE_STARVED_TRACK;
	memset(&r, 0, sizeof(r));
	r.index = 2;
	r.set_rate = 1000000;
	r.m.set_rate = 1000000;
	r.m.elapsed_seconds = 30;
	r.m.tx_packets_delta = 700000LL * 30;
	r.m.heartbeat_max_latency_ms = 51;
	r.has_load = true;
	r.load.load_average_1min = 2.0;
	r.load.vcpu_count = 8;
	r.load.has_psi = true;
	r.load.psi_some_avg10 = 3.5;
	r.next_rate = rate_next(&p, 1000000, &r.m, &r.load, &r.classification);
	assert_int_equal(r.classification, RATE_SLIP_STARVED);
	expect_line(
		&p, &r, "eth0",
		"[anyscan-rate-controller] metric={\"achieved_pps\": 700000, \"classification\": "
		"\"slip_starved\", \"cpu_psi_some_avg10\": 3.5, \"cpu_signal\": \"psi\", "
		"\"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": 51, "
		"\"interface\": \"eth0\", \"loadavg_per_vcpu\": 0.25, \"measurement_source\": "
		"\"nic\", \"next_rate\": 700000, \"scanner_finished_naturally\": false, "
		"\"set_rate\": 1000000, \"tx_dropped_delta\": 0, \"vcpu_count\": 8, \"window\": "
		"2}\n");
	/* n18: psi selected but unavailable -> cpu_signal loadavg, no psi value */
	r.load.has_psi = false;
	expect_line(
		&p, &r, "eth0",
		"[anyscan-rate-controller] metric={\"achieved_pps\": 700000, \"classification\": "
		"\"slip_starved\", \"cpu_signal\": \"loadavg\", "
		"\"event\": \"rate_adjustment\", \"heartbeat_max_latency_ms\": 51, "
		"\"interface\": \"eth0\", \"loadavg_per_vcpu\": 0.25, \"measurement_source\": "
		"\"nic\", \"next_rate\": 700000, \"scanner_finished_naturally\": false, "
		"\"set_rate\": 1000000, \"tx_dropped_delta\": 0, \"vcpu_count\": 8, \"window\": "
		"2}\n");

	events_capture_sink(&cap, &sink);
	assert_int_equal(rate_metric_persist_failed(&sink, "eth0", "disk full", NULL), 0);
	assert_int_equal(
		rate_metric_persist_failed(&sink, "eth0",
					   "write /var/lib/agentd/rate-calibration.json.tmp.4242: "
					   "No space left on device",
					   NULL),
		0);
	assert_int_equal(rate_metric_lock_timeout(&sink, "eth0",
						  "/var/lib/agentd/rate-calibration.json", 10000,
						  NULL),
			 0);
	assert_string_equal(
		cap.data,
		"[anyscan-rate-controller] metric={\"error\": \"disk full\", \"event\": "
		"\"calibration_persist_failed\", \"interface\": \"eth0\"}\n"
		"[anyscan-rate-controller] metric={\"error\": \"write "
		"/var/lib/agentd/rate-calibration.json.tmp.4242: No space left on device\", "
		"\"event\": \"calibration_persist_failed\", \"interface\": \"eth0\"}\n"
		"[anyscan-rate-controller] metric={\"event\": \"calibration_lock_timeout\", "
		"\"interface\": \"eth0\", \"path\": \"/var/lib/agentd/rate-calibration.json\", "
		"\"waited_ms\": 10000}\n");
	events_capture_free(&cap);

	rate_policy_default(&p);
	p.ceiling = 2000000;
	p.window_seconds = 1;
	memset(&st, 0, sizeof(st));
	st.policy = &p;
	st.interface = "eth0";
	st.instance_type = "c6in.xlarge";
	st.instance_type_source = "env";
	st.starting_rate = 500000;
	st.starting_rate_source = "instance-table";
	st.fallback_rate = 500000;
	st.vcpu_count = 2;
	st.calibration_path = "/tmp/dyn/calib.json";
	memset(&cap, 0, sizeof(cap));
	events_capture_sink(&cap, &sink);
	assert_int_equal(rate_metric_started(&sink, &st, NULL), 0);
	p.window_seconds = 1.5;
	assert_int_equal(rate_metric_started(&sink, &st, NULL), 0);
	assert_string_equal(
		cap.data,
		"[anyscan-rate-controller] metric={\"achieved_ratio_floor\": 0.9, "
		"\"additive_step\": "
		"200000, \"calibration_path\": \"/tmp/dyn/calib.json\", \"cpu_load_threshold\": "
		"0.8, "
		"\"cpu_signal\": \"loadavg\", \"drop_ratio_threshold\": 0.001, \"event\": "
		"\"controller_started\", \"fallback_rate\": 500000, \"heartbeat_threshold_ms\": "
		"5000, \"instance_type\": \"c6in.xlarge\", \"instance_type_source\": \"env\", "
		"\"interface\": \"eth0\", \"multiplicative_factor\": 0.5, \"policy_ceiling\": "
		"2000000, \"policy_floor\": 100000, \"starting_rate\": 500000, "
		"\"starting_rate_source\": \"instance-table\", \"starved_policy\": \"halve\", "
		"\"vcpu_count\": 2, \"window_seconds\": 1}\n"
		"[anyscan-rate-controller] metric={\"achieved_ratio_floor\": 0.9, "
		"\"additive_step\": "
		"200000, \"calibration_path\": \"/tmp/dyn/calib.json\", \"cpu_load_threshold\": "
		"0.8, "
		"\"cpu_signal\": \"loadavg\", \"drop_ratio_threshold\": 0.001, \"event\": "
		"\"controller_started\", \"fallback_rate\": 500000, \"heartbeat_threshold_ms\": "
		"5000, \"instance_type\": \"c6in.xlarge\", \"instance_type_source\": \"env\", "
		"\"interface\": \"eth0\", \"multiplicative_factor\": 0.5, \"policy_ceiling\": "
		"2000000, \"policy_floor\": 100000, \"starting_rate\": 500000, "
		"\"starting_rate_source\": \"instance-table\", \"starved_policy\": \"halve\", "
		"\"vcpu_count\": 2, \"window_seconds\": 1.5}\n");
	events_capture_free(&cap);
}

static void n22_round3_ties(void **state)
{
	(void)state;
	assert_true(events_round3(1.0625) == 1.062);
	assert_true(events_round3(0.8125) == 0.812);
	assert_true(events_round3(0.3125) == 0.312);
	assert_true(events_round3(1.0) == 1.0);
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
		cmocka_unit_test_setup_teardown(
			c16_converges_into_sweet_spot_within_a_handful_of_windows, enter_fresh_dir,
			leave_dir),
		cmocka_unit_test_setup_teardown(c17_clean_only_scenario_walks_up_to_ceiling,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(c18_persists_max_clean_rate_after_run,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(c19_mid_window_failure_aborts_loop, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(nonzero_exit_at_deadline_is_not_a_crash,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(c50_persists_on_each_clean_window, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(
			c51_persists_when_crash_strikes_before_any_clean_window, enter_fresh_dir,
			leave_dir),
		cmocka_unit_test_setup_teardown(
			c52_persists_when_interrupted_by_systemexit_mid_loop, enter_fresh_dir,
			leave_dir),
		cmocka_unit_test_setup_teardown(c53_persists_after_natural_finish, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(n10_lock_timeout_metric, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(n11_underdelivering_natural_finish_keeps_mark,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(n12_persist_failure_is_reported, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(n19_slip_starved_never_raises_the_mark,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(runner_error_still_persists, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(n18_psi_sampler_in_the_loop, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(n22_round3_ties, enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(n23_metric_lines_byte_exact, enter_fresh_dir,
						leave_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
