#ifndef CLI_H
#define CLI_H
/*
 * Shared CLI-layer helpers of agent-install's commands (cmd_*.c): messages
 * in the form of spec bundle-install-update.md §0.6, the root (§0.4), the
 * settings (§13.1), the command lock (§7.1), the recorded service backend,
 * and the real clock.  Only commands call these (they print and read the
 * environment).
 */
#include "health.h"
#include "installed.h"
#include "layout.h"
#include "service.h"
#include "settings.h"

#include <stddef.h>

#define CLI_PROG "agent-install"
#define CLI_LOCK_TIMEOUT_MS 120000 /* §10.2 step 3, §13.4 step 1 */

void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: prints and returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* §0.4: --root (NULL when not given) beats AGENTD_ROOT.  Prints the error
 * and returns NULL when the root is unusable. */
struct layout *cli_layout(const char *root_opt);

/* §13.1 settings from the environment and runtime.env under the root;
 * invalid values are warned about. */
void cli_settings(const struct layout *l, struct settings *s);

/* A host path from the settings (status/request file) under the root. */
int cli_host_path(const struct layout *l, const char *host, char *out, size_t size);

/* Create /opt/agentd if missing and take its lock (waiting up to 120 s).
 * 0 and *fd, or prints and returns 1. */
int cli_lock(const struct layout *l, int *fd);

/* The backend recorded in installed.json ("" or invalid: auto-detected),
 * with the runit scan directory probed under the root.  Prints and returns
 * NULL on failure. */
struct service *cli_service(const struct layout *l, const char *recorded);

/* Wall clock and sleep for health checks. */
extern const struct health_clock cli_clock;
/* "now" as a timestamp (§0.3). */
void cli_now(char out[32]);

/* Flush stdout; 0, or prints and returns 1. */
int cli_flush(void);

#endif
