#ifndef ENGINE_ZMAP_H
#define ENGINE_ZMAP_H
/*
 * The zmap engine (scan.md §13): agentd owns the cursor and walks the
 * target range in chunks given to zmap as minimal CIDR lists (-w), one run
 * per port.  Pure parts (chunks, argv, status CSV, results, cursor JSON)
 * are exposed for the unit tests; engine_zmap_static_main runs §13.9.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"
#include "rate_ctl.h"
#include "scan_text.h"

/* §13.1 refusals (pre-flight, exit 2): e holds the message. */
int engine_zmap_check(struct scan_ctx *ctx, struct errbuf *e);

/* §13.2 cursor */
struct zmap_cursor {
	uint32_t r0, r1;    /* the range */
	uint64_t next;      /* first address not done for all ports; r1 + 1 = complete */
	size_t port_index;  /* next port of the current chunk */
	uint32_t chunk_end; /* meaningful while port_index > 0 */
};
/* max(1, floor(rate * window_seconds / ports)) */
uint64_t zmap_chunk_size(int64_t rate, double window_seconds, size_t nports);
/* The next chunk [*s, *e] of size addresses (never past r1). */
void zmap_chunk_plan(const struct zmap_cursor *c, uint64_t size, uint32_t *s, uint32_t *e);
/* §13.3 step 3: window_seconds + (P - port_index) * (cooldown + 2) */
double zmap_deadline_offset(double window_seconds, size_t nports, size_t port_index,
			    int64_t cooldown);

/* §13.8 cursor JSON (one line, keys sorted, no newline).  ports: the
 * ascending list.  Caller frees. */
char *zmap_cursor_json(const struct zmap_cursor *c, const uint16_t *ports, size_t nports);
/* Parse a cursor file; 0 when it matches this scan (range and ports), else
 * -1 (invalid, other engine/version, mismatch). */
int zmap_cursor_parse(const char *text, size_t len, uint32_t r0, uint32_t r1, const uint16_t *ports,
		      size_t nports, struct zmap_cursor *out);

/* §13.4 argv.  rate > 0: -r rate; rate == 0 and bandwidth: -B; else
 * nothing.  out: <out> (for the work-file names). */
int zmap_command(struct scan_ctx *ctx, unsigned port, int64_t rate, int use_bandwidth,
		 struct scan_argv *argv);

/* §13.5 status CSV, read incrementally. */
enum {
	ZS_TIME_ELAPSED = 0,
	ZS_PERCENT,
	ZS_ACTIVE_THREADS,
	ZS_SENT_TOTAL,
	ZS_SENT_LAST,
	ZS_SENT_AVG,
	ZS_RECV_TOTAL,
	ZS_RECV_LAST,
	ZS_NCOLS
};
struct zmap_status {
	bool have_header, usable;
	int col[ZS_NCOLS]; /* header position, -1 absent */
	char pending[4096];
	size_t plen;
	bool have_row;
	int64_t row[ZS_NCOLS]; /* last complete row (absent columns 0) */
	uint64_t rows;
};
void zmap_status_init(struct zmap_status *s);
/* Feed bytes; returns the number of new complete rows. */
int zmap_status_feed(struct zmap_status *s, const char *p, size_t n);
/* §13.3 send_seconds of a run. */
double zmap_send_seconds(const struct zmap_status *s, double wall, int64_t cooldown);

/* §13.6: append "<ip>:<port>\n" for each result line of run[0..len). */
int zmap_results_convert(const char *run, size_t len, unsigned port, struct scan_buf *out);

/* §13.3 step 7: how a window ended and its measurement table. */
enum zmap_window_end {
	ZMAP_WINDOW_DONE,        /* every port of the chunk(s) done */
	ZMAP_WINDOW_PARTIAL,     /* the deadline passed between runs */
	ZMAP_WINDOW_INTERRUPTED, /* a run was stopped at the deadline */
	ZMAP_WINDOW_FAILED,      /* a run exited non-zero */
};
struct zmap_window_result {
	enum zmap_window_end how;
	double send_seconds; /* sum of the runs' send_seconds (done/partial) */
	double wall_seconds; /* t0 -> the last run's exit */
	int code;            /* the interrupted or failing run's exit code */
	bool complete;       /* the cursor is complete after the window */
};
/* Fill elapsed_seconds, scanner_exit_code and scanner_finished_naturally. */
void zmap_window_measure(const struct zmap_window_result *r, struct rate_measurement *m);
/* §13.3 step 5: after a chunk's ports are all done, plan the next chunk in
 * the same window?  Only when every run of the chunk sent nothing and
 * neither the range nor the deadline is exhausted. */
bool zmap_window_continues(bool complete, int64_t chunk_sent, double now, double deadline);

/* zmap 2.1.1 sporadically aborts (SIGABRT, "constraint_lookup_index:
 * Assertion ... failed" on stderr) when a sender thread's share of a small
 * target set is empty (zmap bug, fixed upstream by zmap PR 786).  Such a run
 * is started again, at most ZMAP_ABORT_ATTEMPTS runs in all, and never once
 * the deadline (< 0: none) has passed.  rc is the run's exit code (-N for a
 * signal), attempt the number of the run that just ended (1 = first). */
#define ZMAP_ABORT_ATTEMPTS 3u
bool zmap_abort_retryable(int rc, const char *err_text, unsigned attempt, double now,
			  double deadline);

/* §13.3: the dynamic mode's window runner (a rate_run_fn).  new: set up
 * and begin (resume handling, cursor file, §13.10 warnings); NULL on
 * failure.  finish: delete the cursor when completed, remove the work files,
 * hand over the last run's stderr (may be NULL) and free. */
struct zmap_engine;
struct scan_tail;
struct zmap_engine *engine_zmap_dyn_new(struct scan_ctx *ctx, const char *iface, double grace);
enum rate_run_status engine_zmap_run_window(void *engine, int64_t rate, double window_seconds,
					    bool first_window, struct rate_window_out *out);
void engine_zmap_dyn_finish(struct zmap_engine *z, bool completed, struct scan_tail *err_out);

/* §13.9: the static mode; returns the process exit code. */
int engine_zmap_static_main(struct scan_ctx *ctx, int out_fd, int err_fd);

#endif
