/* lib/fsutil: atomic writes, bounded reads, locks, mkdir -p, symlink swap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"

/* ---- helpers ---------------------------------------------------------------- */

static void put(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

/* number of entries in dir whose name contains ".tmp." */
static int count_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Drop CAP_CHOWN from the effective set of this process (a child): chown to
 * another user then fails with EPERM as it would for a non-root caller. */
static int drop_cap_chown(void)
{
	/* <linux/capability.h> is not in the musl toolchain: the v3 ABI by hand */
	struct {
		uint32_t version;
		int pid;
	} h = {0x20080522, 0};
	struct {
		uint32_t effective, permitted, inheritable;
	} d[2];
	const uint32_t cap_chown = 0;

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[0].effective &= ~(1u << cap_chown);
	return (int)syscall(SYS_capset, &h, d);
}

/* trace seam recorder */
struct trace_rec {
	int n;
	enum fsutil_op ops[8];
	char paths[8][512];
};

static void recorder(void *ctx, enum fsutil_op op, const char *path)
{
	struct trace_rec *r = ctx;

	if (r->n < 8) {
		r->ops[r->n] = op;
		snprintf(r->paths[r->n], sizeof(r->paths[0]), "%s", path);
		r->n++;
	}
}

/* ---- atomic write ------------------------------------------------------------ */

static void test_write_new_and_replace(void **state)
{
	struct fsutil_write_opts o = {0640, 0, (uid_t)-1, (gid_t)-1};
	struct errbuf e;
	mode_t old;

	(void)state;
	old = umask(077);
	assert_int_equal(fsutil_write_file("a.json", "{}", 2, &o, &e), 0);
	assert_string_equal(slurp("a.json"), "{}");
	assert_int_equal(mode_of("a.json"), 0640);
	umask(0);
	assert_int_equal(fsutil_write_file("a.json", "{\"x\": 1}", 8, &o, &e), 0);
	assert_string_equal(slurp("a.json"), "{\"x\": 1}");
	assert_int_equal(mode_of("a.json"), 0640);
	umask(old);
	/* empty content, NULL opts (0600) */
	assert_int_equal(fsutil_write_file("b", "", 0, NULL, &e), 0);
	assert_string_equal(slurp("b"), "");
	assert_int_equal(mode_of("b"), 0600);
	assert_int_equal(count_temps("."), 0);
}

static void test_trace_order_and_temp_names(void **state)
{
	struct fsutil_write_opts o = {0640, 0, (uid_t)-1, (gid_t)-1};
	struct trace_rec r = {0};
	char want[512];
	struct errbuf e;

	(void)state;
	assert_int_equal(mkdir("d", 0755), 0);
	fsutil_set_trace(recorder, &r);
	assert_int_equal(fsutil_write_file("d/cal.json", "x", 1, &o, &e), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.ops[0], FSUTIL_OP_FSYNC_FILE);
	snprintf(want, sizeof(want), "d/cal.json.tmp.%ld", (long)getpid());
	assert_string_equal(r.paths[0], want);
	assert_int_equal(r.ops[1], FSUTIL_OP_RENAME);
	assert_string_equal(r.paths[1], "d/cal.json");
	assert_int_equal(r.ops[2], FSUTIL_OP_FSYNC_DIR);
	assert_string_equal(r.paths[2], "d");

	memset(&r, 0, sizeof(r));
	o.flags = FSUTIL_W_HIDDEN_TEMP;
	assert_int_equal(fsutil_write_file("d/runtime.env", "A=1\n", 4, &o, &e), 0);
	snprintf(want, sizeof(want), "d/.runtime.env.tmp.%ld", (long)getpid());
	assert_string_equal(r.paths[0], want);

	memset(&r, 0, sizeof(r));
	assert_int_equal(fsutil_write_file("bare", "A=1\n", 4, &o, &e), 0);
	snprintf(want, sizeof(want), ".bare.tmp.%ld", (long)getpid());
	assert_string_equal(r.paths[0], want);
	assert_string_equal(r.paths[2], ".");
	fsutil_set_trace(NULL, NULL);
	assert_int_equal(count_temps("d"), 0);
}

/* A write that fails (file size limit: EFBIG, like ENOSPC) leaves no temp
 * file, keeps the target, and reports "write <temp>: reason". */
static void test_write_failure_removes_temp(void **state)
{
	struct fsutil_write_opts o = {0640, 0, (uid_t)-1, (gid_t)-1};
	struct rlimit saved, small;
	char big[4096], want[512];
	struct errbuf e;

	(void)state;
	put("t.json", "old");
	memset(big, 'x', sizeof(big));
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	small = saved;
	small.rlim_cur = 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	errno = 0;
	assert_int_equal(fsutil_write_file("t.json", big, sizeof(big), &o, &e), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	snprintf(want, sizeof(want), "write t.json.tmp.%ld: %s", (long)getpid(), strerror(EFBIG));
	assert_string_equal(e.msg, want);
	assert_string_equal(slurp("t.json"), "old");
	assert_int_equal(count_temps("."), 0);
}

/* rename fails (the target is a directory): temp removed, errno kept. */
static void test_rename_failure_removes_temp(void **state)
{
	struct errbuf e;

	(void)state;
	assert_int_equal(mkdir("isdir", 0755), 0);
	assert_int_equal(fsutil_write_file("isdir", "x", 1, NULL, &e), -1);
	assert_true(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
	assert_non_null(strstr(e.msg, "rename "));
	assert_int_equal(count_temps("."), 0);
	/* missing directory: open fails, nothing created */
	assert_int_equal(fsutil_write_file("nodir/x", "x", 1, NULL, &e), -1);
	assert_int_equal(errno, ENOENT);
}

/* A read-only directory (for a non-root writer): nothing is left behind. */
static void test_read_only_dir(void **state)
{
	struct errbuf e;
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(mkdir("ro", 0555), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc;

		/* enter first (the runner's temp dir is 0700), then as root drop to
		 * nobody so the directory permission applies */
		if (chdir("ro") < 0)
			_exit(3);
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		rc = fsutil_write_file("f", "x", 1, NULL, &e);
		_exit(rc == -1 && errno == EACCES && strstr(e.msg, "open .f.tmp.") == NULL &&
				      strstr(e.msg, "open f.tmp.") != NULL
			      ? 0
			      : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(count_temps("ro"), 0);
	assert_int_equal(access("ro/f", F_OK), -1);
}

/* rate-controller n09: an existing symlink at the temp name is an error and
 * the target is untouched; a stale regular temp file is replaced. */
static void test_existing_temp(void **state)
{
	struct errbuf e;
	char temp[256];

	(void)state;
	put("s.json", "orig");
	put("victim", "victim");
	snprintf(temp, sizeof(temp), "s.json.tmp.%ld", (long)getpid());
	assert_int_equal(symlink("victim", temp), 0);
	assert_int_equal(fsutil_write_file("s.json", "new", 3, NULL, &e), -1);
	assert_int_equal(errno, EEXIST);
	assert_string_equal(slurp("s.json"), "orig");
	assert_string_equal(slurp("victim"), "victim");
	assert_int_equal(unlink(temp), 0);

	put(temp, "stale");
	assert_int_equal(fsutil_write_file("s.json", "new", 3, NULL, &e), 0);
	assert_string_equal(slurp("s.json"), "new");
	assert_int_equal(count_temps("."), 0);
}

static void test_preserve_owner_and_mode(void **state)
{
	struct fsutil_write_opts o = {0640, FSUTIL_W_PRESERVE, (uid_t)-1, (gid_t)-1};
	struct errbuf e;
	struct stat st;

	(void)state;
	put("p.env", "A=1\n");
	assert_int_equal(chmod("p.env", 0604), 0);
	if (geteuid() != 0) {
		/* own file: mode kept */
		assert_int_equal(fsutil_write_file("p.env", "A=2\n", 4, &o, &e), 0);
		assert_int_equal(mode_of("p.env"), 0604);
		skip();
	}
	assert_int_equal(chown("p.env", 1234, 5678), 0);
	assert_int_equal(fsutil_write_file("p.env", "A=2\n", 4, &o, &e), 0);
	assert_int_equal(stat("p.env", &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 5678);
	assert_int_equal(st.st_mode & 07777, 0604);
	assert_string_equal(slurp("p.env"), "A=2\n");

	/* a new file with FSUTIL_W_OWNER */
	o.flags = FSUTIL_W_PRESERVE | FSUTIL_W_OWNER;
	o.uid = 0;
	o.gid = 4321;
	assert_int_equal(fsutil_write_file("new.env", "B=1\n", 4, &o, &e), 0);
	assert_int_equal(stat("new.env", &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 4321);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* the existing file wins over FSUTIL_W_OWNER */
	assert_int_equal(fsutil_write_file("p.env", "A=3\n", 4, &o, &e), 0);
	assert_int_equal(stat("p.env", &st), 0);
	assert_int_equal(st.st_uid, 1234);
}

/* Owner not preservable (no CAP_CHOWN, as for a non-root caller): EPERM, the
 * file is untouched and no temp file is left. */
static void test_preserve_owner_fails(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	put("q.env", "A=1\n");
	assert_int_equal(chown("q.env", 1234, 5678), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fsutil_write_opts o = {0640, FSUTIL_W_PRESERVE, (uid_t)-1, (gid_t)-1};
		struct errbuf e;

		if (drop_cap_chown() < 0)
			_exit(3);
		if (fsutil_write_file("q.env", "A=2\n", 4, &o, &e) == 0)
			_exit(1);
		if (errno != EPERM || strstr(e.msg, "cannot preserve owner 1234:5678") == NULL)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(slurp("q.env"), "A=1\n");
	assert_int_equal(count_temps("."), 0);
}

static void test_follow_symlink(void **state)
{
	struct fsutil_write_opts o = {0640,
				      FSUTIL_W_FOLLOW | FSUTIL_W_HIDDEN_TEMP | FSUTIL_W_PRESERVE,
				      (uid_t)-1, (gid_t)-1};
	struct trace_rec r = {0};
	char want[512], lnk[256];
	struct errbuf e;
	ssize_t n;

	(void)state;
	assert_int_equal(mkdir("real", 0755), 0);
	assert_int_equal(mkdir("etc", 0755), 0);
	put("real/runtime.env", "A=1\n");
	assert_int_equal(chmod("real/runtime.env", 0600), 0);
	/* etc/runtime.env -> link2 -> ../real/runtime.env (relative chain) */
	assert_int_equal(symlink("../real/runtime.env", "etc/link2"), 0);
	assert_int_equal(symlink("link2", "etc/runtime.env"), 0);
	fsutil_set_trace(recorder, &r);
	assert_int_equal(fsutil_write_file("etc/runtime.env", "A=2\n", 4, &o, &e), 0);
	fsutil_set_trace(NULL, NULL);
	snprintf(want, sizeof(want), "etc/../real/.runtime.env.tmp.%ld", (long)getpid());
	assert_string_equal(r.paths[0], want);
	assert_string_equal(r.paths[1], "etc/../real/runtime.env");
	assert_string_equal(slurp("real/runtime.env"), "A=2\n");
	assert_int_equal(mode_of("real/runtime.env"), 0600);
	n = readlink("etc/runtime.env", lnk, sizeof(lnk) - 1);
	assert_int_equal(n, 5);
	lnk[n] = '\0';
	assert_string_equal(lnk, "link2");
	assert_int_equal(count_temps("etc") + count_temps("real"), 0);

	/* dangling link: the file it names is created */
	assert_int_equal(symlink("real/created.env", "dangling"), 0);
	assert_int_equal(fsutil_write_file("dangling", "B=1\n", 4, &o, &e), 0);
	assert_string_equal(slurp("real/created.env"), "B=1\n");
	assert_int_equal(mode_of("real/created.env"), 0640);

	/* a loop is an error */
	assert_int_equal(symlink("loop2", "loop1"), 0);
	assert_int_equal(symlink("loop1", "loop2"), 0);
	assert_int_equal(fsutil_write_file("loop1", "x", 1, &o, &e), -1);
	assert_int_equal(errno, ELOOP);

	/* without FOLLOW the link itself is replaced by a file */
	o.flags = 0;
	assert_int_equal(symlink("real/runtime.env", "plain"), 0);
	assert_int_equal(fsutil_write_file("plain", "C=1\n", 4, &o, &e), 0);
	assert_true(S_ISREG(0100000 | mode_of("plain")));
	{
		struct stat st;

		assert_int_equal(lstat("plain", &st), 0);
		assert_true(S_ISREG(st.st_mode));
	}
	assert_string_equal(slurp("real/runtime.env"), "A=2\n");
}

static void test_atomic_stream(void **state)
{
	struct fsutil_atomic *a;
	struct errbuf e;
	char temp[256];

	(void)state;
	a = fsutil_atomic_begin("stream.bin", NULL, &e);
	assert_non_null(a);
	snprintf(temp, sizeof(temp), "stream.bin.tmp.%ld", (long)getpid());
	assert_string_equal(fsutil_atomic_temp_path(a), temp);
	assert_string_equal(fsutil_atomic_target_path(a), "stream.bin");
	assert_true(fsutil_atomic_fd(a) >= 0);
	assert_int_equal(fsutil_atomic_write(a, "ab", 2, &e), 0);
	assert_int_equal(fsutil_atomic_write(a, "\0c", 2, &e), 0);
	assert_int_equal(access(temp, F_OK), 0);
	assert_int_equal(access("stream.bin", F_OK), -1);
	assert_int_equal(fsutil_atomic_commit(a, &e), 0);
	{
		char *d;
		size_t n;

		assert_int_equal(fsutil_read_file("stream.bin", 100, 0, &d, &n, &e), 0);
		assert_int_equal(n, 4);
		assert_memory_equal(d, "ab\0c", 4);
		free(d);
	}
	a = fsutil_atomic_begin("stream.bin", NULL, &e);
	assert_non_null(a);
	assert_int_equal(fsutil_atomic_write(a, "zz", 2, &e), 0);
	fsutil_atomic_abort(a);
	fsutil_atomic_abort(NULL);
	assert_int_equal(count_temps("."), 0);
	assert_int_equal(access("stream.bin", F_OK), 0);
}

/* ---- bounded read ------------------------------------------------------------ */

static void test_read_file(void **state)
{
	struct errbuf e;
	char *d;
	size_t n;

	(void)state;
	put("ten", "0123456789");
	assert_int_equal(fsutil_read_file("ten", 10, 0, &d, &n, &e), 0); /* max */
	assert_int_equal(n, 10);
	assert_string_equal(d, "0123456789");
	free(d);
	assert_int_equal(fsutil_read_file("ten", 9, 0, &d, &n, &e), -1); /* max + 1 */
	assert_int_equal(errno, EFBIG);
	assert_string_equal(e.msg, "read ten: file is larger than 9 bytes");
	assert_null(d);

	put("empty", "");
	assert_int_equal(fsutil_read_file("empty", 0, 0, &d, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_string_equal(d, "");
	free(d);

	assert_int_equal(fsutil_read_file("missing", 10, 0, &d, &n, &e), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(e.msg, "open missing: No such file or directory");

	assert_int_equal(mkdir("adir", 0755), 0);
	assert_int_equal(fsutil_read_file("adir", 10, 0, &d, &n, &e), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(e.msg, "open adir: not a regular file");
	/* a FIFO is refused without blocking in open() */
	assert_int_equal(mkfifo("fifo", 0600), 0);
	assert_int_equal(fsutil_read_file("fifo", 10, 0, &d, &n, &e), -1);
	assert_int_equal(errno, EINVAL);

	assert_int_equal(symlink("ten", "lnk"), 0);
	assert_int_equal(fsutil_read_file("lnk", 10, 0, &d, &n, &e), 0);
	free(d);
	assert_int_equal(fsutil_read_file("lnk", 10, FSUTIL_R_NOFOLLOW, &d, &n, &e), -1);
	assert_int_equal(errno, ELOOP);

	/* /proc files report size 0 but have content: read to EOF, bounded */
	assert_int_equal(fsutil_read_file("/proc/self/status", 1 << 20, 0, &d, &n, &e), 0);
	assert_true(n > 0);
	assert_non_null(strstr(d, "Name:"));
	free(d);
	assert_int_equal(fsutil_read_file("/proc/self/status", 10, 0, &d, &n, &e), -1);
	assert_int_equal(errno, EFBIG);
}

/* ---- locks ------------------------------------------------------------------- */

/* A child takes the lock and holds it until the parent closes `release`. */
static pid_t hold_lock(const char *path, int *release_fd)
{
	int ready[2], rel[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(rel), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		close(ready[0]);
		close(rel[1]);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		(void)read(rel[0], &c, 1); /* EOF when the parent lets go */
		_exit(0);
	}
	close(ready[1]);
	close(rel[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*release_fd = rel[1];
	return pid;
}

static void test_lock_timeout_and_release(void **state)
{
	struct errbuf e;
	int rel, fd, st;
	pid_t pid;
	mode_t old;

	(void)state;
	old = umask(0);
	pid = hold_lock("x.lock", &rel);
	assert_int_equal(fsutil_lock("x.lock", 0600, 0, &fd, &e), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(fd, -1);
	assert_int_equal(fsutil_lock("x.lock", 0600, 120, &fd, &e), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_string_equal(e.msg, "lock x.lock: timed out after 120 ms");
	close(rel);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(fsutil_lock("x.lock", 0600, 1000, &fd, &e), 0);
	assert_true(fd >= 0);
	fsutil_unlock(fd);
	fsutil_unlock(-1);
	assert_int_equal(access("x.lock", F_OK), 0); /* never deleted */

	/* created with the requested mode whatever the umask */
	assert_int_equal(fsutil_lock("new.lock", 0640, 0, &fd, &e), 0);
	assert_int_equal(mode_of("new.lock"), 0640);
	fsutil_unlock(fd);
	umask(077);
	assert_int_equal(fsutil_lock("new2.lock", 0600, 0, &fd, &e), 0);
	assert_int_equal(mode_of("new2.lock"), 0600);
	fsutil_unlock(fd);
	umask(old);
}

/* The lock is acquired as soon as the holder lets go (within the wait). */
static void test_lock_acquired_after_wait(void **state)
{
	struct errbuf e;
	int rel, fd, st;
	pid_t pid, releaser;

	(void)state;
	pid = hold_lock("w.lock", &rel);
	releaser = fork();
	assert_true(releaser >= 0);
	if (releaser == 0) {
		usleep(100 * 1000);
		close(rel); /* the child's copy: holder sees EOF when both close */
		_exit(0);
	}
	close(rel);
	assert_int_equal(fsutil_lock("w.lock", 0600, 30000, &fd, &e), 0);
	fsutil_unlock(fd);
	waitpid(releaser, &st, 0);
	waitpid(pid, &st, 0);
}

static void test_lock_errors(void **state)
{
	struct errbuf e;
	int fd;

	(void)state;
	assert_int_equal(symlink("elsewhere", "sym.lock"), 0);
	assert_int_equal(fsutil_lock("sym.lock", 0600, 0, &fd, &e), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(access("elsewhere", F_OK), -1);
	assert_int_equal(fsutil_lock("nodir/x.lock", 0600, 0, &fd, &e), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(e.msg, "open nodir/x.lock: No such file or directory");
}

/* ---- directories and symlinks ----------------------------------------------- */

static void test_mkdir_p(void **state)
{
	struct errbuf e;
	mode_t old;

	(void)state;
	old = umask(077);
	assert_int_equal(fsutil_mkdir_p("m/a/b/c", 0750, &e), 0);
	assert_int_equal(mode_of("m"), 0750);
	assert_int_equal(mode_of("m/a/b/c"), 0750);
	assert_int_equal(chmod("m/a", 0700), 0);
	assert_int_equal(fsutil_mkdir_p("m/a/b/c/", 0755, &e), 0); /* exists: left alone */
	assert_int_equal(mode_of("m/a"), 0700);
	assert_int_equal(fsutil_mkdir_p("m//a//d", 0755, &e), 0);
	assert_int_equal(mode_of("m/a/d"), 0755);
	put("m/file", "x");
	assert_int_equal(fsutil_mkdir_p("m/file/sub", 0755, &e), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(fsutil_mkdir_p("", 0755, &e), -1);
	umask(old);
	{
		char abs[4096];

		assert_non_null(getcwd(abs, sizeof(abs) - 10));
		memcpy(abs + strlen(abs), "/abs/x", 7);
		assert_int_equal(fsutil_mkdir_p(abs, 0700, &e), 0);
		assert_int_equal(mode_of("abs/x"), 0700);
	}
}

static void test_symlink_replace(void **state)
{
	char lnk[256];
	struct errbuf e;
	ssize_t n;

	(void)state;
	assert_int_equal(fsutil_symlink_replace("releases/aaa", "current", &e), 0);
	n = readlink("current", lnk, sizeof(lnk) - 1);
	assert_true(n > 0);
	lnk[n] = '\0';
	assert_string_equal(lnk, "releases/aaa");
	assert_int_equal(fsutil_symlink_replace("releases/bbb", "current", &e), 0);
	n = readlink("current", lnk, sizeof(lnk) - 1);
	lnk[n] = '\0';
	assert_string_equal(lnk, "releases/bbb");
	/* over a regular file */
	put("cur2", "x");
	assert_int_equal(fsutil_symlink_replace("/abs/target", "cur2", &e), 0);
	n = readlink("cur2", lnk, sizeof(lnk) - 1);
	lnk[n] = '\0';
	assert_string_equal(lnk, "/abs/target");
	/* over a directory: refused, no temp left */
	assert_int_equal(mkdir("dir", 0755), 0);
	assert_int_equal(mkdir("dir/sub", 0755), 0);
	assert_int_equal(fsutil_symlink_replace("x", "dir/sub", &e), -1);
	assert_int_equal(count_temps("."), 0);
	assert_int_equal(count_temps("dir"), 0);
	/* a stale temp symlink is replaced */
	snprintf(lnk, sizeof(lnk), ".current.tmp.%ld", (long)getpid());
	assert_int_equal(symlink("stale", lnk), 0);
	assert_int_equal(fsutil_symlink_replace("releases/ccc", "current", &e), 0);
	assert_int_equal(count_temps("."), 0);
}

static void test_fsync_dir(void **state)
{
	struct errbuf e;

	(void)state;
	assert_int_equal(fsutil_fsync_dir(".", &e), 0);
	assert_int_equal(fsutil_fsync_parent("x/y", &e), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fsutil_fsync_parent("y", &e), 0);
	assert_int_equal(fsutil_fsync_dir("missing", &e), -1);
	assert_string_equal(e.msg, "open missing: No such file or directory");
}

/* each test in its own subdirectory of the runner's temp dir */
static int enter_dir(void **state)
{
	static int n;
	char d[64];

	(void)state;
	snprintf(d, sizeof(d), "case%d", ++n);
	if (mkdir(d, 0755) < 0 || chmod(d, 0755) < 0 || chdir(d) < 0)
		return -1;
	return 0;
}

static int leave_dir(void **state)
{
	(void)state;
	return chdir("..");
}

/* the names fsutil's atomic writes give their temps, and nothing else */
static void test_is_temp_name(void **state)
{
	static const struct {
		const char *name, *base;
		bool hidden, want;
	} cases[] = {
		{".runtime.env.tmp.123", "runtime.env", true, true},
		{".runtime.env.tmp.123", NULL, true, true},
		{".runtime.env.tmp.", NULL, true, false},
		{".runtime.env.tmp.12x", NULL, true, false},
		{".runtime.env.tmp.123", "runtime", true, false},
		{"runtime.env.tmp.123", NULL, true, false}, /* not hidden */
		{"..tmp.1", NULL, true, false},             /* empty base */
		{".agentd.tmp.4242", "agentd", true, true},
		{".agentd-remote-update.tmp.1", "agentd", true, false},
		{"installed.json.tmp.77", "installed.json", false, true},
		{".installed.json.tmp.77", "installed.json", false, false},
		{"current.tmp.5", NULL, false, true},
		{".transaction.json.tmp.5", NULL, false, true},
		{"current", NULL, false, false},
		{"", NULL, false, false},
		{"", NULL, true, false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(fsutil_is_temp_name(cases[i].name, cases[i].base, cases[i].hidden),
				 cases[i].want);
}

#define T(f) cmocka_unit_test_setup_teardown(f, enter_dir, leave_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_write_new_and_replace),
		T(test_trace_order_and_temp_names),
		T(test_write_failure_removes_temp),
		T(test_rename_failure_removes_temp),
		T(test_read_only_dir),
		T(test_existing_temp),
		T(test_preserve_owner_and_mode),
		T(test_preserve_owner_fails),
		T(test_follow_symlink),
		T(test_atomic_stream),
		T(test_read_file),
		T(test_lock_timeout_and_release),
		T(test_lock_acquired_after_wait),
		T(test_lock_errors),
		T(test_mkdir_p),
		T(test_symlink_replace),
		T(test_fsync_dir),
		T(test_is_temp_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
