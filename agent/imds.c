#include "imds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "http_url.h"

#define TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"
#define TOKEN_HEADER "X-aws-ec2-metadata-token"
#define MAX_ATTEMPTS 10 /* a bound on NUM_ATTEMPTS: IMDS throttles pollers (§10.4) */

struct imds_client {
	struct imds_config cfg;
	struct http_config hc;
	struct http_client *http;
	char token[BOUNDS_IMDS_TOKEN_MAX + 1];
	int64_t token_at; /* monotonic ms when obtained; token[0] == 0: none */
};

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

static bool eq_word(const char *v, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(v, word, len) == 0;
}

bool imds_disabled(const char *const *envp)
{
	const char *v;
	size_t len;

	return rate_env_present(envp, "AWS_EC2_METADATA_DISABLED", &v, &len) &&
	       eq_word(v, len, "true");
}

int imds_parse_endpoint(const char *v, size_t len, char *out, size_t outsz)
{
	char buf[IMDS_ENDPOINT_MAX + 2];
	struct http_url u;
	const char *rest;
	size_t n;

	if (len == 0 || len >= sizeof(buf) || memchr(v, '\0', len) != NULL)
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (strncasecmp(buf, "http://", 7) != 0 || http_url_parse(buf, &u, NULL) != 0)
		return -1;
	if (u.userinfo[0] != '\0' || strchr(buf, '@') != NULL)
		return -1;
	/* nothing after the authority but one optional '/' */
	rest = buf + 7 + strcspn(buf + 7, "/?#");
	if (!(rest[0] == '\0' || (rest[0] == '/' && rest[1] == '\0')))
		return -1;
	n = (size_t)(rest - buf);
	if (n + 1 > outsz)
		return -1;
	memcpy(out, buf, n);
	out[n] = '\0';
	return 0;
}

int imds_config_from_env(const char *const *envp, struct imds_config *cfg, struct rate_warnings *w)
{
	const char *v;
	size_t len;
	int rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ms = 1000;
	cfg->attempts = 1;
	cfg->ttl_s = IMDS_DEFAULT_TTL;
	if (rate_env_present(envp, "AWS_EC2_METADATA_SERVICE_ENDPOINT", &v, &len)) {
		if (imds_parse_endpoint(v, len, cfg->endpoint, sizeof(cfg->endpoint)) != 0) {
			rate_warn(w, "AWS_EC2_METADATA_SERVICE_ENDPOINT", v, len,
				  "a valid http:// endpoint",
				  "instance metadata will not be queried");
			rc = -1;
		}
	} else if (!rate_env_present(envp, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", &v, &len) ||
		   eq_word(v, len, "ipv4")) {
		memcpy(cfg->endpoint, "http://169.254.169.254", sizeof("http://169.254.169.254"));
	} else if (eq_word(v, len, "ipv6")) {
		memcpy(cfg->endpoint, "http://[fd00:ec2::254]", sizeof("http://[fd00:ec2::254]"));
	} else {
		rate_warn(w, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", v, len, "one of IPv4, IPv6",
			  "instance metadata will not be queried");
		rc = -1;
	}
	cfg->v1_disabled = rate_env_present(envp, "AWS_EC2_METADATA_V1_DISABLED", &v, &len) &&
			   eq_word(v, len, "true");
	if (rate_env_present(envp, "AWS_METADATA_SERVICE_TIMEOUT", &v, &len)) {
		double d;
		if (rate_parse_number(rate_env_get(envp, "AWS_METADATA_SERVICE_TIMEOUT"), &d) !=
			    RATE_PARSE_OK ||
		    !(d > 0) || d > 3600)
			rate_warn(w, "AWS_METADATA_SERVICE_TIMEOUT", v, len, "a positive number",
				  "using the default");
		else {
			cfg->timeout_ms = (int64_t)(d * 1000.0 + 0.999);
			if (cfg->timeout_ms < 1)
				cfg->timeout_ms = 1;
		}
	}
	if (rate_env_present(envp, "AWS_METADATA_SERVICE_NUM_ATTEMPTS", &v, &len)) {
		int64_t n;
		if (rate_parse_int(rate_env_get(envp, "AWS_METADATA_SERVICE_NUM_ATTEMPTS"), &n) !=
			    RATE_PARSE_OK ||
		    n < 1)
			rate_warn(w, "AWS_METADATA_SERVICE_NUM_ATTEMPTS", v, len,
				  "a positive integer", "using the default");
		else
			cfg->attempts = n > MAX_ATTEMPTS ? MAX_ATTEMPTS : (int)n;
	}
	return rc;
}

struct imds_client *imds_new(const struct imds_config *cfg, const struct http_config *hc,
			     struct errbuf *e)
{
	struct imds_client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		err_set(e, "out of memory");
		return NULL;
	}
	c->cfg = *cfg;
	if (c->cfg.attempts < 1)
		c->cfg.attempts = 1;
	if (c->cfg.ttl_s < 1 || c->cfg.ttl_s > 21600)
		c->cfg.ttl_s = IMDS_DEFAULT_TTL;
	c->hc = *hc;
	c->hc.https_proxy = c->hc.http_proxy = c->hc.no_proxy = NULL;
	c->hc.connect_timeout_ms = (int)cfg->timeout_ms;
	c->hc.idle_timeout_ms = (int)cfg->timeout_ms;
	c->http = http_client_new(&c->hc, e);
	if (c->http == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void imds_free(struct imds_client *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	free(c);
}

static int retry_imds(int status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

static int64_t now_ms(struct imds_client *c)
{
	struct timespec ts;

	if (c->hc.now_ms != NULL)
		return c->hc.now_ms(c->hc.clock_arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int call(struct imds_client *c, const char *method, const char *path, const char *hdr,
		struct http_response *r, struct errbuf *e)
{
	char url[IMDS_ENDPOINT_MAX + 64];
	const char *hdrs[1];
	struct http_request rq;
	int n;

	n = snprintf(url, sizeof(url), "%s/latest/%s", c->cfg.endpoint, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		err_set(e, "metadata URL too long");
		return -1;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.url = url;
	hdrs[0] = hdr;
	rq.headers = hdrs;
	rq.nheaders = hdr != NULL ? 1 : 0;
	rq.max_header_bytes = BOUNDS_IMDS_HEADER_MAX;
	rq.max_body_bytes = BOUNDS_IMDS_BODY_MAX;
	rq.total_timeout_ms = c->cfg.timeout_ms;
	rq.max_redirects = 0;
	rq.no_proxy = 1;
	rq.attempts = c->cfg.attempts;
	rq.retry_base_ms = 100;
	rq.retry_max_ms = 1000;
	rq.jitter_lo = 0;
	rq.jitter_hi = 1;
	rq.retry_status = retry_imds;
	if (http_request(c->http, &rq, r, e) != 0) {
		char m[ERRBUF_SIZE];
		memcpy(m, e != NULL ? e->msg : "", e != NULL ? sizeof(m) : 1);
		err_set(e, "%s %s: %.400s", method, url, m);
		return -1;
	}
	return 0;
}

/* 1: got a token; 0: IMDSv1 allowed (PUT 403/404/405); -1 failure. */
static int get_token(struct imds_client *c, struct errbuf *e)
{
	char hdr[64];
	struct http_response r = {0};
	const char *t;
	size_t len, i;
	int rc = -1, n;

	c->token[0] = '\0';
	n = snprintf(hdr, sizeof(hdr), TTL_HEADER ": %d", c->cfg.ttl_s);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -1;
	if (call(c, "PUT", "api/token", hdr, &r, e) != 0)
		goto out;
	if (r.status == 403 || r.status == 404 || r.status == 405) {
		if (c->cfg.v1_disabled) {
			err_set(e, "token request answered HTTP %d and IMDSv1 is disabled",
				r.status);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (r.status != 200) {
		err_set(e, "token request answered HTTP %d", r.status);
		goto out;
	}
	t = r.body != NULL ? r.body : "";
	len = (size_t)r.body_len;
	trim(&t, &len);
	if (len == 0 || len > BOUNDS_IMDS_TOKEN_MAX) {
		err_set(e, "token of %zu bytes refused", len);
		goto out;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e) {
			err_set(e, "token with a byte outside visible ASCII refused");
			goto out;
		}
	memcpy(c->token, t, len);
	c->token[len] = '\0';
	c->token_at = now_ms(c);
	rc = 1;
out:
	http_response_clear(&r);
	return rc;
}

int imds_get(struct imds_client *c, const char *path, char *out, size_t outsz, size_t *len,
	     enum imds_mode *mode, struct errbuf *e)
{
	struct http_response r = {0};
	char hdr[sizeof(TOKEN_HEADER) + 2 + BOUNDS_IMDS_TOKEN_MAX + 1];
	int v2, retoken = 0, rc = -1, n;
	const char *b;
	size_t bl;

	/* a token is reused for at most half its TTL (§10.4) */
	if (c->token[0] != '\0' && now_ms(c) - c->token_at < (int64_t)c->cfg.ttl_s * 500) {
		v2 = 1;
	} else {
		v2 = get_token(c, e);
		if (v2 < 0)
			return -1;
	}
	for (;;) {
		if (v2) {
			n = snprintf(hdr, sizeof(hdr), TOKEN_HEADER ": %s", c->token);
			if (n < 0 || (size_t)n >= sizeof(hdr))
				goto out;
		}
		if (call(c, "GET", path, v2 ? hdr : NULL, &r, e) != 0)
			goto out;
		if (r.status == 401 && v2 && !retoken) {
			retoken = 1;
			c->token[0] = '\0';
			if (get_token(c, e) != 1) {
				if (e != NULL && e->msg[0] == '\0')
					err_set(e, "re-token after HTTP 401 did not give a token");
				goto out;
			}
			continue;
		}
		if (r.status != 200) {
			if (r.status == 401)
				c->token[0] = '\0';
			err_set(e, "metadata request answered HTTP %d", r.status);
			goto out;
		}
		break;
	}
	b = r.body != NULL ? r.body : "";
	bl = (size_t)r.body_len;
	trim(&b, &bl);
	if (memchr(b, '\0', bl) != NULL || bl + 1 > outsz) {
		err_set(e, "metadata value refused (NUL byte or too long)");
		goto out;
	}
	memcpy(out, b, bl);
	out[bl] = '\0';
	*len = bl;
	*mode = v2 ? IMDS_MODE_V2 : IMDS_MODE_V1;
	rc = 0;
out:
	http_response_clear(&r);
	return rc;
}
