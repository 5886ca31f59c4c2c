#ifndef RATE_CTL_H
#define RATE_CTL_H
/*
 * The AIMD controller loop (rate-controller.md §15) and the window-runner
 * interface it drives (§14).
 *
 * A runner runs ONE window: the live runner (scan module) spawns the scanner
 * at `rate` for up to `window_seconds`; `agentd rate simulate` asks a model
 * co-process (rate_model.h); unit tests script it.  The controller never
 * sleeps, spawns or reads /proc itself: it only calls the runner, the
 * optional load sampler, the calibration store and the metric sink.
 *
 * One exit path: whatever ends the loop (natural finish, max_windows, window
 * error, stop, runner error), the terminal persist of §15.2 step 3 runs
 * before rate_ctl_run() returns.
 */
#include "err.h"
#include "events.h"
#include "rate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct calib;

enum rate_run_status {
	RATE_RUN_MEASURED = 0, /* out->m is filled: a completed window */
	RATE_RUN_STOP,         /* a stop signal arrived: out->stop_signal; no measurement */
	RATE_RUN_ERROR,        /* the window could not run (spawn failed, model broke): out->err */
};

struct rate_window_out {
	/* RATE_RUN_MEASURED: the measurement of §3.1 (set_rate = rate). */
	struct rate_measurement m;
	/* A runner that knows the window's load sample itself (simulate: the
	 * model's reply) sets has_load and load.  The live runner leaves
	 * has_load false; the controller then asks its load sampler. */
	bool has_load;
	struct rate_load load;
	/* RATE_RUN_STOP: the signal number (e.g. SIGTERM = 15). */
	int stop_signal;
	/* RATE_RUN_ERROR: "what: why" for the caller to print. */
	struct errbuf err;
};

/* Run one window.  The controller zeroes *out before each call.
 * first_window is true for window 1 only (the live runner adds --resume on
 * every later window).  Must not block past window_seconds plus its own
 * termination grace; a stop signal must make it return RATE_RUN_STOP. */
typedef enum rate_run_status (*rate_run_fn)(void *ctx, int64_t rate, double window_seconds,
					    bool first_window, struct rate_window_out *out);

struct rate_runner {
	rate_run_fn run;
	void *ctx;
};

/* Load sample taken once per window, after it ends (§4.2).  Returns true and
 * fills *out, or false for "no sample" (legacy classification). */
struct rate_load_sampler {
	bool (*sample)(void *ctx, struct rate_load *out);
	void *ctx;
};

/* §3.3: one completed window. */
struct rate_report {
	int64_t index; /* 1-based */
	int64_t set_rate;
	struct rate_measurement m;
	bool has_load;
	struct rate_load load;
	enum rate_class classification;
	int64_t next_rate;
};

struct rate_ctl_config {
	struct rate_policy policy;        /* resolved and validated */
	const char *interface;            /* NULL or "": none (no persist; metric null) */
	int64_t starting_rate;            /* clamped by the loop */
	struct calib *store;              /* NULL: no calibration store */
	bool persist_on_clean;            /* default true */
	struct rate_load_sampler sampler; /* sample NULL: no readers (legacy) */
	int64_t max_windows;              /* <= 0: unlimited (production) */
	const struct events_sink *sink;   /* metric lines (§16.3); NULL: dropped */
	struct rate_runner runner;
	/* Optional: called with each report, in order. */
	void (*on_report)(void *ctx, const struct rate_report *r);
	void *report_ctx;
};

/* Default config values: persist_on_clean true, the default policy,
 * everything else empty.  Fill runner/sink/etc. afterwards. */
void rate_ctl_config_init(struct rate_ctl_config *cfg);

enum rate_ctl_status {
	RATE_CTL_COMPLETED = 0, /* a window finished naturally */
	RATE_CTL_WINDOW_LIMIT,  /* max_windows windows ran */
	RATE_CTL_WINDOW_ERROR,  /* §3.4 scanner crash: exit_code, window_index, set_rate */
	RATE_CTL_STOPPED,       /* stop_signal; the caller exits 128 + signal */
	RATE_CTL_RUNNER_ERROR,  /* err */
};

struct rate_ctl_result {
	enum rate_ctl_status status;
	int64_t windows;        /* completed windows (reports) */
	int exit_code;          /* WINDOW_ERROR */
	int64_t window_index;   /* WINDOW_ERROR */
	int64_t set_rate;       /* WINDOW_ERROR */
	int stop_signal;        /* STOPPED */
	struct errbuf err;      /* RUNNER_ERROR */
	int64_t max_clean;      /* high-water mark of clean set rates */
	int64_t last_persisted; /* last value stored successfully (0: none) */
};

/* Run the loop of §15.2.  Returns 0 (the outcome is in res->status), or -1
 * only for invalid arguments (no runner). */
int rate_ctl_run(const struct rate_ctl_config *cfg, struct rate_ctl_result *res);

/* §3.4: "scanner exited unexpectedly during window I (rate=R, code=C)". */
int rate_ctl_window_error_text(const struct rate_ctl_result *res, char *out, size_t outsz);

#endif
