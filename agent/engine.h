#ifndef ENGINE_H
#define ENGINE_H
/*
 * Scanner engines (scan.md §4-§6): binary resolution and engine choice, the
 * anyscan command line and its I/O-engine selection.  The once-per-process
 * warning latch lives in struct scan_ctx (§6), so a test with a fresh
 * context sees every warning again.  No process handling here: runner.h.
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "scan_env.h"
#include "scan_inv.h"
#include "scan_text.h"

/* warning latch bits */
enum {
	SCAN_WARN_IO_UNRECOGNIZED = 1u << 0,
	SCAN_WARN_IO_GATE = 1u << 1,
	SCAN_WARN_ZMAP_ICMP = 1u << 2,
	SCAN_WARN_ZMAP_BANDWIDTH = 1u << 3,
	SCAN_WARN_ZMAP_IO = 1u << 4,
};

struct scan_ctx {
	const struct scan_env *env;
	const struct scan_inv *inv;
	const char *scanner;          /* resolved binary (real path) */
	enum scan_engine_kind engine; /* ANYSCAN or ZMAP after resolution */
	const char *out;              /* <out> (§2.7) */
	unsigned warned;              /* latch: SCAN_WARN_* already printed */
	/* stderr line sink for warnings (line without "\n"); NULL drops them */
	void (*warn)(void *warn_ctx, const char *line);
	void *warn_ctx;
};

/* §4.2: find the scanner binary for the requested engine kind.  self_dir is
 * the directory of the running agentd's real path (NULL: candidate 2
 * skipped).  On success *path is the candidate's real path (caller frees)
 * and *kind the engine (§4.1).  -1 with e holding the "unable to locate ..."
 * message. */
int engine_resolve_binary(const struct scan_env *env, const char *self_dir, char **path,
			  enum scan_engine_kind *kind, struct errbuf *e);

/* §6: the --io-engine value (a static string); prints each distinct warning
 * at most once per context. */
const char *engine_io_engine(struct scan_ctx *ctx);

/* §5: the anyscan argv.  has_rate/rate: rate_override; resume: -1 none,
 * else the override; checkpoint: override or NULL.  -1 on ENOMEM. */
int engine_anyscan_command(struct scan_ctx *ctx, int has_rate, int64_t rate, int resume,
			   const char *checkpoint, struct scan_argv *argv);

/* "scan_engine" fields: engine name ("anyscan"/"zmap"). */
const char *engine_name(enum scan_engine_kind kind);

#endif
