/*
 * agent-install rollback [--to FP12] [--root DIR] (spec
 * bundle-install-update.md §16.1): switch back among installed releases,
 * restart, health check; restore the original when the target is unhealthy.
 */
#include "cmd.h"

#include "cli.h"
#include "crashpt.h"
#include "fsutil.h"
#include "installed.h"
#include "journal.h"
#include "recover.h"
#include "release.h"
#include "txn.h"
#include "ustatus.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char rollback_usage[] =
	"usage: agent-install rollback [--to FP12] [--root DIR]\n"
	"\n"
	"Makes the previous release (or the kept release FP12) current again:\n"
	"re-checks it against its MANIFEST, switches the service files, current and\n"
	"the bin links, records it in installed.json, restarts agentd and checks its\n"
	"health.  Version order is not enforced.  Running it twice returns to where\n"
	"it started.\n"
	"  --to FP12  the release to switch to (first 12 hex digits of its fingerprint)\n"
	"  --root DIR treat DIR as / (default: $AGENTD_ROOT, else /)\n"
	"\n"
	"exit status: 0 rolled back (or already current), 1 failure (nothing changed),\n"
	"2 usage, 3 the target was unhealthy and the original release was restored,\n"
	"4 restoring the original also failed\n";

struct rb {
	struct layout *l;
	struct settings set;
	struct service *svc;
	char status_path[PATH_MAX];
	struct installed before;
	struct txn_release from, to;
	struct journal j;
};

static void status(struct rb *r, enum ustatus_kind k, const char *text)
{
	struct errbuf e;

	if (ustatus_write(r->status_path, k, (int64_t)time(NULL), text, &e) != 0)
		cli_warn("cannot write the status file: %s", e.msg);
}

/* §13.6 for a manual rollback: back to `from`, health checked. */
static int restore(struct rb *r, const char *reason)
{
	char text[USTATUS_MESSAGE_MAX + 1];
	struct errbuf e;
	bool restarted = false;
	int n;

	cli_warn("rollback to %s (%s) failed: %s; restoring %s (%s)", r->to.version, r->to.fp12,
		 reason, r->from.version, r->from.fp12);
	r->j.phase = JOURNAL_REVERTING;
	if (journal_write(r->l, &r->j, &e) != 0 ||
	    txn_switch(r->l, r->svc, r->set.textfile_dir, r->from.fp12, NULL, &e) != 0 ||
	    (crashpt_hit("mid-revert"), 0) || installed_write(r->l, &r->before, &e) != 0 ||
	    txn_apply_env(r->l, &r->from, &e) != 0 ||
	    txn_restart_and_check(r->l, r->svc, r->from.fingerprint, r->set.health_timeout,
				  r->set.health_interval, &cli_clock, &r->j, &restarted, &e) != 0) {
		n = snprintf(
			text, sizeof(text),
			"rollback target %s unhealthy: %.200s; restoring %s also failed: %.200s",
			r->to.version, reason, r->from.version, e.msg);
		if (n < 0)
			text[0] = '\0';
		status(r, USTATUS_ROLLBACK_FAILED, text);
		cli_error("%s", text);
		(void)journal_remove(r->l, NULL);
		return 4;
	}
	n = snprintf(text, sizeof(text), "rollback target %s unhealthy: %.300s; %s restored",
		     r->to.version, reason, r->from.version);
	if (n < 0)
		text[0] = '\0';
	status(r, USTATUS_FAILED, text);
	cli_error("%s", text);
	(void)journal_remove(r->l, NULL);
	return 3;
}

static int rollback(struct rb *r, const char *to_opt)
{
	char cur[13], target[13], now[32], text[USTATUS_MESSAGE_MAX + 1];
	struct recover_result rr;
	struct installed after;
	struct errbuf e;
	bool have_cur = false, restarted = false;
	size_t failures;
	int n;

	if (recover_run(r->l, &r->set, r->svc, &cli_clock, &rr, &e) != 0) {
		cli_error("cannot recover an interrupted transaction: %s", e.msg);
		return 1;
	}
	if (rr.outcome != RECOVER_NOTHING)
		cli_info("recovered: %s", rr.message);
	if (installed_read(r->l, &r->before, &e) != 0) {
		if (errno == ENOENT)
			cli_error("nothing installed under %s; use agent-install install",
				  layout_root(r->l));
		else
			cli_error("cannot read installed.json: %s", e.msg);
		return 1;
	}
	if (release_current(r->l, cur, &have_cur, &e) != 0 || !have_cur) {
		cli_error("cannot roll back: %s", have_cur ? e.msg : "no current release");
		return 1;
	}
	if (to_opt != NULL) {
		memcpy(target, to_opt, 13);
	} else if (r->before.has_previous) {
		memcpy(target, r->before.previous.fingerprint, 12);
		target[12] = '\0';
	} else {
		cli_error("no previous release to roll back to");
		return 1;
	}
	if (txn_release_info(r->l, cur, &r->from, &e) != 0) {
		cli_error("cannot read the current release: %s", e.msg);
		return 1;
	}
	if (strcmp(target, cur) == 0) {
		cli_info("already current at %s (%s)", r->from.version, cur);
		return 0;
	}
	if (txn_release_info(r->l, target, &r->to, &e) != 0) {
		cli_error("release %s is not installed: %s", target, e.msg);
		return 1;
	}
	if (release_recheck(r->l, target, NULL, NULL, &e) != 0) {
		cli_error("cannot roll back to %s: re-check failed: %s", target, e.msg);
		return 1;
	}
	n = snprintf(text, sizeof(text), "manual rollback from %s to %s", r->from.version,
		     r->to.version);
	status(r, USTATUS_RUNNING, n < 0 ? "" : text);
	memset(&r->j, 0, sizeof(r->j));
	r->j.op = JOURNAL_OP_ROLLBACK;
	r->j.phase = JOURNAL_SWITCHING;
	memcpy(r->j.from, r->from.fingerprint, 65);
	memcpy(r->j.to, r->to.fingerprint, 65);
	cli_now(now);
	memcpy(r->j.started_at, now, sizeof(r->j.started_at));
	if (journal_write(r->l, &r->j, &e) != 0) {
		cli_error("cannot write the journal: %s", e.msg);
		status(r, USTATUS_FAILED, "cannot write the journal");
		return 1;
	}
	after = r->before;
	txn_installed_switch(&after, &r->from, &r->to, now);
	if (txn_switch(r->l, r->svc, r->set.textfile_dir, target, NULL, &e) != 0 ||
	    installed_write(r->l, &after, &e) != 0 || txn_apply_env(r->l, &r->to, &e) != 0) {
		char reason[ERRBUF_SIZE];
		memcpy(reason, e.msg, sizeof(reason));
		return restore(r, reason);
	}
	r->j.phase = JOURNAL_SWITCHED;
	if (journal_write(r->l, &r->j, &e) != 0)
		cli_warn("cannot write the journal: %s", e.msg);
	crashpt_hit("after-switch");
	if (txn_restart_and_check(r->l, r->svc, r->to.fingerprint, r->set.health_timeout,
				  r->set.health_interval, &cli_clock, &r->j, &restarted, &e) != 0) {
		char reason[ERRBUF_SIZE];
		memcpy(reason, e.msg, sizeof(reason));
		return restore(r, reason);
	}
	n = snprintf(text, sizeof(text), "manual rollback from %s (%s) to %s (%s)", r->from.version,
		     r->from.fp12, r->to.version, r->to.fp12);
	status(r, USTATUS_ROLLED_BACK, n < 0 ? "" : text);
	if (journal_remove(r->l, &e) != 0)
		cli_warn("cannot remove the journal: %s", e.msg);
	txn_gc(r->l, &after, r->to.fp12, r->set.keep_releases, &failures, &e);
	if (failures > 0)
		cli_warn("could not remove %zu old release(s): %s", failures, e.msg);
	printf("rolled back from %s (%s) to %s (%s)\n", r->from.version, r->from.fp12,
	       r->to.version, r->to.fp12);
	if (!restarted)
		printf("switched; not restarted (service backend %s)\n",
		       service_kind_name(service_choice_of(r->svc)->kind));
	else
		printf("service %s: restarted, healthy\n", r->before.service);
	return cli_flush();
}

int cmd_rollback(int argc, char **argv)
{
	static const struct option opts[] = {
		{"to", required_argument, NULL, 't'},
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *root = NULL, *to = NULL;
	struct stat st;
	struct rb *r;
	int c, rc, lock = -1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 'h':
			fputs(rollback_usage, stdout);
			return cli_flush();
		default:
			return cli_usage("rollback", "unknown or incomplete option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("rollback", "unexpected argument '%s'", argv[optind]);
	if (to != NULL && !release_name_valid(to))
		return cli_usage("rollback", "--to wants 12 lowercase hex digits, not '%.64s'", to);
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		cli_error("cannot roll back: out of memory");
		return 1;
	}
	r->l = cli_layout(root);
	if (r->l == NULL) {
		free(r);
		return 2;
	}
	rc = 1;
	if (layout_is_host(r->l) && geteuid() != 0) {
		cli_error("must run as root");
		goto out;
	}
	if (stat(layout_path(r->l, LAYOUT_INSTALLED), &st) != 0) {
		cli_error("nothing installed under %s; use agent-install install",
			  layout_root(r->l));
		goto out;
	}
	if (cli_lock(r->l, &lock) != 0)
		goto out;
	cli_settings(r->l, &r->set);
	if (cli_host_path(r->l, r->set.status_file, r->status_path, sizeof(r->status_path)) != 0)
		goto out;
	{
		struct installed in;
		struct errbuf e;
		if (installed_read(r->l, &in, &e) != 0) {
			cli_error("cannot read installed.json: %s", e.msg);
			goto out;
		}
		r->svc = cli_service(r->l, in.service);
	}
	if (r->svc == NULL)
		goto out;
	rc = rollback(r, to);
out:
	fsutil_unlock(lock);
	service_free(r->svc);
	layout_free(r->l);
	free(r);
	return rc;
}
