#ifndef FSUTIL_H
#define FSUTIL_H
/*
 * Files on disk (STYLE.md "Files on disk").  Every persistent write in the
 * tree goes through fsutil_write_file() or the fsutil_atomic_* stream below:
 *
 *   temp file in the same directory, opened O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC
 *   -> fchown (when asked / preserving) -> fchmod to the requested mode
 *   -> write all (EINTR retried) -> fsync -> close -> rename over the target
 *   -> fsync the directory.
 *
 * On any failure before the rename the temp file is unlinked and errno is
 * preserved; the target is then untouched.  Error text in the errbuf is
 * "<operation> <path>: <strerror>", e.g.
 * "write /var/lib/agentd/rate-calibration.json.tmp.4242: No space left on device".
 *
 * Functions return 0 on success and -1 with errno set (and e filled when e is
 * not NULL) on failure.  Distinct conditions are told apart by errno, as
 * documented per function (EFBIG for "file larger than the maximum",
 * ETIMEDOUT for "lock not obtained in time", EPERM for "owner cannot be
 * preserved").
 *
 * Temp names hold only the pid, so writes to the same path from several
 * threads of one process must be serialised by the caller.  A stale regular
 * file left at the temp name (a killed writer whose pid was reused) is
 * removed and the open retried once; anything else there (a symlink, a
 * directory) is an error ("open X: File exists") and the target is untouched.
 */
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- atomic write --------------------------------------------------------- */

/* Temp name <dir>/.<base>.tmp.<pid> (runtime.env, spec bundle-install-update.md
 * §8.4).  Without this flag the temp name is <path>.tmp.<pid> (calibration
 * store, rate-controller.md §11.4). */
#define FSUTIL_W_HIDDEN_TEMP 0x01u
/* If the target exists, give the new file its owner, group and mode (mode
 * below is then used only for a new file).  Fails with errno EPERM and
 * "cannot preserve owner U:G of PATH ..." when the owner cannot be set (not
 * root); the target is untouched.  The existing file is examined with stat()
 * after FSUTIL_W_FOLLOW resolution (its own metadata, never the link's). */
#define FSUTIL_W_PRESERVE 0x02u
/* chown the new file to opts.uid/opts.gid ((uid_t)-1 / (gid_t)-1 = leave as
 * created).  With FSUTIL_W_PRESERVE this applies only when the target does
 * not exist yet. */
#define FSUTIL_W_OWNER 0x04u
/* If path is a symlink (possibly a chain), write to its resolved target, in
 * the target's directory (§8.4 step 5).  A dangling symlink is resolved to
 * the path it names (its directory must exist).  Without this flag a symlink
 * at path is simply replaced by the new regular file (rename semantics). */
#define FSUTIL_W_FOLLOW 0x08u
/* A failed fsync of the directory after a successful rename is normally
 * ignored (the new content is in place; rate-controller.md §11.4 step 6).
 * With this flag it is reported: -1, "fsync DIR: reason", although the
 * target HAS been replaced. */
#define FSUTIL_W_STRICT_DIRSYNC 0x10u

/* Is name (a directory entry) a temp file of an atomic write of base:
 * ".<base>.tmp.<digits>" when hidden (FSUTIL_W_HIDDEN_TEMP), else
 * "<base>.tmp.<digits>"?  base NULL stands for any non-empty base. */
bool fsutil_is_temp_name(const char *name, const char *base, bool hidden);

struct fsutil_write_opts {
	mode_t mode;    /* mode of the file (fchmod, so the umask has no effect) */
	unsigned flags; /* FSUTIL_W_* */
	uid_t uid;      /* with FSUTIL_W_OWNER; (uid_t)-1 keeps the caller's */
	gid_t gid;      /* with FSUTIL_W_OWNER; (gid_t)-1 keeps the caller's */
};

/* Atomically replace path with data[0..len).  opts NULL means mode 0600, no
 * flags.  Returns 0 or -1 (errno, e). */
int fsutil_write_file(const char *path, const void *data, size_t len,
		      const struct fsutil_write_opts *opts, struct errbuf *e);

/* The same as a stream, for content produced piecewise (extraction, copies).
 * begin creates the temp file (and applies owner and mode; NULL with errno
 * and e on failure, nothing left behind); write appends; commit does fsync,
 * close, rename and the directory fsync, and frees the handle whether it
 * succeeds or not (on failure before the rename the temp file is removed);
 * abort unlinks the temp file and frees the handle.  After a failed write
 * the handle is still the caller's: call abort.  abort(NULL) is a no-op. */
struct fsutil_atomic;
struct fsutil_atomic *fsutil_atomic_begin(const char *path, const struct fsutil_write_opts *opts,
					  struct errbuf *e);
int fsutil_atomic_write(struct fsutil_atomic *a, const void *data, size_t len, struct errbuf *e);
/* The temp file's descriptor (valid until commit/abort), e.g. for fstat. */
int fsutil_atomic_fd(const struct fsutil_atomic *a);
/* The temp file's path (valid until commit/abort). */
const char *fsutil_atomic_temp_path(const struct fsutil_atomic *a);
/* The final path written (after FSUTIL_W_FOLLOW resolution). */
const char *fsutil_atomic_target_path(const struct fsutil_atomic *a);
int fsutil_atomic_commit(struct fsutil_atomic *a, struct errbuf *e);
void fsutil_atomic_abort(struct fsutil_atomic *a);

/* Write all len bytes to fd, retrying on EINTR and short writes.  0 or -1
 * (errno; no text). */
int fsutil_write_all(int fd, const void *data, size_t len);

/* ---- bounded read --------------------------------------------------------- */

/* Follow symlinks when opening (default). */
#define FSUTIL_R_NOFOLLOW 0x01u /* refuse a symlink at path (ELOOP) */

/* Read the whole regular file path (opened O_RDONLY|O_CLOEXEC, checked with
 * fstat).  On success *data is a malloc'd copy with a NUL byte appended (not
 * counted in *len; the content may itself hold NULs); caller frees.  Errors
 * (-1, errno, e):
 *   ENOENT  missing ("open X: No such file or directory")
 *   EFBIG   larger than max_bytes ("read X: file is larger than N bytes"),
 *           also when the file grows past max_bytes while being read
 *   EINVAL  not a regular file ("open X: not a regular file")
 *   other   open/read errors */
int fsutil_read_file(const char *path, size_t max_bytes, unsigned flags, char **data, size_t *len,
		     struct errbuf *e);

/* Read at most cap-1 bytes of a small pseudo-file (/proc, /sys, DMI: their
 * fstat size is 0, so fsutil_read_file does not apply) into buf and NUL
 * terminate it.  Returns the byte count, or -1 with errno.  A longer file is
 * truncated at cap-1: callers parse a bounded prefix. */
ssize_t fsutil_read_small(const char *path, char *buf, size_t cap);

/* ---- locks ---------------------------------------------------------------- */

/* Take an exclusive flock on lock_path, creating it with mode (fchmod'ed, so
 * the umask has no effect; an existing lock file keeps its mode) if missing
 * (O_CREAT|O_WRONLY|O_NOFOLLOW|O_CLOEXEC).  The lock file is never deleted.
 * Waits up to timeout_ms milliseconds on CLOCK_MONOTONIC, retrying
 * LOCK_EX|LOCK_NB every <= 50 ms (timeout_ms 0: try once; negative: wait
 * forever).  On success *fd_out is the locked descriptor: release it with
 * fsutil_unlock().  Errors (-1, errno, e):
 *   ETIMEDOUT  another holder kept it past the timeout ("lock X: timed out
 *              after N ms") -- a best-effort caller may proceed unlocked
 *   other      open/flock errors ("open X: reason") */
int fsutil_lock(const char *lock_path, mode_t mode, int timeout_ms, int *fd_out, struct errbuf *e);
/* Release and close a descriptor from fsutil_lock (fd < 0: no-op). */
void fsutil_unlock(int fd);

/* ---- directories and symlinks --------------------------------------------- */

/* fsync the directory dir (opened O_RDONLY|O_DIRECTORY|O_CLOEXEC). */
int fsutil_fsync_dir(const char *dir, struct errbuf *e);

/* fsync the directory that contains path ("." for a bare name). */
int fsutil_fsync_parent(const char *path, struct errbuf *e);

/* mkdir -p: create path and missing parents with mode (chmod'ed after
 * mkdir, so the umask has no effect).  Existing directories are left alone
 * (mode unchanged).  An existing non-directory component: ENOTDIR. */
int fsutil_mkdir_p(const char *path, mode_t mode, struct errbuf *e);

/* Atomically make linkpath a symlink whose content is target (relative or
 * absolute, stored as given): a temp symlink <dir>/.<base>.tmp.<pid> is
 * created and renamed over linkpath, then the directory is fsynced (an fsync
 * failure after the rename is ignored, as for FSUTIL_W_STRICT_DIRSYNC unset).
 * linkpath may be missing, a symlink or a file; a directory at linkpath is
 * an error (EISDIR from rename).  Used for /opt/agentd/current. */
int fsutil_symlink_replace(const char *target, const char *linkpath, struct errbuf *e);

/* ---- test seam ------------------------------------------------------------ */

/* Operations reported to the trace hook, in the order they happen. */
enum fsutil_op {
	FSUTIL_OP_FSYNC_FILE, /* fsync of the temp file (path: temp path) */
	FSUTIL_OP_RENAME,     /* rename temp -> target (path: target) */
	FSUTIL_OP_FSYNC_DIR,  /* fsync of a directory (path: directory) */
};
/* Install (or with fn NULL remove) a process-wide observer of the operations
 * above (rate-controller.md n09: tests record the fsync / rename / fsync
 * order).  For tests only; not thread-safe to change while writes run. */
void fsutil_set_trace(void (*fn)(void *ctx, enum fsutil_op op, const char *path), void *ctx);

#endif
