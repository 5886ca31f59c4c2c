/*
 * health.json (spec bundle-install-update.md §22.1).
 */
#include "run_health.h"

#include "bounds.h"
#include "fsutil.h"
#include "itime.h"
#include "json.h"
#include "sha256.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[RUN__STATUS_COUNT] = {"starting", "ok", "degraded",
							    "failing"};

const char *run_status_name(enum run_status s)
{
	if ((unsigned)s >= RUN__STATUS_COUNT)
		return NULL;
	return status_names[s];
}

int run_health_format(const struct run_health *h, struct buf *out, struct errbuf *e)
{
	char started[ITIME_LEN + 1], updated[ITIME_LEN + 1];
	struct json_value *o;
	const char *st = run_status_name(h->status);
	int rc = 0;

	if (st == NULL) {
		err_set(e, "health.json: invalid status");
		return -1;
	}
	itime_format(h->started, started);
	itime_format(h->updated, updated);
	o = json_new_object();
	rc |= json_object_set_string(o, "bundle_fingerprint",
				     h->fingerprint != NULL ? h->fingerprint : "");
	rc |= json_object_set_string(o, "bundle_name",
				     h->bundle_name != NULL ? h->bundle_name : "");
	rc |= json_object_set_int(o, "pid", h->pid);
	rc |= json_object_set_string(o, "started_at", started);
	rc |= json_object_set_string(o, "status", st);
	rc |= json_object_set_string(o, "updated_at", updated);
	rc |= json_object_set_string(o, "version", h->version != NULL ? h->version : "");
	if (o == NULL || rc != 0) {
		json_free(o);
		err_set(e, "health.json: out of memory");
		return -1;
	}
	rc = json_write_buf(o, JSON_WRITE_CANONICAL | JSON_WRITE_NEWLINE, out, e);
	json_free(o);
	return rc;
}

int run_health_write(const char *path, const struct run_health *h, struct errbuf *e)
{
	struct fsutil_write_opts o = {0644, FSUTIL_W_HIDDEN_TEMP, (uid_t)-1, (gid_t)-1};
	struct buf *b = buf_new(64 * 1024);
	int rc = -1;

	if (b == NULL) {
		err_sys(e, errno, "health.json");
		return -1;
	}
	if (run_health_format(h, b, e) == 0)
		rc = fsutil_write_file(path, buf_data(b), buf_len(b), &o, e);
	buf_free(b);
	return rc;
}

int run_health_fingerprint(const char *exe, char out[65])
{
	static const char tail[] = "/bin/agentd";
	static const char mf[] = "/MANIFEST";
	char path[4096];
	uint8_t d[SHA256_LEN];
	char *data = NULL;
	size_t n, len = 0, tl = sizeof(tail) - 1;

	if (exe == NULL || out == NULL)
		return -1;
	out[0] = '\0';
	n = strlen(exe);
	if (n <= tl || strcmp(exe + n - tl, tail) != 0)
		return 0;
	n -= tl;
	if (n + sizeof(mf) > sizeof(path))
		return 0;
	memcpy(path, exe, n);
	memcpy(path + n, mf, sizeof(mf));
	if (fsutil_read_file(path, BOUNDS_MANIFEST_MAX, 0, &data, &len, NULL) != 0)
		return 0;
	sha256_buf(data, len, d);
	free(data);
	sha256_to_hex(d, out);
	return 0;
}
