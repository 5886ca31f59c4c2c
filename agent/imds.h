#ifndef IMDS_H
#define IMDS_H
/*
 * IMDSv2 client (rate-controller.md §10) on lib/http: token PUT, then GET
 * with the token; the IMDSv1 fallback only after PUT 403/404/405; one re-token
 * after a 401; retries of transport failures, 5xx and 429 up to NUM_ATTEMPTS;
 * every request bounded end to end by the timeout; bodies capped at 4096
 * bytes; no redirects, no proxies.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "http.h"
#include "rate_env.h"

enum { IMDS_ENDPOINT_MAX = 300, IMDS_DEFAULT_TTL = 60 };

struct imds_config {
	char endpoint[IMDS_ENDPOINT_MAX]; /* "http://host[:port]", no trailing '/' */
	bool v1_disabled;
	int64_t timeout_ms; /* per request, connect to last byte */
	int attempts;       /* per logical request, >= 1 */
	int ttl_s;          /* token TTL, 1..21600 */
};

/* §10.1 AWS_EC2_METADATA_DISABLED: trimmed value equals "true" (any case). */
bool imds_disabled(const char *const *envp);

/* §10.1: endpoint (or mode), V1_DISABLED, TIMEOUT, NUM_ATTEMPTS; ttl 60.
 * Invalid TIMEOUT / NUM_ATTEMPTS get a warning and the default.  Returns 0,
 * or -1 when the endpoint configuration is invalid (a warning ending "...;
 * instance metadata will not be queried" is recorded in w). */
int imds_config_from_env(const char *const *envp, struct imds_config *cfg, struct rate_warnings *w);

/* Parse an endpoint value (trimmed): "http://host[:port]" with an optional
 * trailing "/".  0 with out filled (trailing '/' dropped) or -1. */
int imds_parse_endpoint(const char *v, size_t len, char *out, size_t outsz);

enum imds_mode { IMDS_MODE_V2, IMDS_MODE_V1 };

struct imds_client;

/* hc: the seams (connect, clock, sleep, random) and user agent; proxy fields
 * are ignored.  NULL with e set on failure. */
struct imds_client *imds_new(const struct imds_config *cfg, const struct http_config *hc,
			     struct errbuf *e);
void imds_free(struct imds_client *c);

/* GET /latest/<path> ("meta-data/instance-type").  On success the trimmed
 * body is copied to out (NUL-terminated, *len bytes, may hold any byte but
 * NUL) and *mode says whether IMDSv2 or v1 answered.  -1 with e set. */
int imds_get(struct imds_client *c, const char *path, char *out, size_t outsz, size_t *len,
	     enum imds_mode *mode, struct errbuf *e);

#endif
