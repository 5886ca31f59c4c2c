/*
 * agent-install env defaults FILE [--host-probes] [--dry-run] (spec
 * bundle-install-update.md §8.7): applies §9.3-§9.5 to FILE -- probe keys
 * always (when probes run), site defaults of the current release and
 * computed defaults if absent or empty -- in one locked write, and prints
 * the summary.  Called by the `env` dispatcher with argv[0] = "defaults".
 */
#include "cmd.h"
#include "version.h"

#include "cli.h"
#include "envwrite.h"
#include "release.h"
#include "settings.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char defaults_usage[] =
	"usage: agent-install env defaults FILE [--host-probes] [--dry-run]\n"
	"\n"
	"Adds the defaults agent-install writes on install to FILE: the probe keys\n"
	"(when probes run: root / or --host-probes; pinned by\n"
	"AGENT_INSTALL_PROBES=false), the current release's site defaults and the\n"
	"computed defaults, each only if absent or empty.  The root is $AGENTD_ROOT\n"
	"(default /).\n"
	"  --host-probes  compute host facts and probes under a root that is not /\n"
	"  --dry-run      print what would change; write nothing\n"
	"\n"
	"exit status: 0 ok (also when nothing changed), 1 I/O or lock failure, 2 usage\n";

int cmd_env_defaults(int argc, char **argv)
{
	static const struct option opts[] = {
		{"host-probes", no_argument, NULL, 'H'},
		{"dry-run", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct envwrite_args a;
	struct layout *l;
	struct buf *report;
	struct errbuf e;
	char cur[13], rel[PATH_MAX];
	const char *probe = getenv("AGENT_INSTALL_PROBE_ROOT");
	const char *mn = getenv("ANYSCAN_DISABLE_MULTI_NIC_AUTO");
	bool host_probes = false, dry = false, have_cur = false, changed = false, has_cr = false,
	     off = false;
	int c, rc = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			host_probes = true;
			break;
		case 'd':
			dry = true;
			break;
		case 'h':
			fputs(defaults_usage, stdout);
			return cli_flush();
		default:
			return cli_usage("env defaults", "unknown or incomplete option '%s'",
					 argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage("env defaults", "want exactly one FILE");
	l = cli_layout(NULL);
	if (l == NULL)
		return 2;
	report = buf_new(1024 * 1024);
	if (report == NULL) {
		cli_error("out of memory");
		layout_free(l);
		return 1;
	}
	memset(&a, 0, sizeof(a));
	a.file = argv[optind];
	if (release_current(l, cur, &have_cur, &e) == 0 && have_cur &&
	    layout_release_path(l, cur, rel, sizeof(rel), &e) == 0)
		a.rel_dir = rel;
	a.version = version_get();
	a.probes = layout_is_host(l) || host_probes;
	a.probe_root = !layout_is_host(l) && probe != NULL && probe[0] == '/' ? probe : "/";
	a.path_env = getenv("PATH");
	a.multi_nic_env_off = mn != NULL && settings_parse_bool(mn, strlen(mn), &off) == 0 && off;
	a.dry_run = dry;
	a.bare = true;
	if (envwrite_apply(l, &a, &changed, &has_cr, report, &e) != 0) {
		if (errno == ETIMEDOUT)
			cli_error("%s", e.msg);
		else
			cli_error("cannot apply the defaults to %s: %s", a.file, e.msg);
		goto out;
	}
	if (has_cr)
		cli_warn("%s contains CR bytes; they are part of the values", a.file);
	fputs(buf_data(report), stdout);
	rc = cli_flush();
out:
	buf_free(report);
	layout_free(l);
	return rc;
}
