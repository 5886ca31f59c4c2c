#include "update.h"

#include "envfile.h"
#include "fsutil.h"
#include "http.h"
#include "runcmd.h"
#include "ver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static void copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- §13.3 ------------------------------------------------------------------ */

#define MSGF(...) ((void)(snprintf(msg, UPDATE_MSG_MAX + 1, __VA_ARGS__) < 0))

enum update_decision update_decide(const struct update_decide_in *d, char msg[UPDATE_MSG_MAX + 1])
{
	const struct installed *in = d->in;
	const struct installed_failed *f;
	struct ver a, b;
	bool known;

	msg[0] = '\0';
	if (strcmp(in->fingerprint, d->fingerprint) == 0 && d->current_rechecks) {
		MSGF("already current at %s (%.12s)", in->version[0] != '\0' ? in->version : "?",
		     in->fingerprint);
		return UPDATE_ALREADY_CURRENT;
	}
	if (d->from_request) {
		f = installed_failed_find(in, d->fingerprint);
		if (f != NULL) {
			MSGF("%s (%.12s) failed on this host at %s; not retrying", d->version,
			     d->fingerprint, f->at[0] != '\0' ? f->at : "an earlier update");
			return UPDATE_REFUSE_FAILED_HERE;
		}
	}
	known = in->version[0] != '\0' &&
		ver_parse(in->version, strlen(in->version), &a, NULL) == 0 &&
		ver_parse(d->version, strlen(d->version), &b, NULL) == 0;
	if (!known)
		return UPDATE_PROCEED;
	if (ver_cmp(&b, &a) < 0 && !d->allow_downgrade) {
		MSGF("refusing downgrade from %s to %s (use --allow-downgrade)", in->version,
		     d->version);
		return UPDATE_REFUSE_DOWNGRADE;
	}
	if (ver_cmp(&b, &a) == 0) {
		MSGF("same version, different build: %s (%.12s) over %s (%.12s)", d->version,
		     d->fingerprint, in->version, in->fingerprint);
		return UPDATE_PROCEED_SAME_VERSION;
	}
	return UPDATE_PROCEED;
}

/* ---- names ------------------------------------------------------------------ */

bool update_is_https(const char *s)
{
	return strncmp(s, "https://", 8) == 0;
}

bool update_is_local_path(const char *s)
{
	return s[0] == '/' || strncmp(s, "./", 2) == 0;
}

/* Length of the path part (before '?' or '#') of a URL; the whole string for
 * a local path. */
static size_t path_len(const char *s)
{
	return update_is_https(s) ? strcspn(s, "?#") : strlen(s);
}

int update_sibling(const char *url, const char *ext, char *out, size_t size)
{
	size_t n = path_len(url);
	int k;

	if (n >= 7 && memcmp(url + n - 7, ".tar.gz", 7) == 0)
		n -= 7;
	k = snprintf(out, size, "%.*s%s", (int)n, url, ext);
	return k < 0 || (size_t)k >= size ? -1 : 0;
}

int update_base_name(const char *url, char *out, size_t size)
{
	size_t n = path_len(url), i = n;

	while (i > 0 && url[i - 1] != '/')
		i--;
	if (n - i == 0 || n - i >= size || (n - i == 1 && url[i] == '.') ||
	    (n - i == 2 && url[i] == '.' && url[i + 1] == '.'))
		return -1;
	memcpy(out, url + i, n - i);
	out[n - i] = '\0';
	return 0;
}

/* ---- fetching ------------------------------------------------------------- */

struct sink {
	const struct update_fetch *f;
	struct fsutil_atomic *out;
	uint64_t got;
	int64_t total;
	double t0, last;
};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sink_begin(struct sink *s, struct errbuf *e)
{
	struct fsutil_write_opts o = {0600, 0, (uid_t)-1, (gid_t)-1};

	s->got = 0;
	s->out = fsutil_atomic_begin(s->f->dest, &o, e);
	return s->out == NULL ? -1 : 0;
}

static int on_headers(void *arg, const struct http_response *r, struct errbuf *e)
{
	struct sink *s = arg;

	/* §17: a Content-Length must equal the expected size when one is known */
	s->total = r->status / 100 == 2 ? r->content_length : -1;
	if (r->status / 100 == 2 && s->f->expect_size >= 0 && r->content_length >= 0 &&
	    r->content_length != s->f->expect_size) {
		err_set(e, "Content-Length %lld differs from the expected size %lld",
			(long long)r->content_length, (long long)s->f->expect_size);
		return -1;
	}
	return 0;
}

static int on_body(void *arg, const char *buf, size_t n, struct errbuf *e)
{
	struct sink *s = arg;

	double t;

	if (fsutil_atomic_write(s->out, buf, n, e) != 0)
		return -1;
	s->got += n;
	if (s->f->progress != NULL) {
		t = mono_s();
		if (t - s->last >= 0.1) {
			s->last = t;
			s->f->progress(s->f->progress_ctx, UPDATE_PROGRESS_DATA, s->f->url, s->got,
				       s->total, t - s->t0);
		}
	}
	return 0;
}

static int on_restart(void *arg, struct errbuf *e)
{
	struct sink *s = arg;

	fsutil_atomic_abort(s->out);
	s->out = NULL;
	return sink_begin(s, e);
}

static int fetch_local(const struct update_fetch *f, char **data, size_t *len, bool *not_found,
		       struct errbuf *e)
{
	if (f->dest == NULL) {
		if (fsutil_read_file(f->url, (size_t)f->max_bytes, 0, data, len, e) != 0) {
			if (errno == ENOENT && not_found != NULL)
				*not_found = true;
			return -1;
		}
		return 0;
	}
	if (update_copy_file(f->url, f->dest, f->max_bytes, e) != 0) {
		if (errno == ENOENT && not_found != NULL)
			*not_found = true;
		return -1;
	}
	return 0;
}

int update_fetch_run(struct http_client *http, const struct update_fetch *f, char **data,
		     size_t *len, bool *not_found, struct errbuf *e)
{
	static const char *const hdrs[] = {"Accept-Encoding: identity"};
	struct http_request rq;
	struct http_response r;
	struct sink s;
	double t0;
	int rc = -1;

	if (not_found != NULL)
		*not_found = false;
	if (data != NULL)
		*data = NULL;
	if (!update_is_https(f->url)) {
		if (update_is_local_path(f->url))
			return fetch_local(f, data, len, not_found, e);
		err_set(e, "%s: insecure URL refused", f->url);
		return -1;
	}
	if (http == NULL) {
		err_set(e, "%s: no HTTPS client", f->url);
		return -1;
	}
	memset(&rq, 0, sizeof(rq));
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	s.f = f;
	rq.method = "GET";
	rq.url = f->url;
	rq.headers = hdrs;
	rq.nheaders = 1;
	rq.max_body_bytes = f->max_bytes;
	rq.total_timeout_ms = f->timeout_ms;
	rq.max_redirects = 5;
	rq.refuse_http = 1;
	rq.attempts = 5;
	rq.retry_base_ms = 1000;
	rq.retry_max_ms = 8000;
	rq.retry_after_cap_ms = 60000;
	rq.jitter_lo = 0.8;
	rq.jitter_hi = 1.2;
	rq.retry_status = http_retry_status_default;
	if (f->dest != NULL) {
		if (sink_begin(&s, e) != 0)
			return -1;
		rq.on_body = on_body;
		rq.on_headers = on_headers;
		rq.on_restart = on_restart;
		rq.body_arg = &s;
	}
	t0 = mono_s();
	s.t0 = s.last = t0;
	s.total = -1;
	if (f->progress != NULL)
		f->progress(f->progress_ctx, UPDATE_PROGRESS_START, f->url, 0, -1, 0.0);
	if (http_request(http, &rq, &r, e) != 0)
		goto out;
	if (r.status != 200) {
		if (r.status == 404) {
			if (not_found != NULL)
				*not_found = true;
			err_set(e, "%s: not found", f->url);
		} else {
			err_set(e, "%s: server answered HTTP %d", f->url, r.status);
		}
		goto out;
	}
	if (f->dest != NULL) {
		if (f->expect_size >= 0 && s.got != (uint64_t)f->expect_size) {
			err_set(e, "%s: got %llu bytes, expected %lld", f->url,
				(unsigned long long)s.got, (long long)f->expect_size);
			goto out;
		}
		{
			struct fsutil_atomic *a = s.out;
			s.out = NULL;
			if (fsutil_atomic_commit(a, e) != 0)
				goto out;
		}
		if (f->progress != NULL)
			f->progress(f->progress_ctx, UPDATE_PROGRESS_DONE, f->url, s.got, s.total,
				    mono_s() - t0);
	} else {
		*data = r.body;
		*len = (size_t)r.body_len;
		r.body = NULL;
		if (*data == NULL) {
			*data = calloc(1, 1);
			*len = 0;
			if (*data == NULL) {
				err_sys(e, ENOMEM, "%s", f->url);
				goto out;
			}
		}
	}
	rc = 0;
out:
	fsutil_atomic_abort(s.out);
	http_response_clear(&r);
	return rc;
}

struct update_net {
	struct http_client *http;
	char ca_file[PATH_MAX], https_proxy[1024], no_proxy[1024], user_agent[256];
	bool proxy_bad;
};

/* environment first, then runtime.env; "" when neither has a value */
static void setting(update_getenv_fn *get, void *ctx, const char *env, size_t env_len,
		    const char *k1, const char *k2, char *out, size_t size, bool *from_file)
{
	const char *keys[2] = {k1, k2}, *v;
	size_t i, vl;

	out[0] = '\0';
	*from_file = false;
	for (i = 0; i < 2; i++) {
		v = keys[i] != NULL && get != NULL ? get(ctx, keys[i]) : NULL;
		if (v != NULL && v[0] != '\0' && strlen(v) < size) {
			copy(out, size, v);
			return;
		}
	}
	for (i = 0; i < 2 && env != NULL; i++)
		if (keys[i] != NULL &&
		    envfile_get(env, env_len, keys[i], strlen(keys[i]), &v, &vl) && vl > 0 &&
		    vl < size) {
			memcpy(out, v, vl);
			out[vl] = '\0';
			*from_file = true;
			return;
		}
}

struct update_net *update_net_new(const struct layout *l, update_getenv_fn *get, void *get_ctx,
				  const char *env, size_t env_len, const char *user_agent,
				  struct errbuf *e)
{
	struct update_net *n = calloc(1, sizeof(*n));
	char ca[PATH_MAX];
	bool ff;

	if (n == NULL) {
		err_sys(e, ENOMEM, "https client");
		return NULL;
	}
	setting(get, get_ctx, env, env_len, "AGENTD_CA_FILE", NULL, ca, sizeof(ca), &ff);
	if (ca[0] != '\0' && ff && ca[0] == '/' && !layout_is_host(l)) {
		if (layout_join(l, ca, n->ca_file, sizeof(n->ca_file), e) != 0) {
			free(n);
			return NULL;
		}
	} else {
		copy(n->ca_file, sizeof(n->ca_file), ca);
	}
	setting(get, get_ctx, env, env_len, "https_proxy", "HTTPS_PROXY", n->https_proxy,
		sizeof(n->https_proxy), &ff);
	setting(get, get_ctx, env, env_len, "no_proxy", "NO_PROXY", n->no_proxy,
		sizeof(n->no_proxy), &ff);
	copy(n->user_agent, sizeof(n->user_agent), user_agent != NULL ? user_agent : "");
	return n;
}

void update_net_free(struct update_net *n)
{
	if (n == NULL)
		return;
	http_client_free(n->http);
	free(n);
}

struct http_client *update_net_http(struct update_net *n, struct errbuf *e)
{
	struct http_config cfg;

	if (n->http != NULL)
		return n->http;
	memset(&cfg, 0, sizeof(cfg));
	if (n->ca_file[0] != '\0')
		cfg.ca_file = n->ca_file;
	if (n->https_proxy[0] != '\0') {
		if (strncmp(n->https_proxy, "http://", 7) != 0) {
			err_set(e, "proxy %s refused: only http:// proxies are supported",
				n->https_proxy);
			return NULL;
		}
		cfg.https_proxy = n->https_proxy;
	}
	if (n->no_proxy[0] != '\0')
		cfg.no_proxy = n->no_proxy;
	if (n->user_agent[0] != '\0')
		cfg.user_agent = n->user_agent;
	n->http = http_client_new(&cfg, e);
	return n->http;
}

int update_download_bundle(struct update_net *n, const char *url, const char *dir, bool want_sha256,
			   char *bundle_out, size_t bundle_out_size, struct errbuf *e)
{
	static const char *const exts[] = {".sig", ".sha256"};
	struct http_client *http;
	struct update_fetch f;
	char name[256], sname[300], surl[4200], dest[PATH_MAX];
	size_t i;
	int k;

	if (!update_is_https(url)) {
		err_set(e, "%s: insecure URL refused", url);
		return -1;
	}
	if (update_base_name(url, name, sizeof(name)) != 0) {
		err_set(e, "%s: no file name in the URL", url);
		return -1;
	}
	http = update_net_http(n, e);
	if (http == NULL)
		return -1;
	k = snprintf(bundle_out, bundle_out_size, "%s/%s", dir, name);
	if (k < 0 || (size_t)k >= bundle_out_size) {
		err_set(e, "%s/%s: path too long", dir, name);
		return -1;
	}
	memset(&f, 0, sizeof(f));
	f.url = url;
	f.dest = bundle_out;
	f.max_bytes = 512ULL * 1024 * 1024;
	f.expect_size = -1;
	f.timeout_ms = UPDATE_BUNDLE_TIMEOUT_MS;
	if (update_fetch_run(http, &f, NULL, NULL, NULL, e) != 0)
		return -1;
	for (i = 0; i < 2; i++) {
		bool nf = false;
		if (i == 1 && !want_sha256)
			break;
		if (update_sibling(url, exts[i], surl, sizeof(surl)) != 0 ||
		    update_sibling(name, exts[i], sname, sizeof(sname)) != 0) {
			err_set(e, "%s: URL too long", url);
			return -1;
		}
		k = snprintf(dest, sizeof(dest), "%s/%s", dir, sname);
		if (k < 0 || (size_t)k >= sizeof(dest)) {
			err_set(e, "%s/%s: path too long", dir, sname);
			return -1;
		}
		memset(&f, 0, sizeof(f));
		f.url = surl;
		f.dest = dest;
		f.max_bytes = UPDATE_SMALL_MAX;
		f.expect_size = -1;
		f.timeout_ms = UPDATE_SMALL_TIMEOUT_MS;
		if (update_fetch_run(http, &f, NULL, NULL, &nf, e) != 0 && !nf)
			return -1;
	}
	return 0;
}

int update_copy_file(const char *src, const char *dst, uint64_t max, struct errbuf *e)
{
	struct fsutil_write_opts wo = {0600, 0, (uid_t)-1, (gid_t)-1};
	struct fsutil_atomic *a;
	struct stat st;
	char buf[65536];
	int fd, saved;

	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		err_sys(e, saved, "open %s", src);
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(e, "%s is not a regular file", src);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		err_set(e, "%s is larger than %llu bytes", src, (unsigned long long)max);
		close(fd);
		errno = EFBIG;
		return -1;
	}
	a = fsutil_atomic_begin(dst, &wo, e);
	if (a == NULL) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_sys(e, errno, "read %s", src);
			goto fail;
		}
		if (r == 0)
			break;
		if (fsutil_atomic_write(a, buf, (size_t)r, e) != 0)
			goto fail;
	}
	close(fd);
	return fsutil_atomic_commit(a, e);
fail:
	close(fd);
	fsutil_atomic_abort(a);
	return -1;
}

int update_free_bytes(const char *path, uint64_t *out, struct errbuf *e)
{
	struct statvfs sv;

	if (statvfs(path, &sv) != 0) {
		err_sys(e, errno, "statvfs %s", path);
		return -1;
	}
	*out = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return 0;
}

/* ---- self-test ------------------------------------------------------------ */

struct env_ctx {
	char **env;
	size_t n, cap;
};

static int env_put(struct env_ctx *c, const char *key, size_t klen, const char *val, size_t vlen)
{
	char *s;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strncmp(c->env[i], key, klen) == 0 && c->env[i][klen] == '=')
			return 0; /* already set: the first wins (as env exec) */
	if (c->n + 2 > c->cap)
		return 1;
	s = malloc(klen + vlen + 2);
	if (s == NULL)
		return 1;
	memcpy(s, key, klen);
	s[klen] = '=';
	memcpy(s + klen + 1, val, vlen);
	s[klen + 1 + vlen] = '\0';
	c->env[c->n++] = s;
	c->env[c->n] = NULL;
	return 0;
}

static int env_each_cb(void *ctx, const char *key, size_t klen, const char *val, size_t vlen)
{
	return env_put(ctx, key, klen, val, vlen);
}

int update_self_test(const struct layout *l, const char *rel_dir, char *const base_env[],
		     char *tail, size_t tail_size, struct errbuf *e)
{
	struct env_ctx c = {NULL, 0, 0};
	struct runcmd_result *r = NULL;
	char agentd[PATH_MAX], tmpl[PATH_MAX + 64], *data = NULL;
	size_t len = 0, i, nenv = 0;
	int rc = -1, k;

	if (tail != NULL && tail_size > 0)
		tail[0] = '\0';
	while (base_env != NULL && base_env[nenv] != NULL)
		nenv++;
	c.cap = nenv + 1024;
	c.env = calloc(c.cap, sizeof(*c.env));
	r = calloc(1, sizeof(*r));
	if (c.env == NULL || r == NULL) {
		err_sys(e, ENOMEM, "self-test");
		goto out;
	}
	/* PATH and AGENTD_ROOT first (they win), then the caller's environment,
	 * then runtime.env keys not already set */
	if (env_put(&c, "PATH", 4, "/usr/sbin:/usr/bin:/sbin:/bin", 29) != 0)
		goto nomem;
	if (!layout_is_host(l) &&
	    env_put(&c, "AGENTD_ROOT", 11, layout_root(l), strlen(layout_root(l))) != 0)
		goto nomem;
	for (i = 0; i < nenv; i++) {
		const char *eq = strchr(base_env[i], '=');
		if (eq == NULL)
			continue;
		if (env_put(&c, base_env[i], (size_t)(eq - base_env[i]), eq + 1, strlen(eq + 1)) !=
		    0)
			goto nomem;
	}
	k = snprintf(tmpl, sizeof(tmpl), "%s/env/runtime.env.template", rel_dir);
	if (fsutil_read_file(layout_path(l, LAYOUT_RUNTIME_ENV), 1024 * 1024, 0, &data, &len,
			     NULL) == 0 ||
	    (k > 0 && (size_t)k < sizeof(tmpl) &&
	     fsutil_read_file(tmpl, 1024 * 1024, 0, &data, &len, NULL) == 0))
		(void)envfile_each(data, len, env_each_cb, &c);
	k = snprintf(agentd, sizeof(agentd), "%s/bin/agentd", rel_dir);
	if (k < 0 || (size_t)k >= sizeof(agentd)) {
		err_set(e, "self-test: path too long");
		goto out;
	}
	{
		const char *const argv[] = {agentd, "self-test", NULL};
		if (runcmd_run(argv, c.env, UPDATE_SELF_TEST_TIMEOUT_MS, r, e) != 0)
			goto out;
	}
	if (!runcmd_ok(r)) {
		const char *p = r->out + r->out_len;
		int lines = 0;
		while (p > r->out && lines <= 20) {
			p--;
			if (*p == '\n' && p != r->out + r->out_len - 1)
				lines++;
		}
		if (lines > 20)
			p++;
		if (r->timed_out)
			err_set(e, "self-test timed out after %ds",
				UPDATE_SELF_TEST_TIMEOUT_MS / 1000);
		else if (r->exited)
			err_set(e, "self-test exited with status %d", r->status);
		else
			err_set(e, "self-test killed by signal %d", r->signal);
		if (tail != NULL && tail_size > 0)
			copy(tail, tail_size, p);
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	err_sys(e, ENOMEM, "self-test");
out:
	free(data);
	free(r);
	for (i = 0; c.env != NULL && i < c.n; i++)
		free(c.env[i]);
	free(c.env);
	return rc;
}
