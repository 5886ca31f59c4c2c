#include "unpack.h"

#include "crashpt.h"
#include "fsutil.h"
#include "release.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNPACK_DIRS_MAX 256

struct sink {
	char base[PATH_MAX]; /* the .partial directory */
	int fd;              /* current file, -1 none */
	char path[PATH_MAX];
	char *dirs[UNPACK_DIRS_MAX]; /* relative directories created */
	size_t ndirs;
};

static int join(char *out, size_t size, const char *a, const char *b, struct errbuf *e)
{
	int n = snprintf(out, size, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= size) {
		err_set(e, "path %s/%s is too long", a, b);
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int remember_dir(struct sink *s, const char *rel, struct errbuf *e)
{
	size_t i;

	for (i = 0; i < s->ndirs; i++)
		if (strcmp(s->dirs[i], rel) == 0)
			return 0;
	if (s->ndirs >= UNPACK_DIRS_MAX) {
		err_set(e, "more than %d directories", UNPACK_DIRS_MAX);
		return -1;
	}
	s->dirs[s->ndirs] = strdup(rel);
	if (s->dirs[s->ndirs] == NULL) {
		err_sys(e, errno, "unpack");
		return -1;
	}
	s->ndirs++;
	return 0;
}

/* Create rel (and its parents) inside the partial directory. */
static int make_dirs(struct sink *s, const char *rel, struct errbuf *e)
{
	char part[PATH_MAX], full[PATH_MAX];
	size_t i, n = strlen(rel);

	if (n >= sizeof(part)) {
		err_set(e, "path %s is too long", rel);
		return -1;
	}
	for (i = 0; i <= n; i++) {
		if (i != n && rel[i] != '/')
			continue;
		memcpy(part, rel, i);
		part[i] = '\0';
		if (join(full, sizeof(full), s->base, part, e) != 0)
			return -1;
		if (mkdir(full, 0700) != 0 && errno != EEXIST) {
			err_sys(e, errno, "create directory %s", full);
			return -1;
		}
		if (remember_dir(s, part, e) != 0)
			return -1;
	}
	return 0;
}

static int on_dir(void *ctx, const char *rel, struct errbuf *e)
{
	return make_dirs(ctx, rel, e);
}

static int on_begin(void *ctx, const struct manifest_entry *ent, struct errbuf *e)
{
	struct sink *s = ctx;
	const char *slash = strrchr(ent->path, '/');

	if (slash != NULL) {
		char parent[PATH_MAX];
		size_t n = (size_t)(slash - ent->path);
		memcpy(parent, ent->path, n);
		parent[n] = '\0';
		if (make_dirs(s, parent, e) != 0)
			return -1;
	}
	if (join(s->path, sizeof(s->path), s->base, ent->path, e) != 0)
		return -1;
	s->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		err_sys(e, errno, "create %s", s->path);
		return -1;
	}
	return 0;
}

static int on_data(void *ctx, const void *data, size_t len, struct errbuf *e)
{
	struct sink *s = ctx;

	if (fsutil_write_all(s->fd, data, len) != 0) {
		err_sys(e, errno, "write %s", s->path);
		return -1;
	}
	return 0;
}

static int on_end(void *ctx, const struct manifest_entry *ent, struct errbuf *e)
{
	struct sink *s = ctx;
	int fd = s->fd;

	s->fd = -1;
	if (fchmod(fd, (mode_t)ent->mode) != 0 || fsync(fd) != 0) {
		err_sys(e, errno, "finish %s", s->path);
		close(fd);
		return -1;
	}
	if (close(fd) != 0) {
		err_sys(e, errno, "close %s", s->path);
		return -1;
	}
	crashpt_hit("mid-unpack");
	return 0;
}

/* chmod 0755 and fsync every directory, deepest first, then the top. */
static int seal_dirs(struct sink *s, struct errbuf *e)
{
	char full[PATH_MAX];
	size_t i;

	for (i = s->ndirs; i-- > 0;) {
		if (join(full, sizeof(full), s->base, s->dirs[i], e) != 0)
			return -1;
		if (chmod(full, 0755) != 0) {
			err_sys(e, errno, "chmod %s", full);
			return -1;
		}
		if (fsutil_fsync_dir(full, e) != 0)
			return -1;
	}
	if (chmod(s->base, 0755) != 0) {
		err_sys(e, errno, "chmod %s", s->base);
		return -1;
	}
	return fsutil_fsync_dir(s->base, e);
}

int unpack_release(const struct layout *l, const struct verify_opts *o, const char *fp12,
		   int64_t now, bool *reused, struct verify_result *r, struct errbuf *e)
{
	struct verify_hooks hooks;
	struct verify_opts o2 = *o;
	struct sink *s;
	char final[PATH_MAX], partial_name[64];
	struct stat st;
	int fd = -1, rc = -1, n;
	size_t i;

	*reused = false;
	memset(r, 0, sizeof(*r));
	if (!release_name_valid(fp12)) {
		err_set(e, "invalid release name '%s'", fp12);
		return -1;
	}
	if (layout_release_path(l, fp12, final, sizeof(final), e) != 0)
		return -1;
	if (lstat(final, &st) == 0) {
		struct errbuf re;
		char bad[PATH_MAX];
		if (release_recheck(l, fp12, NULL, NULL, &re) == 0) {
			*reused = true;
			return 0;
		}
		n = snprintf(bad, sizeof(bad), "%s.bad.%lld", final, (long long)now);
		if (n < 0 || (size_t)n >= sizeof(bad) || rename(final, bad) != 0) {
			err_sys(e, errno, "move aside %s (%s)", final, re.msg);
			return -1;
		}
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		err_sys(e, errno, "unpack");
		return -1;
	}
	s->fd = -1;
	n = snprintf(partial_name, sizeof(partial_name), "%s.partial", fp12);
	if (n < 0 || (size_t)n >= sizeof(partial_name) ||
	    layout_release_path(l, partial_name, s->base, sizeof(s->base), e) != 0)
		goto out;
	if (release_rmtree(s->base, e) != 0)
		goto out;
	if (mkdir(s->base, 0700) != 0) {
		err_sys(e, errno, "create directory %s", s->base);
		goto out;
	}
	hooks.ctx = s;
	hooks.dir = on_dir;
	hooks.file_begin = on_begin;
	hooks.file_data = on_data;
	hooks.file_end = on_end;
	o2.hooks = &hooks;
	o2.structure_only = true;
	fd = open(o->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		err_sys(e, errno, "open %s", o->path);
		goto out;
	}
	if (verify_structure(fd, &o2, r, e) != 0)
		goto out;
	if (strncmp(r->fingerprint, fp12, 12) != 0) {
		err_set(e, "the bundle changed between the passes (fingerprint %.12s)",
			r->fingerprint);
		r->code = VERIFY_FINGERPRINT_MISMATCH;
		goto out;
	}
	/* the MANIFEST itself is part of the release (§2.2) */
	{
		char mpath[PATH_MAX];
		struct fsutil_write_opts wo = {
			.mode = 0644, .flags = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
		if (join(mpath, sizeof(mpath), s->base, "MANIFEST", e) != 0 ||
		    fsutil_write_file(mpath, r->manifest_text, r->manifest_len, &wo, e) != 0)
			goto out;
	}
	if (seal_dirs(s, e) != 0)
		goto out;
	if (rename(s->base, final) != 0) {
		err_sys(e, errno, "rename %s to %s", s->base, final);
		goto out;
	}
	if (fsutil_fsync_dir(layout_path(l, LAYOUT_RELEASES), e) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (s->fd >= 0)
		close(s->fd);
	if (rc != 0 && s->base[0] != '\0')
		(void)release_rmtree(s->base, NULL);
	for (i = 0; i < s->ndirs; i++)
		free(s->dirs[i]);
	free(s);
	return rc;
}
