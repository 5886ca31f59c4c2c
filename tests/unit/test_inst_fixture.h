/* Fixtures for the installer unit tests (included, not linked): fake
 * releases made of real files with a real MANIFEST under a test root. */
#ifndef TEST_INST_FIXTURE_H
#define TEST_INST_FIXTURE_H

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "layout.h"
#include "manifest.h"
#include "sha256.h"

struct fx_file {
	const char *path;
	unsigned mode;
	const char *content;
};

/* The files of a minimal release (the required paths of §2.1). */
static const struct fx_file fx_default_files[] = {
	{"bin/agent-install", 0755, "#!/bin/sh\necho agent-install\n"},
	{"bin/agentd", 0755, "#!/bin/sh\necho agentd\n"},
	{"bin/reserve-control-bandwidth.sh", 0755, "#!/bin/sh\nexit 0\n"},
	{"bin/tune-scanner-host.sh", 0755, "#!/bin/sh\nexit 0\n"},
	{"env/runtime.env.template", 0644, "# template\n"},
	{"install.sh", 0755, "#!/bin/sh\n"},
	{"runit/agentd-remote-update/run", 0755, "#!/bin/sh\nexec true\n"},
	{"runit/agentd/run", 0755, "#!/bin/sh\nexec true\n"},
	{"systemd/agentd-remote-update.path", 0644, "[Path]\n"},
	{"systemd/agentd-remote-update.service", 0644, "[Service]\n"},
	{"systemd/agentd.service", 0644, "[Service]\nExecStart=/opt/agentd/bin/agentd run\n"},
	{NULL, 0, NULL},
};

/* A layout rooted at the test's cwd (a fresh temp dir per test binary run;
 * sub names keep tests apart). */
static inline struct layout *fx_layout(const char *sub)
{
	char cwd[PATH_MAX], root[PATH_MAX + 64];
	struct errbuf e = {{0}};
	struct layout *l;
	int n;

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	n = snprintf(root, sizeof(root), "%s/%s", cwd, sub);
	if (n < 0 || (size_t)n >= sizeof(root))
		return NULL;
	if (fsutil_mkdir_p(root, 0755, &e) != 0)
		return NULL;
	l = layout_new(root, &e);
	if (l == NULL)
		return NULL;
	if (fsutil_mkdir_p(layout_path(l, LAYOUT_RELEASES), 0755, &e) != 0) {
		layout_free(l);
		return NULL;
	}
	return l;
}

static inline int fx_write(const char *path, const char *content, unsigned mode)
{
	struct fsutil_write_opts wo = {
		.mode = mode, .flags = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	struct errbuf e = {{0}};
	char dir[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return -1;
	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (fsutil_mkdir_p(dir, 0755, &e) != 0)
			return -1;
	}
	return fsutil_write_file(path, content, strlen(content), &wo, &e);
}

/* Make releases/<fp12> for version from files (NULL: the defaults) plus
 * `extra` (a content variation so versions differ).  fp12 gets the name,
 * fp (may be NULL) the fingerprint.  0 or -1. */
static inline int fx_release(const struct layout *l, const char *version,
			     const struct fx_file *files, char fp12[13], char fp[65])
{
	struct errbuf e = {{0}};
	struct manifest *m;
	struct buf *b = buf_new(1 << 20);
	uint8_t digest[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1], dir[PATH_MAX], path[PATH_MAX + 256];
	size_t i;
	int n;

	if (files == NULL)
		files = fx_default_files;
	m = manifest_new(version, "linux-x86_64", 1772366400, &e);
	if (m == NULL || b == NULL)
		return -1;
	for (i = 0; files[i].path != NULL; i++) {
		struct manifest_entry ent;
		char content[512];
		/* the version goes into every file so releases differ */
		n = snprintf(content, sizeof(content), "%s# %s\n", files[i].content, version);
		if (n < 0 || (size_t)n >= sizeof(content))
			return -1;
		memset(&ent, 0, sizeof(ent));
		sha256_buf(content, (size_t)n, ent.sha256);
		ent.mode = files[i].mode;
		ent.size = (uint64_t)n;
		memcpy(ent.path, files[i].path, strlen(files[i].path) + 1);
		if (manifest_add(m, &ent, &e) != 0)
			return -1;
	}
	if (manifest_format(m, b, &e) != 0)
		return -1;
	sha256_buf(buf_data(b), buf_len(b), digest);
	sha256_to_hex(digest, hex);
	memcpy(fp12, hex, 12);
	fp12[12] = '\0';
	if (fp != NULL)
		memcpy(fp, hex, 65);
	if (layout_release_path(l, fp12, dir, sizeof(dir), &e) != 0)
		return -1;
	if (fsutil_mkdir_p(dir, 0755, &e) != 0)
		return -1;
	n = snprintf(path, sizeof(path), "%s/MANIFEST", dir);
	if (n < 0 || (size_t)n >= sizeof(path) || fx_write(path, buf_data(b), 0644) != 0)
		return -1;
	for (i = 0; files[i].path != NULL; i++) {
		char content[512];
		n = snprintf(content, sizeof(content), "%s# %s\n", files[i].content, version);
		if (n < 0 || (size_t)n >= sizeof(content))
			return -1;
		n = snprintf(path, sizeof(path), "%s/%s", dir, files[i].path);
		if (n < 0 || (size_t)n >= sizeof(path) ||
		    fx_write(path, content, files[i].mode) != 0)
			return -1;
	}
	manifest_free(m);
	buf_free(b);
	return 0;
}

#endif
