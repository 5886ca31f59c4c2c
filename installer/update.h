#ifndef UPDATE_H
#define UPDATE_H
/*
 * The parts of `agent-install update` (spec bundle-install-update.md §13)
 * that are not the command's flow: the version decision of §13.3 (pure),
 * source naming (§13.2), fetching over HTTPS through lib/http or reading a
 * local path (§17), the private copy into .incoming, free space (§13.4 step
 * 8) and the self-test of a release (§10.4, shared with install).
 *
 * Nothing here prints or reads the environment: the command hands in the
 * HTTP client (built from AGENTD_CA_FILE and the proxy settings) and the
 * environment given to the self-test.
 */
#include "err.h"
#include "installed.h"
#include "layout.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPDATE_MSG_MAX 512
#define UPDATE_SMALL_MAX 4096              /* a .sha256 file (§17: small files) */
#define UPDATE_SMALL_TIMEOUT_MS 60000      /* §17: manifests, signatures, .sha256 */
#define UPDATE_BUNDLE_TIMEOUT_MS 1800000LL /* §17: 30 min for bundles */
#define UPDATE_SELF_TEST_TIMEOUT_MS 60000  /* §10.4 */

/* ---- §13.3 version decision (pure) --------------------------------------- */

enum update_decision {
	UPDATE_PROCEED,
	UPDATE_PROCEED_SAME_VERSION, /* proceed, warning "same version, different build" */
	UPDATE_ALREADY_CURRENT,      /* status success, exit 0, nothing restarted */
	UPDATE_REFUSE_DOWNGRADE,     /* status failed, exit 1 */
	UPDATE_REFUSE_FAILED_HERE,   /* --from-request and in `failed`: failed, exit 1 */
};

struct update_decide_in {
	const struct installed *in; /* installed.json before the command */
	bool current_rechecks;      /* `current` is the installed fp and passes §16.2 */
	const char *version;        /* offered release */
	const char *fingerprint;    /* 64 hex */
	bool allow_downgrade;
	bool from_request;
};

/* The row of §13.3 for in; msg (UPDATE_MSG_MAX + 1) gets the status or
 * warning text ("refusing downgrade from 1.4.0 to 1.3.2 (use
 * --allow-downgrade)", "already current at 1.4.0 (3f9a1c07be52)", ...); ""
 * for plain UPDATE_PROCEED.  An unparsable version on either side counts as
 * unknown (proceed). */
enum update_decision update_decide(const struct update_decide_in *in, char msg[UPDATE_MSG_MAX + 1]);

/* ---- names (pure) ----------------------------------------------------------- */

/* True for an https URL ("https://..."); false for a local path. */
bool update_is_https(const char *s);
/* True for a local path as §13.2 accepts it: absolute or starting "./". */
bool update_is_local_path(const char *s);
/* <stem><ext> for a bundle URL or path: ".tar.gz" at the end (before any
 * query or fragment of a URL) replaced by ext, else ext appended.  -1 when
 * out is too small. */
int update_sibling(const char *url, const char *ext, char *out, size_t size);
/* The last path segment of a URL or path (without query or fragment) into
 * out; -1 when empty, "." / "..", or too long. */
int update_base_name(const char *url, char *out, size_t size);

/* ---- fetching ---------------------------------------------------------------- */

struct http_client;

enum { UPDATE_PROGRESS_START, UPDATE_PROGRESS_DATA, UPDATE_PROGRESS_DONE };

struct update_fetch {
	const char *url;     /* https URL (a local path is read instead) */
	const char *dest;    /* file to write atomically; NULL: into *data */
	uint64_t max_bytes;  /* cap (the expected size when known) */
	int64_t expect_size; /* -1: unknown; else Content-Length and the file must match */
	int64_t timeout_ms;  /* total per attempt */
	/* progress (may be NULL, §17): phase UPDATE_PROGRESS_START once, _DATA
	 * at most 10 times a second while the body arrives, _DONE at the end;
	 * total is the Content-Length or -1 */
	void (*progress)(void *ctx, int phase, const char *what, uint64_t got, int64_t total,
			 double seconds);
	void *progress_ctx;
};

/* §17 GET with redirects (https only), retries and limits.  http may be NULL
 * only for local paths.  dest NULL: *data (malloc'd, NUL-terminated) and
 * *len.  *not_found (may be NULL) is set for a 404 / missing local file,
 * which is then -1 with e "not found".  A local path (update_is_local_path)
 * is read or copied; any other non-https URL is refused "insecure URL
 * refused". */
int update_fetch_run(struct http_client *http, const struct update_fetch *f, char **data,
		     size_t *len, bool *not_found, struct errbuf *e);

/* The HTTPS settings of §17 and §13.1 (environment first, then runtime.env):
 * AGENTD_CA_FILE (a path from runtime.env is under the root, §0.4),
 * https_proxy/HTTPS_PROXY (http:// only), no_proxy/NO_PROXY.  The client is
 * made on first use; the handle owns the strings it needs. */
typedef const char *update_getenv_fn(void *ctx, const char *key);
struct update_net;
struct update_net *update_net_new(const struct layout *l, update_getenv_fn *get, void *get_ctx,
				  const char *env, size_t env_len, const char *user_agent,
				  struct errbuf *e);
void update_net_free(struct update_net *n);
/* The client (created on the first call); NULL with e (bad proxy, CA). */
struct http_client *update_net_http(struct update_net *n, struct errbuf *e);

/* install --url (§10.1, §13.2 row --url): download URL into dir as
 * <name>.tar.gz with <stem>.sig and, when want_sha256, <stem>.sha256 beside
 * it (a 404 for either leaves it out).  bundle_out gets the bundle's path. */
int update_download_bundle(struct update_net *n, const char *url, const char *dir, bool want_sha256,
			   char *bundle_out, size_t bundle_out_size, struct errbuf *e);

/* Copy the regular file src to dst (atomic, 0600), at most max bytes. */
int update_copy_file(const char *src, const char *dst, uint64_t max, struct errbuf *e);

/* Free bytes for unprivileged writers on the file system holding path. */
int update_free_bytes(const char *path, uint64_t *out, struct errbuf *e);

/* ---- self-test (§10.4) ------------------------------------------------------ */

/* Run <rel_dir>/bin/agentd self-test with env: PATH fixed, AGENTD_ROOT under
 * a root, then base_env (the caller's environment), then runtime.env (or the
 * release's template) keys not already set.  0 when it exited 0; -1 with e
 * ("self-test exited with status 1") and tail (may be NULL, tail_size) the
 * last 20 lines of its output. */
int update_self_test(const struct layout *l, const char *rel_dir, char *const base_env[],
		     char *tail, size_t tail_size, struct errbuf *e);

#endif
