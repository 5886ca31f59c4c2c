/*
 * agentd self-test [--root DIR]
 *
 * What agent-install runs on a new release before switching to it (spec
 * bundle-install-update.md §10.4); only the exit status matters there.  One
 * line per check on stdout.
 */
#include "cmd.h"

#include "layout.h"
#include "selftest.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: agentd self-test [--root DIR]\n"
	      "\n"
	      "Check that this agentd works on this host: SHA-256, JSON, ECDSA P-256 and the\n"
	      "random source, the platform key, and that runtime.env, the calibration file,\n"
	      "the trusted keys and the CA bundle (with an https AGENTD_CHANNEL_URL) can be\n"
	      "read.  Writes nothing.  One line per check: ok, warn, skip or FAIL.\n"
	      "exit status: 0 all checks passed (warnings allowed), 1 a check failed,\n"
	      "2 usage error\n",
	      f);
}

static void report(void *ctx, const char *check, enum selftest_result r, const char *reason)
{
	static const char *const words[] = {"ok", "warn", "FAIL", "skip"};

	(void)ctx;
	if (reason != NULL && reason[0] != '\0')
		printf("%-4s %s: %s\n", words[r], check, reason);
	else
		printf("%-4s %s\n", words[r], check);
}

/* A path setting from the environment under the root (NULL when unset). */
static char *env_path(const struct layout *l, const char *key)
{
	const char *s = getenv(key);
	char out[PATH_MAX];

	if (s == NULL || s[0] == '\0' || layout_join(l, s, out, sizeof(out), NULL) != 0)
		return NULL;
	return strdup(out);
}

int cmd_self_test(int argc, char **argv)
{
	const char *root_opt = NULL, *url;
	char root[LAYOUT_ROOT_MAX + 1];
	struct selftest_config c;
	struct layout *l = NULL;
	struct errbuf e = {{0}};
	char *calib, *ca;
	int i, failed;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
			root_opt = argv[++i];
		} else if (strncmp(argv[i], "--root=", 7) == 0) {
			root_opt = argv[i] + 7;
		} else {
			fprintf(stderr, "agentd: self-test: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (layout_root_resolve(root_opt, getenv("AGENTD_ROOT"), root, sizeof(root), &e) != 0 ||
	    (l = layout_new(root, &e)) == NULL) {
		fprintf(stderr, "agentd: cannot use root: %s\n", e.msg);
		return 2;
	}
	/* §10.4: the updater loads runtime.env into the environment first */
	url = getenv("AGENTD_CHANNEL_URL");
	calib = env_path(l, "ANYSCAN_RATE_CALIBRATION_PATH");
	ca = env_path(l, "AGENTD_CA_FILE");
	memset(&c, 0, sizeof(c));
	c.runtime_env = layout_path(l, LAYOUT_RUNTIME_ENV);
	c.trusted = layout_path(l, LAYOUT_TRUSTED);
	c.calib = calib != NULL ? calib : layout_path(l, LAYOUT_CALIBRATION);
	c.channel_url = url != NULL ? url : "";
	c.ca_file = ca;
	failed = selftest_run(&c, report, NULL);
	if (failed > 0)
		fprintf(stderr, "agentd: self-test: %d check%s failed\n", failed,
			failed == 1 ? "" : "s");
	free(calib);
	free(ca);
	layout_free(l);
	return failed > 0 ? 1 : 0;
}
