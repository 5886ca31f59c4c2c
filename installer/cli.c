#include "cli.h"

#include "crashpt.h"
#include "envfile.h"
#include "fsutil.h"
#include "itime.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void vmsg(const char *kind, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void vmsg(const char *kind, const char *fmt, va_list ap)
{
	fputs(CLI_PROG ": ", stderr);
	fputs(kind, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("error: ", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void cli_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs(CLI_PROG ": error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try agent-install %s --help)\n", cmd);
	return 2;
}

struct layout *cli_layout(const char *root_opt)
{
	char root[LAYOUT_ROOT_MAX + 1];
	struct errbuf e;
	struct layout *l;

	if (layout_root_resolve(root_opt, getenv("AGENTD_ROOT"), root, sizeof(root), &e) != 0) {
		cli_error("cannot use root: %s", e.msg);
		return NULL;
	}
	l = layout_new(root, &e);
	if (l == NULL)
		cli_error("cannot use root %s: %s", root, e.msg);
	else if (!layout_is_host(l))
		crashpt_arm(getenv("AGENT_INSTALL_TEST_CRASH_AT")); /* §24.2: never on / */
	return l;
}

static const char *env_lookup(void *ctx, const char *key)
{
	(void)ctx;
	return getenv(key);
}

static void warn_cb(void *ctx, const char *msg)
{
	(void)ctx;
	cli_warn("%s", msg);
}

void cli_settings(const struct layout *l, struct settings *s)
{
	char *data = NULL;
	size_t len = 0;
	struct errbuf e;

	if (fsutil_read_file(layout_path(l, LAYOUT_RUNTIME_ENV), 1024 * 1024, 0, &data, &len, &e) !=
	    0) {
		if (errno != ENOENT)
			cli_warn("cannot read runtime.env: %s", e.msg);
		data = NULL;
	}
	settings_load(s, env_lookup, NULL, data, len, warn_cb, NULL);
	free(data);
}

int cli_host_path(const struct layout *l, const char *host, char *out, size_t size)
{
	struct errbuf e;
	if (layout_join(l, host, out, size, &e) != 0) {
		cli_error("%s", e.msg);
		return -1;
	}
	return 0;
}

int cli_lock(const struct layout *l, int *fd)
{
	struct errbuf e;

	if (fsutil_mkdir_p(layout_path(l, LAYOUT_OPT), 0755, &e) != 0) {
		cli_error("cannot create %s: %s", layout_path(l, LAYOUT_OPT), e.msg);
		return 1;
	}
	if (fsutil_lock(layout_path(l, LAYOUT_LOCK), 0600, CLI_LOCK_TIMEOUT_MS, fd, &e) != 0) {
		if (errno == ETIMEDOUT)
			cli_error("another agent-install is running (%s is locked)",
				  layout_path(l, LAYOUT_LOCK));
		else
			cli_error("cannot lock %s: %s", layout_path(l, LAYOUT_LOCK), e.msg);
		return 1;
	}
	return 0;
}

struct service *cli_service(const struct layout *l, const char *recorded)
{
	struct service_choice c;
	struct service_host h;
	struct service *s;
	struct errbuf e;

	service_probe(l, getenv("PATH"), getenv("SVDIR"), &h);
	if (recorded == NULL || recorded[0] == '\0' ||
	    service_parse(recorded, false, NULL, &c, &e) != 0) {
		if (recorded != NULL && recorded[0] != '\0')
			cli_warn("installed.json names an unknown service '%.64s'; detecting",
				 recorded);
		memset(&c, 0, sizeof(c));
		c.kind = service_auto(&h);
	}
	s = service_new(l, &c, h.scan_dir, NULL, NULL, &e);
	if (s == NULL)
		cli_error("cannot set up the service backend: %s", e.msg);
	return s;
}

static int64_t real_now(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

static void real_sleep(void *ctx, int seconds)
{
	struct timespec ts = {.tv_sec = seconds, .tv_nsec = 0};
	(void)ctx;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const struct health_clock cli_clock = {real_now, real_sleep, NULL, NULL};

void cli_now(char out[32])
{
	itime_format((int64_t)time(NULL), out);
}

int cli_flush(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("cannot write to stdout: %s", strerror(errno));
		return 1;
	}
	return 0;
}
