/* installer/cmd_env_defaults (`agent-install env defaults`, §8.7) called
 * directly: computed defaults, site defaults of the current release, probes
 * under a fixture root, --dry-run, usage errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "test_inst_fixture.h"

/* installer/cmd.h (agent/cmd.h comes first on the include path) */
int cmd_env_defaults(int argc, char **argv);

static int run(const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[6] = {(char *)"defaults", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
	int argc = 1;
	while (argc < 5 && argv[argc] != NULL)
		argc++;
	return cmd_env_defaults(argc, argv);
}

static char *slurp(const char *p)
{
	char *data = NULL;
	size_t len;
	if (fsutil_read_file(p, 1 << 20, 0, &data, &len, NULL) != 0)
		return NULL;
	return data;
}

static void test_defaults(void **state)
{
	struct layout *l = fx_layout("ed");
	static const struct fx_file files[] = {
		{"bin/agentd", 0755, "x"},
		{"bin/scanner", 0755, "s"},
		{"env/runtime.env", 0644, "SITE_KEY=1\n"},
		{NULL, 0, NULL},
	};
	char fp12[13], file[PATH_MAX], link[PATH_MAX], target[64], *t;
	struct errbuf e = {{0}};
	(void)state;
	assert_non_null(l);
	assert_int_equal(fx_release(l, "1.4.0", files, fp12, NULL), 0);
	assert_true(snprintf(link, sizeof(link), "%s", layout_path(l, LAYOUT_CURRENT)) > 0);
	assert_true(snprintf(target, sizeof(target), "releases/%s", fp12) > 0);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(setenv("AGENTD_ROOT", layout_root(l), 1), 0);
	assert_true(snprintf(file, sizeof(file), "%s/runtime.env", layout_root(l)) > 0);
	assert_int_equal(fx_write(file, "SCANNER_DEFAULT_RATE=9\n", 0640), 0);

	/* usage */
	assert_int_equal(run(NULL, NULL, NULL, NULL), 2);
	assert_int_equal(run(file, "--bogus", NULL, NULL), 2);
	assert_int_equal(run(file, file, NULL, NULL), 2);
	/* dry run changes nothing */
	assert_int_equal(run(file, "--dry-run", NULL, NULL), 0);
	t = slurp(file);
	assert_string_equal(t, "SCANNER_DEFAULT_RATE=9\n");
	free(t);
	/* the real run: if-absent defaults, site defaults, no owned keys, no probes */
	assert_int_equal(run(file, NULL, NULL, NULL), 0);
	t = slurp(file);
	assert_non_null(t);
	assert_non_null(strstr(t, "SCANNER_DEFAULT_RATE=9\n# added by agent-install "));
	assert_non_null(strstr(t, "\nSITE_KEY=1\n"));
	assert_non_null(strstr(t, "\nSCANNER_BIN=/opt/agentd/bin/scanner\n"));
	assert_non_null(strstr(t, "\nAGENT_REMOTE_UPDATE_ENABLED=true\n"));
	assert_null(strstr(t, "AGENT_BUNDLE_NAME"));
	assert_null(strstr(t, "ANYSCAN_AF_XDP_AVAILABLE"));
	free(t);
	/* --host-probes under a fixture probe root writes the probe keys */
	{
		char probe[PATH_MAX], p[PATH_MAX + 64];
		assert_true(snprintf(probe, sizeof(probe), "%s/probe", layout_root(l)) > 0);
		assert_true(snprintf(p, sizeof(p), "%s/proc/sys/kernel/osrelease", probe) > 0);
		assert_int_equal(fx_write(p, "4.19.0\n", 0644), 0);
		assert_int_equal(setenv("AGENT_INSTALL_PROBE_ROOT", probe, 1), 0);
		assert_int_equal(run(file, "--host-probes", NULL, NULL), 0);
		unsetenv("AGENT_INSTALL_PROBE_ROOT");
		t = slurp(file);
		assert_non_null(strstr(t, "\nANYSCAN_AF_XDP_AVAILABLE=false\n"));
		assert_non_null(strstr(t, "\nANYSCAN_DPDK_AVAILABLE=false\n"));
		free(t);
	}
	(void)e;
	unsetenv("AGENTD_ROOT");
	layout_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
