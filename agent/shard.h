#ifndef SHARD_H
#define SHARD_H
/*
 * The multi-NIC parent (scan.md §14, §15.2): one `agentd scan` child per
 * interface over disjoint shards of the target range, waited for as they
 * exit, torn down on the first failure, merged and mirrored.  Children are
 * reached through a small operations interface so the unit tests drive the
 * spawner with scripted fakes (§18.6).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"
#include "events.h"

struct inst_result;

/* Child operations.  Shards are numbered 0..n-1. */
struct shard_ops {
	/* Start shard i with its invocation JSON on stdin, its interface, its
	 * stderr file and environment (NULL-terminated).  -1 with e when it could
	 * not be started (counted as a failure of shard i, code 1). */
	int (*spawn)(void *ctx, size_t i, const char *invocation, const char *iface,
		     const char *stderr_path, const char *out_path, char *const *envp,
		     struct errbuf *e);
	/* Signal shard i's process group (fallback of §14.4 inside). */
	void (*signal)(void *ctx, size_t i, int sig);
	/* Wait until a shard exits or timeout seconds pass (< 0: no limit) or a
	 * stop signal arrives.  Fills up to max (shard, code) pairs of exited
	 * shards (code: exit status, or 128 + N for signal N; sig: N or 0) and
	 * returns how many. */
	size_t (*wait_any)(void *ctx, double timeout, size_t *idx, int *code, int *sig, size_t max);
	/* Stop signals received by the parent so far, and the first one. */
	int (*stop_count)(void *ctx);
	int (*stop_signal)(void *ctx);
	double (*now)(void *ctx);
	void *ctx;
};

struct shard_config {
	struct scan_ctx *ctx; /* parent's context: env, invocation, <out> */
	const char *const *envp;
	const char *root;                 /* --root to pass on, or NULL */
	double grace;                     /* g */
	const struct inst_result *inst;   /* detection result (§14.2 step 4), may be NULL */
	const struct events_sink *events; /* metric lines (stderr) */
	int err_fd;                       /* mirrored lines */
	const char *self_exe;             /* program of the children (production ops) */
};

/* §14.2 step 2: how many of n interfaces are used with cap max. */
size_t shard_cap(size_t n, int64_t max);

/* §14.3 child environment: base plus the four shard variables (replacing any
 * existing ones).  Caller frees with shard_env_free. */
char **shard_child_env(const char *const *base, const char *iface);
void shard_env_free(char **env);

struct shard_result {
	int code;        /* §14.2 step 12 */
	int stop_signal; /* §15.2: the parent exits 128 + it, no endpoints */
};

/* §14.2 steps 1-12 with the given operations. */
int shard_run(const struct shard_config *cfg, const struct shard_ops *ops, struct shard_result *res,
	      struct errbuf *e);

/* Production: fork/exec the running agentd per shard, then main's part of
 * §14.2 (endpoints from the merged file) and §15.2; returns the exit code. */
int shard_main(const struct shard_config *cfg, int out_fd);

#endif
