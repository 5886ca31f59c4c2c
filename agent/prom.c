/*
 * agentd.prom (spec bundle-install-update.md §22.2).
 */
#include "prom.h"

#include "fsutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int prom_escape(const char *s, struct buf *out, struct errbuf *e)
{
	const char *p;

	for (p = s != NULL ? s : ""; *p != '\0'; p++) {
		int rc;

		if (*p == '\\')
			rc = buf_append(out, "\\\\", 2, e);
		else if (*p == '"')
			rc = buf_append(out, "\\\"", 2, e);
		else if (*p == '\n')
			rc = buf_append(out, "\\n", 2, e);
		else
			rc = buf_append_byte(out, (unsigned char)*p, e);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int family(struct buf *b, const char *name, const char *type, const char *help,
		  struct errbuf *e)
{
	return buf_printf(b, e, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} n */
static int series1(struct buf *b, const char *name, const char *label, const char *value, int64_t n,
		   struct errbuf *e)
{
	if (buf_printf(b, e, "%s{%s=\"", name, label) != 0 || prom_escape(value, b, e) != 0)
		return -1;
	return buf_printf(b, e, "\"} %" PRId64 "\n", n);
}

static int rate_cmp(const void *a, const void *b)
{
	const struct prom_rate *x = *(const struct prom_rate *const *)a;
	const struct prom_rate *y = *(const struct prom_rate *const *)b;

	return strcmp(x->interface != NULL ? x->interface : "",
		      y->interface != NULL ? y->interface : "");
}

/* Label values sorted bytewise (§22.2 "series sorted by label values"). */
static const char *const update_names[] = {"failed",      "queued",  "rollback_failed",
					   "rolled_back", "running", "success"};
static const char *const health_names[] = {"degraded", "failing", "ok", "starting"};

int prom_format(const struct prom_input *in, struct buf *b, struct errbuf *e)
{
	const struct prom_rate **sorted = NULL;
	const char *st = run_status_name(in->status);
	size_t i;
	int rc = -1;

	if (st == NULL) {
		err_set(e, "agentd.prom: invalid health status");
		return -1;
	}
	if (family(b, "agentd_build_info", "gauge", "Version and bundle of the running agentd.",
		   e) != 0 ||
	    buf_append_str(b, "agentd_build_info{bundle=\"", e) != 0 ||
	    prom_escape(in->bundle, b, e) != 0 || buf_append_str(b, "\",fingerprint=\"", e) != 0 ||
	    prom_escape(in->fingerprint, b, e) != 0 ||
	    buf_append_str(b, "\",platform=\"", e) != 0 || prom_escape(in->platform, b, e) != 0 ||
	    buf_append_str(b, "\",version=\"", e) != 0 || prom_escape(in->version, b, e) != 0 ||
	    buf_append_str(b, "\"} 1\n", e) != 0)
		return -1;
	if (family(b, "agentd_start_time_seconds", "gauge",
		   "Start time of the agentd process, seconds since the epoch.", e) != 0 ||
	    buf_printf(b, e, "agentd_start_time_seconds %" PRId64 "\n", in->start_time) != 0)
		return -1;
	if (family(b, "agentd_health_status", "gauge",
		   "Health status written to health.json (1 for the current one).", e) != 0)
		return -1;
	for (i = 0; i < sizeof(health_names) / sizeof(health_names[0]); i++)
		if (series1(b, "agentd_health_status", "status", health_names[i],
			    strcmp(health_names[i], st) == 0, e) != 0)
			return -1;
	if (family(b, "agentd_health_timestamp_seconds", "gauge",
		   "Time of the last health.json write, seconds since the epoch.", e) != 0 ||
	    buf_printf(b, e, "agentd_health_timestamp_seconds %" PRId64 "\n", in->health_time) != 0)
		return -1;
	if (family(b, "agentd_update_status", "gauge", "Remote update status from the status file.",
		   e) != 0)
		return -1;
	for (i = 0; i < sizeof(update_names) / sizeof(update_names[0]); i++)
		if (series1(b, "agentd_update_status", "status", update_names[i],
			    in->update_status != NULL &&
				    strcmp(update_names[i], in->update_status) == 0,
			    e) != 0)
			return -1;
	if (family(b, "agentd_update_status_timestamp_seconds", "gauge",
		   "UPDATED_AT of the remote update status file, 0 without a file.", e) != 0 ||
	    buf_printf(b, e, "agentd_update_status_timestamp_seconds %" PRId64 "\n",
		       in->update_time) != 0)
		return -1;
	if (family(b, "agentd_channel_last_success_timestamp_seconds", "gauge",
		   "Time of the last verified channel poll, 0 if none.", e) != 0 ||
	    buf_printf(b, e, "agentd_channel_last_success_timestamp_seconds %" PRId64 "\n",
		       in->channel_last_success) != 0)
		return -1;
	if (family(b, "agentd_channel_poll_failures_total", "counter",
		   "Failed channel polls since agentd started.", e) != 0 ||
	    buf_printf(b, e, "agentd_channel_poll_failures_total %" PRIu64 "\n",
		       in->channel_failures) != 0)
		return -1;
	if (in->offered) {
		if (family(b, "agentd_channel_offered_info", "gauge",
			   "Release the update channel offered at the last verified poll.",
			   e) != 0 ||
		    buf_append_str(b, "agentd_channel_offered_info{fingerprint=\"", e) != 0 ||
		    prom_escape(in->offered_fingerprint, b, e) != 0 ||
		    buf_append_str(b, "\",version=\"", e) != 0 ||
		    prom_escape(in->offered_version, b, e) != 0 ||
		    buf_append_str(b, "\"} 1\n", e) != 0)
			return -1;
	}
	if (in->nrates > 0) {
		sorted = calloc(in->nrates, sizeof(*sorted));
		if (sorted == NULL) {
			err_sys(e, errno, "agentd.prom");
			return -1;
		}
		for (i = 0; i < in->nrates; i++)
			sorted[i] = &in->rates[i];
		qsort(sorted, in->nrates, sizeof(*sorted), rate_cmp);
	}
	/* Both families are written even without a calibration file: a family
	 * with HELP and TYPE but no series is valid and keeps the order fixed. */
	if (family(b, "agentd_rate_learned_pps", "gauge", "Last learned scan rate per interface.",
		   e) != 0)
		goto out;
	for (i = 0; i < in->nrates; i++)
		if (series1(b, "agentd_rate_learned_pps", "interface", sorted[i]->interface,
			    sorted[i]->learned_pps, e) != 0)
			goto out;
	if (family(b, "agentd_rate_learned_timestamp_seconds", "gauge",
		   "When the learned rate of an interface was stored, seconds since the epoch.",
		   e) != 0)
		goto out;
	for (i = 0; i < in->nrates; i++)
		if (sorted[i]->has_time &&
		    series1(b, "agentd_rate_learned_timestamp_seconds", "interface",
			    sorted[i]->interface, sorted[i]->updated, e) != 0)
			goto out;
	rc = 0;
out:
	free(sorted);
	return rc;
}

int prom_write(const char *dir, const char *data, size_t len, struct errbuf *e)
{
	struct fsutil_write_opts o = {0644, FSUTIL_W_HIDDEN_TEMP, (uid_t)-1, (gid_t)-1};
	char path[4096];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, PROM_FILE_NAME);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		err_set(e, "textfile directory name too long");
		return -1;
	}
	return fsutil_write_file(path, data, len, &o, e);
}
