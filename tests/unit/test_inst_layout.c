/* installer/layout: --root / AGENTD_ROOT resolution (§0.4) and the host path
 * table (§7.1) mapped under a root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout.h"

static void test_table(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < LAYOUT__COUNT; i++) {
		const struct layout_entry *t = layout_entry((enum layout_id)i);
		assert_non_null(t);
		assert_int_equal(t->id, i);
		assert_true(t->host[0] == '/');
		assert_true(t->host[strlen(t->host) - 1] != '/');
	}
	assert_null(layout_entry(LAYOUT__COUNT));
	assert_int_equal(layout_entry(LAYOUT_ETC)->mode, 0750);
	assert_string_equal(layout_entry(LAYOUT_ETC)->group, "agentd");
	assert_int_equal(layout_entry(LAYOUT_INCOMING)->mode, 0700);
	assert_int_equal(layout_entry(LAYOUT_CURRENT)->kind, LAYOUT_K_SYMLINK);
	assert_null(layout_entry(LAYOUT_STATUS)->owner);
}

static void test_paths_under_root(void **state)
{
	struct errbuf e = {{0}};
	struct layout *l = layout_new("/tmp/r/", &e);
	char buf[PATH_MAX];
	size_t i;
	(void)state;
	assert_non_null(l);
	assert_string_equal(layout_root(l), "/tmp/r");
	assert_false(layout_is_host(l));
	assert_string_equal(layout_path(l, LAYOUT_CURRENT), "/tmp/r/opt/agentd/current");
	assert_string_equal(layout_path(l, LAYOUT_RUNTIME_ENV), "/tmp/r/etc/agentd/runtime.env");
	assert_string_equal(layout_path(l, LAYOUT_INSTALLED), "/tmp/r/opt/agentd/installed.json");
	assert_string_equal(layout_path(l, LAYOUT_INSTALLED_PUB),
			    "/tmp/r/var/lib/agentd/installed.json");
	assert_string_equal(layout_path(l, LAYOUT_DROPIN),
			    "/tmp/r/etc/systemd/system/agentd.service.d/50-agent-install.conf");
	for (i = 0; i < LAYOUT__COUNT; i++) {
		const char *p = layout_path(l, (enum layout_id)i);
		assert_true(strncmp(p, "/tmp/r/", 7) == 0);
		assert_string_equal(p + 6, layout_entry((enum layout_id)i)->host);
	}
	assert_int_equal(layout_join(l, "/usr/bin/scanner", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "/tmp/r/usr/bin/scanner");
	assert_int_equal(layout_join(l, "usr/bin/scanner", buf, sizeof(buf), &e), -1);
	assert_int_equal(layout_release_path(l, "3f9a1c07be52", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "/tmp/r/opt/agentd/releases/3f9a1c07be52");
	assert_int_equal(layout_release_path(l, "..", buf, sizeof(buf), &e), -1);
	assert_int_equal(layout_release_path(l, "a/b", buf, sizeof(buf), &e), -1);
	assert_int_equal(layout_release_path(l, "", buf, sizeof(buf), &e), -1);
	/* too small an output */
	assert_int_equal(layout_join(l, "/usr/bin/scanner", buf, 10, &e), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	layout_free(l);
}

static void test_paths_host(void **state)
{
	struct errbuf e = {{0}};
	struct layout *l;
	char buf[64];
	(void)state;
	l = layout_new("//", &e);
	assert_non_null(l);
	assert_true(layout_is_host(l));
	assert_string_equal(layout_root(l), "/");
	assert_string_equal(layout_path(l, LAYOUT_OPT), "/opt/agentd");
	assert_int_equal(layout_join(l, "/x", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "/x");
	layout_free(l);
}

static void test_bad_roots(void **state)
{
	struct errbuf e = {{0}};
	char *longroot;
	(void)state;
	assert_null(layout_new("", &e));
	assert_null(layout_new("relative/dir", &e));
	assert_true(strstr(e.msg, "not absolute") != NULL);
	longroot = malloc(LAYOUT_ROOT_MAX + 2);
	assert_non_null(longroot);
	memset(longroot, 'a', LAYOUT_ROOT_MAX + 1);
	longroot[0] = '/';
	longroot[LAYOUT_ROOT_MAX + 1] = '\0'; /* max + 1 */
	assert_null(layout_new(longroot, &e));
	longroot[LAYOUT_ROOT_MAX] = '\0'; /* max */
	{
		struct layout *l = layout_new(longroot, &e);
		assert_non_null(l);
		layout_free(l);
	}
	free(longroot);
}

static void test_root_resolve(void **state)
{
	char cwd[PATH_MAX], out[PATH_MAX], dir[PATH_MAX + 8], file[PATH_MAX + 8];
	struct errbuf e = {{0}};
	FILE *f;
	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_true(snprintf(dir, sizeof(dir), "%s/root", cwd) < (int)sizeof(dir));
	assert_true(snprintf(file, sizeof(file), "%s/file", cwd) < (int)sizeof(file));
	assert_int_equal(mkdir(dir, 0755), 0);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);

	/* default "/" */
	assert_int_equal(layout_root_resolve(NULL, NULL, out, sizeof(out), &e), 0);
	assert_string_equal(out, "/");
	assert_int_equal(layout_root_resolve(NULL, "", out, sizeof(out), &e), 0);
	assert_string_equal(out, "/");
	/* env used when no option */
	assert_int_equal(layout_root_resolve(NULL, dir, out, sizeof(out), &e), 0);
	assert_string_equal(out, dir);
	/* option beats env (even a bad env) */
	assert_int_equal(layout_root_resolve(dir, "relative", out, sizeof(out), &e), 0);
	assert_string_equal(out, dir);
	/* trailing slash dropped */
	{
		char withslash[PATH_MAX + 16];
		assert_true(snprintf(withslash, sizeof(withslash), "%s//", dir) <
			    (int)sizeof(withslash));
		assert_int_equal(layout_root_resolve(withslash, NULL, out, sizeof(out), &e), 0);
		assert_string_equal(out, dir);
	}
	/* relative, missing, not a directory */
	assert_int_equal(layout_root_resolve("root", NULL, out, sizeof(out), &e), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(layout_root_resolve(NULL, "root", out, sizeof(out), &e), -1);
	assert_int_equal(
		layout_root_resolve("/nonexistent-agentd-root", NULL, out, sizeof(out), &e), -1);
	assert_int_equal(errno, ENOENT);
	assert_true(strstr(e.msg, "/nonexistent-agentd-root") != NULL);
	assert_int_equal(layout_root_resolve(file, NULL, out, sizeof(out), &e), -1);
	assert_int_equal(errno, ENOTDIR);
	/* empty option is an error, not the default */
	assert_int_equal(layout_root_resolve("", NULL, out, sizeof(out), &e), -1);
}

static void test_relative_link(void **state)
{
	static const struct {
		const char *link, *target, *want;
	} cases[] = {
		{"/opt/agentd/current", "/opt/agentd/releases/3f9a1c07be52",
		 "releases/3f9a1c07be52"},
		{"/opt/agentd/bin/agentd", "/opt/agentd/current/bin/agentd",
		 "../current/bin/agentd"},
		{"/etc/service/agentd", "/etc/sv/agentd", "../sv/agentd"},
		{"/var/service/agentd", "/etc/sv/agentd", "../../etc/sv/agentd"},
		{"/service/agentd", "/etc/sv/agentd", "../etc/sv/agentd"},
		{"/etc/sv/x", "/etc/sv", "../sv"},
		{"/a", "/b/c", "b/c"},
		{"/srv/x/link", "/srv/xy/t", "../xy/t"},
	};
	size_t i;
	char out[256];
	struct errbuf e = {{0}};
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (layout_relative_link(cases[i].link, cases[i].target, out, sizeof(out), &e) != 0)
			fail_msg("%s: %s", cases[i].link, e.msg);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%s -> %s: got %s want %s", cases[i].link, cases[i].target, out,
				 cases[i].want);
	}
	assert_int_equal(layout_relative_link("a/b", "/c", out, sizeof(out), &e), -1);
	assert_int_equal(layout_relative_link("/var/service/agentd", "/etc/sv/agentd", out, 8, &e),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),        cmocka_unit_test(test_paths_under_root),
		cmocka_unit_test(test_paths_host),   cmocka_unit_test(test_bad_roots),
		cmocka_unit_test(test_root_resolve), cmocka_unit_test(test_relative_link),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
