#ifndef SCAN_H
#define SCAN_H
/*
 * One single-NIC scan (scan.md §12): the static run of the anyscan engine
 * (§12.2, §11), the scanner output buffers (§10.1: last 4 MiB of stderr and
 * stdout), the progress snapshot file (§10), post-processing (§12.5) and the
 * exit-time deletions (§2.7, §15.3).  Lines go to the fds it is handed.
 */
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"
#include "scan_progress.h"
#include "scan_text.h"

#define SCAN_TAIL_MAX (4 * 1024 * 1024)               /* §10.1 */
#define SCAN_RESULTS_MAX ((size_t)1024 * 1024 * 1024) /* <out> read for §9 (decision) */

/* The last SCAN_TAIL_MAX bytes of a stream. */
struct scan_tail {
	struct scan_buf b;
	uint64_t dropped;
};
void scan_tail_append(struct scan_tail *t, const char *p, size_t n);
/* The kept text, with the "[... N bytes of scanner stderr dropped ...]"
 * prefix when bytes were dropped; caller frees. */
char *scan_tail_text(const struct scan_tail *t, const char *what);
void scan_tail_free(struct scan_tail *t);

/* Progress snapshot writer: <out>.progress via <out>.progress.tmp. */
struct scan_progress_file {
	struct scan_progress p;
	char path[4096], tmp[4200];
};
int scan_progress_file_init(struct scan_progress_file *f, const char *out);
/* Feed a stderr chunk; rewrites the file when it matched. */
void scan_progress_file_feed(struct scan_progress_file *f, const char *p, size_t n);
void scan_progress_file_finish(struct scan_progress_file *f);
/* Write a snapshot now (used by the zmap engine). */
void scan_progress_file_write(struct scan_progress_file *f, const struct scan_progress_snap *s);

struct scan_result {
	int rc;          /* scanner exit code, -N for signal N */
	int stop_signal; /* agentd received SIGINT/SIGTERM: exit 128 + it */
	struct scan_tail out, err;
};
void scan_result_free(struct scan_result *r);

/* §12.2 static run of the anyscan engine; grace g for a stop (§15.1).  -1
 * with e on an internal error (spawn failed). */
int scan_static_anyscan(struct scan_ctx *ctx, double grace, struct scan_result *res,
			struct errbuf *e);

/* §12.5: print failure detail or endpoints and the scanner's stderr; returns
 * the process exit code.  out_fd: endpoints; err_fd: lines. */
int scan_postprocess(struct scan_ctx *ctx, const struct scan_result *res, int shard_mode,
		     int out_fd, int err_fd);
/* §9: emit the endpoints of text to out_fd; -1 with e on a write error. */
int scan_emit_endpoints(const char *raw, size_t len, const char *target_range, const char *ports,
			int out_fd, struct errbuf *e);
/* §2.7 deletions: <out>.checkpoint, .progress(.tmp), zmap work files, and
 * <out> unless keep_out. */
void scan_cleanup_files(const char *out, int keep_out);
/* §16 scan_engine line. */
int scan_emit_engine(const struct scan_ctx *ctx, const char *mode, int err_fd);
/* Map an internal exit code (-N) to the process exit status (128 + N). */
int scan_exit_status(int rc);

#endif
