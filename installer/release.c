#include "release.h"

#include "bounds.h"
#include "fsutil.h"
#include "hex.h"
#include "manifest.h"
#include "sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RMTREE_DEPTH_MAX 64
#define RELEASE_COPY_MAX (1024 * 1024)

const char *const release_bin_names[] = {
	"agentd",
	"agent-install",
	"scanner",
	"tune-scanner-host.sh",
	"reserve-control-bandwidth.sh",
	NULL,
};

bool release_name_valid(const char *s)
{
	return strlen(s) == RELEASE_FP12_LEN && hex_valid(s, RELEASE_FP12_LEN, 0);
}

/* out = a + "/" + b */
static int join2(char *out, size_t size, struct errbuf *e, const char *a, const char *b)
{
	int n = snprintf(out, size, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= size) {
		err_set(e, "path %s/%s is too long", a, b);
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int release_current(const struct layout *l, char fp12[RELEASE_FP12_LEN + 1], bool *present,
		    struct errbuf *e)
{
	const char *cur = layout_path(l, LAYOUT_CURRENT);
	char target[PATH_MAX];
	ssize_t n;

	*present = false;
	fp12[0] = '\0';
	n = readlink(cur, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		err_sys(e, errno, "read link %s", cur);
		return -1;
	}
	target[n] = '\0';
	if (strncmp(target, "releases/", 9) != 0 || !release_name_valid(target + 9)) {
		err_set(e, "%s points at %s, not at a release", cur, target);
		errno = EINVAL;
		return -1;
	}
	memcpy(fp12, target + 9, RELEASE_FP12_LEN + 1);
	*present = true;
	return 0;
}

/* Make linkpath a symlink to target through tmp (symlink + rename). */
static int link_replace(const char *target, const char *linkpath, const char *tmp, struct errbuf *e)
{
	(void)unlink(tmp); /* a stale one from a killed run with our pid */
	if (symlink(target, tmp) != 0) {
		err_sys(e, errno, "create symlink %s", tmp);
		return -1;
	}
	if (rename(tmp, linkpath) != 0) {
		int saved = errno;
		(void)unlink(tmp);
		err_sys(e, saved, "rename %s to %s", tmp, linkpath);
		errno = saved;
		return -1;
	}
	return 0;
}

int release_switch(const struct layout *l, const char *fp12, struct errbuf *e)
{
	char dir[PATH_MAX], target[32], tmp[PATH_MAX];
	struct stat st;
	int n;

	if (!release_name_valid(fp12)) {
		err_set(e, "invalid release name '%s'", fp12);
		errno = EINVAL;
		return -1;
	}
	if (layout_release_path(l, fp12, dir, sizeof(dir), e) != 0)
		return -1;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		err_set(e, "release %s is not installed (%s is not a directory)", fp12, dir);
		errno = ENOENT;
		return -1;
	}
	n = snprintf(target, sizeof(target), "releases/%s", fp12);
	if (n < 0 || (size_t)n >= sizeof(target))
		return -1; /* cannot happen: fp12 is 12 bytes */
	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", layout_path(l, LAYOUT_CURRENT),
		     (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		err_set(e, "path %s.tmp is too long", layout_path(l, LAYOUT_CURRENT));
		return -1;
	}
	if (link_replace(target, layout_path(l, LAYOUT_CURRENT), tmp, e) != 0)
		return -1;
	return fsutil_fsync_dir(layout_path(l, LAYOUT_OPT), e);
}

int release_fix_links(const struct layout *l, struct errbuf *e)
{
	const char *bin = layout_path(l, LAYOUT_BIN);
	char src[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX + 32], want[64], have[PATH_MAX];
	bool changed = false;
	size_t i;

	if (fsutil_mkdir_p(bin, 0755, e) != 0)
		return -1;
	for (i = 0; release_bin_names[i] != NULL; i++) {
		const char *f = release_bin_names[i];
		struct stat st;
		ssize_t n;
		int k;

		k = snprintf(src, sizeof(src), "%s/bin/%s", layout_path(l, LAYOUT_CURRENT), f);
		if (k < 0 || (size_t)k >= sizeof(src) ||
		    join2(link, sizeof(link), e, bin, f) != 0) {
			err_set(e, "path %s/bin/%s is too long", layout_path(l, LAYOUT_CURRENT), f);
			return -1;
		}
		k = snprintf(want, sizeof(want), "../current/bin/%s", f);
		if (k < 0 || (size_t)k >= sizeof(want))
			return -1;
		if (stat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
			/* the current release lacks it: no link */
			if (unlink(link) == 0) {
				changed = true;
			} else if (errno != ENOENT) {
				err_sys(e, errno, "remove %s", link);
				return -1;
			}
			continue;
		}
		n = readlink(link, have, sizeof(have) - 1);
		if (n >= 0) {
			have[n] = '\0';
			if (strcmp(have, want) == 0)
				continue;
		}
		k = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", link, (long)getpid());
		if (k < 0 || (size_t)k >= sizeof(tmp)) {
			err_set(e, "path %s.tmp is too long", link);
			return -1;
		}
		if (link_replace(want, link, tmp, e) != 0)
			return -1;
		changed = true;
	}
	if (changed)
		return fsutil_fsync_dir(bin, e);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int release_list(const struct layout *l, char (*out)[RELEASE_FP12_LEN + 1], size_t max, size_t *n,
		 struct errbuf *e)
{
	const char *rel = layout_path(l, LAYOUT_RELEASES);
	DIR *d;
	struct dirent *de;
	int dfd;

	*n = 0;
	d = opendir(rel);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		err_sys(e, errno, "open directory %s", rel);
		return -1;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (!release_name_valid(de->d_name))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (*n >= max)
			break;
		memcpy(out[*n], de->d_name, RELEASE_FP12_LEN + 1);
		(*n)++;
	}
	closedir(d);
	qsort(out, *n, sizeof(out[0]), cmp_name);
	return 0;
}

static bool in_set(const char (*set)[RELEASE_FP12_LEN + 1], size_t n, const char *s)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (strcmp(set[i], s) == 0)
			return true;
	return false;
}

size_t release_gc_keep(const char *current, const char *previous,
		       const char (*history)[RELEASE_FP12_LEN + 1], size_t nhistory, unsigned keep,
		       char (*out)[RELEASE_FP12_LEN + 1])
{
	size_t n = 0, i;

	if (current != NULL && release_name_valid(current))
		memcpy(out[n++], current, RELEASE_FP12_LEN + 1);
	if (previous != NULL && release_name_valid(previous) &&
	    !in_set((const char(*)[RELEASE_FP12_LEN + 1]) out, n, previous))
		memcpy(out[n++], previous, RELEASE_FP12_LEN + 1);
	for (i = 0; i < nhistory && i < INSTALLED_HISTORY_MAX && n < keep; i++) {
		if (!release_name_valid(history[i]) ||
		    in_set((const char(*)[RELEASE_FP12_LEN + 1]) out, n, history[i]))
			continue;
		memcpy(out[n++], history[i], RELEASE_FP12_LEN + 1);
	}
	return n;
}

/* Remove name (any type) inside the directory dfd; depth guards recursion. */
static int rm_at(int dfd, const char *name, const char *shown, int depth, struct errbuf *e)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int fd, rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		err_sys(e, errno, "stat %s", shown);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT) {
			err_sys(e, errno, "remove %s", shown);
			return -1;
		}
		return 0;
	}
	if (depth >= RMTREE_DEPTH_MAX) {
		err_set(e, "remove %s: nested deeper than %d directories", shown, RMTREE_DEPTH_MAX);
		errno = ELOOP;
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* maybe not readable: make it so (we own it) and retry once */
		if (errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
			fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			err_sys(e, errno, "open directory %s", shown);
			return -1;
		}
	}
	d = fdopendir(fd);
	if (d == NULL) {
		err_sys(e, errno, "open directory %s", shown);
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_at(dirfd(d), de->d_name, shown, depth + 1, e) != 0)
			rc = -1;
	}
	closedir(d);
	if (rc != 0)
		return -1;
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
		err_sys(e, errno, "remove %s", shown);
		return -1;
	}
	return 0;
}

int release_rmtree(const char *path, struct errbuf *e)
{
	return rm_at(AT_FDCWD, path, path, 0, e);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* "<fp12>.bad.<digits>" */
static bool is_bad_name(const char *s)
{
	const char *p = strstr(s, ".bad.");
	return p != NULL && p != s;
}

int release_gc(const struct layout *l, const char (*keep)[RELEASE_FP12_LEN + 1], size_t nkeep,
	       size_t *failures, struct errbuf *e)
{
	const char *rel = layout_path(l, LAYOUT_RELEASES);
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	*failures = 0;
	d = opendir(rel);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		err_sys(e, errno, "open directory %s", rel);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		bool remove = false;
		if (name[0] == '.')
			continue; /* ".", "..", ".incoming" */
		if (release_name_valid(name))
			remove = !in_set(keep, nkeep, name);
		else if (ends_with(name, ".partial") || is_bad_name(name))
			remove = true;
		if (!remove)
			continue;
		if (join2(path, sizeof(path), e, rel, name) != 0 || release_rmtree(path, e) != 0)
			(*failures)++;
	}
	closedir(d);
	if (*failures == 0)
		(void)fsutil_fsync_dir(rel, NULL);
	return 0;
}

/* Copy the file src (on disk) to dst (a path under the root) with mode when
 * the bytes or the mode differ. */
int release_copy_if_different(const char *src, const char *dst, mode_t mode, bool *changed,
			      struct errbuf *e)
{
	/* hidden temp: the destinations are in /etc/agentd, the unit directory and
	 * /etc/sv/agentd*, whose sweeps (recover.c) remove only .<name>.tmp.<pid> */
	struct fsutil_write_opts wo = {
		.mode = mode, .flags = FSUTIL_W_HIDDEN_TEMP, .uid = (uid_t)-1, .gid = (gid_t)-1};
	char *a = NULL, *b = NULL, dir[PATH_MAX];
	size_t alen = 0, blen = 0;
	struct stat st;
	char *slash;
	int rc = -1;

	if (fsutil_read_file(src, RELEASE_COPY_MAX, FSUTIL_R_NOFOLLOW, &a, &alen, e) != 0)
		return -1;
	if (lstat(dst, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == mode &&
	    fsutil_read_file(dst, RELEASE_COPY_MAX, FSUTIL_R_NOFOLLOW, &b, &blen, NULL) == 0 &&
	    alen == blen && memcmp(a, b, alen) == 0) {
		rc = 0;
		goto out;
	}
	if (strlen(dst) >= sizeof(dir)) {
		err_set(e, "path %s is too long", dst);
		goto out;
	}
	memcpy(dir, dst, strlen(dst) + 1);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (fsutil_mkdir_p(dir, 0755, e) != 0)
			goto out;
	}
	if (fsutil_write_file(dst, a, alen, &wo, e) != 0)
		goto out;
	*changed = true;
	rc = 0;
out:
	free(a);
	free(b);
	return rc;
}

/* ---- re-check (§16.2) ------------------------------------------------------ */

struct walk {
	const struct manifest *m;
	const char *fp12;
	struct errbuf *e;
};

static int recheck_fail(struct errbuf *e, const char *fp12, const char *path, const char *why)
{
	err_set(e, "release %s: %s%s%s", fp12, path, path[0] ? ": " : "", why);
	errno = EINVAL;
	return -1;
}

/* Walk dfd (relative path rel, "" at the top): nothing but listed files and
 * their parent directories may exist. */
static int walk_dir(struct walk *w, int dfd, const char *rel, int depth)
{
	DIR *d;
	struct dirent *de;
	int fd, rc = 0;

	if (depth > RMTREE_DEPTH_MAX)
		return recheck_fail(w->e, w->fp12, rel, "nested too deep");
	fd = dup(dfd);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		err_sys(w->e, errno, "release %s: read directory %s", w->fp12, rel);
		return -1;
	}
	rewinddir(d);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char path[BOUNDS_MANIFEST_PATH_MAX + NAME_MAX + 2];
		struct stat st;
		int n;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n = snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			rc = recheck_fail(w->e, w->fp12, rel, "unexpected entry with a long name");
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			err_sys(w->e, errno, "release %s: stat %s", w->fp12, path);
			rc = -1;
			break;
		}
		if (S_ISREG(st.st_mode)) {
			if (strcmp(path, "MANIFEST") != 0 && manifest_find(w->m, path) < 0)
				rc = recheck_fail(w->e, w->fp12, path, "file not in MANIFEST");
		} else if (S_ISDIR(st.st_mode)) {
			int sub;
			if (!manifest_is_parent_dir(w->m, path, strlen(path))) {
				rc = recheck_fail(w->e, w->fp12, path, "directory not in MANIFEST");
				break;
			}
			sub = openat(dirfd(d), de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				err_sys(w->e, errno, "release %s: open %s", w->fp12, path);
				rc = -1;
				break;
			}
			rc = walk_dir(w, sub, path, depth + 1);
			close(sub);
		} else {
			rc = recheck_fail(w->e, w->fp12, path, "not a regular file or directory");
		}
	}
	closedir(d);
	return rc;
}

/* Open releases/<fp12> and read its MANIFEST: *dfd_out, *m_out, fp (65). */
static int open_release(const struct layout *l, const char *fp12, int *dfd_out,
			struct manifest **m_out, char fp[SHA256_HEX_LEN + 1], struct errbuf *e)
{
	char dir[PATH_MAX];
	uint8_t digest[SHA256_LEN];
	struct stat st;
	char *data = NULL;
	size_t cap = 0, len = 0;
	int dfd = -1, fd = -1;

	*dfd_out = -1;
	*m_out = NULL;
	if (!release_name_valid(fp12)) {
		err_set(e, "invalid release name '%s'", fp12);
		errno = EINVAL;
		return -1;
	}
	if (layout_release_path(l, fp12, dir, sizeof(dir), e) != 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		err_sys(e, errno, "release %s: open %s", fp12, dir);
		return -1;
	}
	fd = openat(dfd, "MANIFEST", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err_sys(e, errno, "release %s: open MANIFEST", fp12);
		goto fail;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		recheck_fail(e, fp12, "MANIFEST", "not a regular file");
		goto fail;
	}
	if (st.st_size > BOUNDS_MANIFEST_MAX) {
		recheck_fail(e, fp12, "MANIFEST", "larger than 1 MiB");
		goto fail;
	}
	cap = (size_t)st.st_size + 1;
	data = malloc(cap);
	if (data == NULL) {
		err_sys(e, errno, "release %s: read MANIFEST", fp12);
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, data + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_sys(e, errno, "release %s: read MANIFEST", fp12);
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap) {
			recheck_fail(e, fp12, "MANIFEST", "changed while being read");
			goto fail;
		}
	}
	close(fd);
	fd = -1;
	sha256_buf(data, len, digest);
	sha256_to_hex(digest, fp);
	if (strncmp(fp, fp12, RELEASE_FP12_LEN) != 0) {
		err_set(e,
			"release %s: MANIFEST fingerprint %.12s does not match the directory name",
			fp12, fp);
		errno = EINVAL;
		goto fail;
	}
	{
		struct errbuf pe;
		if (manifest_parse(data, len, m_out, &pe) != 0) {
			err_set(e, "release %s: MANIFEST: %s", fp12, pe.msg);
			errno = EINVAL;
			goto fail;
		}
	}
	free(data);
	*dfd_out = dfd;
	return 0;
fail : {
	int saved = errno;
	free(data);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	errno = saved;
}
	return -1;
}

int release_recheck(const struct layout *l, const char *fp12, char *fingerprint, char *version,
		    struct errbuf *e)
{
	struct manifest *m = NULL;
	char fp[SHA256_HEX_LEN + 1];
	struct walk w;
	size_t i, n;
	int dfd = -1, rc = -1;

	if (open_release(l, fp12, &dfd, &m, fp, e) != 0)
		return -1;
	w.m = m;
	w.fp12 = fp12;
	w.e = e;
	/* first the tree (refuses links and extra entries, so the per-file
	 * opens below never pass through a symlinked directory) */
	if (walk_dir(&w, dfd, "", 0) != 0)
		goto out;
	n = manifest_count(m);
	for (i = 0; i < n; i++) {
		const struct manifest_entry *ent = manifest_entry(m, i);
		uint8_t digest[SHA256_LEN];
		struct stat st;
		int fd = openat(dfd, ent->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				recheck_fail(e, fp12, ent->path, "missing");
			else
				err_sys(e, errno, "release %s: open %s", fp12, ent->path);
			goto out;
		}
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			recheck_fail(e, fp12, ent->path, "not a regular file");
			goto out;
		}
		if ((st.st_mode & 07777) != ent->mode) {
			close(fd);
			err_set(e, "release %s: %s: mode %04o, MANIFEST says %04o", fp12, ent->path,
				(unsigned)(st.st_mode & 07777), ent->mode);
			errno = EINVAL;
			goto out;
		}
		if ((uint64_t)st.st_size != ent->size) {
			close(fd);
			err_set(e, "release %s: %s: size %lld, MANIFEST says %llu", fp12, ent->path,
				(long long)st.st_size, (unsigned long long)ent->size);
			errno = EINVAL;
			goto out;
		}
		if (sha256_fd(fd, ent->path, digest, e) != 0) {
			close(fd);
			goto out;
		}
		close(fd);
		if (memcmp(digest, ent->sha256, SHA256_LEN) != 0) {
			recheck_fail(e, fp12, ent->path, "sha256 differs from MANIFEST");
			goto out;
		}
	}
	if (fingerprint != NULL)
		memcpy(fingerprint, fp, sizeof(fp));
	if (version != NULL) {
		size_t vl = strlen(manifest_version(m));
		if (vl > 64)
			vl = 64;
		memcpy(version, manifest_version(m), vl);
		version[vl] = '\0';
	}
	rc = 0;
out:
	manifest_free(m);
	close(dfd);
	return rc;
}

int release_read_version(const struct layout *l, const char *fp12, char *version, char *fingerprint,
			 struct errbuf *e)
{
	struct manifest *m = NULL;
	char fp[SHA256_HEX_LEN + 1];
	size_t vl;
	int dfd = -1;

	if (open_release(l, fp12, &dfd, &m, fp, e) != 0)
		return -1;
	vl = strlen(manifest_version(m));
	if (vl > 64)
		vl = 64;
	memcpy(version, manifest_version(m), vl);
	version[vl] = '\0';
	if (fingerprint != NULL)
		memcpy(fingerprint, fp, sizeof(fp));
	manifest_free(m);
	close(dfd);
	return 0;
}

/* Remove entries of dir whose name satisfies pred. */
static int remove_matching(const char *dir, bool (*pred)(const char *), size_t *removed,
			   struct errbuf *e)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		err_sys(e, errno, "open directory %s", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    !pred(de->d_name))
			continue;
		if (join2(path, sizeof(path), e, dir, de->d_name) != 0 ||
		    release_rmtree(path, e) != 0) {
			rc = -1;
			continue;
		}
		if (removed != NULL)
			(*removed)++;
	}
	closedir(d);
	return rc;
}

static bool is_partial(const char *s)
{
	return ends_with(s, ".partial");
}

static bool is_any(const char *s)
{
	(void)s;
	return true;
}

static bool is_tmp(const char *s)
{
	return strstr(s, ".tmp.") != NULL;
}

/* "<name>.tmp.<digits>": a temp file of an atomic write (current, installed.json,
 * the journal) whose writer was killed; nothing else in /opt/agentd is named so */
static bool is_opt_tmp(const char *s)
{
	return fsutil_is_temp_name(s, NULL, false);
}

int release_cleanup_leftovers(const struct layout *l, size_t *removed, struct errbuf *e)
{
	int rc = 0;

	if (removed != NULL)
		*removed = 0;
	rc |= remove_matching(layout_path(l, LAYOUT_RELEASES), is_partial, removed, e);
	rc |= remove_matching(layout_path(l, LAYOUT_INCOMING), is_any, removed, e);
	rc |= remove_matching(layout_path(l, LAYOUT_OPT), is_opt_tmp, removed, e);
	rc |= remove_matching(layout_path(l, LAYOUT_BIN), is_tmp, removed, e);
	return rc == 0 ? 0 : -1;
}

int release_read_manifest(const struct layout *l, const char *fp12, struct manifest **m,
			  char fingerprint[65], struct errbuf *e)
{
	int dfd = -1;

	if (open_release(l, fp12, &dfd, m, fingerprint, e) != 0)
		return -1;
	close(dfd);
	return 0;
}
