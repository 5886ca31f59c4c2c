#include "settings.h"

#include "envfile.h"
#include "num.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool eq_ci(const char *s, size_t len, const char *w)
{
	return strlen(w) == len && strncasecmp(s, w, len) == 0;
}

int settings_parse_bool(const char *s, size_t len, bool *out)
{
	if (eq_ci(s, len, "1") || eq_ci(s, len, "true") || eq_ci(s, len, "yes") ||
	    eq_ci(s, len, "on")) {
		*out = true;
		return 0;
	}
	if (eq_ci(s, len, "0") || eq_ci(s, len, "false") || eq_ci(s, len, "no") ||
	    eq_ci(s, len, "off")) {
		*out = false;
		return 0;
	}
	return -1;
}

struct src {
	settings_getenv_fn *getenv_fn;
	void *getenv_ctx;
	const char *env;
	size_t env_len;
	settings_warn_fn *warn;
	void *warn_ctx;
};

/* The value of key: environment first (non-empty), then runtime.env
 * (non-empty).  NULL when absent. */
static const char *lookup(const struct src *s, const char *key, bool env_too, size_t *len)
{
	const char *v;

	if (env_too && s->getenv_fn != NULL) {
		v = s->getenv_fn(s->getenv_ctx, key);
		if (v != NULL && v[0] != '\0') {
			*len = strlen(v);
			return v;
		}
	}
	if (s->env != NULL && envfile_get(s->env, s->env_len, key, strlen(key), &v, len) &&
	    *len > 0)
		return v;
	return NULL;
}

static void warn(const struct src *s, const char *key, const char *v, size_t len, const char *range,
		 const char *def)
{
	char msg[256];
	int n;

	if (s->warn == NULL)
		return;
	n = snprintf(msg, sizeof(msg), "invalid %s=%.*s (%s); using %s", key,
		     (int)(len > 64 ? 64 : len), v, range, def);
	if (n > 0)
		s->warn(s->warn_ctx, msg); /* a cut message is still useful */
}

static bool get_bool(const struct src *s, const char *key, bool def)
{
	size_t len;
	const char *v = lookup(s, key, true, &len);
	bool b;

	if (v == NULL)
		return def;
	if (settings_parse_bool(v, len, &b) == 0)
		return b;
	warn(s, key, v, len, "a boolean", def ? "true" : "false");
	return def;
}

static int get_int(const struct src *s, const char *key, int def, int lo, int hi)
{
	size_t len;
	const char *v = lookup(s, key, true, &len);
	char range[32], defs[16];
	int64_t n;

	if (v == NULL)
		return def;
	if (num_parse_i64(v, len, &n) == 0 && n >= lo && n <= hi && v[0] != '+')
		return (int)n;
	if (snprintf(range, sizeof(range), "%d-%d", lo, hi) < 0 ||
	    snprintf(defs, sizeof(defs), "%d", def) < 0)
		return def;
	warn(s, key, v, len, range, defs);
	return def;
}

static void get_path(const struct src *s, const char *key, bool env_too, const char *def, char *out,
		     size_t size)
{
	size_t len;
	const char *v = lookup(s, key, env_too, &len);

	if (v != NULL && len < size && v[0] == '/' && memchr(v, '\0', len) == NULL) {
		memcpy(out, v, len);
		out[len] = '\0';
		return;
	}
	if (v != NULL)
		warn(s, key, v, len, "an absolute path", def[0] ? def : "none");
	if (strlen(def) < size)
		memcpy(out, def, strlen(def) + 1);
	else
		out[0] = '\0';
}

void settings_load(struct settings *st, settings_getenv_fn *getenv_fn, void *getenv_ctx,
		   const char *env, size_t env_len, settings_warn_fn *warn_fn, void *warn_ctx)
{
	struct src s = {getenv_fn, getenv_ctx, env, env_len, warn_fn, warn_ctx};
	size_t len;
	const char *v;

	memset(st, 0, sizeof(*st));
	st->enabled = get_bool(&s, "AGENT_REMOTE_UPDATE_ENABLED", true);
	st->health_timeout =
		get_int(&s, "AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS", 120, 10, 3600);
	st->health_interval =
		get_int(&s, "AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS", 5, 1, 60);
	st->rollback_on_failure = get_bool(&s, "AGENT_REMOTE_UPDATE_ROLLBACK_ON_FAILURE", true);
	get_path(&s, "AGENT_REMOTE_UPDATE_REQUEST_FILE", true,
		 "/var/lib/agentd/remote-update.request", st->request_file,
		 sizeof(st->request_file));
	get_path(&s, "AGENT_REMOTE_UPDATE_STATUS_FILE", true,
		 "/var/lib/agentd/remote-update.status", st->status_file, sizeof(st->status_file));
	st->keep_releases = (unsigned)get_int(&s, "AGENT_INSTALL_KEEP_RELEASES", 3, 2, 16);
	v = lookup(&s, "AGENTD_CHANNEL_URL", true, &len);
	if (v != NULL && len < sizeof(st->channel_url)) {
		memcpy(st->channel_url, v, len);
		st->channel_url[len] = '\0';
	}
	get_path(&s, "AGENTD_TEXTFILE_DIR", false, "", st->textfile_dir, sizeof(st->textfile_dir));
}
