#ifndef SCAN_ENV_H
#define SCAN_ENV_H
/*
 * The environment of `agentd scan` (scan.md §3), read once by cmd_scan from
 * an envp array into a plain config that the scan modules are handed.  The
 * rate controller's own variables are parsed by its modules, not here.
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "scan_text.h"

enum scan_engine_kind { SCAN_ENGINE_AUTO = 0, SCAN_ENGINE_ANYSCAN, SCAN_ENGINE_ZMAP };

/* Fatal env errors (§2.3 rows 4 and 5): exit 1 with e's text. */
struct scan_env {
	char *scanner_bin;        /* SCANNER_BIN trimmed, ~ not yet expanded; NULL unset */
	char *home;               /* HOME (raw) */
	char *path;               /* PATH (raw) */
	char *tmpdir;             /* TMPDIR trimmed, NULL unset */
	char *probe_module;       /* SCANNER_PROBE_MODULE or "tcp" */
	int64_t cooldown;         /* max(0, SCANNER_COOLDOWN_SECONDS or 5) */
	int64_t sender_threads;   /* max(1, SCANNER_SENDER_THREADS or ncpu) */
	int64_t receiver_threads; /* max(1, SCANNER_RECEIVER_THREADS or 1) */
	/* SCANNER_INTERFACE, _SOURCE_IP, _GATEWAY_MAC, _BANDWIDTH, _PROBE_ARGS,
	 * _WHITELIST_FILE, _BLACKLIST_FILE: trimmed, NULL unless set */
	char *interface, *source_ip, *gateway_mac, *bandwidth, *probe_args, *whitelist, *blacklist;
	int icmp;               /* SCANNER_ICMP_PRESCAN flag */
	struct scan_argv extra; /* SCANNER_EXTRA_ARGS words */
	enum scan_engine_kind engine;
	char *io_engine; /* ANYSCAN_SCANNER_IO_ENGINE trimmed (raw case), NULL unset */
	int gate_af_xdp, gate_pfring_zc, gate_dpdk;
	int dynamic;            /* ANYSCAN_DYNAMIC_RATE_ENABLED, default true */
	char *calibration_path; /* ANYSCAN_RATE_CALIBRATION_PATH trimmed or NULL */
	char **interfaces;      /* ANYSCAN_SCANNER_INTERFACES parsed (§14.1), NULL-terminated */
	size_t n_interfaces;
	int64_t max_concurrent; /* ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES, default 4 */
	int shard_mode;         /* ANYSCAN_ADAPTER_SHARD_MODE */
	double grace;           /* ANYSCAN_SHUTDOWN_GRACE_SECONDS, default 5 */
	int has_default_rate;   /* SCANNER_DEFAULT_RATE explicit (set and valid) */
	int64_t default_rate;
	char *default_rate_invalid; /* the trimmed invalid value, for the warning */
	char *root;                 /* AGENTD_ROOT trimmed or NULL (--root overrides) */
};

/* Value of NAME in envp (NULL-terminated "K=V" array), or NULL. */
const char *scan_env_get(const char *const *envp, const char *name);

/* Parse envp into *cfg (zeroed first).  ncpu is the online CPU count.
 * multi_nic: also validate ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES (it is
 * fatal only in the multi-NIC parent).  -1 with e holding the whole message
 * ("invalid integer for X: v", ...); cfg must still be freed. */
int scan_env_parse(struct scan_env *cfg, const char *const *envp, long ncpu, struct errbuf *e);
/* The multi-NIC-only integer check (§2.3 row 4), run by the parent. */
int scan_env_check_multi(const char *const *envp, int64_t *max_concurrent, struct errbuf *e);
void scan_env_free(struct scan_env *cfg);

/* §3.2 POSIX shell word splitting of s into out.  -1 with e "no closing
 * quotation" (or "no escaped character" for a trailing backslash). */
int scan_env_split_words(const char *s, struct scan_argv *out, struct errbuf *e);

/* §14.1: interface list of s (NULL -> empty); *out NULL-terminated (caller
 * frees with scan_env_list_free).  -1 on ENOMEM. */
int scan_env_parse_interfaces(const char *s, char ***out, size_t *count);
void scan_env_list_free(char **list);

/* Controller integer grammar (rate-controller.md §7.1): optional sign,
 * digits, int64; s[0..len) already trimmed.  0 or -1. */
int scan_env_parse_int(const char *s, size_t len, int64_t *out);

#endif
