#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- trace seam ------------------------------------------------------------ */

static void (*trace_fn)(void *ctx, enum fsutil_op op, const char *path);
static void *trace_ctx;

void fsutil_set_trace(void (*fn)(void *ctx, enum fsutil_op op, const char *path), void *ctx)
{
	trace_fn = fn;
	trace_ctx = ctx;
}

static void trace(enum fsutil_op op, const char *path)
{
	if (trace_fn != NULL)
		trace_fn(trace_ctx, op, path);
}

/* Fill e with "<op> <path>: strerror(errnum)" and leave errno = errnum. */
static int fail_sys(struct errbuf *e, int errnum, const char *op, const char *path)
{
	err_sys(e, errnum, "%s %s", op, path);
	errno = errnum;
	return -1;
}

static int fail_text(struct errbuf *e, int errnum, const char *op, const char *path,
		     const char *why)
{
	err_set(e, "%s %s: %s", op, path, why);
	errno = errnum;
	return -1;
}

/* ---- path helpers ---------------------------------------------------------- */

/* Split path into directory (".") and base name.  -1 when too long or the
 * base name is empty ("dir/"). */
static int split_path(const char *path, char *dir, size_t dir_size, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		if (dir_size < 2)
			return -1;
		dir[0] = '.';
		dir[1] = '\0';
		*base = path;
	} else {
		n = (size_t)(slash - path);
		if (n == 0)
			n = 1; /* "/name" -> "/" */
		if (n >= dir_size)
			return -1;
		memcpy(dir, path, n);
		dir[n] = '\0';
		*base = slash + 1;
	}
	return **base == '\0' ? -1 : 0;
}

/* Follow a chain of symlinks starting at path; out gets the first path that
 * is not a symlink (possibly missing: a dangling link names it). */
static int resolve_links(const char *path, char *out, size_t out_size, struct errbuf *e)
{
	char link[PATH_MAX], next[PATH_MAX];
	struct stat st;
	int hops, n;

	n = snprintf(out, out_size, "%s", path);
	if (n < 0 || (size_t)n >= out_size)
		return fail_text(e, ENAMETOOLONG, "resolve", path, "path too long");
	for (hops = 0; hops < 40; hops++) {
		ssize_t len;

		if (lstat(out, &st) < 0) {
			if (errno == ENOENT)
				return 0;
			return fail_sys(e, errno, "stat", out);
		}
		if (!S_ISLNK(st.st_mode))
			return 0;
		len = readlink(out, link, sizeof(link) - 1);
		if (len < 0)
			return fail_sys(e, errno, "readlink", out);
		link[len] = '\0';
		if (link[0] == '/') {
			n = snprintf(next, sizeof(next), "%s", link);
		} else {
			const char *slash = strrchr(out, '/');

			if (slash == NULL)
				n = snprintf(next, sizeof(next), "%s", link);
			else
				n = snprintf(next, sizeof(next), "%.*s/%s", (int)(slash - out), out,
					     link);
		}
		if (n < 0 || (size_t)n >= sizeof(next) || (size_t)n >= out_size)
			return fail_text(e, ENAMETOOLONG, "resolve", path, "path too long");
		memcpy(out, next, (size_t)n + 1);
	}
	return fail_sys(e, ELOOP, "resolve", path);
}

/* The temp name for target: <dir>/.<base>.tmp.<pid> or <target>.tmp.<pid>. */
static int temp_name(const char *target, bool hidden, char *out, size_t out_size, struct errbuf *e)
{
	char dir[PATH_MAX];
	const char *base;
	int n;

	if (split_path(target, dir, sizeof(dir), &base) < 0)
		return fail_text(e, EINVAL, "write", target, "not a file path");
	if (!hidden)
		n = snprintf(out, out_size, "%s.tmp.%ld", target, (long)getpid());
	else if (strchr(target, '/') == NULL)
		n = snprintf(out, out_size, ".%s.tmp.%ld", base, (long)getpid());
	else
		n = snprintf(out, out_size, "%.*s/.%s.tmp.%ld", (int)(base - 1 - target), target,
			     base, (long)getpid());
	if (n < 0 || (size_t)n >= out_size)
		return fail_text(e, ENAMETOOLONG, "write", target, "path too long");
	return 0;
}

bool fsutil_is_temp_name(const char *name, const char *base, bool hidden)
{
	const char *t;

	if (hidden && *name++ != '.')
		return false;
	if (base != NULL) {
		size_t n = strlen(base);
		if (n == 0 || strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0)
			return false;
		t = name + n;
	} else {
		t = strstr(name, ".tmp.");
		if (t == NULL || t == name)
			return false;
	}
	if (t[5] == '\0')
		return false;
	for (t += 5; *t != '\0'; t++)
		if (*t < '0' || *t > '9')
			return false;
	return true;
}

/* ---- atomic write ---------------------------------------------------------- */

struct fsutil_atomic {
	int fd;
	unsigned flags;
	char target[PATH_MAX];
	char temp[PATH_MAX];
};

int fsutil_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create the temp file exclusively; a stale regular file of a killed writer
 * with our pid is removed once, anything else there is an error. */
static int open_temp(const char *temp, struct errbuf *e)
{
	int tries, fd;

	for (tries = 0; tries < 2; tries++) {
		struct stat st;

		fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST || tries > 0)
			break;
		if (lstat(temp, &st) < 0 || !S_ISREG(st.st_mode)) {
			errno = EEXIST;
			break;
		}
		if (unlink(temp) < 0)
			return fail_sys(e, errno, "unlink", temp);
	}
	return fail_sys(e, errno, "open", temp);
}

struct fsutil_atomic *fsutil_atomic_begin(const char *path, const struct fsutil_write_opts *opts,
					  struct errbuf *e)
{
	struct fsutil_write_opts defaults = {0600, 0, (uid_t)-1, (gid_t)-1};
	struct fsutil_atomic *a;
	struct stat st, tst;
	bool have_old = false;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	mode_t mode;
	int saved, n;

	if (opts == NULL)
		opts = &defaults;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		fail_sys(e, ENOMEM, "write", path);
		return NULL;
	}
	a->fd = -1;
	a->flags = opts->flags;
	if (opts->flags & FSUTIL_W_FOLLOW) {
		if (resolve_links(path, a->target, sizeof(a->target), e) < 0)
			goto fail;
	} else {
		n = snprintf(a->target, sizeof(a->target), "%s", path);
		if (n < 0 || (size_t)n >= sizeof(a->target)) {
			fail_text(e, ENAMETOOLONG, "write", path, "path too long");
			goto fail;
		}
	}
	if (temp_name(a->target, (opts->flags & FSUTIL_W_HIDDEN_TEMP) != 0, a->temp,
		      sizeof(a->temp), e) < 0)
		goto fail;

	mode = opts->mode & 07777;
	if (opts->flags & FSUTIL_W_PRESERVE) {
		if (stat(a->target, &st) == 0) {
			have_old = true;
			mode = st.st_mode & 07777;
			uid = st.st_uid;
			gid = st.st_gid;
		} else if (errno != ENOENT) {
			fail_sys(e, errno, "stat", a->target);
			goto fail;
		}
	}
	if (!have_old && (opts->flags & FSUTIL_W_OWNER)) {
		uid = opts->uid;
		gid = opts->gid;
	}

	a->fd = open_temp(a->temp, e);
	if (a->fd < 0)
		goto fail;
	if (uid != (uid_t)-1 || gid != (gid_t)-1) {
		if (fstat(a->fd, &tst) < 0) {
			fail_sys(e, errno, "stat", a->temp);
			goto fail_unlink;
		}
		if ((uid != (uid_t)-1 && uid != tst.st_uid) ||
		    (gid != (gid_t)-1 && gid != tst.st_gid)) {
			if (fchown(a->fd, uid, gid) < 0) {
				saved = errno;
				if (have_old)
					err_sys(e, saved,
						"chown %s: cannot preserve owner %ld:%ld of %s",
						a->temp, (long)uid, (long)gid, a->target);
				else
					err_sys(e, saved, "chown %s to %ld:%ld", a->temp, (long)uid,
						(long)gid);
				errno = saved;
				goto fail_unlink;
			}
		}
	}
	if (fchmod(a->fd, mode) < 0) {
		fail_sys(e, errno, "chmod", a->temp);
		goto fail_unlink;
	}
	return a;

fail_unlink:
	saved = errno;
	close(a->fd);
	unlink(a->temp);
	errno = saved;
fail:
	saved = errno;
	free(a);
	errno = saved;
	return NULL;
}

int fsutil_atomic_write(struct fsutil_atomic *a, const void *data, size_t len, struct errbuf *e)
{
	if (fsutil_write_all(a->fd, data, len) < 0)
		return fail_sys(e, errno, "write", a->temp);
	return 0;
}

int fsutil_atomic_fd(const struct fsutil_atomic *a)
{
	return a->fd;
}

const char *fsutil_atomic_temp_path(const struct fsutil_atomic *a)
{
	return a->temp;
}

const char *fsutil_atomic_target_path(const struct fsutil_atomic *a)
{
	return a->target;
}

void fsutil_atomic_abort(struct fsutil_atomic *a)
{
	int saved = errno;

	if (a == NULL)
		return;
	if (a->fd >= 0) {
		close(a->fd);
		unlink(a->temp);
	}
	free(a);
	errno = saved;
}

int fsutil_atomic_commit(struct fsutil_atomic *a, struct errbuf *e)
{
	char dir[PATH_MAX];
	const char *base;
	int saved, fd = a->fd;
	unsigned flags = a->flags;

	if (fsync(fd) < 0) {
		fail_sys(e, errno, "fsync", a->temp);
		goto fail;
	}
	trace(FSUTIL_OP_FSYNC_FILE, a->temp);
	a->fd = -1;
	if (close(fd) < 0) {
		fail_sys(e, errno, "close", a->temp);
		goto fail_closed;
	}
	if (rename(a->temp, a->target) < 0) {
		saved = errno;
		err_sys(e, saved, "rename %s to %s", a->temp, a->target);
		errno = saved;
		goto fail_closed;
	}
	trace(FSUTIL_OP_RENAME, a->target);
	if (split_path(a->target, dir, sizeof(dir), &base) == 0 &&
	    fsutil_fsync_dir(dir, (flags & FSUTIL_W_STRICT_DIRSYNC) ? e : NULL) < 0 &&
	    (flags & FSUTIL_W_STRICT_DIRSYNC)) {
		saved = errno;
		free(a);
		errno = saved;
		return -1;
	}
	free(a);
	return 0;

fail:
	saved = errno;
	close(fd);
	a->fd = -1;
	errno = saved;
fail_closed:
	saved = errno;
	unlink(a->temp);
	free(a);
	errno = saved;
	return -1;
}

int fsutil_write_file(const char *path, const void *data, size_t len,
		      const struct fsutil_write_opts *opts, struct errbuf *e)
{
	struct fsutil_atomic *a = fsutil_atomic_begin(path, opts, e);

	if (a == NULL)
		return -1;
	if (fsutil_atomic_write(a, data, len, e) < 0) {
		fsutil_atomic_abort(a);
		return -1;
	}
	return fsutil_atomic_commit(a, e);
}

/* ---- bounded read ---------------------------------------------------------- */

int fsutil_read_file(const char *path, size_t max_bytes, unsigned flags, char **data, size_t *len,
		     struct errbuf *e)
{
	struct stat st;
	char *p = NULL, *np;
	size_t cap, used = 0;
	int fd, saved;

	*data = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO planted at path must not hang the open (refused below) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
				((flags & FSUTIL_R_NOFOLLOW) ? O_NOFOLLOW : 0));
	if (fd < 0)
		return fail_sys(e, errno, "open", path);
	if (fstat(fd, &st) < 0) {
		fail_sys(e, errno, "stat", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		fail_text(e, EINVAL, "open", path, "not a regular file");
		goto fail;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max_bytes) {
		err_set(e, "read %s: file is larger than %zu bytes", path, max_bytes);
		errno = EFBIG;
		goto fail;
	}
	/* room for one byte more than the size seen, to notice growth */
	cap = (size_t)st.st_size + 1;
	for (;;) {
		ssize_t n;

		if (p == NULL || used == cap) {
			if (p != NULL) {
				if (cap > max_bytes) {
					err_set(e, "read %s: file is larger than %zu bytes", path,
						max_bytes);
					errno = EFBIG;
					goto fail;
				}
				cap = cap > max_bytes / 2 ? max_bytes + 1 : cap * 2;
			}
			np = realloc(p, cap + 1);
			if (np == NULL) {
				fail_sys(e, ENOMEM, "read", path);
				goto fail;
			}
			p = np;
		}
		n = read(fd, p + used, cap - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail_sys(e, errno, "read", path);
			goto fail;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > max_bytes) {
		err_set(e, "read %s: file is larger than %zu bytes", path, max_bytes);
		errno = EFBIG;
		goto fail;
	}
	close(fd);
	p[used] = '\0';
	*data = p;
	*len = used;
	return 0;

fail:
	saved = errno;
	free(p);
	close(fd);
	errno = saved;
	return -1;
}

/* ---- locks ----------------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int open_lock_file(const char *path, mode_t mode, struct errbuf *e)
{
	int tries, fd;

	for (tries = 0; tries < 5; tries++) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
		if (fd >= 0) {
			if (fchmod(fd, mode & 07777) < 0) {
				int saved = errno;

				close(fd);
				return fail_sys(e, saved, "chmod", path);
			}
			return fd;
		}
		if (errno != EEXIST)
			return fail_sys(e, errno, "open", path);
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT) /* removed in between: try to create again */
			return fail_sys(e, errno, "open", path);
	}
	return fail_sys(e, ENOENT, "open", path);
}

int fsutil_lock(const char *lock_path, mode_t mode, int timeout_ms, int *fd_out, struct errbuf *e)
{
	long long start, waited;
	long long step = 1;
	int fd, saved;

	*fd_out = -1;
	fd = open_lock_file(lock_path, mode, e);
	if (fd < 0)
		return -1;
	start = now_ms();
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			*fd_out = fd;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			saved = errno;
			close(fd);
			return fail_sys(e, saved, "lock", lock_path);
		}
		waited = now_ms() - start;
		if (timeout_ms >= 0 && waited >= timeout_ms) {
			close(fd);
			err_set(e, "lock %s: timed out after %d ms", lock_path, timeout_ms);
			errno = ETIMEDOUT;
			return -1;
		}
		if (timeout_ms >= 0 && step > timeout_ms - waited)
			sleep_ms(timeout_ms - waited);
		else
			sleep_ms(step);
		if (step < 50)
			step = step * 2 > 50 ? 50 : step * 2;
	}
}

void fsutil_unlock(int fd)
{
	int saved = errno;

	if (fd < 0)
		return;
	(void)flock(fd, LOCK_UN);
	close(fd);
	errno = saved;
}

/* ---- directories and symlinks ---------------------------------------------- */

int fsutil_fsync_dir(const char *dir, struct errbuf *e)
{
	int fd, saved;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail_sys(e, errno, "open", dir);
	if (fsync(fd) < 0) {
		saved = errno;
		close(fd);
		/* EINVAL: the file system does not support fsync of directories */
		if (saved == EINVAL)
			return 0;
		return fail_sys(e, saved, "fsync", dir);
	}
	close(fd);
	trace(FSUTIL_OP_FSYNC_DIR, dir);
	return 0;
}

int fsutil_fsync_parent(const char *path, struct errbuf *e)
{
	char dir[PATH_MAX];
	const char *base;

	if (split_path(path, dir, sizeof(dir), &base) < 0)
		return fail_text(e, EINVAL, "fsync", path, "not a file path");
	return fsutil_fsync_dir(dir, e);
}

int fsutil_mkdir_p(const char *path, mode_t mode, struct errbuf *e)
{
	char p[PATH_MAX];
	size_t len = strlen(path), i;
	struct stat st;

	if (len == 0)
		return fail_text(e, ENOENT, "mkdir", path, "empty path");
	if (len >= sizeof(p))
		return fail_text(e, ENAMETOOLONG, "mkdir", path, "path too long");
	memcpy(p, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		if (p[i - 1] == '/') /* "a//b" or trailing '/' */
			continue;
		p[i] = '\0';
		if (mkdir(p, mode & 07777) == 0) {
			if (chmod(p, mode & 07777) < 0)
				return fail_sys(e, errno, "chmod", p);
		} else if (errno == EEXIST) {
			if (stat(p, &st) < 0)
				return fail_sys(e, errno, "stat", p);
			if (!S_ISDIR(st.st_mode))
				return fail_sys(e, ENOTDIR, "mkdir", p);
		} else {
			return fail_sys(e, errno, "mkdir", p);
		}
		p[i] = path[i];
	}
	return 0;
}

int fsutil_symlink_replace(const char *target, const char *linkpath, struct errbuf *e)
{
	char temp[PATH_MAX], dir[PATH_MAX];
	const char *base;
	int tries, saved;

	if (temp_name(linkpath, true, temp, sizeof(temp), e) < 0)
		return -1;
	for (tries = 0;; tries++) {
		struct stat st;

		if (symlink(target, temp) == 0)
			break;
		saved = errno;
		if (saved != EEXIST || tries > 0 || lstat(temp, &st) < 0 ||
		    !(S_ISLNK(st.st_mode) || S_ISREG(st.st_mode)))
			return fail_sys(e, saved, "symlink", temp);
		if (unlink(temp) < 0)
			return fail_sys(e, errno, "unlink", temp);
	}
	if (rename(temp, linkpath) < 0) {
		saved = errno;
		unlink(temp);
		err_sys(e, saved, "rename %s to %s", temp, linkpath);
		errno = saved;
		return -1;
	}
	trace(FSUTIL_OP_RENAME, linkpath);
	if (split_path(linkpath, dir, sizeof(dir), &base) == 0)
		(void)fsutil_fsync_dir(dir, NULL);
	return 0;
}

ssize_t fsutil_read_small(const char *path, char *buf, size_t cap)
{
	size_t got = 0;
	int fd, saved;

	if (cap == 0) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (got < cap - 1) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}
