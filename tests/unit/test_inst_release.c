/* installer/release: current switch and bin links (§7.2), GC (§13.9),
 * re-check (§16.2), leftovers (§14.3 step 1) -- under a temporary root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>

#include "release.h"
#include "test_inst_fixture.h"

static void path_of(char *out, size_t size, const struct layout *l, const char *rel)
{
	int n = snprintf(out, size, "%s/%s", layout_root(l), rel);
	assert_true(n > 0 && (size_t)n < size);
}

static void assert_link(const struct layout *l, const char *rel, const char *want)
{
	char p[PATH_MAX], have[PATH_MAX];
	ssize_t n;
	path_of(p, sizeof(p), l, rel);
	n = readlink(p, have, sizeof(have) - 1);
	if (n < 0)
		fail_msg("readlink %s: %s", p, strerror(errno));
	have[n] = '\0';
	assert_string_equal(have, want);
}

static bool exists(const struct layout *l, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	path_of(p, sizeof(p), l, rel);
	return lstat(p, &st) == 0;
}

static void test_switch_and_links(void **state)
{
	struct layout *l = fx_layout("sw");
	struct errbuf e = {{0}};
	char a[13], b[13], cur[13], rel[64], p[PATH_MAX];
	bool present = true;
	static const struct fx_file with_scanner[] = {
		{"bin/agent-install", 0755, "x"},
		{"bin/agentd", 0755, "y"},
		{"bin/scanner", 0755, "s"},
		{NULL, 0, NULL},
	};
	(void)state;
	assert_non_null(l);
	assert_int_equal(fx_release(l, "1.3.2", with_scanner, a, NULL), 0);
	assert_int_equal(fx_release(l, "1.4.0", NULL, b, NULL), 0);
	assert_int_equal(release_current(l, cur, &present, &e), 0);
	assert_false(present);
	/* a regular file left by the previous implementation */
	path_of(p, sizeof(p), l, "opt/agentd/bin/agentd");
	assert_int_equal(fx_write(p, "old binary", 0755), 0);

	assert_int_equal(release_switch(l, a, &e), 0);
	assert_int_equal(release_current(l, cur, &present, &e), 0);
	assert_true(present);
	assert_string_equal(cur, a);
	assert_int_equal(snprintf(rel, sizeof(rel), "releases/%s", a), 21);
	assert_link(l, "opt/agentd/current", rel);
	if (release_fix_links(l, &e) != 0)
		fail_msg("%s", e.msg);
	assert_link(l, "opt/agentd/bin/agentd", "../current/bin/agentd");
	assert_link(l, "opt/agentd/bin/scanner", "../current/bin/scanner");
	assert_false(exists(l, "opt/agentd/bin/tune-scanner-host.sh"));
	/* links resolve to real files */
	{
		char *data;
		size_t len;
		path_of(p, sizeof(p), l, "opt/agentd/bin/scanner");
		assert_int_equal(fsutil_read_file(p, 4096, 0, &data, &len, &e), 0);
		assert_string_equal(data, "s# 1.3.2\n");
		free(data);
	}
	/* switch to a release without a scanner: the scanner link goes */
	assert_int_equal(release_switch(l, b, &e), 0);
	assert_int_equal(release_fix_links(l, &e), 0);
	assert_false(exists(l, "opt/agentd/bin/scanner"));
	assert_link(l, "opt/agentd/bin/tune-scanner-host.sh",
		    "../current/bin/tune-scanner-host.sh");
	assert_link(l, "opt/agentd/bin/agentd", "../current/bin/agentd");
	/* no temp names left behind */
	assert_false(exists(l, "opt/agentd/current.tmp.1"));
	{
		DIR *d;
		struct dirent *de;
		path_of(p, sizeof(p), l, "opt/agentd/bin");
		d = opendir(p);
		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			assert_null(strstr(de->d_name, ".tmp."));
		closedir(d);
	}
	/* idempotent */
	assert_int_equal(release_fix_links(l, &e), 0);
	/* errors */
	assert_int_equal(release_switch(l, "000000000000", &e), -1);
	assert_int_equal(release_switch(l, "../../etc/x", &e), -1);
	assert_int_equal(release_switch(l, "ABCDEF012345", &e), -1);
	/* a current that is not a release link */
	path_of(p, sizeof(p), l, "opt/agentd/current");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("/usr", p), 0);
	assert_int_equal(release_current(l, cur, &present, &e), -1);
	assert_non_null(strstr(e.msg, "not at a release"));
	layout_free(l);
}

static void test_gc_keep(void **state)
{
	static const char hist[][13] = {"aaaaaaaaaaa5", "aaaaaaaaaaa4", "aaaaaaaaaaa3",
					"aaaaaaaaaaa2", "aaaaaaaaaaa1"};
	char out[INSTALLED_HISTORY_MAX + 2][13];
	size_t n;
	(void)state;
	/* current + previous + newest other */
	n = release_gc_keep("aaaaaaaaaaa5", "aaaaaaaaaaa4", hist, 5, 3, out);
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "aaaaaaaaaaa5");
	assert_string_equal(out[1], "aaaaaaaaaaa4");
	assert_string_equal(out[2], "aaaaaaaaaaa3");
	/* after a rollback current is older than previous */
	n = release_gc_keep("aaaaaaaaaaa3", "aaaaaaaaaaa5", hist, 5, 3, out);
	assert_int_equal(n, 3);
	assert_string_equal(out[2], "aaaaaaaaaaa4");
	/* keep 2 minimum still keeps current and previous; keep smaller than that too */
	n = release_gc_keep("aaaaaaaaaaa1", "aaaaaaaaaaa2", hist, 5, 1, out);
	assert_int_equal(n, 2);
	/* no previous */
	n = release_gc_keep("aaaaaaaaaaa5", "", hist, 5, 3, out);
	assert_int_equal(n, 3);
	assert_string_equal(out[1], "aaaaaaaaaaa4");
	/* keep 16 with a short history */
	n = release_gc_keep("aaaaaaaaaaa5", NULL, hist, 5, 16, out);
	assert_int_equal(n, 5);
	/* junk in history ignored */
	{
		static const char junk[][13] = {"../../etc/xx", "aaaaaaaaaaa1"};
		n = release_gc_keep("aaaaaaaaaaa5", NULL, junk, 2, 3, out);
		assert_int_equal(n, 2);
		assert_string_equal(out[1], "aaaaaaaaaaa1");
	}
}

static void test_gc_apply(void **state)
{
	struct layout *l = fx_layout("gc");
	struct errbuf e = {{0}};
	char fps[5][13], keep[INSTALLED_HISTORY_MAX + 2][13], hist[5][13], list[RELEASE_MAX][13];
	char p[PATH_MAX];
	size_t i, n, failures = 9;
	(void)state;
	assert_non_null(l);
	for (i = 0; i < 5; i++) {
		char v[16];
		assert_true(snprintf(v, sizeof(v), "1.%zu.0", i) > 0);
		assert_int_equal(fx_release(l, v, NULL, fps[i], NULL), 0);
		memcpy(hist[4 - i], fps[i], 13); /* newest first */
	}
	path_of(p, sizeof(p), l, "opt/agentd/releases/aaaaaaaaaaaa.partial/bin");
	assert_int_equal(fsutil_mkdir_p(p, 0700, &e), 0);
	path_of(p, sizeof(p), l, "opt/agentd/releases/bbbbbbbbbbbb.bad.1772366400/x");
	assert_int_equal(fx_write(p, "bad", 0644), 0);
	path_of(p, sizeof(p), l, "opt/agentd/releases/.incoming");
	assert_int_equal(fsutil_mkdir_p(p, 0700, &e), 0);
	/* current = 1.4.0 (fps[4]), previous = 1.0.0 (fps[0]) */
	n = release_gc_keep(fps[4], fps[0], (const char(*)[13])hist, 5, 3, keep);
	assert_int_equal(n, 3);
	assert_int_equal(release_gc(l, (const char(*)[13])keep, n, &failures, &e), 0);
	assert_int_equal(failures, 0);
	assert_int_equal(release_list(l, list, RELEASE_MAX, &n, &e), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		assert_true(strcmp(list[i], fps[4]) == 0 || strcmp(list[i], fps[0]) == 0 ||
			    strcmp(list[i], fps[3]) == 0);
	assert_false(exists(l, "opt/agentd/releases/aaaaaaaaaaaa.partial"));
	assert_false(exists(l, "opt/agentd/releases/bbbbbbbbbbbb.bad.1772366400"));
	assert_true(exists(l, "opt/agentd/releases/.incoming"));
	layout_free(l);
}

static void test_recheck(void **state)
{
	struct layout *l = fx_layout("rc");
	struct errbuf e = {{0}};
	char fp12[13], fp[65], gotfp[65], ver[65], p[PATH_MAX], other[13];
	(void)state;
	assert_non_null(l);
	assert_int_equal(fx_release(l, "1.4.0", NULL, fp12, fp), 0);
	if (release_recheck(l, fp12, gotfp, ver, &e) != 0)
		fail_msg("%s", e.msg);
	assert_string_equal(gotfp, fp);
	assert_string_equal(ver, "1.4.0");
	assert_int_equal(release_read_version(l, fp12, ver, NULL, &e), 0);
	assert_string_equal(ver, "1.4.0");

#define RDIR(rel)                                                                                  \
	do {                                                                                       \
		int n_ = snprintf(p, sizeof(p), "%s/opt/agentd/releases/%s/%s", layout_root(l),    \
				  fp12, rel);                                                      \
		assert_true(n_ > 0 && (size_t)n_ < sizeof(p));                                     \
	} while (0)
#define EXPECT_FAIL(text)                                                                          \
	do {                                                                                       \
		assert_int_equal(release_recheck(l, fp12, NULL, NULL, &e), -1);                    \
		if (strstr(e.msg, text) == NULL)                                                   \
			fail_msg("want '%s' in '%s'", text, e.msg);                                \
	} while (0)

	/* an extra file */
	RDIR("bin/extra");
	assert_int_equal(fx_write(p, "x", 0644), 0);
	EXPECT_FAIL("bin/extra: file not in MANIFEST");
	assert_int_equal(unlink(p), 0);
	/* an extra directory */
	RDIR("share");
	assert_int_equal(mkdir(p, 0755), 0);
	EXPECT_FAIL("share: directory not in MANIFEST");
	assert_int_equal(rmdir(p), 0);
	/* a symlink in place of a file */
	RDIR("install.sh");
	assert_int_equal(rename(p, "saved"), 0);
	assert_int_equal(symlink("../../../../saved", p), 0);
	EXPECT_FAIL("install.sh: not a regular file or directory");
	assert_int_equal(unlink(p), 0);
	/* missing */
	EXPECT_FAIL("install.sh: missing");
	assert_int_equal(rename("saved", p), 0);
	assert_int_equal(release_recheck(l, fp12, NULL, NULL, &e), 0);
	/* mode */
	assert_int_equal(chmod(p, 0644), 0);
	EXPECT_FAIL("install.sh: mode 0644, MANIFEST says 0755");
	assert_int_equal(chmod(p, 0755), 0);
	/* same size, other content */
	{
		char *data;
		size_t len;
		assert_int_equal(fsutil_read_file(p, 4096, 0, &data, &len, &e), 0);
		data[0] = data[0] == 'x' ? 'y' : 'x';
		assert_int_equal(fx_write(p, data, 0755), 0);
		EXPECT_FAIL("install.sh: sha256 differs from MANIFEST");
		data[0] = '#';
		assert_int_equal(fx_write(p, data, 0755), 0);
		free(data);
		assert_int_equal(release_recheck(l, fp12, NULL, NULL, &e), 0);
	}
	/* size */
	assert_int_equal(fx_write(p, "#!/bin/sh\n", 0755), 0);
	EXPECT_FAIL("install.sh: size");
	/* directory name does not match the MANIFEST */
	assert_int_equal(fx_release(l, "1.5.0", NULL, other, NULL), 0);
	{
		char from[PATH_MAX], to[PATH_MAX];
		assert_int_equal(layout_release_path(l, other, from, sizeof(from), &e), 0);
		assert_int_equal(layout_release_path(l, "0123456789ab", to, sizeof(to), &e), 0);
		assert_int_equal(rename(from, to), 0);
		assert_int_equal(release_recheck(l, "0123456789ab", NULL, NULL, &e), -1);
		assert_non_null(strstr(e.msg, "does not match the directory name"));
	}
	assert_int_equal(release_recheck(l, "ffffffffffff", NULL, NULL, &e), -1);
	assert_int_equal(release_recheck(l, "..", NULL, NULL, &e), -1);
	layout_free(l);
}

static void test_leftovers(void **state)
{
	struct layout *l = fx_layout("lo");
	struct errbuf e = {{0}};
	char p[PATH_MAX], fp12[13];
	size_t removed = 0;
	(void)state;
	assert_non_null(l);
	assert_int_equal(fx_release(l, "1.4.0", NULL, fp12, NULL), 0);
	path_of(p, sizeof(p), l, "opt/agentd/releases/abcdefabcdef.partial/bin/agentd");
	assert_int_equal(fx_write(p, "half", 0644), 0);
	path_of(p, sizeof(p), l, "opt/agentd/releases/.incoming/x.tar.gz.part");
	assert_int_equal(fx_write(p, "half", 0644), 0);
	path_of(p, sizeof(p), l, "opt/agentd/current.tmp.123");
	assert_int_equal(symlink("releases/x", p), 0);
	path_of(p, sizeof(p), l, "opt/agentd/bin/agentd.tmp.77");
	assert_int_equal(fsutil_mkdir_p(layout_path(l, LAYOUT_BIN), 0755, &e), 0);
	assert_int_equal(symlink("../current/bin/agentd", p), 0);
	path_of(p, sizeof(p), l, "opt/agentd/bin/agentd");
	assert_int_equal(symlink("../current/bin/agentd", p), 0);
	assert_int_equal(release_cleanup_leftovers(l, &removed, &e), 0);
	assert_int_equal(removed, 4);
	assert_false(exists(l, "opt/agentd/releases/abcdefabcdef.partial"));
	assert_true(exists(l, "opt/agentd/releases/.incoming"));
	assert_false(exists(l, "opt/agentd/releases/.incoming/x.tar.gz.part"));
	assert_false(exists(l, "opt/agentd/current.tmp.123"));
	assert_false(exists(l, "opt/agentd/bin/agentd.tmp.77"));
	assert_true(exists(l, "opt/agentd/bin/agentd"));
	assert_int_equal(release_recheck(l, fp12, NULL, NULL, &e), 0);
	/* rmtree does not follow symlinks out of the tree */
	path_of(p, sizeof(p), l, "keepme");
	assert_int_equal(fx_write(p, "precious", 0644), 0);
	path_of(p, sizeof(p), l, "opt/agentd/releases/cccccccccccc.partial");
	assert_int_equal(fsutil_mkdir_p(p, 0700, &e), 0);
	path_of(p, sizeof(p), l, "opt/agentd/releases/cccccccccccc.partial/link");
	{
		char target[PATH_MAX];
		path_of(target, sizeof(target), l, "");
		assert_int_equal(symlink(target, p), 0);
	}
	assert_int_equal(release_cleanup_leftovers(l, &removed, &e), 0);
	assert_true(exists(l, "keepme"));
	assert_int_equal(release_rmtree("/nonexistent-agentd-test", &e), 0);
	layout_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_switch_and_links), cmocka_unit_test(test_gc_keep),
		cmocka_unit_test(test_gc_apply),         cmocka_unit_test(test_recheck),
		cmocka_unit_test(test_leftovers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
