#include "service.h"

#include "buf.h"
#include "fsutil.h"
#include "release.h"
#include "runcmd.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERVICE_FILE_MAX (1024 * 1024)
#define SERVICE_TIMEOUT_MS 120000

struct service {
	const struct layout *l;
	struct service_choice c;
	char scan_dir[PATH_MAX]; /* host path, "" = none */
	struct service_runner runner;
	char **envp; /* command=PATH child environment (owned), NULL = caller's */
	struct buf *notes;
};

static const char *const names[] = {"none", "systemd", "runit", "command"};

const char *service_kind_name(enum service_kind k)
{
	return (unsigned)k < 4 ? names[k] : "?";
}

int service_parse(const char *s, bool allow_auto, bool *is_auto, struct service_choice *out,
		  struct errbuf *e)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (is_auto != NULL)
		*is_auto = false;
	if (allow_auto && strcmp(s, "auto") == 0) {
		if (is_auto != NULL)
			*is_auto = true;
		return 0;
	}
	if (strcmp(s, "none") == 0) {
		out->kind = SERVICE_NONE;
		return 0;
	}
	if (strcmp(s, "systemd") == 0) {
		out->kind = SERVICE_SYSTEMD;
		return 0;
	}
	if (strcmp(s, "runit") == 0) {
		out->kind = SERVICE_RUNIT;
		return 0;
	}
	if (strncmp(s, "command=", 8) == 0) {
		const char *p = s + 8;
		if (p[0] != '/') {
			err_set(e, "service command=PATH needs an absolute PATH");
			errno = EINVAL;
			return -1;
		}
		if (strlen(p) >= sizeof(out->command)) {
			err_set(e, "service command path is too long");
			errno = EINVAL;
			return -1;
		}
		for (i = 0; p[i] != '\0'; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
				err_set(e, "service command path contains control characters");
				errno = EINVAL;
				return -1;
			}
		out->kind = SERVICE_COMMAND;
		memcpy(out->command, p, strlen(p) + 1);
		return 0;
	}
	err_set(e, "unknown service '%.64s' (use %ssystemd, runit, none or command=PATH)", s,
		allow_auto ? "auto, " : "");
	errno = EINVAL;
	return -1;
}

int service_format(const struct service_choice *c, char *out, size_t size)
{
	int n;

	if (c->kind == SERVICE_COMMAND)
		n = snprintf(out, size, "command=%s", c->command);
	else
		n = snprintf(out, size, "%s", service_kind_name(c->kind));
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

void service_probe(const struct layout *l, const char *path_env, const char *svdir_env,
		   struct service_host *out)
{
	static const char *const scan_dirs[] = {"/etc/service", "/var/service", "/service"};
	char p[PATH_MAX];
	struct stat st;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->root_is_host = layout_is_host(l);
	out->systemd_running =
		out->root_is_host && stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
	out->have_systemctl = runcmd_which("systemctl", path_env, p, sizeof(p)) == 0;
	out->have_sv = runcmd_which("sv", path_env, p, sizeof(p)) == 0;
	out->have_runsvdir = runcmd_which("runsvdir", path_env, p, sizeof(p)) == 0;
	if (svdir_env != NULL && svdir_env[0] == '/') {
		if (layout_join(l, svdir_env, p, sizeof(p), NULL) == 0 && stat(p, &st) == 0 &&
		    S_ISDIR(st.st_mode) && strlen(svdir_env) < sizeof(out->scan_dir))
			memcpy(out->scan_dir, svdir_env, strlen(svdir_env) + 1);
		return;
	}
	for (i = 0; i < 3; i++)
		if (layout_join(l, scan_dirs[i], p, sizeof(p), NULL) == 0 && stat(p, &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			memcpy(out->scan_dir, scan_dirs[i], strlen(scan_dirs[i]) + 1);
			return;
		}
}

enum service_kind service_auto(const struct service_host *h)
{
	if (!h->root_is_host)
		return SERVICE_NONE;
	if (h->systemd_running && h->have_systemctl)
		return SERVICE_SYSTEMD;
	if (h->have_sv && h->have_runsvdir && h->scan_dir[0] != '\0')
		return SERVICE_RUNIT;
	return SERVICE_NONE;
}

int service_check_explicit(const struct service_choice *c, const struct service_host *h,
			   struct errbuf *e)
{
	if (!h->root_is_host)
		return 0;
	if (c->kind == SERVICE_SYSTEMD && !(h->systemd_running && h->have_systemctl)) {
		err_set(e, "service systemd requested but systemd is not running");
		return -1;
	}
	if (c->kind == SERVICE_RUNIT && !(h->have_sv && h->have_runsvdir && h->scan_dir[0])) {
		err_set(e, "service runit requested but runit (sv, runsvdir and a scan directory) "
			   "is not available");
		return -1;
	}
	return 0;
}

int service_run_real(void *ctx, const char *const argv[], bool *ok, char *out, size_t out_size,
		     struct errbuf *e)
{
	struct runcmd_result r;

	if (runcmd_run(argv, (char *const *)ctx, SERVICE_TIMEOUT_MS, &r, e) != 0)
		return -1;
	*ok = runcmd_ok(&r);
	if (out_size > 0) {
		size_t n = r.out_len < out_size - 1 ? r.out_len : out_size - 1;
		memcpy(out, r.out + (r.out_len - n), n);
		out[n] = '\0';
	}
	if (r.timed_out)
		err_set(e, "%s timed out", argv[0]);
	return 0;
}

extern char **environ;

/* envp plus AGENTD_ROOT=<root> (replacing any). */
static char **env_with_root(char *const envp[], const char *root)
{
	char *const *src = envp != NULL ? envp : environ;
	size_t n = 0, i, o = 0;
	char **out;
	int k;

	while (src[n] != NULL)
		n++;
	out = calloc(n + 2, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(src[i], "AGENTD_ROOT=", 12) != 0)
			out[o++] = src[i];
	{
		size_t len = strlen(root) + 13;
		char *v = malloc(len);
		if (v == NULL) {
			free(out);
			return NULL;
		}
		k = snprintf(v, len, "AGENTD_ROOT=%s", root);
		if (k < 0 || (size_t)k >= len) {
			free(v);
			free(out);
			return NULL;
		}
		out[o++] = v;
	}
	out[o] = NULL;
	return out;
}

struct service *service_new(const struct layout *l, const struct service_choice *c,
			    const char *scan_dir, const struct service_runner *runner,
			    char *const envp[], struct errbuf *e)
{
	struct service *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		err_sys(e, errno, "service");
		return NULL;
	}
	s->l = l;
	s->c = *c;
	if (scan_dir != NULL && strlen(scan_dir) < sizeof(s->scan_dir))
		memcpy(s->scan_dir, scan_dir, strlen(scan_dir) + 1);
	if (runner != NULL) {
		s->runner = *runner;
	} else {
		s->runner.run = service_run_real;
		s->runner.ctx = NULL;
	}
	s->notes = buf_new(16 * 1024);
	if (s->notes == NULL)
		goto fail;
	if (c->kind == SERVICE_COMMAND && !layout_is_host(l)) {
		s->envp = env_with_root(envp, layout_root(l));
		if (s->envp == NULL)
			goto fail;
		if (runner == NULL)
			s->runner.ctx = s->envp;
	} else if (runner == NULL) {
		s->runner.ctx = (void *)envp;
	}
	return s;
fail:
	err_sys(e, ENOMEM, "service");
	service_free(s);
	return NULL;
}

void service_free(struct service *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->envp != NULL) {
		/* only the AGENTD_ROOT entry (the last) is ours */
		for (i = 0; s->envp[i] != NULL; i++)
			if (s->envp[i + 1] == NULL)
				free(s->envp[i]);
		free(s->envp);
	}
	buf_free(s->notes);
	free(s);
}

const char *service_notes(const struct service *s, size_t *len)
{
	if (len != NULL)
		*len = buf_len(s->notes);
	return buf_data(s->notes);
}

static void note(struct service *s, const char *text)
{
	(void)buf_append(s->notes, text, strlen(text) + 1, NULL);
}

/* Run argv; a non-zero exit is an error naming the command and its last
 * output line. */
static int run(struct service *s, const char *const argv[], bool *ok_out, struct errbuf *e)
{
	char out[512];
	bool ok = false;
	size_t n;

	out[0] = '\0';
	if (s->runner.run(s->runner.ctx, argv, &ok, out, sizeof(out), e) != 0)
		return -1;
	if (ok_out != NULL) {
		*ok_out = ok;
		return 0;
	}
	if (ok)
		return 0;
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	{
		char *last = strrchr(out, '\n');
		err_set(e, "%s %s %s failed%s%s", argv[0], argv[1] ? argv[1] : "",
			argv[1] && argv[2] ? argv[2] : "", n ? ": " : "", last ? last + 1 : out);
	}
	return -1;
}

static int write_if_different(const char *dst, const char *text, bool *changed, struct errbuf *e)
{
	/* hidden temp: the only kind the unit-directory sweep removes (recover.c) */
	struct fsutil_write_opts wo = {
		.mode = 0644, .flags = FSUTIL_W_HIDDEN_TEMP, .uid = (uid_t)-1, .gid = (gid_t)-1};
	char *b = NULL;
	size_t blen = 0;
	struct stat st;
	int rc;

	if (lstat(dst, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644 &&
	    fsutil_read_file(dst, SERVICE_FILE_MAX, FSUTIL_R_NOFOLLOW, &b, &blen, NULL) == 0 &&
	    blen == strlen(text) && memcmp(b, text, blen) == 0) {
		free(b);
		return 0;
	}
	free(b);
	rc = fsutil_write_file(dst, text, strlen(text), &wo, e);
	if (rc == 0)
		*changed = true;
	return rc;
}

static int remove_file(const char *p, bool *changed, struct errbuf *e)
{
	if (unlink(p) == 0) {
		if (changed != NULL)
			*changed = true;
		(void)fsutil_fsync_parent(p, NULL); /* best effort: the file is gone */
		return 0;
	}
	if (errno == ENOENT)
		return 0;
	err_sys(e, errno, "remove %s", p);
	return -1;
}

static int join_rel(char *out, size_t size, const char *dir, const char *rel, struct errbuf *e)
{
	int n = snprintf(out, size, "%s/%s", dir, rel);
	if (n < 0 || (size_t)n >= size) {
		err_set(e, "path %s/%s is too long", dir, rel);
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int daemon_reload(struct service *s, struct errbuf *e)
{
	static const char *const argv[] = {"systemctl", "daemon-reload", NULL};
	if (!layout_is_host(s->l))
		return 0;
	return run(s, argv, NULL, e);
}

int service_install_files(struct service *s, const char *rel_dir, const char *textfile_dir,
			  bool *changed, struct errbuf *e)
{
	static const struct {
		const char *src;
		enum layout_id dst;
	} units[] = {
		{"systemd/agentd.service", LAYOUT_UNIT_AGENTD},
		{"systemd/agentd-remote-update.service", LAYOUT_UNIT_UPDATE_SVC},
		{"systemd/agentd-remote-update.path", LAYOUT_UNIT_UPDATE_PATH},
	};
	char src[PATH_MAX], dst[PATH_MAX];
	bool any = false;
	size_t i;

	*changed = false;
	if (s->c.kind == SERVICE_SYSTEMD) {
		if (fsutil_mkdir_p(layout_path(s->l, LAYOUT_SYSTEMD_DIR), 0755, e) != 0)
			return -1;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (join_rel(src, sizeof(src), rel_dir, units[i].src, e) != 0 ||
			    release_copy_if_different(src, layout_path(s->l, units[i].dst), 0644,
						      &any, e) != 0)
				return -1;
		}
		if (textfile_dir != NULL && textfile_dir[0] != '\0') {
			char text[PATH_MAX + 64];
			int n = snprintf(text, sizeof(text), "[Service]\nReadWritePaths=-%s\n",
					 textfile_dir);
			if (n < 0 || (size_t)n >= sizeof(text)) {
				err_set(e, "AGENTD_TEXTFILE_DIR is too long");
				return -1;
			}
			if (fsutil_mkdir_p(layout_path(s->l, LAYOUT_DROPIN_DIR), 0755, e) != 0 ||
			    write_if_different(layout_path(s->l, LAYOUT_DROPIN), text, &any, e) !=
				    0)
				return -1;
		} else if (remove_file(layout_path(s->l, LAYOUT_DROPIN), &any, e) != 0) {
			return -1;
		}
		*changed = any;
		if (any)
			return daemon_reload(s, e);
		return 0;
	}
	if (s->c.kind == SERVICE_RUNIT) {
		static const struct {
			const char *src;
			enum layout_id dir;
		} runs[] = {
			{"runit/agentd/run", LAYOUT_SV_AGENTD},
			{"runit/agentd-remote-update/run", LAYOUT_SV_UPDATE},
		};
		for (i = 0; i < 2; i++) {
			if (fsutil_mkdir_p(layout_path(s->l, runs[i].dir), 0755, e) != 0 ||
			    join_rel(src, sizeof(src), rel_dir, runs[i].src, e) != 0 ||
			    join_rel(dst, sizeof(dst), layout_path(s->l, runs[i].dir), "run", e) !=
				    0 ||
			    release_copy_if_different(src, dst, 0755, &any, e) != 0)
				return -1;
		}
		*changed = any;
	}
	return 0;
}

static const char *const runit_services[] = {"agentd", "agentd-remote-update"};

/* The link <scan>/<svc> (on disk) and its relative target. */
static int runit_link_paths(struct service *s, const char *svc, char *link, size_t link_size,
			    char *target, size_t target_size, struct errbuf *e)
{
	char host_link[PATH_MAX], host_target[PATH_MAX];

	if (s->scan_dir[0] == '\0') {
		err_set(e,
			"no runit scan directory ($SVDIR, /etc/service, /var/service, /service)");
		errno = ENOENT;
		return -1;
	}
	if (join_rel(host_link, sizeof(host_link), s->scan_dir, svc, e) != 0 ||
	    join_rel(host_target, sizeof(host_target), "/etc/sv", svc, e) != 0)
		return -1;
	if (layout_join(s->l, host_link, link, link_size, e) != 0)
		return -1;
	return layout_relative_link(host_link, host_target, target, target_size, e);
}

/* Remove "<dir>/.<svc>.tmp.<digits>" entries, dir being link's directory. */
static void remove_stray_link_temps(const char *link, const char *svc)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(link, '/');
	struct dirent *de;
	DIR *d;

	if (slash == NULL || (size_t)(slash - link) >= sizeof(dir))
		return;
	memcpy(dir, link, (size_t)(slash - link));
	dir[slash - link] = '\0';
	d = opendir(dir[0] != '\0' ? dir : "/");
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (fsutil_is_temp_name(de->d_name, svc, true))
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static int runit_link(struct service *s, struct errbuf *e)
{
	char link[PATH_MAX], target[PATH_MAX], have[PATH_MAX];
	size_t i;

	for (i = 0; i < 2; i++) {
		ssize_t n;
		if (runit_link_paths(s, runit_services[i], link, sizeof(link), target,
				     sizeof(target), e) != 0)
			return -1;
		n = readlink(link, have, sizeof(have) - 1);
		if (n >= 0) {
			have[n] = '\0';
			if (strcmp(have, target) == 0)
				continue;
		}
		/* fsutil's temp link is hidden (.<svc>.tmp.<pid>): runsvdir
		 * skips dot entries, so one left by a kill is never started as
		 * a service; earlier ones are removed here (only agent-install
		 * writes them, under its lock) */
		remove_stray_link_temps(link, runit_services[i]);
		if (fsutil_symlink_replace(target, link, e) != 0)
			return -1;
	}
	return 0;
}

static int runit_unlink(struct service *s, struct errbuf *e)
{
	char link[PATH_MAX], target[PATH_MAX];
	size_t i;
	int rc = 0;

	if (s->scan_dir[0] == '\0')
		return 0;
	for (i = 0; i < 2; i++) {
		struct stat st;
		if (runit_link_paths(s, runit_services[i], link, sizeof(link), target,
				     sizeof(target), e) != 0)
			return -1;
		if (lstat(link, &st) == 0 && S_ISLNK(st.st_mode) && remove_file(link, NULL, e) != 0)
			rc = -1;
	}
	return rc;
}

int service_enable(struct service *s, bool start, struct errbuf *e)
{
	switch (s->c.kind) {
	case SERVICE_SYSTEMD: {
		const char *const now[] = {"systemctl",
					   "enable",
					   "--now",
					   "agentd.service",
					   "agentd-remote-update.path",
					   NULL};
		const char *const later[] = {"systemctl", "enable", "agentd.service",
					     "agentd-remote-update.path", NULL};
		if (!layout_is_host(s->l)) {
			note(s, "systemctl enable not run (root is not /)");
			return 0;
		}
		return run(s, start ? now : later, NULL, e);
	}
	case SERVICE_RUNIT:
		if (start)
			return runit_link(s, e);
		{
			char link[PATH_MAX], target[PATH_MAX], line[2 * PATH_MAX + 16];
			size_t i;
			for (i = 0; i < 2; i++) {
				int n;
				if (runit_link_paths(s, runit_services[i], link, sizeof(link),
						     target, sizeof(target), e) != 0)
					return -1;
				n = snprintf(line, sizeof(line), "ln -s %s %s", target, link);
				if (n > 0 && (size_t)n < sizeof(line))
					note(s, line);
			}
		}
		return 0;
	case SERVICE_COMMAND:
	case SERVICE_NONE:
		return 0;
	}
	return 0;
}

bool service_manages(const struct service *s)
{
	switch (s->c.kind) {
	case SERVICE_COMMAND:
		return true;
	case SERVICE_SYSTEMD:
	case SERVICE_RUNIT:
		return layout_is_host(s->l);
	case SERVICE_NONE:
		return false;
	}
	return false;
}

const struct service_choice *service_choice_of(const struct service *s)
{
	return &s->c;
}

int service_start(struct service *s, bool restart, struct errbuf *e)
{
	switch (s->c.kind) {
	case SERVICE_SYSTEMD: {
		const char *const path_unit[] = {"systemctl", "start", "agentd-remote-update.path",
						 NULL};
		const char *const svc[] = {"systemctl", restart ? "restart" : "start",
					   "agentd.service", NULL};
		if (!layout_is_host(s->l)) {
			note(s, "systemctl start not run (root is not /)");
			return 0;
		}
		if (run(s, path_unit, NULL, e) != 0)
			return -1;
		return run(s, svc, NULL, e);
	}
	case SERVICE_RUNIT: {
		const char *const argv[] = {"sv", "-w", "30", "restart", "agentd", NULL};
		if (runit_link(s, e) != 0)
			return -1;
		if (!restart)
			return 0; /* runsvdir starts a newly linked service by itself */
		if (!layout_is_host(s->l)) {
			note(s, "sv restart not run (root is not /)");
			return 0;
		}
		return run(s, argv, NULL, e);
	}
	case SERVICE_COMMAND: {
		const char *const argv[] = {s->c.command, restart ? "restart" : "start", "agentd",
					    NULL};
		return run(s, argv, NULL, e);
	}
	case SERVICE_NONE:
		return 0;
	}
	return 0;
}

int service_state(struct service *s, enum service_state *st, struct errbuf *e)
{
	bool ok = false;

	*st = SERVICE_UNKNOWN;
	switch (s->c.kind) {
	case SERVICE_SYSTEMD: {
		const char *const argv[] = {"systemctl", "is-active", "--quiet", "agentd.service",
					    NULL};
		if (!layout_is_host(s->l))
			return 0;
		if (run(s, argv, &ok, e) != 0)
			return -1;
		*st = ok ? SERVICE_ACTIVE : SERVICE_INACTIVE;
		return 0;
	}
	case SERVICE_RUNIT: {
		const char *const argv[] = {"sv", "status", "agentd", NULL};
		char out[512];
		if (!layout_is_host(s->l))
			return 0;
		out[0] = '\0';
		if (s->runner.run(s->runner.ctx, argv, &ok, out, sizeof(out), e) != 0)
			return -1;
		*st = strncmp(out, "run:", 4) == 0 ? SERVICE_ACTIVE : SERVICE_INACTIVE;
		return 0;
	}
	case SERVICE_COMMAND: {
		const char *const argv[] = {s->c.command, "is-active", "agentd", NULL};
		if (run(s, argv, &ok, e) != 0)
			return -1;
		*st = ok ? SERVICE_ACTIVE : SERVICE_INACTIVE;
		return 0;
	}
	case SERVICE_NONE:
		return 0;
	}
	return 0;
}

int service_stop_disable(struct service *s, struct errbuf *e)
{
	switch (s->c.kind) {
	case SERVICE_SYSTEMD: {
		const char *const dis[] = {"systemctl",
					   "disable",
					   "--now",
					   "agentd.service",
					   "agentd-remote-update.path",
					   NULL};
		const char *const stop[] = {"systemctl", "stop", "agentd-remote-update.service",
					    NULL};
		if (!layout_is_host(s->l))
			return 0;
		if (run(s, dis, NULL, e) != 0)
			return -1;
		return run(s, stop, NULL, e);
	}
	case SERVICE_RUNIT: {
		const char *const argv[] = {
			"sv", "-w", "30", "down", "agentd", "agentd-remote-update", NULL};
		if (layout_is_host(s->l) && run(s, argv, NULL, e) != 0)
			return -1;
		return runit_unlink(s, e);
	}
	case SERVICE_COMMAND: {
		const char *const argv[] = {s->c.command, "stop", "agentd", NULL};
		return run(s, argv, NULL, e);
	}
	case SERVICE_NONE:
		return 0;
	}
	return 0;
}

int service_remove_files(struct service *s, struct errbuf *e)
{
	static const enum layout_id files[] = {LAYOUT_UNIT_AGENTD, LAYOUT_UNIT_UPDATE_SVC,
					       LAYOUT_UNIT_UPDATE_PATH, LAYOUT_DROPIN};
	bool changed = false;
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (remove_file(layout_path(s->l, files[i]), &changed, e) != 0)
			rc = -1;
	/* the drop-in directory only if nothing else (the operator's) is in it */
	if (rmdir(layout_path(s->l, LAYOUT_DROPIN_DIR)) != 0 && errno != ENOENT &&
	    errno != ENOTEMPTY && errno != EEXIST) {
		err_sys(e, errno, "remove %s", layout_path(s->l, LAYOUT_DROPIN_DIR));
		rc = -1;
	}
	if (runit_unlink(s, e) != 0)
		rc = -1;
	if (release_rmtree(layout_path(s->l, LAYOUT_SV_AGENTD), e) != 0 ||
	    release_rmtree(layout_path(s->l, LAYOUT_SV_UPDATE), e) != 0)
		rc = -1;
	if (changed && s->c.kind == SERVICE_SYSTEMD && daemon_reload(s, e) != 0)
		rc = -1;
	return rc;
}
