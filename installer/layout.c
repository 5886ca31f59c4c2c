#include "layout.h"

#include "fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* §7.1, in enum order (checked by the unit test). */
static const struct layout_entry table[LAYOUT__COUNT] = {
	{LAYOUT_OPT, "/opt/agentd", LAYOUT_K_DIR, "root", "root", 0755},
	{LAYOUT_RELEASES, "/opt/agentd/releases", LAYOUT_K_DIR, "root", "root", 0755},
	{LAYOUT_INCOMING, "/opt/agentd/releases/.incoming", LAYOUT_K_DIR, "root", "root", 0700},
	{LAYOUT_CURRENT, "/opt/agentd/current", LAYOUT_K_SYMLINK, "root", "root", 0},
	{LAYOUT_BIN, "/opt/agentd/bin", LAYOUT_K_DIR, "root", "root", 0755},
	{LAYOUT_LOCK, "/opt/agentd/.agent-install.lock", LAYOUT_K_FILE, "root", "root", 0600},
	{LAYOUT_JOURNAL, "/opt/agentd/.transaction.json", LAYOUT_K_FILE, "root", "root", 0600},
	{LAYOUT_ATTEMPTS, "/opt/agentd/.request-attempts", LAYOUT_K_FILE, "root", "root", 0600},
	{LAYOUT_INSTALLED, "/opt/agentd/installed.json", LAYOUT_K_FILE, "root", "root", 0644},
	{LAYOUT_ETC, "/etc/agentd", LAYOUT_K_DIR, "root", "agentd", 0750},
	{LAYOUT_RUNTIME_ENV, "/etc/agentd/runtime.env", LAYOUT_K_FILE, "root", "agentd", 0640},
	{LAYOUT_RUNTIME_ENV_LOCK, "/etc/agentd/runtime.env.lock", LAYOUT_K_FILE, "root", "root",
	 0600},
	{LAYOUT_TEMPLATE, "/etc/agentd/runtime.env.template", LAYOUT_K_FILE, "root", "agentd",
	 0640},
	{LAYOUT_ENV_BUNDLE, "/etc/agentd/runtime.env.bundle", LAYOUT_K_FILE, "root", "agentd",
	 0640},
	{LAYOUT_TRUSTED, "/etc/agentd/trusted.pem", LAYOUT_K_FILE, "root", "root", 0644},
	{LAYOUT_VARLIB, "/var/lib/agentd", LAYOUT_K_DIR, "agentd", "agentd", 0750},
	{LAYOUT_INSTALLED_PUB, "/var/lib/agentd/installed.json", LAYOUT_K_FILE, "root", "root",
	 0644},
	{LAYOUT_REQUEST, "/var/lib/agentd/remote-update.request", LAYOUT_K_FILE, NULL, NULL, 0644},
	{LAYOUT_STATUS, "/var/lib/agentd/remote-update.status", LAYOUT_K_FILE, NULL, NULL, 0644},
	{LAYOUT_CALIBRATION, "/var/lib/agentd/rate-calibration.json", LAYOUT_K_FILE, "agentd",
	 "agentd", 0644},
	{LAYOUT_HOST_TUNING, "/var/lib/agentd-host-tuning", LAYOUT_K_DIR, "root", "root", 0755},
	{LAYOUT_RUN, "/run/agentd", LAYOUT_K_DIR, "agentd", "agentd", 0755},
	{LAYOUT_HEALTH, "/run/agentd/health.json", LAYOUT_K_FILE, "agentd", "agentd", 0644},
	{LAYOUT_SYSTEMD_DIR, "/etc/systemd/system", LAYOUT_K_DIR, "root", "root", 0755},
	{LAYOUT_UNIT_AGENTD, "/etc/systemd/system/agentd.service", LAYOUT_K_FILE, "root", "root",
	 0644},
	{LAYOUT_UNIT_UPDATE_SVC, "/etc/systemd/system/agentd-remote-update.service", LAYOUT_K_FILE,
	 "root", "root", 0644},
	{LAYOUT_UNIT_UPDATE_PATH, "/etc/systemd/system/agentd-remote-update.path", LAYOUT_K_FILE,
	 "root", "root", 0644},
	{LAYOUT_DROPIN_DIR, "/etc/systemd/system/agentd.service.d", LAYOUT_K_DIR, "root", "root",
	 0755},
	{LAYOUT_DROPIN, "/etc/systemd/system/agentd.service.d/50-agent-install.conf", LAYOUT_K_FILE,
	 "root", "root", 0644},
	{LAYOUT_SV_DIR, "/etc/sv", LAYOUT_K_DIR, "root", "root", 0755},
	{LAYOUT_SV_AGENTD, "/etc/sv/agentd", LAYOUT_K_DIR, "root", "root", 0755},
	{LAYOUT_SV_UPDATE, "/etc/sv/agentd-remote-update", LAYOUT_K_DIR, "root", "root", 0755},
	{LAYOUT_SYSCTL_DROPIN, "/etc/sysctl.d/99-anyscan-scanner.conf", LAYOUT_K_FILE, "root",
	 "root", 0644},
};

struct layout {
	char root[LAYOUT_ROOT_MAX + 1];
	bool host;
	char *paths[LAYOUT__COUNT];
};

const struct layout_entry *layout_entry(enum layout_id id)
{
	if ((unsigned)id >= LAYOUT__COUNT)
		return NULL;
	return &table[id];
}

/* Copy root into out without trailing slashes ("/" stays "/"). */
static int normalise_root(const char *root, char *out, size_t out_size, struct errbuf *e)
{
	size_t n = strlen(root);

	if (n == 0) {
		err_set(e, "root directory is empty");
		errno = EINVAL;
		return -1;
	}
	if (root[0] != '/') {
		err_set(e, "root directory %s is not absolute", root);
		errno = EINVAL;
		return -1;
	}
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n > LAYOUT_ROOT_MAX || n + 1 > out_size) {
		err_set(e, "root directory is longer than %d bytes", LAYOUT_ROOT_MAX);
		errno = ENAMETOOLONG;
		return -1;
	}
	if (n == 1) {
		out[0] = '/';
		out[1] = '\0';
		return 0;
	}
	memcpy(out, root, n);
	out[n] = '\0';
	return 0;
}

int layout_root_resolve(const char *opt, const char *env, char *out, size_t out_size,
			struct errbuf *e)
{
	const char *root = "/";
	struct stat st;

	if (opt != NULL)
		root = opt;
	else if (env != NULL && env[0] != '\0')
		root = env;
	if (normalise_root(root, out, out_size, e) != 0)
		return -1;
	if (stat(out, &st) != 0) {
		int saved = errno;
		err_sys(e, saved, "root directory %s", out);
		errno = saved;
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		err_set(e, "root directory %s is not a directory", out);
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static int join(const char *root, bool host, const char *p, char *out, size_t out_size,
		struct errbuf *e)
{
	int n;

	if (p[0] != '/') {
		err_set(e, "host path %s is not absolute", p);
		errno = EINVAL;
		return -1;
	}
	n = snprintf(out, out_size, "%s%s", host ? "" : root, p);
	if (n < 0 || (size_t)n >= out_size) {
		err_set(e, "path %s%s is too long", host ? "" : root, p);
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

struct layout *layout_new(const char *root, struct errbuf *e)
{
	struct layout *l;
	size_t i;

	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		err_sys(e, errno, "layout");
		return NULL;
	}
	if (normalise_root(root, l->root, sizeof(l->root), e) != 0)
		goto fail;
	l->host = strcmp(l->root, "/") == 0;
	for (i = 0; i < LAYOUT__COUNT; i++) {
		size_t need = strlen(l->root) + strlen(table[i].host) + 1;
		l->paths[i] = malloc(need);
		if (l->paths[i] == NULL) {
			err_sys(e, errno, "layout");
			goto fail;
		}
		if (join(l->root, l->host, table[i].host, l->paths[i], need, e) != 0)
			goto fail;
	}
	return l;
fail:
	layout_free(l);
	return NULL;
}

void layout_free(struct layout *l)
{
	size_t i;
	int saved = errno;

	if (l == NULL)
		return;
	for (i = 0; i < LAYOUT__COUNT; i++)
		free(l->paths[i]);
	free(l);
	errno = saved;
}

const char *layout_root(const struct layout *l)
{
	return l->root;
}

bool layout_is_host(const struct layout *l)
{
	return l->host;
}

const char *layout_path(const struct layout *l, enum layout_id id)
{
	if ((unsigned)id >= LAYOUT__COUNT)
		return NULL;
	return l->paths[id];
}

int layout_join(const struct layout *l, const char *host, char *out, size_t out_size,
		struct errbuf *e)
{
	return join(l->root, l->host, host, out, out_size, e);
}

int layout_release_path(const struct layout *l, const char *name, char *out, size_t out_size,
			struct errbuf *e)
{
	int n;

	if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		err_set(e, "invalid release name '%s'", name);
		errno = EINVAL;
		return -1;
	}
	n = snprintf(out, out_size, "%s/%s", l->paths[LAYOUT_RELEASES], name);
	if (n < 0 || (size_t)n >= out_size) {
		err_set(e, "release path for %s is too long", name);
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Length of the next component at p (p past any '/'). */
static size_t comp_len(const char *p)
{
	size_t n = 0;

	while (p[n] != '\0' && p[n] != '/')
		n++;
	return n;
}

int layout_relative_link(const char *link, const char *target, char *out, size_t out_size,
			 struct errbuf *e)
{
	const char *a = link, *b = target, *dir_end, *p;
	size_t o = 0;

	if (link[0] != '/' || target[0] != '/') {
		err_set(e, "relative link: %s and %s must be absolute", link, target);
		errno = EINVAL;
		return -1;
	}
	/* the link lives in the directory part of link */
	dir_end = strrchr(link, '/');
	/* walk common leading components of dir(link) and target */
	for (;;) {
		size_t la, lb;
		while (*a == '/')
			a++;
		while (*b == '/')
			b++;
		if (a >= dir_end)
			break;
		la = comp_len(a);
		lb = comp_len(b);
		if (la != lb || la == 0 || memcmp(a, b, la) != 0 || b[lb] != '/')
			break;
		a += la;
		b += lb;
	}
	/* one ".." per remaining component of dir(link) */
	for (p = a; p < dir_end;) {
		size_t l;
		while (*p == '/' && p < dir_end)
			p++;
		if (p >= dir_end)
			break;
		l = comp_len(p);
		if (o + 3 >= out_size)
			goto too_long;
		memcpy(out + o, "../", 3);
		o += 3;
		p += l;
	}
	while (*b == '/')
		b++;
	if (o + strlen(b) + 1 > out_size)
		goto too_long;
	memcpy(out + o, b, strlen(b) + 1);
	o += strlen(b);
	if (o == 0) {
		err_set(e, "relative link: %s points at its own directory", link);
		errno = EINVAL;
		return -1;
	}
	/* strip a trailing "/" left by "../" with an empty rest */
	if (out[o - 1] == '/' && o > 1)
		out[o - 1] = '\0';
	return 0;
too_long:
	err_set(e, "relative link from %s to %s is too long", link, target);
	errno = ENAMETOOLONG;
	return -1;
}

int layout_mkdir(const struct layout *l, enum layout_id id, struct errbuf *e)
{
	char parent[PATH_MAX];
	const char *p = layout_path(l, id);
	const char *slash;
	size_t n;

	if (p == NULL || table[id].kind != LAYOUT_K_DIR) {
		err_set(e, "layout: not a directory row");
		errno = EINVAL;
		return -1;
	}
	slash = strrchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : 0;
	if (n > 0 && n < sizeof(parent)) {
		memcpy(parent, p, n);
		parent[n] = '\0';
		if (fsutil_mkdir_p(parent, 0755, e) != 0)
			return -1;
	}
	return fsutil_mkdir_p(p, table[id].mode, e);
}
