#include "recover.h"

#include "crashpt.h"
#include "fsutil.h"
#include "installed.h"
#include "itime.h"
#include "journal.h"
#include "num.h"
#include "release.h"
#include "txn.h"
#include "ustatus.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* §14.3: a stray temp younger than this is kept while its writer may still
 * be writing it (see pid_known) */
#define STRAY_AGE_LIVE 600

/* Could the writer of the temp "<...>.tmp.<pid>" still be writing it?  Only
 * a pid that no longer exists says no (a reused pid keeps the age rule). */
static bool writer_alive(const char *s)
{
	const char *t = strrchr(s, '.');
	uint64_t pid;

	if (t == NULL || num_parse_u64(t + 1, strlen(t + 1), &pid) != 0 || pid == 0 ||
	    pid > (uint64_t)INT_MAX)
		return true;
	if ((pid_t)pid == getpid())
		return false; /* recovery runs before this process writes anything */
	return !(kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

/* May the name's pid decide whether its writer is alive?  In /etc/agentd,
 * the unit directories and /etc/sv the writers are agent-install and `env
 * upsert`; in /var/lib/agentd only for the status file, which agent-install
 * and `agentd run` write (fleet tooling may write the request file there,
 * with a suffix that is not one of our pids: the age rule alone applies). */
static bool pid_known(const char *name, bool varlib)
{
	static const char status_tmp[] = ".remote-update.status.tmp.";

	return !varlib || strncmp(name, status_tmp, sizeof(status_tmp) - 1) == 0;
}

static int sweep(const char *dir, bool varlib, int64_t now, size_t *removed, struct errbuf *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (d == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		err_sys(e, errno, "open %s", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		/* the readers' copy of installed.json is written only by
		 * agent-install, under its lock: any temp of it is stray */
		bool own = fsutil_is_temp_name(de->d_name, "installed.json", false);
		if (!own && !fsutil_is_temp_name(de->d_name, NULL, true))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    S_ISDIR(st.st_mode))
			continue;
		if (!own && now - (int64_t)st.st_mtime < STRAY_AGE_LIVE &&
		    (!pid_known(de->d_name, varlib) || writer_alive(de->d_name)))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT) {
			err_sys(e, errno, "remove %s/%s", dir, de->d_name);
			rc = -1;
			continue;
		}
		(*removed)++;
	}
	closedir(d);
	return rc;
}

int recover_leftovers(const struct layout *l, int64_t now, size_t *removed, struct errbuf *e)
{
	char path[PATH_MAX];
	size_t n = 0;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	*removed = 0;
	if (release_cleanup_leftovers(l, &n, e) != 0)
		rc = -1;
	*removed += n;
	rc |= sweep(layout_path(l, LAYOUT_ETC), false, now, removed, e);
	rc |= sweep(layout_path(l, LAYOUT_SYSTEMD_DIR), false, now, removed, e);
	rc |= sweep(layout_path(l, LAYOUT_DROPIN_DIR), false, now, removed, e);
	rc |= sweep(layout_path(l, LAYOUT_VARLIB), true, now, removed, e);
	d = opendir(layout_path(l, LAYOUT_SV_DIR));
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			int k;
			if (strncmp(de->d_name, "agentd", 6) != 0)
				continue;
			k = snprintf(path, sizeof(path), "%s/%s", layout_path(l, LAYOUT_SV_DIR),
				     de->d_name);
			if (k > 0 && (size_t)k < sizeof(path))
				rc |= sweep(path, false, now, removed, e);
		}
		closedir(d);
	}
	return rc == 0 ? 0 : -1;
}

/* A message for the log and the status file (a cut message is still
 * useful: they are capped at 512 bytes anyway). */
#define MSG(r, ...) ((void)(snprintf((r)->message, sizeof((r)->message), __VA_ARGS__) < 0))

static void write_status(const struct layout *l, const struct settings *set,
			 const struct journal *j, enum ustatus_kind k, const char *text,
			 int64_t now)
{
	char path[PATH_MAX];

	/* §13.7: install does not write the status file */
	if (j->op == JOURNAL_OP_INSTALL)
		return;
	if (layout_join(l, set->status_file, path, sizeof(path), NULL) == 0)
		(void)ustatus_write(path, k, now, text, NULL);
}

/* Revert to `from`: switch, installed.json describing `from`, owned key,
 * restart and health check. */
static int revert(const struct layout *l, const struct settings *set, struct service *svc,
		  const struct health_clock *clk, struct journal *j, struct errbuf *e)
{
	struct txn_release from;
	struct installed in;
	char now[ITIME_LEN + 1];
	bool restarted;
	size_t i;

	char from12[13];

	memcpy(from12, j->from, 12);
	from12[12] = '\0';
	if (txn_release_info(l, from12, &from, e) != 0)
		return -1;
	j->phase = JOURNAL_REVERTING;
	if (journal_write(l, j, e) != 0)
		return -1;
	if (txn_switch(l, svc, set->textfile_dir, from.fp12, NULL, e) != 0)
		return -1;
	crashpt_hit("mid-revert");
	if (installed_read(l, &in, e) != 0)
		return -1;
	if (strcmp(in.fingerprint, from.fingerprint) != 0) {
		/* installed.json already described `to`: describe `from` again;
		 * the previous release is the next kept entry of history */
		struct txn_release prev;
		bool have_prev = false;
		itime_format(clk->now(clk->ctx), now);
		for (i = 0; i < in.nhistory && !have_prev; i++)
			if (strcmp(in.history[i], from.fp12) != 0 &&
			    strncmp(in.history[i], j->to, 12) != 0 &&
			    txn_release_info(l, in.history[i], &prev, NULL) == 0)
				have_prev = true;
		in.has_previous = false;
		txn_installed_switch(&in, have_prev ? &prev : NULL, &from, now);
		if (installed_write(l, &in, e) != 0)
			return -1;
	}
	if (txn_apply_env(l, &from, e) != 0)
		return -1;
	return txn_restart_and_check(l, svc, from.fingerprint, set->health_timeout,
				     set->health_interval, clk, j, &restarted, e);
}

/* No journal, yet the status file says `running`: an update (or a rollback,
 * whose running message is "manual rollback ...") was killed between writing
 * that status (§13.4 step 5) and its journal.  Every update
 * writes its terminal status before it removes its journal, and we hold the
 * lock, so nothing changed and that run is gone: record it as failed rather
 * than leave `running` for ever. */
static void running_without_journal(const struct layout *l, const struct settings *set, int64_t now,
				    struct recover_result *r)
{
	char path[PATH_MAX], cur[13], text[128];
	bool have_cur = false;
	struct ustatus us;
	size_t used;

	if (layout_join(l, set->status_file, path, sizeof(path), NULL) != 0 ||
	    ustatus_read(path, &us, NULL) != 0 || us.status != USTATUS_RUNNING)
		return;
	if (release_current(l, cur, &have_cur, NULL) != 0)
		have_cur = false;
	(void)(snprintf(text, sizeof(text), "%s was interrupted before the switch%s%s%s",
			us.message[0] != '\0' && strncmp(us.message, "manual rollback", 15) == 0
				? "a rollback"
				: "an update",
			have_cur ? "; " : "", have_cur ? cur : "",
			have_cur ? " stays current" : "") < 0);
	if (ustatus_write(path, USTATUS_FAILED, now, text, NULL) != 0)
		return;
	r->outcome = RECOVER_RESOLVED;
	/* after the leftovers message, if there is one (a cut message is fine) */
	used = strlen(r->message);
	(void)(snprintf(r->message + used, sizeof(r->message) - used, "%s%s", used > 0 ? "; " : "",
			text) < 0);
}

int recover_run(const struct layout *l, const struct settings *set, struct service *svc,
		const struct health_clock *clk, struct recover_result *r, struct errbuf *e)
{
	struct journal j;
	char cur[13], to12[13], from12[13];
	bool present = false, have_cur = false;
	int64_t now = clk->now(clk->ctx);
	struct errbuf le;

	memset(r, 0, sizeof(*r));
	if (recover_leftovers(l, now, &r->leftovers, &le) != 0)
		MSG(r, "some leftovers could not be removed: %.300s", le.msg);
	if (journal_read(l, &j, &present, e) != 0) {
		/* an unreadable journal describes nothing we can act on */
		(void)journal_remove(l, NULL);
		r->outcome = RECOVER_RESOLVED;
		MSG(r, "removed an unreadable journal (%.300s)", e->msg);
		return 0;
	}
	if (!present) {
		r->outcome = RECOVER_NOTHING;
		running_without_journal(l, set, now, r);
		return 0;
	}
	if (release_current(l, cur, &have_cur, e) != 0)
		return -1;
	memcpy(to12, j.to, 12);
	to12[12] = '\0';
	memcpy(from12, j.from, 12);
	from12[12] = '\0';
	r->outcome = RECOVER_RESOLVED;
	if (j.phase == JOURNAL_REVERTING ||
	    (have_cur && strcmp(cur, to12) == 0 && j.from[0] != '\0')) {
		bool finishing = j.phase == JOURNAL_REVERTING;
		struct errbuf re;
		if (j.from[0] == '\0') {
			MSG(r, "interrupted revert without a release to restore; %s stays current",
			    have_cur ? cur : "nothing");
		} else if (revert(l, set, svc, clk, &j, &re) == 0) {
			r->outcome = RECOVER_REVERTED;
			if (finishing)
				MSG(r, "finished an interrupted revert; restored %s", from12);
			else
				MSG(r, "interrupted during %s to %s; restored %s",
				    journal_op_name(j.op), to12, from12);
			write_status(l, set, &j, USTATUS_ROLLED_BACK, r->message, now);
		} else {
			r->outcome = RECOVER_REVERT_FAILED;
			MSG(r, "interrupted during %s to %s; restoring %s failed: %.300s",
			    journal_op_name(j.op), to12, from12, re.msg);
			write_status(l, set, &j, USTATUS_ROLLBACK_FAILED, r->message, now);
		}
	} else if (have_cur && strcmp(cur, to12) == 0) {
		MSG(r, "first install was interrupted; run agent-install install again");
	} else {
		/* current = from, or the switch never started */
		if (have_cur && svc != NULL) {
			char dir[PATH_MAX];
			bool changed;
			struct errbuf se;
			if (layout_release_path(l, cur, dir, sizeof(dir), &se) == 0 &&
			    service_install_files(svc, dir, set->textfile_dir, &changed, &se) != 0)
				MSG(r, "cannot rewrite the service files: %.300s", se.msg);
		}
		MSG(r, "interrupted before the switch to %s", to12);
		if (j.op == JOURNAL_OP_UPDATE)
			write_status(l, set, &j, USTATUS_FAILED, r->message, now);
	}
	if (journal_remove(l, e) != 0)
		return -1;
	return 0;
}
