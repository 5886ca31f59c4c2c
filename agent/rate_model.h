#ifndef RATE_MODEL_H
#define RATE_MODEL_H
/*
 * The window runner of `agentd rate simulate` (rate-controller.md §18.2): a
 * network model co-process, /bin/sh -c COMMAND, asked one line per window
 *   -> {"set_rate": R, "window": I}
 *   <- {"elapsed_seconds": 30, "tx_packets_delta": ..., ...}   (§18.1 fields)
 * Time is virtual: nothing sleeps for window_seconds.  A stop signal is seen
 * through stop_fd (the read end of a self-pipe the caller's SIGTERM/SIGINT
 * handlers write the signal number to, one byte).
 */
#include "err.h"
#include "rate.h"
#include "rate_ctl.h"

#include <stdbool.h>

struct rate_model;

struct rate_model_opts {
	const char *command;  /* run as /bin/sh -c COMMAND */
	char *const *envp;    /* the model's environment (agentd's) */
	int stop_fd;          /* readable when a stop signal arrived; -1: none */
	int reply_timeout_ms; /* 60000 in production */
	int exit_wait_ms;     /* 5000: wait for the model's exit after EOF / at the end */
	const struct rate_policy *policy; /* for parsing replies */
};

/* Spawn the model.  -1 with e ("cannot start model: ...").  Caller ends it
 * with rate_model_finish. */
int rate_model_start(const struct rate_model_opts *o, struct rate_model **out, struct errbuf *e);

/* The runner (struct rate_runner.run with ctx = the struct rate_model). */
enum rate_run_status rate_model_run(void *ctx, int64_t rate, double window_seconds,
				    bool first_window, struct rate_window_out *out);

/* After RATE_RUN_ERROR: true when it was EOF followed by a clean exit 0 of
 * the model (the simulation then ends with status 0). */
bool rate_model_clean_eof(const struct rate_model *m);

/* Close the model's stdin, wait up to exit_wait_ms for it to exit, then
 * SIGKILL its process group; reap it; free m.  NULL is fine. */
void rate_model_finish(struct rate_model *m);

#endif
