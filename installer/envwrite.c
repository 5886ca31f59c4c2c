#include "envwrite.h"

#include "envplan.h"
#include "fsutil.h"
#include "hostfacts.h"
#include "probes.h"
#include "settings.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* AGENT_INSTALL_PROBES=false (in --set or the file) pins the probe keys. */
bool envwrite_probes_pinned(const struct envfile_edit *sets, size_t nsets, const char *cur,
			    size_t cur_len)
{
	const char *v = NULL;
	size_t vl = 0, i;
	bool b = true;

	for (i = 0; i < nsets; i++)
		if (strcmp(sets[i].key, "AGENT_INSTALL_PROBES") == 0) {
			v = sets[i].value;
			vl = strlen(v);
		}
	if (v == NULL && cur != NULL)
		(void)envfile_get(cur, cur_len, "AGENT_INSTALL_PROBES", 20, &v, &vl);
	return v != NULL && settings_parse_bool(v, vl, &b) == 0 && !b;
}

static bool exec_file(const struct layout *l, const char *host)
{
	char p[PATH_MAX];
	struct stat st;
	return layout_join(l, host, p, sizeof(p), NULL) == 0 && stat(p, &st) == 0 &&
	       S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

/* §9: one locked write.  *changed tells whether runtime.env was written. */
int envwrite_apply(const struct layout *l, const struct envwrite_args *o, bool *changed,
		   bool *has_cr, struct buf *report, struct errbuf *e)
{
	const char *rel_dir = o->rel_dir != NULL ? o->rel_dir : "/nonexistent";
	bool dry_run = o->dry_run;
	char site_path[PATH_MAX + 32], tmpl_path[PATH_MAX + 32], scanner[PATH_MAX + 32],
		comment[128];
	char *site = NULL, *tmpl = NULL, *cur = NULL;
	size_t site_len = 0, tmpl_len = 0, cur_len = 0, n;
	struct envplan_in in;
	struct envplan *p = NULL;
	struct envfile_update_opts uo;
	const struct envfile_edit *edits;
	struct envfile_outcome *oc = NULL;
	struct buf *sum = NULL, *probe_lines = buf_new(4096);
	struct probes_out pr;
	struct hostfacts *facts = NULL;
	const char *ifaces[HOSTFACTS_IFACES_MAX];
	const char *sb = NULL;
	int rc = -1, k;

	memset(&in, 0, sizeof(in));
	if (probe_lines == NULL) {
		err_set(e, "runtime.env: out of memory");
		return -1;
	}
	if (snprintf(site_path, sizeof(site_path), "%s/env/runtime.env", rel_dir) < 0 ||
	    snprintf(tmpl_path, sizeof(tmpl_path), "%s/env/runtime.env.template", rel_dir) < 0 ||
	    snprintf(scanner, sizeof(scanner), "%s/bin/scanner", rel_dir) < 0) {
		buf_free(probe_lines);
		return -1;
	}
	if (fsutil_read_file(site_path, 1024 * 1024, FSUTIL_R_NOFOLLOW, &site, &site_len, NULL) !=
	    0)
		site = NULL;
	if (fsutil_read_file(tmpl_path, 1024 * 1024, FSUTIL_R_NOFOLLOW, &tmpl, &tmpl_len, NULL) !=
	    0)
		tmpl = NULL;
	*has_cr = false;
	if (fsutil_read_file(o->file, 1024 * 1024, 0, &cur, &cur_len, NULL) != 0) {
		cur = tmpl != NULL ? strndup(tmpl, tmpl_len) : NULL;
		cur_len = tmpl != NULL ? tmpl_len : 0;
	}
	in.bundle_name = o->bundle_name;
	in.sets = o->sets;
	in.nsets = o->nsets;
	in.site = site;
	in.site_len = site_len;
	in.release_has_scanner = access(scanner, X_OK) == 0;
	{
		/* "scanner available" after step 1: --set SCANNER_BIN beats the file */
		const char *v = NULL;
		size_t vl = 0, i;
		for (i = 0; i < o->nsets; i++)
			if (strcmp(o->sets[i].key, "SCANNER_BIN") == 0) {
				v = o->sets[i].value;
				vl = strlen(v);
			}
		if (v == NULL && cur != NULL)
			(void)envfile_get(cur, cur_len, "SCANNER_BIN", 11, &v, &vl);
		if (v != NULL && vl > 0 && vl < sizeof(scanner) - 32) {
			char host[PATH_MAX];
			memcpy(host, v, vl);
			host[vl] = '\0';
			sb = host[0] == '/' && exec_file(l, host) ? "file" : NULL;
		}
	}
	in.scanner_available =
		in.release_has_scanner || sb != NULL || exec_file(l, "/usr/bin/scanner");
	if (o->probes) {
		/* §9.3 on the final SCANNER_BIN (after step 5) */
		const char *v = NULL,
			   *keys[3] = {"ANYSCAN_AF_XDP_AVAILABLE", "ANYSCAN_PFRING_ZC_AVAILABLE",
				       "ANYSCAN_DPDK_AVAILABLE"};
		const struct probe_result *res[3];
		char host[PATH_MAX], disk[PATH_MAX];
		size_t vl = 0, i;
		bool pinned;
		host[0] = '\0';
		for (i = 0; i < o->nsets; i++)
			if (strcmp(o->sets[i].key, "SCANNER_BIN") == 0) {
				v = o->sets[i].value;
				vl = strlen(v);
			}
		if (v == NULL && cur != NULL && !envfile_is_absent(cur, cur_len, "SCANNER_BIN", 11))
			(void)envfile_get(cur, cur_len, "SCANNER_BIN", 11, &v, &vl);
		if (v != NULL && vl > 0 && vl < sizeof(host)) {
			memcpy(host, v, vl);
			host[vl] = '\0';
		} else if (in.scanner_available) {
			(void)snprintf(host, sizeof(host), "%s",
				       in.release_has_scanner ? "/opt/agentd/bin/scanner"
							      : "/usr/bin/scanner");
		}
		probes_gather(o->probe_root,
			      host[0] == '/' && layout_join(l, host, disk, sizeof(disk), NULL) == 0
				      ? disk
				      : NULL,
			      o->path_env, &pr);
		pinned = envwrite_probes_pinned(o->sets, o->nsets, cur, cur_len);
		in.probes = !pinned;
		in.xdp = pr.xdp.value;
		in.pfring = pr.pfring.value;
		in.dpdk = pr.dpdk.value;
		res[0] = &pr.xdp;
		res[1] = &pr.pfring;
		res[2] = &pr.dpdk;
		for (i = 0; i < 3; i++)
			if (buf_printf(probe_lines, e, "probe   %s=%s (%s%s)\n", keys[i],
				       res[i]->value ? "true" : "false", res[i]->reason,
				       pinned ? "; not written: AGENT_INSTALL_PROBES=false" : "") !=
			    0)
				goto out;
	}
	/* §9.5 "host facts": DIR is / or --host-probes (read under
	 * AGENT_INSTALL_PROBE_ROOT in tests, §24.2) */
	if (o->probes) {
		const char *v = NULL;
		size_t vl = 0, i;
		bool off = false;
		facts = calloc(1, sizeof(*facts));
		if (facts == NULL) {
			err_set(e, "out of memory");
			goto out;
		}
		hostfacts_gather(o->probe_root, facts);
		in.host_facts = true;
		in.cpus = facts->cpus;
		in.default_iface = facts->default_iface;
		for (i = 0; i < facts->nifaces; i++)
			ifaces[i] = facts->ifaces[i];
		in.ifaces = ifaces;
		in.nifaces = facts->nifaces;
		/* multi-NIC auto off: true-ish in the file after step 1, or in our
		 * environment (§9.5) */
		for (i = 0; i < o->nsets; i++)
			if (strcmp(o->sets[i].key, "ANYSCAN_DISABLE_MULTI_NIC_AUTO") == 0) {
				v = o->sets[i].value;
				vl = strlen(v);
			}
		if (v == NULL && cur != NULL)
			(void)envfile_get(cur, cur_len, "ANYSCAN_DISABLE_MULTI_NIC_AUTO", 30, &v,
					  &vl);
		if (v != NULL && settings_parse_bool(v, vl, &off) == 0 && off)
			in.multi_nic_auto_disabled = true;
		if (o->multi_nic_env_off)
			in.multi_nic_auto_disabled = true;
	}
	in.current = cur;
	in.current_len = cur_len;
	p = envplan_build(&in, e);
	if (p == NULL)
		goto out;
	edits = envplan_edits(p, &n);
	oc = calloc(n, sizeof(*oc));
	sum = buf_new(1024 * 1024);
	if (oc == NULL || sum == NULL) {
		err_set(e, "runtime.env: out of memory");
		goto out;
	}
	k = snprintf(comment, sizeof(comment), "# added by agent-install %s", o->version);
	if (k < 0 || (size_t)k >= sizeof(comment))
		goto out;
	envfile_update_opts_init(&uo);
	uo.initial = tmpl;
	uo.initial_len = tmpl_len;
	uo.append_comment = comment;
	if (dry_run)
		uo.flags |= ENVFILE_U_DRY_RUN;
	if (envfile_update(o->file, edits, n, &uo, oc, changed, e) != 0)
		goto out;
	if (envfile_summary(edits, oc, n, dry_run, sum, e) != 0)
		goto out;
	if (o->bare ? buf_printf(report, e, "%s%s", buf_data(sum), buf_data(probe_lines))
		    : buf_printf(report, e, "runtime.env %s:%s\n%s%s", o->file,
				 buf_len(sum) > 0 ? "" : " unchanged", buf_data(sum),
				 buf_data(probe_lines)))
		goto out;
	*has_cr = cur != NULL && memchr(cur, '\r', cur_len) != NULL;
	rc = 0;
out:
	if (oc != NULL)
		envfile_outcomes_free(oc, p != NULL ? n : 0);
	free(oc);
	buf_free(sum);
	buf_free(probe_lines);
	envplan_free(p);
	free(facts);
	free(site);
	free(tmpl);
	free(cur);
	return rc;
}
