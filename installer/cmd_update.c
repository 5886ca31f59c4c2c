/*
 * agent-install update (--bundle FILE | --url URL | --channel URL|PATH |
 * --from-request) ... (spec bundle-install-update.md §13, §14.4, §15.1):
 * resolve the source, decide on the version, fetch, verify, unpack,
 * self-test, switch, restart, health check, and revert automatically when
 * the new release does not become healthy.  Every outcome goes to the
 * status file (§13.7) and a request is consumed only at the end.
 */
#include "cmd.h"
#include "version.h"

#include "bounds.h"
#include "channel.h"
#include "cli.h"
#include "crashpt.h"
#include "envfile.h"
#include "envwrite.h"
#include "fsutil.h"
#include "hex.h"
#include "http.h"
#include "installed.h"
#include "itime.h"
#include "journal.h"
#include "recover.h"
#include "release.h"
#include "sig.h"
#include "txn.h"
#include "unpack.h"
#include "update.h"
#include "ureq.h"
#include "ustatus.h"
#include "verify.h"

#include "bname.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ATTEMPTS_MAX 3 /* §14.4 */

static const char update_usage[] =
	"usage: agent-install update (--bundle FILE | --url URL | --channel URL|PATH |\n"
	"                             --from-request) [--sha256 HEX] [--signature SIGFILE]\n"
	"                             [--allow-downgrade] [--insecure-no-signature] [--root DIR]\n"
	"\n"
	"Updates the installed agent: fetches and verifies the new bundle, unpacks it,\n"
	"runs its self-test, switches to it, restarts agentd and checks its health;\n"
	"a release that does not become healthy is reverted automatically.  The\n"
	"outcome is written to the status file (AGENT_REMOTE_UPDATE_STATUS_FILE).\n"
	"  --bundle FILE     local bundle (its .sha256 and .sig siblings are used)\n"
	"  --url URL         https URL of a bundle (<stem>.sha256 and <stem>.sig beside it)\n"
	"  --channel URL     signed channel manifest (https URL or local path)\n"
	"  --from-request    the update request file (written by agentd run or operators)\n"
	"  --sha256 HEX      expected SHA-256 of the bundle\n"
	"  --signature FILE  signature file (beats the .sig sibling)\n"
	"  --allow-downgrade install a lower version than the installed one\n"
	"  --insecure-no-signature  accept a bundle without a verified signature\n"
	"  --root DIR        treat DIR as / (default: $AGENTD_ROOT, else /)\n"
	"\n"
	"exit status: 0 updated, already current or no request, 1 failure (the host is\n"
	"as before), 2 usage, 3 the new release failed after the switch and the previous\n"
	"one was restored and is healthy, 4 restoring the previous release also failed\n";

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
	if (g_signal == 0)
		g_signal = sig;
}

struct upd {
	/* options */
	const char *bundle, *url, *channel, *sha256, *signature, *root;
	bool from_request, allow_downgrade, insecure;
	/* state */
	struct layout *l;
	struct settings set;
	struct service *svc;
	char *env_data; /* runtime.env (for CA file and proxies) */
	size_t env_len;
	char status_path[PATH_MAX], request_path[PATH_MAX];
	struct installed before;
	bool have_req;
	struct ureq req;
	struct update_net *net;
	struct http_client *http; /* owned by net */
	char host_plat[BNAME_PLATFORM_MAX + 1];
	/* the source */
	char src[CHANNEL_URL_MAX];     /* bundle URL or path */
	char sig_src[CHANNEL_URL_MAX]; /* signature URL or path */
	bool src_plain_file;           /* --bundle FILE (any relative path) */
	char file_name[256];
	char src_desc[CHANNEL_URL_MAX + 32];
	bool have_sha;
	uint8_t sha[32];
	int64_t size;
	bool have_fp;
	uint8_t fp[32];
	/* files under .incoming */
	char bundle_path[PATH_MAX], sig_path[PATH_MAX];
	struct sig_keyset *keys;
	struct verify_opts vo;
	struct verify_result vr;
	bool journal_written;
	struct journal j;
	struct txn_release from, to;
	int64_t t0;
};

/* A message that may be cut (status messages are capped at 512 bytes). */
static void msgf(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void msgf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(out, size, fmt, ap) < 0)
		out[0] = '\0';
	va_end(ap);
}

/* ---- status and exits ------------------------------------------------------ */

static void status(struct upd *u, enum ustatus_kind k, const char *text)
{
	struct errbuf e;

	if (ustatus_write(u->status_path, k, (int64_t)time(NULL), text, &e) != 0)
		cli_warn("cannot write the status file: %s", e.msg);
}

/* §13.4 "consume the request" (every terminal outcome) and §14.4. */
static void consume(struct upd *u)
{
	struct errbuf e;
	bool consumed;

	if (!u->from_request || !u->have_req)
		return;
	if (ureq_consume(u->request_path, u->req.requested_at, &consumed, &e) != 0)
		cli_warn("cannot remove the request file: %s", e.msg);
	else if (!consumed)
		cli_info("a newer request arrived; leaving it for the next run");
	if (ureq_attempts_clear(layout_path(u->l, LAYOUT_ATTEMPTS), &e) != 0)
		cli_warn("cannot remove %s: %s", layout_path(u->l, LAYOUT_ATTEMPTS), e.msg);
}

/* A terminal outcome: status, consume, message, exit code. */
static int finish(struct upd *u, enum ustatus_kind k, int code, const char *text)
{
	status(u, k, text);
	consume(u);
	if (u->journal_written) {
		struct errbuf e;
		if (journal_remove(u->l, &e) != 0)
			cli_warn("cannot remove the journal: %s", e.msg);
		u->journal_written = false;
	}
	if (code == 0)
		cli_info("%s", text);
	else
		cli_error("%s", text);
	return code;
}

static int failf(struct upd *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(struct upd *u, const char *fmt, ...)
{
	char text[USTATUS_MESSAGE_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	return finish(u, USTATUS_FAILED, 1, text);
}

static bool interrupted(void)
{
	return g_signal != 0;
}

/* ---- HTTPS (§17) -------------------------------------------------------------- */

static const char *env_lookup(void *ctx, const char *key)
{
	(void)ctx;
	return getenv(key);
}

static int http_ready(struct upd *u, struct errbuf *e)
{
	char ua[128];

	if (u->http != NULL)
		return 0;
	if (u->net == NULL) {
		msgf(ua, sizeof(ua), "agent-install/%s (%s)", version_get(), u->host_plat);
		u->net = update_net_new(u->l, env_lookup, NULL, u->env_data, u->env_len, ua, e);
		if (u->net == NULL)
			return -1;
	}
	u->http = update_net_http(u->net, e);
	return u->http == NULL ? -1 : 0;
}

/* §17: on a TTY one line redrawn (at most 10 times a second), otherwise
 * one line at the start and one at the end. */
static void progress(void *ctx, int phase, const char *what, uint64_t got, int64_t total,
		     double seconds)
{
	const char *name = strrchr(what, '/');
	double mib = (double)got / 1048576.0, rate = seconds > 0 ? mib / seconds : 0.0;
	bool tty = isatty(STDERR_FILENO) != 0;

	(void)ctx;
	name = name != NULL ? name + 1 : what;
	if (!tty) {
		if (phase == UPDATE_PROGRESS_START)
			cli_info("downloading %s", what);
		else if (phase == UPDATE_PROGRESS_DONE)
			cli_info("downloaded %s: %.1f MiB in %.1fs", name, mib, seconds);
		return;
	}
	if (total > 0)
		fprintf(stderr, "\r" CLI_PROG ": downloading %s  %.1f/%.1f MiB  %3d%%  %.1f MiB/s ",
			name, mib, (double)total / 1048576.0,
			(int)((double)got * 100.0 / (double)total), rate);
	else
		fprintf(stderr, "\r" CLI_PROG ": downloading %s  %.1f MiB  %.1f MiB/s ", name, mib,
			rate);
	if (phase == UPDATE_PROGRESS_DONE)
		fputc('\n', stderr);
	fflush(stderr);
}

/* Fetch url into dest (NULL: memory) with the §17 rules. */
static int fetch(struct upd *u, const char *url, const char *dest, uint64_t max, int64_t expect,
		 int64_t timeout_ms, char **data, size_t *len, bool *not_found, struct errbuf *e)
{
	struct update_fetch f;

	if (update_is_https(url) && http_ready(u, e) != 0)
		return -1;
	memset(&f, 0, sizeof(f));
	f.url = url;
	f.dest = dest;
	f.max_bytes = max;
	f.expect_size = expect;
	f.timeout_ms = timeout_ms;
	if (dest != NULL && update_is_https(url))
		f.progress = progress;
	if (update_fetch_run(u->http, &f, data, len, not_found, e) != 0) {
		if (f.progress != NULL && isatty(STDERR_FILENO))
			fputc('\n', stderr); /* end the redrawn progress line */
		return -1;
	}
	return 0;
}

static int incoming_path(struct upd *u, const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", layout_path(u->l, LAYOUT_INCOMING), name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* ---- sources (§13.2, §13.8) ------------------------------------------------- */

static int load_keys(struct upd *u, struct errbuf *e)
{
	u->keys = sig_keyset_new();
	if (u->keys == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	if (access(layout_path(u->l, LAYOUT_TRUSTED), F_OK) == 0 &&
	    sig_keyset_add_file(u->keys, layout_path(u->l, LAYOUT_TRUSTED), e) != 0)
		return -1;
	return 0;
}

/* The functions below return GO_ON to continue, or the exit code once the
 * command has finished (status written, request consumed). */
#define GO_ON (-1)

static int decide(struct upd *u, const char *version, const char *fingerprint)
{
	struct update_decide_in d;
	char cur[13], msg[UPDATE_MSG_MAX + 1];
	bool have_cur = false;
	struct errbuf e;

	memset(&d, 0, sizeof(d));
	d.in = &u->before;
	d.version = version;
	d.fingerprint = fingerprint;
	d.allow_downgrade = u->allow_downgrade;
	d.from_request = u->from_request;
	d.current_rechecks = strcmp(u->before.fingerprint, fingerprint) == 0 &&
			     release_current(u->l, cur, &have_cur, &e) == 0 && have_cur &&
			     strncmp(cur, fingerprint, 12) == 0 &&
			     release_recheck(u->l, cur, NULL, NULL, &e) == 0;
	switch (update_decide(&d, msg)) {
	case UPDATE_PROCEED:
		return GO_ON;
	case UPDATE_PROCEED_SAME_VERSION:
		cli_warn("%s", msg);
		return GO_ON;
	case UPDATE_ALREADY_CURRENT:
		return finish(u, USTATUS_SUCCESS, 0, msg);
	case UPDATE_REFUSE_DOWNGRADE:
	case UPDATE_REFUSE_FAILED_HERE:
		break;
	}
	return finish(u, USTATUS_FAILED, 1, msg);
}

static int from_channel(struct upd *u, const char *url)
{
	struct channel_opts co;
	struct channel ch;
	struct errbuf e;
	char *doc = NULL, *sig = NULL, sig_url[CHANNEL_URL_MAX + 8];
	size_t doc_len = 0, sig_len = 0, n;
	int rc, k;

	if (!update_is_https(url) && !update_is_local_path(url))
		return failf(u, "channel manifest %.200s: insecure URL refused", url);
	k = snprintf(sig_url, sizeof(sig_url), "%s.sig", url);
	if (k < 0 || (size_t)k >= sizeof(sig_url))
		return failf(u, "channel URL too long");
	if (fetch(u, url, NULL, CHANNEL_FILE_MAX, -1, UPDATE_SMALL_TIMEOUT_MS, &doc, &doc_len, NULL,
		  &e) != 0 ||
	    fetch(u, sig_url, NULL, 4096, -1, UPDATE_SMALL_TIMEOUT_MS, &sig, &sig_len, NULL, &e) !=
		    0) {
		rc = failf(u, "cannot fetch the channel manifest: %.400s", e.msg);
		goto out;
	}
	/* §13.8: the signature before anything in the manifest is used */
	if (load_keys(u, &e) != 0 || channel_verify_sig(u->keys, doc, doc_len, (const uint8_t *)sig,
							sig_len, NULL, &e) != 0) {
		rc = failf(u, "channel manifest %.200s: %.280s", url, e.msg);
		goto out;
	}
	memset(&co, 0, sizeof(co));
	co.manifest_url = url;
	co.platform = u->host_plat;
	co.now = (int64_t)time(NULL);
	if (channel_parse(doc, doc_len, &co, &ch, &e) != 0) {
		rc = failf(u, "%.480s", e.msg);
		goto out;
	}
	memcpy(u->src, ch.entry.url, sizeof(u->src));
	memcpy(u->sig_src, ch.entry.sig_url, sizeof(u->sig_src));
	memcpy(u->file_name, ch.entry.bundle, sizeof(u->file_name));
	u->have_sha = hex_decode(ch.entry.sha256, 64, u->sha, 32, &n, 0) == 0;
	u->have_fp = hex_decode(ch.entry.fingerprint, 64, u->fp, 32, &n, 0) == 0;
	u->size = (int64_t)ch.entry.size;
	msgf(u->src_desc, sizeof(u->src_desc), "channel %s", ch.channel);
	if (u->have_req && u->req.fingerprint[0] != '\0' &&
	    strcmp(u->req.fingerprint, ch.entry.fingerprint) != 0)
		cli_info("the request named %s (%.12s); channel %s now offers %s (%.12s)",
			 u->req.version[0] != '\0' ? u->req.version : "a release",
			 u->req.fingerprint, ch.channel, ch.version, ch.entry.fingerprint);
	rc = decide(u, ch.version, ch.entry.fingerprint);
out:
	free(doc);
	free(sig);
	return rc;
}

/* §13.2: fill the source from the options or the request. */
static int resolve_source(struct upd *u)
{
	const char *bundle_url = NULL, *channel_url = NULL, *sha = u->sha256;
	int k;

	u->size = -1;
	if (u->from_request) {
		if (u->req.bundle_url[0] != '\0') {
			bundle_url = u->req.bundle_url;
			if (u->req.bundle_sha256[0] != '\0')
				sha = u->req.bundle_sha256;
		} else if (u->req.channel_url[0] != '\0') {
			channel_url = u->req.channel_url;
		} else if (u->set.channel_url[0] != '\0') {
			channel_url = u->set.channel_url;
		} else {
			return failf(u, "no update source (set AGENTD_CHANNEL_URL)");
		}
	} else if (u->url != NULL) {
		bundle_url = u->url;
	} else if (u->channel != NULL) {
		channel_url = u->channel;
	}
	if (sha != NULL) {
		size_t n;
		u->have_sha = hex_decode(sha, 64, u->sha, 32, &n, HEX_ALLOW_UPPER) == 0;
	}
	if (channel_url != NULL)
		return from_channel(u, channel_url);
	if (bundle_url != NULL) {
		if (!update_is_https(bundle_url) && !update_is_local_path(bundle_url))
			return failf(u, "cannot fetch %.200s: insecure URL refused", bundle_url);
		k = snprintf(u->src, sizeof(u->src), "%s", bundle_url);
		if (k < 0 || (size_t)k >= sizeof(u->src) ||
		    update_sibling(bundle_url, ".sig", u->sig_src, sizeof(u->sig_src)) != 0 ||
		    update_base_name(bundle_url, u->file_name, sizeof(u->file_name)) != 0)
			return failf(u, "cannot use URL %.200s", bundle_url);
		msgf(u->src_desc, sizeof(u->src_desc), "%s", bundle_url);
		if (!u->have_sha) {
			/* <stem>.sha256 beside it; 404 -> none (§13.2) */
			char sha_url[CHANNEL_URL_MAX], *data = NULL;
			size_t len = 0;
			bool nf = false;
			struct errbuf e;
			if (update_sibling(bundle_url, ".sha256", sha_url, sizeof(sha_url)) != 0)
				return failf(u, "cannot use URL %.200s", bundle_url);
			if (fetch(u, sha_url, NULL, UPDATE_SMALL_MAX, -1, UPDATE_SMALL_TIMEOUT_MS,
				  &data, &len, &nf, &e) != 0) {
				if (!nf)
					return failf(u, "cannot fetch %.200s: %.280s", sha_url,
						     e.msg);
			} else {
				int r = verify_parse_sha256_file(data, len, u->sha, &e);
				free(data);
				if (r != 0)
					return failf(u, "%.200s: %.280s", sha_url, e.msg);
				u->have_sha = true;
			}
		}
		return GO_ON;
	}
	/* --bundle FILE */
	u->src_plain_file = true;
	k = snprintf(u->src, sizeof(u->src), "%s", u->bundle);
	if (k < 0 || (size_t)k >= sizeof(u->src) ||
	    update_base_name(u->bundle, u->file_name, sizeof(u->file_name)) != 0)
		return failf(u, "cannot use bundle path %.200s", u->bundle);
	if (u->signature != NULL)
		k = snprintf(u->sig_src, sizeof(u->sig_src), "%s", u->signature);
	else if (sig_path_for(u->bundle, u->sig_src, sizeof(u->sig_src), NULL) != 0)
		k = -1;
	if (k < 0 || (size_t)k >= sizeof(u->sig_src))
		return failf(u, "cannot use the signature path of %.200s", u->bundle);
	if (!u->have_sha) {
		char sib[PATH_MAX], *data = NULL;
		size_t len = 0;
		struct errbuf e;
		if (update_sibling(u->bundle, ".sha256", sib, sizeof(sib)) == 0 &&
		    access(sib, F_OK) == 0) {
			if (fsutil_read_file(sib, UPDATE_SMALL_MAX, 0, &data, &len, &e) != 0 ||
			    verify_parse_sha256_file(data, len, u->sha, &e) != 0) {
				free(data);
				return failf(u, "%.200s: %.280s", sib, e.msg);
			}
			free(data);
			u->have_sha = true;
		}
	}
	msgf(u->src_desc, sizeof(u->src_desc), "%s", u->bundle);
	return GO_ON;
}

/* §13.4 step 8 */
static int space_check(struct upd *u, uint64_t size)
{
	uint64_t avail;
	struct errbuf e;

	if (update_free_bytes(layout_path(u->l, LAYOUT_OPT), &avail, &e) != 0)
		return failf(u, "cannot tell free space: %.400s", e.msg);
	if (avail / 3 < size)
		return failf(u, "not enough disk space: %llu bytes free under %s, %llu needed",
			     (unsigned long long)avail, "/opt/agentd",
			     (unsigned long long)size * 3);
	return GO_ON;
}

/* Steps 8-10: download (or private copy) into .incoming and verify. */
static int download_and_verify(struct upd *u)
{
	struct errbuf e;
	struct stat st;
	int rc;

	if (incoming_path(u, u->file_name, u->bundle_path, sizeof(u->bundle_path)) != 0)
		return failf(u, "bundle name too long");
	if (u->size >= 0) {
		rc = space_check(u, (uint64_t)u->size);
		if (rc != GO_ON)
			return rc;
	} else if (u->src_plain_file && stat(u->src, &st) == 0) {
		rc = space_check(u, (uint64_t)st.st_size);
		if (rc != GO_ON)
			return rc;
	}
	if (u->src_plain_file)
		rc = update_copy_file(u->src, u->bundle_path, BOUNDS_BUNDLE_FILE_MAX, &e);
	else
		rc = fetch(u, u->src, u->bundle_path,
			   u->size >= 0 ? (uint64_t)u->size : BOUNDS_BUNDLE_FILE_MAX, u->size,
			   UPDATE_BUNDLE_TIMEOUT_MS, NULL, NULL, NULL, &e);
	if (rc != 0)
		return failf(u, "cannot fetch %.200s: %.280s", u->src, e.msg);
	if (u->size < 0 && !u->src_plain_file && stat(u->bundle_path, &st) == 0) {
		rc = space_check(u, (uint64_t)st.st_size);
		if (rc != GO_ON)
			return rc;
	}
	/* the signature: https -> .incoming, a path is read where it is */
	if (update_is_https(u->sig_src)) {
		char name[300];
		bool nf = false;
		if (update_sibling(u->file_name, ".sig", name, sizeof(name)) != 0 ||
		    incoming_path(u, name, u->sig_path, sizeof(u->sig_path)) != 0)
			return failf(u, "bundle name too long");
		if (fetch(u, u->sig_src, u->sig_path, 4096, -1, UPDATE_SMALL_TIMEOUT_MS, NULL, NULL,
			  &nf, &e) != 0 &&
		    !nf)
			return failf(u, "cannot fetch %.200s: %.280s", u->sig_src, e.msg);
	} else {
		memcpy(u->sig_path, u->sig_src, sizeof(u->sig_path));
	}
	crashpt_hit("after-download");
	if (interrupted())
		return failf(u, "interrupted by signal %d", (int)g_signal);
	if (u->keys == NULL && load_keys(u, &e) != 0)
		return failf(u, "cannot read %s: %.300s", layout_path(u->l, LAYOUT_TRUSTED), e.msg);
	memset(&u->vo, 0, sizeof(u->vo));
	u->vo.path = u->bundle_path;
	u->vo.file_name = u->file_name;
	u->vo.have_sha256 = u->have_sha;
	memcpy(u->vo.sha256, u->sha, 32);
	u->vo.size = u->size;
	u->vo.have_fingerprint = u->have_fp;
	memcpy(u->vo.fingerprint, u->fp, 32);
	u->vo.sig_path = u->sig_path;
	u->vo.keys = u->keys;
	u->vo.insecure_no_signature = u->insecure;
	u->vo.platform = u->host_plat;
	if (verify_bundle(&u->vo, &u->vr, &e) != 0)
		return failf(u, "verify failed [%s]: %.400s", verify_code_name(u->vr.code), e.msg);
	crashpt_hit("after-verify");
	if (!u->vr.signature_verified)
		cli_warn("updating to %s without a verified signature (--insecure-no-signature)",
			 u->vr.name);
	return decide(u, u->vr.version, u->vr.fingerprint);
}

/* ---- switch, restart, health, revert (§13.4 steps 13-15, §13.6) ------------- */

static int64_t sig_now(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

/* a signal before the restart or during the health check ends it at once
 * (§13.4: it starts the revert) */
static bool sig_stopped(void *ctx)
{
	(void)ctx;
	return g_signal != 0;
}

static void sig_sleep(void *ctx, int seconds)
{
	struct timespec ts = {0, 100000000};
	int i;

	(void)ctx;
	for (i = 0; i < seconds * 10 && g_signal == 0; i++)
		(void)nanosleep(&ts, NULL);
}

static const struct health_clock sig_clock = {sig_now, sig_sleep, NULL, sig_stopped};

static void ignore_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
}

static int revert(struct upd *u, const char *reason)
{
	char text[USTATUS_MESSAGE_MAX + 1], now[32];
	struct installed back;
	struct errbuf e;
	bool restarted = false;

	ignore_signals(); /* §13.4: further signals are ignored until the revert ends */
	if (!u->set.rollback_on_failure) {
		msgf(text, sizeof(text), "%.400s; rollback disabled, %s left current", reason,
		     u->to.version);
		return finish(u, USTATUS_FAILED, 1, text);
	}
	cli_warn("%s; restoring %s (%s)", reason, u->from.version, u->from.fp12);
	cli_now(now);
	back = u->before;
	installed_failed_add(&back, u->to.version, u->to.fingerprint, now, reason);
	u->j.phase = JOURNAL_REVERTING;
	if (journal_write(u->l, &u->j, &e) != 0 ||
	    txn_switch(u->l, u->svc, u->set.textfile_dir, u->from.fp12, NULL, &e) != 0 ||
	    (crashpt_hit("mid-revert"), 0) || installed_write(u->l, &back, &e) != 0 ||
	    txn_apply_env(u->l, &u->from, &e) != 0 ||
	    txn_restart_and_check(u->l, u->svc, u->from.fingerprint, u->set.health_timeout,
				  u->set.health_interval, &cli_clock, &u->j, &restarted, &e) != 0) {
		msgf(text, sizeof(text), "%.240s; restoring %s (%s) also failed: %.200s", reason,
		     u->from.version, u->from.fp12, e.msg);
		return finish(u, USTATUS_ROLLBACK_FAILED, 4, text);
	}
	msgf(text, sizeof(text), "%.420s; restored %s (%s)", reason, u->from.version, u->from.fp12);
	return finish(u, USTATUS_ROLLED_BACK, 3, text);
}

/* runtime.env per §9 steps 2-5 for the new release (no --set on update). */
static int apply_env(struct upd *u, const char *rel_dir, struct errbuf *e)
{
	struct envwrite_args a;
	struct buf *report = buf_new(64 * 1024);
	const char *probe = getenv("AGENT_INSTALL_PROBE_ROOT");
	const char *mn = getenv("ANYSCAN_DISABLE_MULTI_NIC_AUTO");
	bool off = false, has_cr = false, changed = false;
	int rc;

	if (report == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.file = layout_path(u->l, LAYOUT_RUNTIME_ENV);
	a.rel_dir = rel_dir;
	a.bundle_name = u->to.bundle_name;
	a.version = u->to.version;
	a.probes = layout_is_host(u->l);
	a.probe_root = !layout_is_host(u->l) && probe != NULL && probe[0] == '/' ? probe : "/";
	a.path_env = getenv("PATH");
	a.multi_nic_env_off = mn != NULL && settings_parse_bool(mn, strlen(mn), &off) == 0 && off;
	a.bare = true;
	rc = envwrite_apply(u->l, &a, &changed, &has_cr, report, e);
	buf_free(report);
	return rc;
}

static int switch_and_check(struct upd *u, const char *rel_dir)
{
	struct installed after;
	struct errbuf e;
	char now[32], reason[ERRBUF_SIZE + 64], text[USTATUS_MESSAGE_MAX + 1];
	bool restarted = false;
	size_t failures;

	cli_now(now);
	u->j.phase = JOURNAL_SWITCHING;
	if (journal_write(u->l, &u->j, &e) != 0)
		return failf(u, "cannot write the journal: %.400s", e.msg);
	after = u->before;
	txn_installed_switch(&after, &u->from, &u->to, now);
	memcpy(after.signature, u->vr.signature_verified ? "verified" : "skipped", 9);
	memcpy(after.key_id, u->vr.key_id, sizeof(after.key_id));
	if (txn_switch(u->l, u->svc, u->set.textfile_dir, u->to.fp12, NULL, &e) != 0 ||
	    installed_write(u->l, &after, &e) != 0 || apply_env(u, rel_dir, &e) != 0 ||
	    txn_apply_env(u->l, &u->to, &e) != 0) {
		msgf(reason, sizeof(reason), "%s (%s) switch failed: %s", u->to.version, u->to.fp12,
		     e.msg);
		return revert(u, reason);
	}
	u->j.phase = JOURNAL_SWITCHED;
	if (journal_write(u->l, &u->j, &e) != 0)
		cli_warn("cannot write the journal: %s", e.msg);
	crashpt_hit("after-switch");
	if (txn_restart_and_check(u->l, u->svc, u->to.fingerprint, u->set.health_timeout,
				  u->set.health_interval, &sig_clock, &u->j, &restarted, &e) != 0 ||
	    interrupted()) {
		if (interrupted())
			msgf(reason, sizeof(reason), "%s (%s) interrupted by signal %d",
			     u->to.version, u->to.fp12, (int)g_signal);
		else if (strncmp(e.msg, "restart failed", 14) == 0)
			msgf(reason, sizeof(reason), "%s (%s) %s", u->to.version, u->to.fp12,
			     e.msg);
		else
			msgf(reason, sizeof(reason), "%s (%s) failed health check: %s",
			     u->to.version, u->to.fp12, e.msg);
		return revert(u, reason);
	}
	/* 16: commit */
	msgf(text, sizeof(text), "updated %s (%s) -> %s (%s) in %llds", u->from.version,
	     u->from.fp12, u->to.version, u->to.fp12, (long long)((int64_t)time(NULL) - u->t0));
	status(u, USTATUS_SUCCESS, text);
	consume(u);
	if (journal_remove(u->l, &e) != 0)
		cli_warn("cannot remove the journal: %s", e.msg);
	u->journal_written = false;
	txn_gc(u->l, &after, u->to.fp12, u->set.keep_releases, &failures, &e);
	if (failures > 0)
		cli_warn("could not remove %zu old release(s): %s", failures, e.msg);
	printf("%s\n", text);
	printf("source %s\n", u->src_desc);
	if (u->vr.signature_verified)
		printf("signature verified with key %s\n", u->vr.key_id);
	if (restarted)
		printf("service %s: restarted, healthy\n", u->before.service);
	else
		printf("switched; not restarted (service backend %s)\n",
		       service_kind_name(service_choice_of(u->svc)->kind));
	return cli_flush();
}

/* ---- the whole update ------------------------------------------------------ */

static int read_request(struct upd *u)
{
	struct errbuf e;
	unsigned n = 0;
	bool present = false;

	if (ureq_read(u->request_path, &u->req, &present, &e) != 0) {
		if (!present) {
			/* a link, an oversized file or not a regular file (§15.1,
			 * §15.6): removed so it cannot trigger again, reported */
			bool consumed = false;
			struct errbuf ce;
			if (ureq_consume(u->request_path, "", &consumed, &ce) == 0 && consumed)
				return failf(u, "unusable update request: %.400s", e.msg);
			cli_error("cannot read the request file %s: %s", u->request_path, e.msg);
			return 1;
		}
		/* malformed: consume (it would trigger again), report failed */
		if (unlink(u->request_path) != 0 && errno != ENOENT)
			cli_warn("cannot remove %s: %s", u->request_path, strerror(errno));
		(void)ureq_attempts_clear(layout_path(u->l, LAYOUT_ATTEMPTS), NULL);
		return failf(u, "malformed update request: %.400s", e.msg);
	}
	if (!present) {
		cli_info("no update request");
		return 0;
	}
	u->have_req = true;
	/* §14.4 */
	if (ureq_attempts_get(layout_path(u->l, LAYOUT_ATTEMPTS), u->req.requested_at, &n, &e) != 0)
		n = 0;
	if (n >= ATTEMPTS_MAX)
		return failf(u, "giving up after %d interrupted attempts", ATTEMPTS_MAX);
	if (ureq_attempts_set(layout_path(u->l, LAYOUT_ATTEMPTS), u->req.requested_at, n + 1, &e) !=
	    0)
		cli_warn("cannot record the attempt: %s", e.msg);
	if (!u->set.enabled)
		return failf(u, "remote updates are disabled (AGENT_REMOTE_UPDATE_ENABLED=false)");
	return GO_ON;
}

/* The journal (§7.5), op update, phase fetching, from = current. */
static int journal_begin(struct upd *u, const char *to_fp)
{
	struct errbuf e;
	char now[32];

	memset(&u->j, 0, sizeof(u->j));
	u->j.op = JOURNAL_OP_UPDATE;
	u->j.phase = JOURNAL_FETCHING;
	memcpy(u->j.from, u->from.fingerprint, 65);
	msgf(u->j.to, sizeof(u->j.to), "%s", to_fp);
	if (u->have_req)
		msgf(u->j.requested_at, sizeof(u->j.requested_at), "%s", u->req.requested_at);
	cli_now(now);
	memcpy(u->j.started_at, now, sizeof(u->j.started_at));
	if (journal_write(u->l, &u->j, &e) != 0)
		return failf(u, "cannot write the journal: %.400s", e.msg);
	u->journal_written = true;
	return GO_ON;
}

static int update(struct upd *u)
{
	struct recover_result rr;
	struct errbuf e;
	char rel_dir[PATH_MAX], cur[13], tail[1024];
	bool have_cur = false, reused = false;
	int rc;

	u->t0 = (int64_t)time(NULL);
	/* 2: recovery (through the backend recorded before this command) */
	if (recover_run(u->l, &u->set, u->svc, &cli_clock, &rr, &e) != 0) {
		cli_error("cannot recover an interrupted transaction: %s", e.msg);
		return 1;
	}
	if (rr.outcome != RECOVER_NOTHING)
		cli_info("recovered: %s", rr.message);
	if (installed_read(u->l, &u->before, &e) != 0) {
		if (errno == ENOENT)
			cli_error("nothing installed; use agent-install install");
		else
			cli_error("cannot read installed.json: %s", e.msg);
		return 1;
	}
	/* 3, 4: the request */
	if (u->from_request) {
		rc = read_request(u);
		if (rc != GO_ON)
			return rc;
	}
	/* 5 */
	status(u, USTATUS_RUNNING, u->from_request ? "update requested" : "update started");
	if (layout_mkdir(u->l, LAYOUT_INCOMING, &e) != 0 ||
	    chmod(layout_path(u->l, LAYOUT_INCOMING), 0700) != 0)
		return failf(u, "cannot prepare %s: %.300s", layout_path(u->l, LAYOUT_INCOMING),
			     e.msg);
	if (release_current(u->l, cur, &have_cur, &e) != 0 || !have_cur)
		return failf(u, "cannot update: %.400s", have_cur ? e.msg : "no current release");
	if (txn_release_info(u->l, cur, &u->from, &e) != 0)
		return failf(u, "cannot read the current release: %.400s", e.msg);
	/* 6, 7: source and version decision (channels) */
	rc = resolve_source(u);
	if (rc != GO_ON)
		return rc;
	if (interrupted())
		return failf(u, "interrupted by signal %d", (int)g_signal);
	if (u->have_fp) {
		/* a channel names the fingerprint: journal before the download, so
		 * an interrupted download is reported by recovery (§14.3) */
		char hex[65];
		size_t i;
		for (i = 0; i < 32; i++)
			msgf(hex + 2 * i, 3, "%02x", u->fp[i]);
		rc = journal_begin(u, hex);
		if (rc != GO_ON)
			return rc;
	}
	/* 8-10 */
	rc = download_and_verify(u);
	if (rc != GO_ON)
		return rc;
	if (!u->journal_written) {
		rc = journal_begin(u, u->vr.fingerprint);
		if (rc != GO_ON)
			return rc;
	}
	/* 11: unpack */
	memcpy(u->to.fp12, u->vr.fingerprint, 12);
	u->to.fp12[12] = '\0';
	{
		struct verify_result vr2;
		int urc = unpack_release(u->l, &u->vo, u->to.fp12, (int64_t)time(NULL), &reused,
					 &vr2, &e);
		enum verify_code code = vr2.code;
		verify_result_free(&vr2);
		if (urc != 0) {
			if (code != VERIFY_OK && code != VERIFY_HOOK)
				return failf(u, "cannot unpack %s: verify failed [%s]: %.300s",
					     u->vr.name, verify_code_name(code), e.msg);
			return failf(u, "cannot unpack %s: %.400s", u->vr.name, e.msg);
		}
	}
	u->j.phase = JOURNAL_UNPACKED;
	if (journal_write(u->l, &u->j, &e) != 0)
		return failf(u, "cannot write the journal: %.400s", e.msg);
	crashpt_hit("after-unpack");
	if (txn_release_info(u->l, u->to.fp12, &u->to, &e) != 0 ||
	    layout_release_path(u->l, u->to.fp12, rel_dir, sizeof(rel_dir), &e) != 0)
		return failf(u, "cannot read the new release: %.400s", e.msg);
	if (interrupted())
		return failf(u, "interrupted by signal %d", (int)g_signal);
	/* 12: self-test; a failing release is removed and never switched to */
	if (update_self_test(u->l, rel_dir, environ, tail, sizeof(tail), &e) != 0) {
		if (tail[0] != '\0')
			fprintf(stderr, "%s%s", tail, tail[strlen(tail) - 1] == '\n' ? "" : "\n");
		if (!(u->before.has_previous &&
		      strncmp(u->before.previous.fingerprint, u->to.fp12, 12) == 0))
			(void)release_rmtree(rel_dir, NULL);
		return failf(u, "%s (%s) self-test failed: %.400s", u->to.version, u->to.fp12,
			     e.msg);
	}
	crashpt_hit("after-self-test");
	if (interrupted())
		return failf(u, "interrupted by signal %d", (int)g_signal);
	/* 13-16 */
	return switch_and_check(u, rel_dir);
}

static int parse(int argc, char **argv, struct upd *u)
{
	static const struct option lo[] = {
		{"bundle", required_argument, NULL, 'b'},
		{"url", required_argument, NULL, 'u'},
		{"channel", required_argument, NULL, 'c'},
		{"from-request", no_argument, NULL, 'R'},
		{"sha256", required_argument, NULL, 's'},
		{"signature", required_argument, NULL, 'g'},
		{"allow-downgrade", no_argument, NULL, 'D'},
		{"insecure-no-signature", no_argument, NULL, 'I'},
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, nsrc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'b':
			u->bundle = optarg;
			break;
		case 'u':
			u->url = optarg;
			break;
		case 'c':
			u->channel = optarg;
			break;
		case 'R':
			u->from_request = true;
			break;
		case 's':
			u->sha256 = optarg;
			break;
		case 'g':
			u->signature = optarg;
			break;
		case 'D':
			u->allow_downgrade = true;
			break;
		case 'I':
			u->insecure = true;
			break;
		case 'r':
			u->root = optarg;
			break;
		case 'h':
			fputs(update_usage, stdout);
			return cli_flush() == 0 ? -1 : 1;
		default:
			return cli_usage("update", "unknown or incomplete option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("update", "unexpected argument '%s'", argv[optind]);
	nsrc = (u->bundle != NULL) + (u->url != NULL) + (u->channel != NULL) + u->from_request;
	if (nsrc != 1)
		return cli_usage("update", "give exactly one of --bundle, --url, --channel and "
					   "--from-request");
	if (u->from_request && (u->allow_downgrade || u->insecure))
		return cli_usage("update", "--from-request cannot be combined with %s",
				 u->allow_downgrade ? "--allow-downgrade"
						    : "--insecure-no-signature");
	if (u->from_request && (u->sha256 != NULL || u->signature != NULL))
		return cli_usage("update", "--sha256 and --signature do not apply to "
					   "--from-request");
	if (u->sha256 != NULL &&
	    (strlen(u->sha256) != 64 || !hex_valid(u->sha256, 64, HEX_ALLOW_UPPER)))
		return cli_usage("update", "--sha256 wants 64 hex digits");
	if (u->signature != NULL && u->bundle == NULL)
		return cli_usage("update", "--signature applies to --bundle only");
	return 0;
}

static int host_platform(char *out, size_t size, struct errbuf *e)
{
	struct utsname un;

	if (uname(&un) != 0) {
		err_sys(e, errno, "uname");
		return -1;
	}
	return bname_platform_from_uname(un.sysname, un.machine, out, size, e);
}

int cmd_update(int argc, char **argv)
{
	struct upd *u = calloc(1, sizeof(*u));
	struct sigaction sa;
	struct stat st;
	struct errbuf e;
	int rc, lock = -1;

	if (u == NULL) {
		cli_error("cannot update: out of memory");
		return 1;
	}
	rc = parse(argc, argv, u);
	if (rc != 0) {
		rc = rc < 0 ? 0 : rc;
		goto out;
	}
	u->l = cli_layout(u->root);
	if (u->l == NULL) {
		rc = 2;
		goto out;
	}
	rc = 1;
	if (layout_is_host(u->l) && geteuid() != 0) {
		cli_error("must run as root");
		goto out;
	}
	if (stat(layout_path(u->l, LAYOUT_INSTALLED), &st) != 0) {
		cli_error("nothing installed; use agent-install install");
		goto out;
	}
	if (host_platform(u->host_plat, sizeof(u->host_plat), &e) != 0) {
		cli_error("cannot tell this host's platform: %s", e.msg);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	/* 1: the lock (status untouched on failure: the holder owns it) */
	if (cli_lock(u->l, &lock) != 0)
		goto out;
	cli_settings(u->l, &u->set);
	if (fsutil_read_file(layout_path(u->l, LAYOUT_RUNTIME_ENV), BOUNDS_ENVFILE_MAX, 0,
			     &u->env_data, &u->env_len, NULL) != 0)
		u->env_data = NULL;
	if (cli_host_path(u->l, u->set.status_file, u->status_path, sizeof(u->status_path)) != 0 ||
	    cli_host_path(u->l, u->set.request_file, u->request_path, sizeof(u->request_path)) != 0)
		goto out;
	{
		struct installed in;
		if (installed_read(u->l, &in, &e) != 0) {
			cli_error("cannot read installed.json: %s", e.msg);
			goto out;
		}
		u->svc = cli_service(u->l, in.service);
	}
	if (u->svc == NULL)
		goto out;
	rc = update(u);
out:
	/* .incoming is emptied after each command (§7.1) */
	if (u->bundle_path[0] != '\0')
		(void)unlink(u->bundle_path);
	if (u->l != NULL && u->sig_path[0] != '\0' &&
	    strncmp(u->sig_path, layout_path(u->l, LAYOUT_INCOMING),
		    strlen(layout_path(u->l, LAYOUT_INCOMING))) == 0)
		(void)unlink(u->sig_path);
	if (u->l != NULL && u->journal_written) /* a path that did not finish() */
		(void)journal_remove(u->l, NULL);
	fsutil_unlock(lock);
	verify_result_free(&u->vr);
	sig_keyset_free(u->keys);
	update_net_free(u->net);
	service_free(u->svc);
	layout_free(u->l);
	free(u->env_data);
	free(u);
	return rc;
}
