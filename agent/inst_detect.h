#ifndef INST_DETECT_H
#define INST_DETECT_H
/*
 * Instance-type detection (rate-controller.md §9): ANYSCAN_INSTANCE_TYPE,
 * then the DMI product name, then (unless stopped by ANYSCAN_INSTANCE_DETECTION
 * =done, AWS_EC2_METADATA_DISABLED, a non-Amazon DMI sys_vendor or an invalid
 * endpoint configuration) the IMDS fetcher, which is a parameter (§9.4).
 * The result for child processes (§9.3) is built by inst_child_env.
 */
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "imds.h"
#include "rate_env.h"

#define INST_DMI_PRODUCT_PATH "/sys/devices/virtual/dmi/id/product_name"
#define INST_DMI_VENDOR_PATH "/sys/devices/virtual/dmi/id/sys_vendor"

enum { INST_TYPE_MAX = 64 };

enum inst_source { INST_SRC_NONE = 0, INST_SRC_ENV, INST_SRC_DMI, INST_SRC_IMDS };

enum inst_imds {
	INST_IMDS_NOT_NEEDED = 0,
	INST_IMDS_SKIPPED_DONE,
	INST_IMDS_DISABLED,
	INST_IMDS_SKIPPED_VENDOR,
	INST_IMDS_INVALID_CONFIG,
	INST_IMDS_V2,
	INST_IMDS_V1,
	INST_IMDS_FAILED,
};

struct inst_result {
	char type[INST_TYPE_MAX]; /* "" when none */
	enum inst_source source;
	enum inst_imds imds;
	struct errbuf imds_err; /* why IMDS failed (imds == FAILED), else "" */
};

/* The fetcher seam: fill out (NUL-terminated, *len bytes) with the raw
 * instance-type answer and *mode, or return -1 with e set. */
typedef int (*inst_fetch_fn)(void *arg, const struct imds_config *cfg, char *out, size_t outsz,
			     size_t *len, enum imds_mode *mode, struct errbuf *e);

/* The real fetcher: arg is a const struct http_config * (seams, user agent). */
int inst_fetch_imds(void *arg, const struct imds_config *cfg, char *out, size_t outsz, size_t *len,
		    enum imds_mode *mode, struct errbuf *e);

/* Run §9.1.  envp: the environment map; warnings go to w (may be NULL). */
void inst_detect(const char *const *envp, inst_fetch_fn fetch, void *fetch_arg,
		 struct rate_warnings *w, struct inst_result *r);

/* §9.2: detection at most once per cache (the caller keeps one per process). */
struct inst_cache {
	bool done;
	struct inst_result r;
};
const struct inst_result *inst_detect_once(struct inst_cache *cache, const char *const *envp,
					   inst_fetch_fn fetch, void *fetch_arg,
					   struct rate_warnings *w);

/* "env", "dmi", "imds", "none" */
const char *inst_source_name(enum inst_source s);
/* "not-needed", "skipped-done", "disabled", "skipped-vendor", "invalid-config",
 * "v2", "v1", "failed" */
const char *inst_imds_name(enum inst_imds s);

/* §9.3: a child environment: envp without ANYSCAN_INSTANCE_DETECTION and
 * ANYSCAN_INSTANCE_TYPE, plus ANYSCAN_INSTANCE_DETECTION=done and, when a
 * type was detected, ANYSCAN_INSTANCE_TYPE=<type>.  Returns a malloc'd
 * NULL-terminated array whose added strings are malloc'd too; free it with
 * inst_child_env_free.  NULL on allocation failure. */
char **inst_child_env(const char *const *envp, const struct inst_result *r);
void inst_child_env_free(char **env);

#endif
