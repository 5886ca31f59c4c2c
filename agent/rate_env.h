#ifndef RATE_ENV_H
#define RATE_ENV_H
/*
 * The rate policy from the environment (rate-controller.md §7), the
 * per-instance table applied with the precedence rules of §7.5/§8.3, and the
 * starting rate (§8.4).
 *
 * The environment is handed in as an envp array ("KEY=VALUE" strings, NULL
 * terminated, first match wins, like environ): main reads it once, tests
 * build their own.  Warnings are returned as data (struct rate_warnings);
 * the caller prints them.
 */
#include "err.h"
#include "inst_table.h"
#include "rate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct calib;

/* Raw value of name in envp, or NULL. */
const char *rate_env_get(const char *const *envp, const char *name);
/* Trimmed value when present (§0.1: non-empty after trim): true, *val and
 * *len set; false when unset or blank. */
bool rate_env_present(const char *const *envp, const char *name, const char **val, size_t *len);
/* §7.4 env_flag(env, key, default). */
bool rate_env_flag(const char *const *envp, const char *key, bool def);

/* §7.1 parse results */
enum rate_parse { RATE_PARSE_UNSET = 0, RATE_PARSE_OK, RATE_PARSE_INVALID };
/* Integer grammar of §7.1 on the trimmed raw value (raw NULL: unset). */
enum rate_parse rate_parse_int(const char *raw, int64_t *out);
/* Number grammar of §7.1 (finite only). */
enum rate_parse rate_parse_number(const char *raw, double *out);

/* §7.2 warnings: each variable at most once per process -- keep one struct
 * for the process and pass it to every call.  Lines are complete
 * ("...; using the default\n"). */
#define RATE_WARN_MAX 32
#define RATE_WARN_NAME_MAX 64
struct rate_warnings {
	char *lines[RATE_WARN_MAX]; /* malloc'd; count of them */
	size_t count;
	char warned[RATE_WARN_MAX][RATE_WARN_NAME_MAX]; /* names warned so far */
	size_t nwarned;
	bool suppress; /* shard child (ANYSCAN_ADAPTER_SHARD_MODE): record nothing */
};
/* Zero-initialise, or call this. */
void rate_warnings_init(struct rate_warnings *w);
/* Frees the lines (keeps the warned names: still once per process). */
void rate_warnings_clear_lines(struct rate_warnings *w);
void rate_warnings_free(struct rate_warnings *w);
/* Record "NAME=<json value> is not WHAT; ACTION" unless NAME was warned about
 * before or w->suppress. */
void rate_warn(struct rate_warnings *w, const char *name, const char *value, size_t vlen,
	       const char *what, const char *action);

/* Sources of resolved values (§7.5, §8.4, §18.3). */
enum rate_src {
	RATE_SRC_DEFAULT = 0,
	RATE_SRC_ENV,
	RATE_SRC_TABLE,
	RATE_SRC_CALIBRATION,
	RATE_SRC_INVOCATION,
};
/* "default", "env", "instance-table", "calibration", "invocation" */
const char *rate_src_name(enum rate_src s);

/* The invocation's rate_limit (the caller checked it is a JSON integer). */
struct rate_invocation {
	bool has_rate_limit;
	int64_t rate_limit;
};

struct rate_resolved {
	struct rate_policy policy;
	enum rate_src sources[RATE_F_COUNT];
	bool explicit_env[RATE_F_COUNT];   /* present and parsed (§0.1 explicit) */
	const struct inst_defaults *table; /* the row applied, or NULL */
	bool default_rate_explicit;        /* SCANNER_DEFAULT_RATE explicit */
	int64_t fallback_rate;             /* §8.4 after step 2 */
	enum rate_src fallback_source;
	int64_t starting_rate; /* clamp(fallback) until rate_resolve_start */
	enum rate_src starting_source;
};

/*
 * §7.5 steps A-E and §8.4 steps 1-2.  instance_type: the detected (or given)
 * type, NULL for none; only its table row matters here.  inv may be NULL (no
 * rate_limit).  Warnings go to w (may be NULL); shard mode
 * (ANYSCAN_ADAPTER_SHARD_MODE) suppresses them.  Returns 0, or -1 with *msg
 * the §2.2 validation message (print "agentd: invalid rate policy: MSG",
 * exit 2).
 */
int rate_resolve(const char *const *envp, const char *instance_type,
		 const struct rate_invocation *inv, struct rate_warnings *w,
		 struct rate_resolved *out, const char **msg);

/* §8.4 step 3: a non-empty iface with an entry in store (may be NULL) makes
 * the start clamp(entry) with source calibration. */
void rate_resolve_start(struct rate_resolved *r, const char *iface, struct calib *store);

/* The §8.4 step 3 rule as a pure function: calib_rate NULL = no entry. */
void rate_resolve_start_from(struct rate_resolved *r, const int64_t *calib_rate);

/*
 * ANYSCAN_INSTANCE_TYPE only (what `rate classify|simulate` use, §18.1):
 * the trimmed value if it passes the shape test (copied to out), else NULL;
 * a present malformed value is warned about ("is not a valid instance type;
 * ignoring it").
 */
const char *rate_env_instance_type(const char *const *envp, struct rate_warnings *w, char *out,
				   size_t outsz);

#endif
