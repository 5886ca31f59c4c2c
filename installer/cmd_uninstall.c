/*
 * agent-install uninstall [--purge] [--root DIR] (spec
 * bundle-install-update.md §16.4) and agent-install recover [--root DIR]
 * (§16.5).
 */
#include "cmd.h"

#include "cli.h"
#include "fsutil.h"
#include "installed.h"
#include "recover.h"
#include "release.h"
#include "runcmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char uninstall_usage[] =
	"usage: agent-install uninstall [--purge] [--root DIR]\n"
	"\n"
	"Stops and disables agentd, removes the service files, /opt/agentd and the\n"
	"remote-update request and status files.  /etc/agentd (runtime.env,\n"
	"template, trusted.pem) and the rest of /var/lib/agentd are kept unless\n"
	"--purge is given.  The agentd user and group are never removed.\n"
	"  --purge    also remove /etc/agentd, /var/lib/agentd,\n"
	"             /var/lib/agentd-host-tuning, /run/agentd, the sysctl drop-in\n"
	"             and the previous implementation's leftovers\n"
	"  --root DIR treat DIR as / (default: $AGENTD_ROOT, else /)\n"
	"\n"
	"exit status: 0 removed (or nothing to uninstall), 1 failure, 2 usage\n";

static const char recover_usage[] =
	"usage: agent-install recover [--root DIR]\n"
	"\n"
	"Finishes or undoes an install, update or rollback that was interrupted\n"
	"(killed, power loss) and removes leftovers.  Every mutating command does\n"
	"this first.\n"
	"\n"
	"exit status: 0 nothing to do or resolved without a revert, 1 failure,\n"
	"2 usage, 3 reverted to the previous release, 4 the revert failed\n";

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static int parse_common(const char *cmd, const char *usage, int argc, char **argv,
			const char **root, bool *purge)
{
	static const struct option opts[] = {
		{"purge", no_argument, NULL, 'p'},
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (purge == NULL)
				return cli_usage(cmd, "unknown option '--purge'");
			*purge = true;
			break;
		case 'r':
			*root = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return cli_flush() == 0 ? -1 : 1;
		default:
			return cli_usage(cmd, "unknown or incomplete option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Anything of ours on this root? */
static bool anything_left(const struct layout *l, bool purge, const char *scan_dir)
{
	static const enum layout_id ids[] = {
		LAYOUT_OPT,     LAYOUT_UNIT_AGENTD, LAYOUT_UNIT_UPDATE_SVC, LAYOUT_UNIT_UPDATE_PATH,
		LAYOUT_DROPIN,  LAYOUT_SV_AGENTD,   LAYOUT_SV_UPDATE,       LAYOUT_INSTALLED_PUB,
		LAYOUT_REQUEST, LAYOUT_STATUS,
	};
	static const enum layout_id purge_ids[] = {LAYOUT_ETC, LAYOUT_VARLIB, LAYOUT_HOST_TUNING,
						   LAYOUT_RUN, LAYOUT_SYSCTL_DROPIN};
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (exists(layout_path(l, ids[i])))
			return true;
	if (purge)
		for (i = 0; i < sizeof(purge_ids) / sizeof(purge_ids[0]); i++)
			if (exists(layout_path(l, purge_ids[i])))
				return true;
	if (scan_dir[0] != '\0') {
		int n = snprintf(p, sizeof(p), "%s/agentd", scan_dir);
		char full[PATH_MAX];
		if (n > 0 && (size_t)n < sizeof(p) &&
		    layout_join(l, p, full, sizeof(full), NULL) == 0 && exists(full))
			return true;
	}
	return false;
}

static int remove_path(const char *p, int *rc)
{
	struct errbuf e;
	if (release_rmtree(p, &e) != 0) {
		cli_warn("cannot remove %s: %s", p, e.msg);
		*rc = 1;
		return -1;
	}
	return 0;
}

/* §16.4 step 3: the host-tuning reverts, reported, never fatal. */
static void revert_host_tuning(const struct layout *l)
{
	static const char *const scripts[] = {"reserve-control-bandwidth.sh",
					      "tune-scanner-host.sh"};
	char script[PATH_MAX], self[PATH_MAX];
	size_t i;

	if (snprintf(self, sizeof(self), "%s/agent-install", layout_path(l, LAYOUT_BIN)) < 0)
		return;
	for (i = 0; i < 2; i++) {
		struct runcmd_result r;
		struct errbuf e;
		int n = snprintf(script, sizeof(script), "%s/%s", layout_path(l, LAYOUT_BIN),
				 scripts[i]);
		const char *const argv[] = {
			self, "env",  "exec",   layout_path(l, LAYOUT_RUNTIME_ENV),
			"--", script, "revert", NULL};
		if (n < 0 || (size_t)n >= sizeof(script) || access(script, X_OK) != 0)
			continue;
		if (runcmd_run(argv, NULL, 120000, &r, &e) != 0)
			cli_warn("%s revert: %s", scripts[i], e.msg);
		else if (!runcmd_ok(&r))
			cli_warn("%s revert exited with status %d", scripts[i],
				 r.exited ? r.status : 128 + r.signal);
		else
			cli_info("%s revert: done", scripts[i]);
	}
}

int cmd_uninstall(int argc, char **argv)
{
	const char *root = NULL;
	bool purge = false;
	struct layout *l;
	struct service *svc = NULL;
	struct service_host h;
	struct installed in;
	struct settings set;
	struct errbuf e;
	char req[PATH_MAX], st[PATH_MAX];
	int rc, lock = -1;

	rc = parse_common("uninstall", uninstall_usage, argc, argv, &root, &purge);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	l = cli_layout(root);
	if (l == NULL)
		return 2;
	rc = 1;
	if (layout_is_host(l) && geteuid() != 0) {
		cli_error("must run as root");
		goto out;
	}
	service_probe(l, getenv("PATH"), getenv("SVDIR"), &h);
	if (!anything_left(l, purge, h.scan_dir)) {
		cli_info("nothing to uninstall under %s", layout_root(l));
		rc = 0;
		goto out;
	}
	if (cli_lock(l, &lock) != 0)
		goto out;
	cli_settings(l, &set);
	if (cli_host_path(l, set.request_file, req, sizeof(req)) != 0 ||
	    cli_host_path(l, set.status_file, st, sizeof(st)) != 0)
		goto out;
	if (installed_read(l, &in, &e) != 0) {
		if (errno != ENOENT)
			cli_warn("cannot read installed.json (%s); detecting the service", e.msg);
		in.service[0] = '\0';
	}
	svc = cli_service(l, in.service);
	if (svc == NULL)
		goto out;
	rc = 0;
	if (service_stop_disable(svc, &e) != 0)
		cli_warn("cannot stop agentd: %s", e.msg);
	if (layout_is_host(l))
		revert_host_tuning(l);
	if (service_remove_files(svc, &e) != 0) {
		cli_warn("cannot remove the service files: %s", e.msg);
		rc = 1;
	}
	remove_path(layout_path(l, LAYOUT_OPT), &rc);
	remove_path(layout_path(l, LAYOUT_INSTALLED_PUB), &rc);
	remove_path(req, &rc);
	remove_path(st, &rc);
	if (purge) {
		char tunnel[PATH_MAX];
		remove_path(layout_path(l, LAYOUT_ETC), &rc);
		remove_path(layout_path(l, LAYOUT_VARLIB), &rc);
		remove_path(layout_path(l, LAYOUT_HOST_TUNING), &rc);
		remove_path(layout_path(l, LAYOUT_RUN), &rc);
		remove_path(layout_path(l, LAYOUT_SYSCTL_DROPIN), &rc);
		/* §23: the previous implementation's tunnel unit */
		if (layout_join(l, "/etc/systemd/system/agentd-tunnel.service", tunnel,
				sizeof(tunnel), NULL) == 0)
			remove_path(tunnel, &rc);
	}
	printf("uninstalled agentd from %s\n", layout_root(l));
	if (!purge)
		printf("kept %s and %s (use --purge to remove them)\n", layout_path(l, LAYOUT_ETC),
		       layout_path(l, LAYOUT_VARLIB));
	printf("the agentd user and group are kept; remove them with: userdel agentd; "
	       "groupdel agentd\n");
	if (cli_flush() != 0)
		rc = 1;
out:
	service_free(svc);
	fsutil_unlock(lock);
	layout_free(l);
	return rc;
}

int cmd_recover(int argc, char **argv)
{
	const char *root = NULL;
	struct layout *l;
	struct service *svc = NULL;
	struct installed in;
	struct settings set;
	struct recover_result r;
	struct errbuf e;
	int rc, lock = -1;

	rc = parse_common("recover", recover_usage, argc, argv, &root, NULL);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	l = cli_layout(root);
	if (l == NULL)
		return 2;
	rc = 1;
	if (layout_is_host(l) && geteuid() != 0) {
		cli_error("must run as root");
		goto out;
	}
	if (!exists(layout_path(l, LAYOUT_OPT))) {
		cli_info("nothing to recover under %s", layout_root(l));
		rc = 0;
		goto out;
	}
	if (cli_lock(l, &lock) != 0)
		goto out;
	cli_settings(l, &set);
	if (installed_read(l, &in, &e) != 0)
		in.service[0] = '\0';
	svc = cli_service(l, in.service);
	if (svc == NULL)
		goto out;
	if (recover_run(l, &set, svc, &cli_clock, &r, &e) != 0) {
		cli_error("cannot recover: %s", e.msg);
		goto out;
	}
	switch (r.outcome) {
	case RECOVER_NOTHING:
		printf("nothing to recover%s\n", r.leftovers ? " (leftovers removed)" : "");
		rc = 0;
		break;
	case RECOVER_RESOLVED:
		printf("%s\n", r.message);
		rc = 0;
		break;
	case RECOVER_REVERTED:
		printf("%s\n", r.message);
		rc = 3;
		break;
	case RECOVER_REVERT_FAILED:
		cli_error("%s", r.message);
		rc = 4;
		break;
	}
	if (cli_flush() != 0 && rc == 0)
		rc = 1;
out:
	service_free(svc);
	fsutil_unlock(lock);
	layout_free(l);
	return rc;
}
