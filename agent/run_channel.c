/*
 * Channel poller of `agentd run` (spec bundle-install-update.md §15.2).
 */
#include "run_channel.h"

#include "fsutil.h"
#include "installed.h"
#include "itime.h"
#include "json.h"
#include "rollout.h"
#include "sig.h"
#include "ureq.h"
#include "ustatus.h"
#include "ver.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define SIG_FILE_READ_MAX 4096 /* more than any DER signature; §4.1 checks the rest */

void run_channel_state_init(struct run_channel_state *s)
{
	memset(s, 0, sizeof(*s));
}

enum run_decision run_channel_decide(const struct channel *c, const struct run_decide_in *in)
{
	int cmp;

	if (in->own_fingerprint != NULL && in->own_fingerprint[0] != '\0' &&
	    strcmp(in->own_fingerprint, c->entry.fingerprint) == 0)
		return RUN_DEC_CURRENT;
	if (in->own_version != NULL && ver_cmp_str(c->version, in->own_version, &cmp, NULL) == 0 &&
	    cmp < 0)
		return RUN_DEC_LOWER;
	if (in->in_failed)
		return RUN_DEC_FAILED;
	if (in->request_exists)
		return RUN_DEC_REQUEST_EXISTS;
	if (in->status_running && in->status_time > 0 &&
	    in->now - in->status_time < RUN_UPDATING_FRESH_S)
		return RUN_DEC_UPDATING;
	if (!rollout_selected(in->bucket, c->rollout_percent))
		return RUN_DEC_NOT_IN_ROLLOUT;
	if (in->scan_busy)
		return RUN_DEC_SCAN_BUSY;
	return RUN_DEC_WRITE;
}

void run_channel_worker_id(const char *id, char out[129])
{
	size_t i;

	if (id == NULL || id[0] == '\0') {
		memcpy(out, "unknown", 8);
		return;
	}
	for (i = 0; id[i] != '\0' && i < 128; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';

		out[i] = ok ? c : '_';
	}
	out[i] = '\0';
}

bool run_channel_scan_busy(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	bool busy = false;

	if (fd < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		busy = errno == EWOULDBLOCK;
	else
		flock(fd, LOCK_UN);
	close(fd);
	return busy;
}

/* ---- logging ---------------------------------------------------------------- */

static void log_event(const struct run_channel_config *cfg, const char *name,
		      struct json_value *fields)
{
	if (cfg->log != NULL)
		(void)events_metric(cfg->log, name, fields, NULL);
	json_free(fields);
}

void run_channel_failed(const struct run_channel_config *cfg, struct run_channel_state *s,
			const char *what)
{
	struct json_value *f = json_new_object();

	s->failures++;
	s->last_failed = true;
	snprintf(s->last_error, sizeof(s->last_error), "%s", what);
	json_object_set_string(f, "channel_url", cfg->url);
	json_object_set_string(f, "error", what);
	json_object_set_int(f, "failures", (int64_t)s->failures);
	log_event(cfg, "channel_poll_failed", f);
}

/* ---- fetching ----------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fetch url (https) or read it (local path) into a malloc'd buffer. */
static int fetch(const struct run_channel_config *cfg, const char *url, size_t max,
		 int64_t deadline, char **data, size_t *len, struct errbuf *e)
{
	static const char *const hdrs[] = {"Accept-Encoding: identity"};
	struct http_request rq;
	struct http_response r;
	int64_t left = deadline - now_ms();

	*data = NULL;
	if (strncmp(url, "https://", 8) != 0) {
		size_t span = strcspn(url, ":/");

		if (url[span] == ':') { /* a scheme other than https */
			err_set(e, "%s: insecure URL refused", url);
			return -1;
		}
		if (fsutil_read_file(url, max, 0, data, len, e) != 0)
			return -1;
		return 0;
	}
	if (cfg->http == NULL) {
		err_set(e, "%s: no HTTPS client", url);
		return -1;
	}
	if (left <= 0) {
		err_set(e, "%s: poll budget of %" PRId64 " s used up", url, cfg->budget_ms / 1000);
		return -1;
	}
	memset(&rq, 0, sizeof(rq));
	memset(&r, 0, sizeof(r));
	rq.method = "GET";
	rq.url = url;
	rq.headers = hdrs;
	rq.nheaders = 1;
	rq.max_body_bytes = max;
	rq.total_timeout_ms = left;
	rq.max_redirects = 5;
	rq.refuse_http = 1;
	rq.attempts = 5;
	rq.retry_base_ms = 1000;
	rq.retry_max_ms = 8000;
	rq.retry_after_cap_ms = 60000;
	rq.jitter_lo = 0.8;
	rq.jitter_hi = 1.2;
	rq.retry_status = http_retry_status_default;
	if (http_request(cfg->http, &rq, &r, e) != 0) {
		http_response_clear(&r);
		return -1;
	}
	if (r.status != 200) {
		if (r.status == 404)
			err_set(e, "%s: not found", url);
		else
			err_set(e, "%s: HTTP status %d", url, r.status);
		http_response_clear(&r);
		return -1;
	}
	*data = r.body;
	*len = (size_t)r.body_len;
	r.body = NULL;
	http_response_clear(&r);
	if (*data == NULL) {
		*data = calloc(1, 1);
		*len = 0;
		if (*data == NULL) {
			err_sys(e, ENOMEM, "%s", url);
			return -1;
		}
	}
	return 0;
}

/* ---- the poll ----------------------------------------------------------------- */

static int platform_ok(const char *p)
{
	return p != NULL && p[0] != '\0';
}

static bool failed_here(const struct run_channel_config *cfg, const char *fp)
{
	struct installed *in;
	char *data = NULL;
	size_t len = 0;
	bool r = false;

	if (cfg->installed_path == NULL ||
	    fsutil_read_file(cfg->installed_path, INSTALLED_FILE_MAX, FSUTIL_R_NOFOLLOW, &data,
			     &len, NULL) != 0)
		return false;
	in = malloc(sizeof(*in));
	if (in != NULL && installed_parse(data, len, in, NULL) == 0)
		r = installed_failed_find(in, fp) != NULL;
	free(in);
	free(data);
	return r;
}

static int evaluate(const struct run_channel_config *cfg, struct run_channel_state *s, int64_t now)
{
	const struct channel *c = &s->offer;
	struct run_decide_in in;
	struct ustatus st;
	struct ureq rq;
	struct errbuf e = {{0}};
	struct json_value *f;
	char msg[USTATUS_MESSAGE_MAX + 1], fp12[13];
	enum run_decision d;
	size_t n;
	int w;

	memset(&in, 0, sizeof(in));
	in.own_fingerprint = cfg->own_fingerprint;
	in.own_version = cfg->own_version;
	in.in_failed = failed_here(cfg, c->entry.fingerprint);
	in.request_exists = access(cfg->request_path, F_OK) == 0 || errno != ENOENT;
	if (ustatus_read(cfg->status_path, &st, NULL) == 0 && st.status == USTATUS_RUNNING) {
		in.status_running = true;
		in.status_time = st.has_time ? st.updated : 0;
	}
	in.now = now;
	n = cfg->rollout_id != NULL ? strlen(cfg->rollout_id) : 0;
	in.bucket = rollout_bucket(n > 0 ? cfg->rollout_id : "", n, c->version, strlen(c->version));
	in.scan_busy = run_channel_scan_busy(cfg->scan_lock_path);
	d = run_channel_decide(c, &in);
	s->pending = d == RUN_DEC_SCAN_BUSY;
	memcpy(fp12, c->entry.fingerprint, 12);
	fp12[12] = '\0';
	if (d == RUN_DEC_NOT_IN_ROLLOUT) {
		if (strcmp(s->rollout_logged, c->version) != 0) {
			char line[256];

			snprintf(s->rollout_logged, sizeof(s->rollout_logged), "%s", c->version);
			snprintf(line, sizeof(line), "not in rollout for %s: bucket %u >= %u",
				 c->version, in.bucket, c->rollout_percent);
			f = json_new_object();
			json_object_set_string(f, "message", line);
			json_object_set_string(f, "version", c->version);
			json_object_set_int(f, "bucket", in.bucket);
			json_object_set_int(f, "rollout_percent", c->rollout_percent);
			log_event(cfg, "channel_not_in_rollout", f);
		}
		return d;
	}
	if (d != RUN_DEC_WRITE)
		return d;
	memset(&rq, 0, sizeof(rq));
	itime_format(now, rq.requested_at);
	rq.requested = now;
	snprintf(rq.worker_id, sizeof(rq.worker_id), "%s", cfg->worker_id);
	rq.source = UREQ_SOURCE_CHANNEL;
	w = snprintf(rq.channel_url, sizeof(rq.channel_url), "%s", cfg->url);
	if (w < 0 || (size_t)w >= sizeof(rq.channel_url))
		rq.channel_url[0] =
			'\0'; /* too long to record: the updater uses AGENTD_CHANNEL_URL */
	snprintf(rq.version, sizeof(rq.version), "%s", c->version);
	snprintf(rq.fingerprint, sizeof(rq.fingerprint), "%s", c->entry.fingerprint);
	if (ureq_write(cfg->request_path, &rq, &e) != 0) {
		f = json_new_object();
		json_object_set_string(f, "error", e.msg);
		log_event(cfg, "channel_request_write_failed", f);
		return -1;
	}
	snprintf(msg, sizeof(msg), "channel %s offers %s (%s); bucket %u < %u", c->channel,
		 c->version, fp12, in.bucket, c->rollout_percent);
	if (ustatus_write(cfg->status_path, USTATUS_QUEUED, now, msg, &e) != 0) {
		f = json_new_object();
		json_object_set_string(f, "error", e.msg);
		log_event(cfg, "channel_status_write_failed", f);
	}
	f = json_new_object();
	json_object_set_string(f, "message", msg);
	json_object_set_string(f, "version", c->version);
	json_object_set_string(f, "fingerprint", c->entry.fingerprint);
	log_event(cfg, "channel_update_requested", f);
	return d;
}

int run_channel_poll(const struct run_channel_config *cfg, struct run_channel_state *s, int64_t now)
{
	struct sig_keyset *ks = NULL;
	struct channel *c = NULL;
	struct channel_opts o;
	struct errbuf e = {{0}}, e2 = {{0}};
	char *doc = NULL, *sig = NULL, sig_url[CHANNEL_URL_MAX];
	size_t doc_len = 0, sig_len = 0;
	int64_t deadline = now_ms() + (cfg->budget_ms > 0 ? cfg->budget_ms : 60000);
	int n, rc = -1;

	s->pending = false;
	if (!platform_ok(cfg->platform)) {
		err_set(&e, "unknown platform");
		goto fail;
	}
	n = snprintf(sig_url, sizeof(sig_url), "%s.sig", cfg->url);
	if (n < 0 || (size_t)n >= sizeof(sig_url)) {
		err_set(&e, "channel URL too long");
		goto fail;
	}
	/* §4.4: the poller trusts /etc/agentd/trusted.pem only; no keys: refused */
	ks = sig_keyset_new();
	if (ks == NULL) {
		err_sys(&e, ENOMEM, "trusted keys");
		goto fail;
	}
	if (sig_keyset_add_file(ks, cfg->trusted_path, &e2) != 0) {
		err_set(&e, "no usable trusted keys: %s", e2.msg);
		goto fail;
	}
	if (fetch(cfg, cfg->url, CHANNEL_FILE_MAX, deadline, &doc, &doc_len, &e) != 0 ||
	    fetch(cfg, sig_url, SIG_FILE_READ_MAX, deadline, &sig, &sig_len, &e) != 0)
		goto fail;
	if (channel_verify_sig(ks, doc, doc_len, (const uint8_t *)sig, sig_len, NULL, &e) != 0)
		goto fail;
	c = malloc(sizeof(*c));
	if (c == NULL) {
		err_sys(&e, ENOMEM, "channel manifest");
		goto fail;
	}
	o.manifest_url = cfg->url;
	o.platform = cfg->platform;
	o.now = now;
	if (channel_parse(doc, doc_len, &o, c, &e) != 0)
		goto fail;
	s->offer = *c;
	s->last_success = now;
	s->last_failed = false;
	s->offered = true;
	snprintf(s->offered_version, sizeof(s->offered_version), "%s", c->version);
	snprintf(s->offered_fingerprint, sizeof(s->offered_fingerprint), "%s",
		 c->entry.fingerprint);
	rc = evaluate(cfg, s, now);
	goto out;
fail:
	run_channel_failed(cfg, s, e.msg);
out:
	free(c);
	free(doc);
	free(sig);
	sig_keyset_free(ks);
	return rc;
}

int run_channel_recheck(const struct run_channel_config *cfg, struct run_channel_state *s,
			int64_t now)
{
	if (!s->pending)
		return -1;
	if (now >= s->offer.expires) {
		s->pending = false;
		return -1;
	}
	return evaluate(cfg, s, now);
}
