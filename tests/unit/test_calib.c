/* agent/calib: the calibration store (rate-controller.md §11; cases c10-c15,
 * n08-n10).  The concurrency cases fork real processes. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "calib.h"
#include "fsutil.h"

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_text(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int count_tmp(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void c10_load_returns_empty_when_missing(void **state)
{
	struct calib *c = calib_new("rate-calibration.json", 1000);
	struct calib_map m;
	int64_t r;
	(void)state;
	calib_load(c, &m);
	assert_int_equal(m.count, 0);
	assert_int_equal(m.status, CALIB_MISSING);
	assert_false(calib_lookup(c, "eth0", &r));
	calib_map_free(&m);
	calib_free(c);
}

static void c11_store_round_trip(void **state)
{
	struct calib *c = calib_new("rate-calibration.json", 1000);
	struct calib_write_info info;
	int64_t r;
	(void)state;
	assert_int_equal(calib_store(c, "eth0", 1700000, "2026-04-27T00:00:00Z", &info, NULL), 0);
	assert_true(info.written);
	assert_true(info.locked);
	assert_string_equal(info.updated_at, "2026-04-27T00:00:00Z");
	assert_int_equal(calib_store(c, "eth1", 800000, "2026-04-27T00:01:00Z", &info, NULL), 0);
	assert_true(calib_lookup(c, "eth0", &r));
	assert_int_equal(r, 1700000);
	assert_true(calib_lookup(c, "eth1", &r));
	assert_int_equal(r, 800000);
	assert_string_equal(
		read_text("rate-calibration.json"),
		"{\"interfaces\": {\"eth0\": {\"learned_rate\": 1700000, \"updated_at\": "
		"\"2026-04-27T00:00:00Z\"}, \"eth1\": {\"learned_rate\": 800000, "
		"\"updated_at\": \"2026-04-27T00:01:00Z\"}}, \"version\": 1}");
	/* overwrite semantics: a lower value replaces (§11.4 step 7) */
	assert_int_equal(calib_store(c, "eth0", 900000, "2026-04-28T00:00:00Z", &info, NULL), 0);
	assert_true(calib_lookup(c, "eth0", &r));
	assert_int_equal(r, 900000);
	/* the default timestamp has the UTC shape */
	assert_int_equal(calib_store(c, "eth2", 5, NULL, &info, NULL), 0);
	assert_int_equal(strlen(info.updated_at), 20);
	assert_int_equal(info.updated_at[10], 'T');
	assert_int_equal(info.updated_at[19], 'Z');
	assert_int_equal(count_tmp(".", "rate-calibration.json.tmp"), 0);
	calib_free(c);
}

static void c12_corrupt_file_treated_as_empty(void **state)
{
	struct calib *c = calib_new("rate-calibration.json", 1000);
	struct calib_write_info info;
	struct calib_map m;
	(void)state;
	write_text("rate-calibration.json", "not json{}");
	calib_load(c, &m);
	assert_int_equal(m.count, 0);
	assert_int_equal(m.status, CALIB_INVALID);
	calib_map_free(&m);
	/* the next store overwrites it with only the new entry */
	assert_int_equal(calib_store(c, "eth0", 42, "t", &info, NULL), 0);
	assert_string_equal(read_text("rate-calibration.json"),
			    "{\"interfaces\": {\"eth0\": {\"learned_rate\": 42, \"updated_at\": "
			    "\"t\"}}, \"version\": 1}");
	calib_free(c);
}

static void c13_zero_or_negative_rates_skipped(void **state)
{
	struct calib *c = calib_new("sub/dir/rate-calibration.json", 1000);
	struct calib_write_info info;
	struct stat st;
	(void)state;
	assert_int_equal(calib_store(c, "eth0", 0, NULL, &info, NULL), 0);
	assert_false(info.written);
	assert_int_equal(calib_store(c, "eth0", -100, NULL, &info, NULL), 0);
	assert_false(info.written);
	assert_int_equal(stat("sub", &st), -1); /* no directory, file, lock or temp */
	calib_free(c);
}

/* Fork n writers that wait on a pipe, release them together, join with a
 * 10 s bound; returns the number that exited 0. */
static int run_writers(int n, int64_t base, int64_t step)
{
	int gate[2];
	pid_t pids[64];
	int ok = 0, i;
	struct timespec t0, now;

	assert_true(n <= 64);
	assert_int_equal(pipe(gate), 0);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char b, iface[16];
			struct calib *c;
			struct calib_write_info info;
			close(gate[1]);
			if (read(gate[0], &b, 1) < 0)
				_exit(3);
			snprintf(iface, sizeof(iface), "eth%d", i);
			c = calib_new("rate-calibration.json", 10000);
			if (c == NULL ||
			    calib_store(c, iface, base + i * step, "2026-04-27T12:00:00Z", &info,
					NULL) != 0 ||
			    !info.written)
				_exit(1);
			_exit(0);
		}
		pids[i] = pid;
	}
	close(gate[0]);
	close(gate[1]); /* EOF releases every writer at once */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n;) {
		int status;
		pid_t p = waitpid(pids[i], &status, WNOHANG);
		if (p == pids[i]) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				ok++;
			i++;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 10) {
			for (; i < n; i++) {
				kill(pids[i], SIGKILL);
				waitpid(pids[i], &status, 0);
			}
			break;
		}
		usleep(10000);
	}
	return ok;
}

static void check_entries(int n, int64_t base, int64_t step)
{
	struct calib *c = calib_new("rate-calibration.json", 1000);
	struct calib_map m;
	int i;

	calib_load(c, &m);
	assert_int_equal(m.status, CALIB_OK);
	assert_int_equal(m.count, (size_t)n);
	for (i = 0; i < n; i++) {
		char iface[16];
		const struct calib_entry *e;
		snprintf(iface, sizeof(iface), "eth%d", i);
		e = calib_map_find(&m, iface);
		assert_non_null(e);
		assert_int_equal(e->learned_rate, base + i * step);
		assert_string_equal(e->updated_at, "2026-04-27T12:00:00Z");
	}
	calib_map_free(&m);
	calib_free(c);
}

static void c14_concurrent_writes_from_multiple_processes_all_persist(void **state)
{
	(void)state;
	assert_int_equal(run_writers(6, 1000000, 100000), 6);
	check_entries(6, 1000000, 100000);
}

static void c15_concurrent_writes_leave_no_dangling_tmp_files(void **state)
{
	(void)state;
	assert_int_equal(run_writers(8, 500000, 100000), 8);
	assert_int_equal(count_tmp(".", "rate-calibration.json.tmp"), 0);
	check_entries(8, 500000, 100000);
}

static void c15_stress_32_writers(void **state)
{
	(void)state;
	assert_int_equal(run_writers(32, 100, 1), 32);
	assert_int_equal(count_tmp(".", "rate-calibration.json.tmp"), 0);
	check_entries(32, 100, 1);
}

struct parse_case {
	const char *text;
	enum calib_status status;
	size_t count;
	size_t dropped;
};

static void n08_only_json_integers_are_rates(void **state)
{
	static const struct parse_case cases[] = {
		{"{\"interfaces\": {\"a\": {\"learned_rate\": true}, \"b\": {\"learned_rate\": "
		 "1.0}, "
		 "\"c\": {\"learned_rate\": 1e6}, \"d\": {\"learned_rate\": \"5\"}, \"e\": "
		 "{\"learned_rate\": 0}, \"f\": {\"learned_rate\": 7, \"updated_at\": \"x\"}, "
		 "\"g\": "
		 "{\"learned_rate\": 9223372036854775808}, \"h\": {\"learned_rate\": -3}}, "
		 "\"version\": 1}",
		 CALIB_OK, 1, 7},
		{"{\"interfaces\": {\"a\": 5, \"b\": [], \"c\": {\"learned_rate\": 9, "
		 "\"updated_at\": 3}, \"d\": {\"learned_rate\": 9, \"updated_at\": null}, \"e\": "
		 "{\"learned_rate\": 9}}}",
		 CALIB_OK, 1, 4},
		{"{\"interfaces\": {}}", CALIB_OK, 0, 0},
		{"{\"interfaces\": []}", CALIB_INVALID, 0, 0},
		{"{\"version\": 1}", CALIB_INVALID, 0, 0},
		{"[1]", CALIB_INVALID, 0, 0},
		{"", CALIB_INVALID, 0, 0},
		{"{\"interfaces\": {\"a\": {\"learned_rate\": 1}}", CALIB_INVALID, 0,
		 0}, /* truncated */
		{"{\"interfaces\": {\"a\": {\"learned_rate\": NaN}}}", CALIB_INVALID, 0, 0},
		{"{\"interfaces\": {\"a\": {\"learned_rate\": 1}, \"a\": {\"learned_rate\": 2}}}",
		 CALIB_OK, 1, 0}, /* last wins */
		{"{\"interfaces\": {\"a\\u0000b\": {\"learned_rate\": 1}}}", CALIB_OK, 0, 1},
		{"{\"interfaces\": {\"e\\u00e9\": {\"learned_rate\": 1}}, \"extra\": 1}", CALIB_OK,
		 1, 0},
		{"{\"interfaces\": {\"a\": {\"learned_rate\": 1}}} x", CALIB_INVALID, 0, 0},
		{"\xef\xbb\xbf{\"interfaces\": {}}", CALIB_INVALID, 0, 0}, /* BOM */
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct calib_map m;
		assert_int_equal(calib_parse(cases[i].text, strlen(cases[i].text), &m), 0);
		if (m.status != cases[i].status || m.count != cases[i].count ||
		    m.dropped != cases[i].dropped)
			fail_msg("case %zu: status %d count %zu dropped %zu", i, m.status, m.count,
				 m.dropped);
		calib_map_free(&m);
	}
	{
		struct calib_map m;
		const char *t = "{\"interfaces\": {\"a\": {\"learned_rate\": 1}, \"a\": "
				"{\"learned_rate\": 2}}}";
		calib_parse(t, strlen(t), &m);
		assert_int_equal(calib_map_find(&m, "a")->learned_rate, 2);
		calib_map_free(&m);
		t = "{\"interfaces\": {\"f\": {\"learned_rate\": 7}}}";
		calib_parse(t, strlen(t), &m);
		assert_string_equal(calib_map_find(&m, "f")->updated_at, "");
		calib_map_free(&m);
	}
}

static void unknown_keys_dropped_on_rewrite(void **state)
{
	struct calib *c = calib_new("rate-calibration.json", 1000);
	struct calib_write_info info;
	(void)state;
	write_text("rate-calibration.json",
		   "{\"version\": 7, \"x\": 1, \"interfaces\": {\"eth1\": {\"learned_rate\": 5, "
		   "\"note\": \"n\", \"updated_at\": \"u\"}, \"bad\": {\"learned_rate\": true}}}");
	assert_int_equal(calib_store(c, "eth0", 3, "t", &info, NULL), 0);
	assert_string_equal(read_text("rate-calibration.json"),
			    "{\"interfaces\": {\"eth0\": {\"learned_rate\": 3, \"updated_at\": "
			    "\"t\"}, \"eth1\": {\"learned_rate\": 5, \"updated_at\": \"u\"}}, "
			    "\"version\": 1}");
	calib_free(c);
}

static void load_status_unreadable(void **state)
{
	struct calib *c;
	struct calib_map m;
	FILE *f;
	(void)state;
	/* a directory at the path */
	assert_int_equal(mkdir("d.json", 0700), 0);
	c = calib_new("d.json", 1000);
	calib_load(c, &m);
	assert_int_equal(m.status, CALIB_UNREADABLE);
	calib_free(c);
	/* larger than 1 MiB */
	f = fopen("big.json", "w");
	assert_non_null(f);
	fputs("{\"interfaces\": {}, \"pad\": \"", f);
	for (int i = 0; i < 1024 * 1024; i++)
		fputc('x', f);
	fputs("\"}", f);
	fclose(f);
	c = calib_new("big.json", 1000);
	calib_load(c, &m);
	assert_int_equal(m.status, CALIB_UNREADABLE);
	assert_int_equal(m.count, 0);
	calib_free(c);
}

struct trace {
	int ops[16];
	int n;
};

static void trace_fn(void *ctx, enum fsutil_op op, const char *path)
{
	struct trace *t = ctx;
	(void)path;
	if (t->n < 16)
		t->ops[t->n++] = (int)op;
}

static void n09_modes_fsync_and_symlinked_temp(void **state)
{
	struct calib *c = calib_new("a/b/rate-calibration.json", 1000);
	struct calib_write_info info;
	struct errbuf e;
	struct trace t = {{0}, 0};
	struct stat st;
	char tmp[256];
	mode_t old;
	(void)state;

	old = umask(0);
	fsutil_set_trace(trace_fn, &t);
	assert_int_equal(calib_store(c, "eth0", 10, "t", &info, NULL), 0);
	fsutil_set_trace(NULL, NULL);
	umask(old);
	assert_int_equal(stat("a/b/rate-calibration.json", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(stat("a/b/rate-calibration.json.lock", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(stat("a", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(stat("a/b", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.ops[0], FSUTIL_OP_FSYNC_FILE);
	assert_int_equal(t.ops[1], FSUTIL_OP_RENAME);
	assert_int_equal(t.ops[2], FSUTIL_OP_FSYNC_DIR);

	old = umask(077);
	assert_int_equal(calib_store(c, "eth1", 11, "t", &info, NULL), 0);
	umask(old);
	assert_int_equal(stat("a/b/rate-calibration.json", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	calib_free(c);

	/* a symlink at <path>.tmp.<pid>: error, target untouched */
	write_text("target", "keep");
	write_text("rate-calibration.json", "{\"interfaces\": {}, \"version\": 1}");
	snprintf(tmp, sizeof(tmp), "rate-calibration.json.tmp.%ld", (long)getpid());
	assert_int_equal(symlink("target", tmp), 0);
	c = calib_new("rate-calibration.json", 1000);
	err_clear(&e);
	assert_int_equal(calib_store(c, "eth0", 10, "t", &info, &e), -1);
	assert_false(info.written);
	assert_non_null(strstr(e.msg, tmp));
	assert_string_equal(read_text("target"), "keep");
	assert_string_equal(read_text("rate-calibration.json"),
			    "{\"interfaces\": {}, \"version\": 1}");
	unlink(tmp);
	calib_free(c);
}

static void n10_bounded_lock_wait(void **state)
{
	struct calib *c = calib_new("rate-calibration.json", 200);
	struct calib_write_info info;
	int64_t r;
	int fd;
	(void)state;
	/* another open file description holds the flock */
	fd = open("rate-calibration.json.lock", O_CREAT | O_WRONLY | O_CLOEXEC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(calib_store(c, "eth0", 123, "t", &info, NULL), 0);
	assert_false(info.locked);
	assert_true(info.written);
	assert_true(info.waited_ms >= 200);
	assert_true(info.waited_ms < 2000);
	assert_true(calib_lookup(c, "eth0", &r));
	assert_int_equal(r, 123);
	close(fd);
	calib_free(c);
}

static void write_error_text(void **state)
{
	struct calib *c;
	struct calib_write_info info;
	struct errbuf e;
	(void)state;
	if (geteuid() == 0) {
		/* root ignores directory permissions: use a file as the parent */
		write_text("notadir", "x");
		c = calib_new("notadir/rate-calibration.json", 100);
	} else {
		assert_int_equal(mkdir("ro", 0500), 0);
		c = calib_new("ro/rate-calibration.json", 100);
	}
	err_clear(&e);
	assert_int_equal(calib_store(c, "eth0", 1, "t", &info, &e), -1);
	assert_false(info.written);
	assert_true(strlen(e.msg) > 0);
	calib_free(c);
}

static void clear_entries(void **state)
{
	struct calib *c = calib_new("rate-calibration.json", 1000);
	struct calib_write_info info;
	struct calib_map removed, m;
	(void)state;
	assert_int_equal(calib_store(c, "eth1", 2, "t", &info, NULL), 0);
	assert_int_equal(calib_store(c, "eth0", 1, "t", &info, NULL), 0);
	assert_int_equal(calib_store(c, "eth2", 3, "t", &info, NULL), 0);
	assert_int_equal(calib_clear(c, "eth1", &removed, &info, NULL), 0);
	assert_int_equal(removed.count, 1);
	assert_string_equal(removed.entries[0].iface, "eth1");
	calib_map_free(&removed);
	assert_int_equal(calib_clear(c, "nope", &removed, &info, NULL), 0);
	assert_int_equal(removed.count, 0);
	calib_map_free(&removed);
	assert_int_equal(calib_clear(c, NULL, &removed, &info, NULL), 0);
	assert_int_equal(removed.count, 2);
	assert_string_equal(removed.entries[0].iface, "eth0");
	assert_string_equal(removed.entries[1].iface, "eth2");
	calib_map_free(&removed);
	calib_load(c, &m);
	assert_int_equal(m.status, CALIB_OK);
	assert_int_equal(m.count, 0);
	calib_map_free(&m);
	assert_string_equal(read_text("rate-calibration.json"),
			    "{\"interfaces\": {}, \"version\": 1}");
	calib_free(c);
}

/* Each test runs in its own fresh subdirectory of the runner's temp dir. */
static char base_dir[4096];

static int enter_fresh_dir(void **state)
{
	char tmpl[] = "t.XXXXXX";
	(void)state;
	if (getcwd(base_dir, sizeof(base_dir)) == NULL || mkdtemp(tmpl) == NULL || chdir(tmpl) != 0)
		return -1;
	return 0;
}

static int leave_dir(void **state)
{
	(void)state;
	return chdir(base_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(c10_load_returns_empty_when_missing,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(c11_store_round_trip, enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(c12_corrupt_file_treated_as_empty, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(c13_zero_or_negative_rates_skipped, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(
			c14_concurrent_writes_from_multiple_processes_all_persist, enter_fresh_dir,
			leave_dir),
		cmocka_unit_test_setup_teardown(c15_concurrent_writes_leave_no_dangling_tmp_files,
						enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(c15_stress_32_writers, enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(n08_only_json_integers_are_rates, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(unknown_keys_dropped_on_rewrite, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(load_status_unreadable, enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(n09_modes_fsync_and_symlinked_temp, enter_fresh_dir,
						leave_dir),
		cmocka_unit_test_setup_teardown(n10_bounded_lock_wait, enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(write_error_text, enter_fresh_dir, leave_dir),
		cmocka_unit_test_setup_teardown(clear_entries, enter_fresh_dir, leave_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
