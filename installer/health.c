#include "health.h"

#include "crashpt.h"
#include "fsutil.h"
#include "hex.h"
#include "itime.h"
#include "json.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int health_parse(const char *data, size_t len, struct health_file *out)
{
	struct json_value *root = json_parse(data, len, HEALTH_FILE_MAX, 0, NULL);
	const char *s;
	size_t n;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	s = json_get_string(json_object_get(root, "bundle_fingerprint"), &n);
	if (s == NULL || n >= sizeof(out->bundle_fingerprint) || n != strlen(s))
		goto out;
	memcpy(out->bundle_fingerprint, s, n + 1);
	s = json_get_string(json_object_get(root, "status"), &n);
	if (s == NULL || n >= sizeof(out->status) || n != strlen(s))
		goto out;
	memcpy(out->status, s, n + 1);
	if (json_get_int64(json_object_get(root, "pid"), &out->pid) != 0 || out->pid <= 0 ||
	    out->pid > INT32_MAX)
		goto out;
	s = json_get_string(json_object_get(root, "updated_at"), &n);
	if (s == NULL || itime_parse(s, n, &out->updated) != 0)
		goto out;
	rc = 0;
out:
	json_free(root);
	return rc;
}

void health_init(struct health_check *h, const char *expected_fp, int64_t restart_at)
{
	memset(h, 0, sizeof(*h));
	if (strlen(expected_fp) < sizeof(h->expected))
		memcpy(h->expected, expected_fp, strlen(expected_fp) + 1);
	h->restart_at = restart_at;
	(void)snprintf(h->reason, sizeof(h->reason), "health.json missing");
}

/* Record a failed poll. */
static bool fail(struct health_check *h, const char *text)
{
	(void)snprintf(h->reason, sizeof(h->reason), "%s", text);
	h->pass_pid = 0;
	return false;
}

bool health_observe(struct health_check *h, const struct health_obs *o)
{
	const struct health_file *f = &o->f;

	if (!o->present)
		return fail(h, "health.json missing");
	if (!o->valid)
		return fail(h, "health.json invalid");
	if (strcmp(f->bundle_fingerprint, h->expected) != 0) {
		(void)snprintf(h->reason, sizeof(h->reason), "fingerprint %.12s != %.12s",
			       f->bundle_fingerprint[0] ? f->bundle_fingerprint : "\"\"",
			       h->expected);
		h->pass_pid = 0;
		return false;
	}
	if (strcmp(f->status, "ok") != 0 && strcmp(f->status, "degraded") != 0) {
		(void)snprintf(h->reason, sizeof(h->reason), "status %.15s", f->status);
		h->pass_pid = 0;
		return false;
	}
	if (f->updated < h->restart_at - 1)
		return fail(h, "stale health.json");
	if (!o->pid_running) {
		(void)snprintf(h->reason, sizeof(h->reason), "pid %lld not running",
			       (long long)f->pid);
		h->pass_pid = 0;
		return false;
	}
	if (!o->service_active)
		return fail(h, "service not active");
	if (h->pass_pid != 0 && h->pass_pid == f->pid)
		return true;
	if (h->pass_pid != 0)
		(void)snprintf(h->reason, sizeof(h->reason), "pid changed %lld -> %lld",
			       (long long)h->pass_pid, (long long)f->pid);
	h->pass_pid = f->pid;
	return false;
}

void health_read_poll(const struct layout *l, struct service *svc, struct health_obs *o)
{
	char *data = NULL;
	size_t len = 0;
	enum service_state st = SERVICE_UNKNOWN;

	memset(o, 0, sizeof(*o));
	if (fsutil_read_file(layout_path(l, LAYOUT_HEALTH), HEALTH_FILE_MAX, FSUTIL_R_NOFOLLOW,
			     &data, &len, NULL) != 0) {
		/* a file that exists but cannot be read counts as invalid */
		o->present = errno != ENOENT;
		return;
	}
	o->present = true;
	o->valid = health_parse(data, len, &o->f) == 0;
	free(data);
	if (!o->valid)
		return;
	o->pid_running = kill((pid_t)o->f.pid, 0) == 0 || errno == EPERM;
	o->service_active = true;
	if (svc != NULL && service_state(svc, &st, NULL) == 0 && st == SERVICE_INACTIVE)
		o->service_active = false;
}

int health_run(const struct layout *l, struct service *svc, const char *expected_fp,
	       int64_t restart_at, int timeout, int interval, const struct health_clock *clk,
	       struct errbuf *e)
{
	struct health_check h;
	struct health_obs o;

	health_init(&h, expected_fp, restart_at);
	for (;;) {
		health_read_poll(l, svc, &o);
		if (health_observe(&h, &o))
			return 0;
		crashpt_hit("mid-health");
		if (clk->stopped != NULL && clk->stopped(clk->ctx)) {
			err_set(e, "interrupted");
			return -1;
		}
		if (clk->now(clk->ctx) + interval > restart_at + timeout)
			break;
		clk->sleep(clk->ctx, interval);
	}
	err_set(e, "timed out after %ds (%s)", timeout, h.reason);
	return -1;
}
