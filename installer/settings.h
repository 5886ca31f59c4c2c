#ifndef SETTINGS_H
#define SETTINGS_H
/*
 * Updater settings (spec bundle-install-update.md §13.1): from the process
 * environment, then runtime.env (§8.1 parser, never executed), then the
 * default.  An invalid value gives a warning and the default.  Pure: the
 * caller hands in the environment lookup and the file's bytes.
 */
#include <stdbool.h>
#include <stddef.h>

#define SETTINGS_PATH_MAX 1024
#define SETTINGS_URL_MAX 2048

struct settings {
	bool enabled;        /* AGENT_REMOTE_UPDATE_ENABLED, true */
	int health_timeout;  /* AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS, 120, 10..3600 */
	int health_interval; /* ..._INTERVAL_SECONDS, 5, 1..60 */
	bool rollback_on_failure;             /* AGENT_REMOTE_UPDATE_ROLLBACK_ON_FAILURE, true */
	char request_file[SETTINGS_PATH_MAX]; /* host paths (under DIR) */
	char status_file[SETTINGS_PATH_MAX];
	unsigned keep_releases;               /* AGENT_INSTALL_KEEP_RELEASES, 3, 2..16 */
	char channel_url[SETTINGS_URL_MAX];   /* AGENTD_CHANNEL_URL, "" */
	char textfile_dir[SETTINGS_PATH_MAX]; /* AGENTD_TEXTFILE_DIR from runtime.env only (§12.3)
					       */
};

typedef const char *settings_getenv_fn(void *ctx, const char *key);
typedef void settings_warn_fn(void *ctx, const char *msg);

/* Fill s.  getenv_fn may be NULL (no environment); env/env_len is the
 * runtime.env content (NULL = no file); warn (may be NULL) gets one line
 * per invalid value ("invalid AGENT_INSTALL_KEEP_RELEASES=1 (2-16); using 3"). */
void settings_load(struct settings *s, settings_getenv_fn *getenv_fn, void *getenv_ctx,
		   const char *env, size_t env_len, settings_warn_fn *warn, void *warn_ctx);

/* Booleans of §13.1: 1 true yes on / 0 false no off, any case.  0 and *out,
 * or -1. */
int settings_parse_bool(const char *s, size_t len, bool *out);

#endif
