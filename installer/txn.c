#include "txn.h"

#include "bname.h"
#include "crashpt.h"
#include "envfile.h"
#include "fsutil.h"
#include "health.h"
#include "itime.h"
#include "journal.h"
#include "manifest.h"
#include "release.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int txn_release_info(const struct layout *l, const char *fp12, struct txn_release *out,
		     struct errbuf *e)
{
	struct manifest *m = NULL;
	char name[RELEASE_FP12_LEN + 1];
	int rc;

	copy(name, sizeof(name), fp12); /* fp12 may point into *out */
	memset(out, 0, sizeof(*out));
	if (release_read_manifest(l, name, &m, out->fingerprint, e) != 0)
		return -1;
	copy(out->fp12, sizeof(out->fp12), name);
	copy(out->version, sizeof(out->version), manifest_version(m));
	copy(out->platform, sizeof(out->platform), manifest_platform(m));
	rc = bname_format(manifest_platform(m), manifest_sde(m), manifest_version(m), name,
			  out->bundle_name, sizeof(out->bundle_name), e);
	manifest_free(m);
	return rc;
}

int txn_switch(const struct layout *l, struct service *svc, const char *textfile_dir,
	       const char *fp12, bool *svc_changed, struct errbuf *e)
{
	char dir[PATH_MAX];
	bool changed = false;

	if (svc_changed != NULL)
		*svc_changed = false;
	if (layout_release_path(l, fp12, dir, sizeof(dir), e) != 0)
		return -1;
	if (svc != NULL && service_install_files(svc, dir, textfile_dir, &changed, e) != 0)
		return -1;
	if (svc_changed != NULL)
		*svc_changed = changed;
	crashpt_hit("mid-switch");
	if (release_switch(l, fp12, e) != 0)
		return -1;
	return release_fix_links(l, e);
}

int txn_apply_env(const struct layout *l, const struct txn_release *r, struct errbuf *e)
{
	char dir[PATH_MAX], src[PATH_MAX + 64];
	struct envfile_update_opts o;
	struct envfile_edit ed;
	char *tmpl = NULL;
	size_t tmpl_len = 0;
	bool changed = false;
	int rc = -1, n;

	if (layout_release_path(l, r->fp12, dir, sizeof(dir), e) != 0)
		return -1;
	if (layout_mkdir(l, LAYOUT_ETC, e) != 0)
		return -1;
	n = snprintf(src, sizeof(src), "%s/env/runtime.env.template", dir);
	if (n < 0 || (size_t)n >= sizeof(src))
		return -1;
	if (fsutil_read_file(src, 1024 * 1024, FSUTIL_R_NOFOLLOW, &tmpl, &tmpl_len, NULL) != 0)
		tmpl = NULL; /* no template: a missing runtime.env starts empty */
	envfile_update_opts_init(&o);
	o.initial = tmpl;
	o.initial_len = tmpl_len;
	ed.op = ENVFILE_UPSERT;
	ed.key = "AGENT_BUNDLE_NAME";
	ed.value = r->bundle_name;
	ed.flags = 0;
	if (envfile_update(layout_path(l, LAYOUT_RUNTIME_ENV), &ed, 1, &o, NULL, &changed, e) != 0)
		goto out;
	if (tmpl != NULL &&
	    release_copy_if_different(src, layout_path(l, LAYOUT_TEMPLATE), 0640, &changed, e) != 0)
		goto out;
	n = snprintf(src, sizeof(src), "%s/env/runtime.env", dir);
	if (n < 0 || (size_t)n >= sizeof(src))
		goto out;
	if (access(src, F_OK) == 0) {
		if (release_copy_if_different(src, layout_path(l, LAYOUT_ENV_BUNDLE), 0640,
					      &changed, e) != 0)
			goto out;
	} else if (unlink(layout_path(l, LAYOUT_ENV_BUNDLE)) != 0 && errno != ENOENT) {
		err_sys(e, errno, "remove %s", layout_path(l, LAYOUT_ENV_BUNDLE));
		goto out;
	}
	rc = 0;
out:
	free(tmpl);
	return rc;
}

void txn_installed_switch(struct installed *in, const struct txn_release *from,
			  const struct txn_release *to, const char *now)
{
	copy(in->version, sizeof(in->version), to->version);
	copy(in->bundle_name, sizeof(in->bundle_name), to->bundle_name);
	copy(in->fingerprint, sizeof(in->fingerprint), to->fingerprint);
	copy(in->platform, sizeof(in->platform), to->platform);
	copy(in->installed_at, sizeof(in->installed_at), now);
	if (from != NULL && strcmp(from->fingerprint, to->fingerprint) != 0) {
		in->has_previous = true;
		copy(in->previous.version, sizeof(in->previous.version), from->version);
		copy(in->previous.bundle_name, sizeof(in->previous.bundle_name), from->bundle_name);
		copy(in->previous.fingerprint, sizeof(in->previous.fingerprint), from->fingerprint);
	}
	installed_history_push(in, to->fp12);
}

void txn_gc(const struct layout *l, const struct installed *in, const char *current_fp12,
	    unsigned keep, size_t *failures, struct errbuf *e)
{
	char kept[INSTALLED_HISTORY_MAX + 2][RELEASE_FP12_LEN + 1];
	char prev[RELEASE_FP12_LEN + 1] = "";
	size_t n;

	*failures = 0;
	if (in->has_previous)
		copy(prev, sizeof(prev), in->previous.fingerprint);
	n = release_gc_keep(current_fp12, prev, (const char(*)[RELEASE_FP12_LEN + 1]) in->history,
			    in->nhistory, keep, kept);
	if (release_gc(l, (const char(*)[RELEASE_FP12_LEN + 1]) kept, n, failures, e) != 0)
		(*failures)++;
}

int txn_restart_and_check(const struct layout *l, struct service *svc, const char *fingerprint,
			  int timeout, int interval, const struct health_clock *clk,
			  struct journal *journal, bool *restarted, struct errbuf *e)
{
	struct errbuf re;
	int64_t restart_at;

	*restarted = false;
	if (svc == NULL || !service_manages(svc))
		return 0;
	if (clk->stopped != NULL && clk->stopped(clk->ctx)) {
		err_set(e, "interrupted before the restart");
		return -1;
	}
	restart_at = clk->now(clk->ctx);
	if (journal != NULL) {
		journal->phase =
			journal->phase == JOURNAL_REVERTING ? JOURNAL_REVERTING : JOURNAL_RESTARTED;
		itime_format(restart_at, journal->restart_at);
		if (journal_write(l, journal, e) != 0)
			return -1;
	}
	if (service_start(svc, true, &re) != 0) {
		err_set(e, "restart failed: %s", re.msg);
		return -1;
	}
	*restarted = true;
	crashpt_hit("after-restart");
	return health_run(l, svc, fingerprint, restart_at, timeout, interval, clk, e);
}
