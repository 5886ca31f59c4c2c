#include "inst_detect.h"

#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inst_table.h"

enum { DMI_READ_MAX = 4096 };

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Trim s[0..len) and accept it when it passes the shape test. */
static bool take_type(const char *s, size_t len, struct inst_result *r)
{
	while (len > 0 && is_space((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_space((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(r->type) || !inst_shape_ok(s, len))
		return false;
	memcpy(r->type, s, len);
	r->type[len] = '\0';
	return true;
}

static const char *path_or(const char *const *envp, const char *name, const char *def)
{
	const char *v;
	size_t len;

	/* the path is used as given when present */
	if (rate_env_present(envp, name, &v, &len))
		return rate_env_get(envp, name);
	return def;
}

void inst_detect(const char *const *envp, inst_fetch_fn fetch, void *fetch_arg,
		 struct rate_warnings *w, struct inst_result *r)
{
	char buf[DMI_READ_MAX + 1];
	char ans[BOUNDS_IMDS_BODY_MAX + 1];
	struct imds_config cfg;
	enum imds_mode mode = IMDS_MODE_V2;
	const char *v;
	size_t len = 0;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->source = INST_SRC_NONE;
	r->imds = INST_IMDS_NOT_NEEDED;
	/* 1: the environment */
	if (rate_env_instance_type(envp, w, r->type, sizeof(r->type)) != NULL) {
		r->source = INST_SRC_ENV;
		return;
	}
	r->type[0] = '\0';
	/* 2: DMI product name */
	n = fsutil_read_small(path_or(envp, "ANYSCAN_DMI_PRODUCT_PATH", INST_DMI_PRODUCT_PATH), buf,
			      sizeof(buf));
	if (n > 0 && take_type(buf, (size_t)n, r)) {
		r->source = INST_SRC_DMI;
		return;
	}
	r->type[0] = '\0';
	/* 3: a parent already ran detection */
	if (rate_env_present(envp, "ANYSCAN_INSTANCE_DETECTION", &v, &len) && len == 4 &&
	    memcmp(v, "done", 4) == 0) {
		r->imds = INST_IMDS_SKIPPED_DONE;
		return;
	}
	/* 4: AWS_EC2_METADATA_DISABLED */
	if (imds_disabled(envp)) {
		r->imds = INST_IMDS_DISABLED;
		return;
	}
	/* 5: a readable sys_vendor without "Amazon" (D1f) */
	n = fsutil_read_small(path_or(envp, "ANYSCAN_DMI_VENDOR_PATH", INST_DMI_VENDOR_PATH), buf,
			      sizeof(buf));
	if (n >= 0 && memmem(buf, (size_t)n, "Amazon", 6) == NULL) {
		r->imds = INST_IMDS_SKIPPED_VENDOR;
		return;
	}
	/* 6: endpoint configuration */
	if (imds_config_from_env(envp, &cfg, w) != 0) {
		r->imds = INST_IMDS_INVALID_CONFIG;
		return;
	}
	/* 7: IMDS */
	if (fetch == NULL ||
	    fetch(fetch_arg, &cfg, ans, sizeof(ans), &len, &mode, &r->imds_err) != 0) {
		if (r->imds_err.msg[0] == '\0')
			err_set(&r->imds_err, "no fetcher");
		r->imds = INST_IMDS_FAILED;
		return;
	}
	r->imds = mode == IMDS_MODE_V1 ? INST_IMDS_V1 : INST_IMDS_V2;
	if (len <= sizeof(ans) && take_type(ans, len, r))
		r->source = INST_SRC_IMDS;
	else
		r->type[0] = '\0';
}

const struct inst_result *inst_detect_once(struct inst_cache *cache, const char *const *envp,
					   inst_fetch_fn fetch, void *fetch_arg,
					   struct rate_warnings *w)
{
	if (!cache->done) {
		inst_detect(envp, fetch, fetch_arg, w, &cache->r);
		cache->done = true;
	}
	return &cache->r;
}

int inst_fetch_imds(void *arg, const struct imds_config *cfg, char *out, size_t outsz, size_t *len,
		    enum imds_mode *mode, struct errbuf *e)
{
	static const struct http_config none;
	const struct http_config *hc = arg != NULL ? arg : &none;
	struct imds_client *c = imds_new(cfg, hc, e);
	int rc;

	if (c == NULL)
		return -1;
	rc = imds_get(c, "meta-data/instance-type", out, outsz, len, mode, e);
	imds_free(c);
	return rc;
}

const char *inst_source_name(enum inst_source s)
{
	switch (s) {
	case INST_SRC_ENV:
		return "env";
	case INST_SRC_DMI:
		return "dmi";
	case INST_SRC_IMDS:
		return "imds";
	default:
		return "none";
	}
}

const char *inst_imds_name(enum inst_imds s)
{
	static const char *const names[] = {
		"not-needed",     "skipped-done", "disabled", "skipped-vendor",
		"invalid-config", "v2",           "v1",       "failed"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "failed";
}

static bool is_var(const char *kv, const char *name)
{
	size_t n = strlen(name);

	return strncmp(kv, name, n) == 0 && kv[n] == '=';
}

char **inst_child_env(const char *const *envp, const struct inst_result *r)
{
	size_t n = 0, i, o = 0;
	char **env;

	while (envp != NULL && envp[n] != NULL)
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (!is_var(envp[i], "ANYSCAN_INSTANCE_DETECTION") &&
		    !is_var(envp[i], "ANYSCAN_INSTANCE_TYPE"))
			env[o++] = (char *)(uintptr_t)envp[i];
	/* the added strings sit at the end so they can be freed */
	env[o] = strdup("ANYSCAN_INSTANCE_DETECTION=done");
	if (env[o] == NULL)
		goto fail;
	o++;
	if (r->type[0] != '\0') {
		size_t tl = strlen(r->type);
		char *kv = malloc(sizeof("ANYSCAN_INSTANCE_TYPE=") + tl);
		if (kv == NULL)
			goto fail;
		memcpy(kv, "ANYSCAN_INSTANCE_TYPE=", sizeof("ANYSCAN_INSTANCE_TYPE=") - 1);
		memcpy(kv + sizeof("ANYSCAN_INSTANCE_TYPE=") - 1, r->type, tl + 1);
		env[o++] = kv;
	}
	env[o] = NULL;
	return env;
fail:
	inst_child_env_free(env);
	return NULL;
}

void inst_child_env_free(char **env)
{
	size_t i;

	if (env == NULL)
		return;
	/* the parent's entries of these names were left out: these are ours */
	for (i = 0; env[i] != NULL; i++)
		if (is_var(env[i], "ANYSCAN_INSTANCE_DETECTION") ||
		    is_var(env[i], "ANYSCAN_INSTANCE_TYPE"))
			free(env[i]);
	free(env);
}
