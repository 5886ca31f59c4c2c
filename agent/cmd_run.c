/*
 * agentd run [--root DIR] [--user NAME]
 *
 * The long-running service (spec bundle-install-update.md §15.2, §22):
 * health.json, the metrics textfile and the channel poller.  Settings come
 * from the environment, then runtime.env (§8.1 parser), then the defaults.
 */
#include "cmd.h"
#include "version.h"

#include "bname.h"
#include "bounds.h"
#include "envfile.h"
#include "fsutil.h"
#include "http.h"
#include "imds.h"
#include "layout.h"
#include "num.h"
#include "run.h"
#include "run_user.h"
#include "settings.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#define RUN_HEALTH_INTERVAL_DEFAULT 10 /* §22.1 */
#define RUN_POLL_DEFAULT 900           /* §15.2 */

struct env {
	char *file; /* runtime.env content, NULL when none */
	size_t len;
	char val[BOUNDS_ENV_VALUE_MAX + 1];
};

/* The environment first (set, even empty, wins), then runtime.env. */
static const char *lookup(struct env *v, const char *key)
{
	const char *s = getenv(key), *fv;
	size_t n;

	if (s != NULL)
		return s;
	if (v->file == NULL || !envfile_get(v->file, v->len, key, strlen(key), &fv, &n) ||
	    n > BOUNDS_ENV_VALUE_MAX)
		return NULL;
	memcpy(v->val, fv, n);
	v->val[n] = '\0';
	return v->val;
}

static const char *settings_env(void *ctx, const char *key)
{
	(void)ctx;
	return getenv(key);
}

static void settings_warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "agentd: warning: %s\n", msg);
}

static int int_setting(struct env *v, const char *key, int def, int lo, int hi)
{
	const char *s = lookup(v, key);
	int64_t x;

	if (s == NULL || s[0] == '\0')
		return def;
	if (num_parse_i64(s, strlen(s), &x) != 0 || x < lo || x > hi) {
		fprintf(stderr, "agentd: warning: invalid %s=%s (%d-%d); using %d\n", key, s, lo,
			hi, def);
		return def;
	}
	return (int)x;
}

/* A host path setting under the root; NULL when unset or invalid (warned). */
static char *path_setting(struct env *v, const struct layout *l, const char *key)
{
	const char *s = lookup(v, key);
	char out[PATH_MAX];
	struct errbuf e = {{0}};

	if (s == NULL || s[0] == '\0')
		return NULL;
	if (layout_join(l, s, out, sizeof(out), &e) != 0) {
		fprintf(stderr, "agentd: warning: ignoring %s: %s\n", key, e.msg);
		return NULL;
	}
	return strdup(out);
}

static char *join_or_null(const struct layout *l, const char *host)
{
	char out[PATH_MAX];

	if (host == NULL || host[0] == '\0' || layout_join(l, host, out, sizeof(out), NULL) != 0)
		return NULL;
	return strdup(out);
}

static void read_trimmed(const char *path, char *out, size_t size)
{
	char *data = NULL;
	size_t len = 0, a = 0;

	out[0] = '\0';
	if (fsutil_read_file(path, 4096, 0, &data, &len, NULL) != 0)
		return;
	while (a < len && (data[a] == ' ' || data[a] == '\t' || data[a] == '\n' || data[a] == '\r'))
		a++;
	while (len > a && (data[len - 1] == ' ' || data[len - 1] == '\t' || data[len - 1] == '\n' ||
			   data[len - 1] == '\r'))
		len--;
	if (len - a < size && memchr(data + a, '\0', len - a) == NULL) {
		memcpy(out, data + a, len - a);
		out[len - a] = '\0';
	}
	free(data);
}

/* §15.3: AGENT_ID, else the instance id (IMDS; only on the real host),
 * else /etc/machine-id, else the host name. */
static void rollout_id(struct env *v, const struct layout *l, char *out, size_t size)
{
	const char *id = lookup(v, "AGENT_ID");
	char mid[256], host[256], path[PATH_MAX];

	if (id != NULL && id[0] != '\0') {
		snprintf(out, size, "%s", id);
		return;
	}
	if (layout_is_host(l) && !imds_disabled((const char *const *)environ)) {
		struct imds_config ic;
		struct rate_warnings w;
		struct http_config hc;
		struct imds_client *c;
		struct errbuf e = {{0}};
		enum imds_mode mode;
		size_t n = 0;

		rate_warnings_init(&w);
		memset(&hc, 0, sizeof(hc));
		if (imds_config_from_env((const char *const *)environ, &ic, &w) == 0) {
			c = imds_new(&ic, &hc, &e);
			if (c != NULL &&
			    imds_get(c, "meta-data/instance-id", out, size, &n, &mode, &e) == 0 &&
			    n > 0) {
				imds_free(c);
				rate_warnings_free(&w);
				return;
			}
			imds_free(c);
		}
		rate_warnings_free(&w);
	}
	if (layout_join(l, "/etc/machine-id", path, sizeof(path), NULL) == 0) {
		read_trimmed(path, mid, sizeof(mid));
		if (mid[0] != '\0') {
			snprintf(out, size, "%s", mid);
			return;
		}
	}
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		snprintf(out, size, "%s", host);
		return;
	}
	out[0] = '\0';
}

static void usage(FILE *f)
{
	fputs("usage: agentd run [--root DIR] [--user NAME]\n"
	      "\n"
	      "The service loop: writes /run/agentd/health.json at start and every\n"
	      "AGENTD_HEALTH_INTERVAL_SECONDS (10), <AGENTD_TEXTFILE_DIR>/agentd.prom when\n"
	      "that is set, and polls the signed update channel AGENTD_CHANNEL_URL every\n"
	      "AGENTD_CHANNEL_POLL_SECONDS (900, +-20%), writing the remote-update request\n"
	      "when a newer release is offered to this worker's rollout bucket.\n"
	      "Settings come from the environment, then /etc/agentd/runtime.env.\n"
	      "--root DIR (or AGENTD_ROOT) places every host path under DIR.\n"
	      "--user NAME: started as root, run as NAME keeping only CAP_NET_RAW and\n"
	      "CAP_NET_ADMIN (also for the programs it starts), as the runit script does.\n"
	      "Signals: SIGTERM, SIGINT stop; SIGHUP writes health and polls the channel now.\n"
	      "exit status: 0 stopped by a signal, 1 failure, 2 usage or configuration error\n",
	      f);
}

int cmd_run(int argc, char **argv)
{
	static char ua[128];
	const char *root_opt = NULL, *user = NULL, *s;
	char root[LAYOUT_ROOT_MAX + 1], exe[PATH_MAX], fp[65], platform[BNAME_PLATFORM_MAX + 1];
	char id[256], worker[129];
	struct layout *l = NULL;
	struct run_config c;
	struct settings st;
	struct env v;
	struct errbuf e = {{0}};
	struct http_config hc;
	struct events_sink sink;
	struct utsname un;
	sigset_t ss;
	char *textfile = NULL, *request = NULL, *status = NULL, *calib = NULL, *ca = NULL;
	int i, rc = 1, n;
	ssize_t el;

	memset(&v, 0, sizeof(v));
	memset(&c, 0, sizeof(c));
	memset(&hc, 0, sizeof(hc));
	c.sigfd = -1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
			root_opt = argv[++i];
		} else if (strncmp(argv[i], "--root=", 7) == 0) {
			root_opt = argv[i] + 7;
		} else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
			user = argv[++i];
		} else if (strncmp(argv[i], "--user=", 7) == 0) {
			user = argv[i] + 7;
		} else {
			fprintf(stderr, "agentd: run: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (layout_root_resolve(root_opt, getenv("AGENTD_ROOT"), root, sizeof(root), &e) != 0 ||
	    (l = layout_new(root, &e)) == NULL) {
		fprintf(stderr, "agentd: cannot use root: %s\n", e.msg);
		return 2;
	}
	/* runtime.env: missing or unreadable means environment and defaults only */
	if (fsutil_read_file(layout_path(l, LAYOUT_RUNTIME_ENV), BOUNDS_ENVFILE_MAX, 0, &v.file,
			     &v.len, NULL) != 0)
		v.file = NULL;
	settings_load(&st, settings_env, NULL, v.file, v.len, settings_warn, NULL);

	/* identity of this build */
	el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (el > 0) {
		char real[PATH_MAX];

		exe[el] = '\0';
		if (realpath(exe, real) != NULL)
			snprintf(exe, sizeof(exe), "%s", real);
		run_health_fingerprint(exe, fp);
	} else {
		fp[0] = '\0';
	}
	if (uname(&un) != 0 ||
	    bname_platform_from_uname(un.sysname, un.machine, platform, sizeof(platform), &e) != 0)
		platform[0] = '\0';
	/* --user: drop root before anything is created under /run/agentd */
	if (user != NULL && run_user_switch(user, &e) != 0) {
		fprintf(stderr, "agentd: cannot run as user %s: %s\n", user, e.msg);
		goto out;
	}
	s = lookup(&v, "AGENT_BUNDLE_NAME");
	c.bundle_name = strdup(s != NULL ? s : "");
	c.fingerprint = fp;
	c.version = version_get();
	c.platform = platform;

	/* paths */
	c.health_path = layout_path(l, LAYOUT_HEALTH);
	textfile = path_setting(&v, l, "AGENTD_TEXTFILE_DIR");
	c.textfile_dir = textfile;
	request = join_or_null(l, st.request_file);
	status = join_or_null(l, st.status_file);
	calib = path_setting(&v, l, "ANYSCAN_RATE_CALIBRATION_PATH");
	if (calib == NULL)
		calib = strdup(layout_path(l, LAYOUT_CALIBRATION));
	if (c.bundle_name == NULL || request == NULL || status == NULL || calib == NULL) {
		fprintf(stderr, "agentd: cannot start: out of memory or bad update file paths\n");
		goto out;
	}
	c.status_path = status;
	c.calib_path = calib;
	c.health_interval_s = int_setting(&v, "AGENTD_HEALTH_INTERVAL_SECONDS",
					  RUN_HEALTH_INTERVAL_DEFAULT, 1, 3600);
	if (fsutil_mkdir_p(layout_path(l, LAYOUT_RUN), 0755, &e) != 0) {
		fprintf(stderr, "agentd: cannot create %s: %s\n", layout_path(l, LAYOUT_RUN),
			e.msg);
		goto out;
	}

	events_sink_fd(&sink, 2);
	c.log = &sink;

	/* the channel poller (§15.2) */
	c.channel_on = st.channel_url[0] != '\0' && st.enabled;
	c.poll_seconds =
		int_setting(&v, "AGENTD_CHANNEL_POLL_SECONDS", RUN_POLL_DEFAULT, 60, 86400);
	if (c.channel_on) {
		n = snprintf(ua, sizeof(ua), "agentd/%s (%s)", version_get(), platform);
		if (n < 0 || (size_t)n >= sizeof(ua))
			ua[0] = '\0';
		hc.user_agent = ua;
		ca = path_setting(&v, l, "AGENTD_CA_FILE");
		hc.ca_file = ca;
		s = lookup(&v, "https_proxy");
		if (s == NULL || s[0] == '\0')
			s = lookup(&v, "HTTPS_PROXY");
		hc.https_proxy = s != NULL && s[0] != '\0' ? strdup(s) : NULL;
		s = lookup(&v, "no_proxy");
		if (s == NULL || s[0] == '\0')
			s = lookup(&v, "NO_PROXY");
		hc.no_proxy = s != NULL && s[0] != '\0' ? strdup(s) : NULL;
		if (strncmp(st.channel_url, "https://", 8) == 0) {
			c.channel.http = http_client_new(&hc, &e);
			if (c.channel.http == NULL) {
				fprintf(stderr, "agentd: cannot set up HTTPS for %s: %s\n",
					st.channel_url, e.msg);
				rc = 2;
				goto out;
			}
		}
		rollout_id(&v, l, id, sizeof(id));
		run_channel_worker_id(id, worker);
		c.channel.url = st.channel_url;
		c.channel.platform = platform;
		c.channel.own_fingerprint = fp;
		c.channel.own_version = version_get();
		c.channel.rollout_id = id;
		c.channel.worker_id = worker;
		c.channel.trusted_path = layout_path(l, LAYOUT_TRUSTED);
		c.channel.installed_path = layout_path(l, LAYOUT_INSTALLED_PUB);
		c.channel.request_path = request;
		c.channel.status_path = status;
		c.channel.scan_lock_path = NULL;
		c.channel.budget_ms = 60000;
		c.channel.log = &sink;
	}
	{
		char lock[PATH_MAX];

		n = snprintf(lock, sizeof(lock), "%s/scan.lock", layout_path(l, LAYOUT_RUN));
		if (n < 0 || (size_t)n >= sizeof(lock)) {
			fprintf(stderr, "agentd: cannot start: root path too long\n");
			goto out;
		}
		c.channel.scan_lock_path = strdup(lock);
		if (c.channel.scan_lock_path == NULL)
			goto out;
	}

	/* signals: SIGTERM, SIGINT, SIGHUP through a signalfd; SIGPIPE ignored */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &ss, NULL) != 0 ||
	    (c.sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		fprintf(stderr, "agentd: cannot set up signal handling: %s\n", strerror(errno));
		goto out;
	}
	if (run_loop(&c, &e) != 0) {
		fprintf(stderr, "agentd: run: %s\n", e.msg);
		goto out;
	}
	rc = 0;
out:
	if (c.sigfd >= 0)
		close(c.sigfd);
	http_client_free(c.channel.http);
	free((char *)c.channel.scan_lock_path);
	free((char *)hc.https_proxy);
	free((char *)hc.no_proxy);
	free((char *)c.bundle_name);
	free(textfile);
	free(request);
	free(status);
	free(calib);
	free(ca);
	free(v.file);
	layout_free(l);
	return rc;
}
