/*
 * agentd fetch URL [-o FILE] [--cafile F] [--header 'K: V'] [--max-bytes N]
 *   [--resolve HOST:PORT:ADDR] [--retry N] [--connect-timeout S]
 *   [--idle-timeout S] [--insecure-skip-verify]
 *
 * A small diagnostic client on agentd's own HTTP/TLS stack: what an operator
 * runs to prove that a worker can reach the update server.
 */
#include "cmd.h"
#include "version.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "fsutil.h"
#include "http.h"
#include "num.h"

struct fetch {
	const char *out_path;
	struct fsutil_atomic *out;
	int tty;       /* draw the progress bar */
	int64_t total; /* Content-Length or -1 */
	uint64_t got;
	double t0, last_draw;
	const char *name;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fputs("usage: agentd fetch URL [-o FILE] [--cafile F] [--header 'K: V']... [--max-bytes "
	      "N]\n"
	      "                  [--resolve HOST:PORT:ADDR] [--retry N] [--connect-timeout SECS]\n"
	      "                  [--idle-timeout SECS] [--insecure-skip-verify]\n"
	      "\n"
	      "Download URL (http:// or https://) with agentd's own HTTP and TLS client, to\n"
	      "FILE (written atomically) or stdout.  Redirects are followed (at most 5,\n"
	      "never https to http).  The CA bundle is --cafile, else AGENTD_CA_FILE, else\n"
	      "the system bundle.  Proxies: https_proxy/HTTPS_PROXY, http_proxy/HTTP_PROXY,\n"
	      "no_proxy/NO_PROXY.  --insecure-skip-verify turns certificate and host name\n"
	      "checks off (diagnosis only).\n"
	      "exit status: 0 ok (HTTP 2xx), 1 failure, 2 usage error\n",
	      f);
}

static void draw(struct fetch *f, int final)
{
	double t = now_s(), el = t - f->t0;
	double mib = (double)f->got / 1048576.0;
	double rate = el > 0 ? mib / el : 0;

	if (!f->tty)
		return;
	if (!final && t - f->last_draw < 0.1)
		return;
	f->last_draw = t;
	if (f->total >= 0)
		fprintf(stderr, "\ragentd: downloading %s  %.1f/%.1f MiB  %3d%%  %.1f MiB/s   ",
			f->name, mib, (double)f->total / 1048576.0,
			f->total > 0 ? (int)((double)f->got * 100.0 / (double)f->total) : 100,
			rate);
	else
		fprintf(stderr, "\ragentd: downloading %s  %.1f MiB  %.1f MiB/s   ", f->name, mib,
			rate);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static int begin_out(struct fetch *f, struct errbuf *e)
{
	struct fsutil_write_opts o = {0644, 0, (uid_t)-1, (gid_t)-1};

	if (f->out_path == NULL)
		return 0;
	f->out = fsutil_atomic_begin(f->out_path, &o, e);
	return f->out == NULL ? -1 : 0;
}

static int on_headers(void *arg, const struct http_response *r, struct errbuf *e)
{
	struct fetch *f = arg;

	(void)e;
	f->total = r->status / 100 == 2 ? r->content_length : -1;
	return 0;
}

static int on_body(void *arg, const char *buf, size_t n, struct errbuf *e)
{
	struct fetch *f = arg;

	if (f->out != NULL) {
		if (fsutil_atomic_write(f->out, buf, n, e) != 0)
			return -1;
	} else if (fwrite(buf, 1, n, stdout) != n) {
		err_set(e, "write to stdout failed");
		return -1;
	}
	f->got += n;
	draw(f, 0);
	return 0;
}

static int on_restart(void *arg, struct errbuf *e)
{
	struct fetch *f = arg;

	if (f->out_path == NULL)
		return -1; /* stdout cannot be rewound */
	fsutil_atomic_abort(f->out);
	f->out = NULL;
	f->got = 0;
	return begin_out(f, e);
}

static int parse_secs(const char *s, int *ms)
{
	double d;

	if (num_parse_double(s, strlen(s), &d) != 0 || d <= 0 || d > 86400)
		return -1;
	*ms = (int)(d * 1000.0);
	if (*ms < 1)
		*ms = 1;
	return 0;
}

static const char *env_first(const char *a, const char *b)
{
	const char *v = getenv(a);

	if (v == NULL || v[0] == '\0')
		v = getenv(b);
	return (v == NULL || v[0] == '\0') ? NULL : v;
}

int cmd_fetch(int argc, char **argv)
{
	char ua[96];
	const char *url = NULL, *headers[BOUNDS_HTTP_REQ_HEADERS + 1];
	struct http_config cfg;
	struct http_request rq;
	struct http_response r;
	struct http_client *c = NULL;
	struct fetch f;
	struct errbuf e = {{0}};
	size_t nh = 0;
	uint64_t max_bytes = UINT64_MAX, retries = 0;
	int i, rc = 1, opts_done = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(&f, 0, sizeof(f));
	memset(&r, 0, sizeof(r));
	headers[nh++] = "Accept-Encoding: identity";
	(void)snprintf(ua, sizeof(ua), "agentd/%s (linux)", version_get());
	cfg.user_agent = ua;
	cfg.ca_file = getenv("AGENTD_CA_FILE");
	if (cfg.ca_file != NULL && cfg.ca_file[0] == '\0')
		cfg.ca_file = NULL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (opts_done || a[0] != '-' || a[1] == '\0') {
			if (url != NULL) {
				fprintf(stderr, "agentd: fetch takes one URL\n");
				return 2;
			}
			url = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts_done = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--insecure-skip-verify") == 0) {
			cfg.insecure_skip_verify = 1;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "agentd: option %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			f.out_path = v;
		} else if (strcmp(a, "--cafile") == 0) {
			cfg.ca_file = v;
		} else if (strcmp(a, "--header") == 0 || strcmp(a, "-H") == 0) {
			if (nh >= BOUNDS_HTTP_REQ_HEADERS) {
				fprintf(stderr, "agentd: too many --header options\n");
				return 2;
			}
			headers[nh++] = v;
		} else if (strcmp(a, "--max-bytes") == 0) {
			if (num_parse_u64(v, strlen(v), &max_bytes) != 0) {
				fprintf(stderr, "agentd: --max-bytes: '%s' is not a byte count\n",
					v);
				return 2;
			}
		} else if (strcmp(a, "--resolve") == 0) {
			cfg.connect_arg = (void *)(uintptr_t)v;
		} else if (strcmp(a, "--retry") == 0) {
			if (num_parse_u64(v, strlen(v), &retries) != 0 || retries > 4) {
				fprintf(stderr, "agentd: --retry: '%s' is not 0..4\n", v);
				return 2;
			}
		} else if (strcmp(a, "--connect-timeout") == 0) {
			if (parse_secs(v, &cfg.connect_timeout_ms) != 0) {
				fprintf(stderr, "agentd: --connect-timeout: bad value '%s'\n", v);
				return 2;
			}
		} else if (strcmp(a, "--idle-timeout") == 0) {
			if (parse_secs(v, &cfg.idle_timeout_ms) != 0) {
				fprintf(stderr, "agentd: --idle-timeout: bad value '%s'\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "agentd: unknown fetch option %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (url == NULL) {
		usage(stderr);
		return 2;
	}
	cfg.https_proxy = env_first("https_proxy", "HTTPS_PROXY");
	cfg.http_proxy = env_first("http_proxy", "HTTP_PROXY");
	cfg.no_proxy = env_first("no_proxy", "NO_PROXY");
	c = http_client_new(&cfg, &e);
	if (c == NULL)
		goto out;

	/* the progress bar needs a terminal on stderr, and is not drawn over a
	 * body that goes to the terminal itself (like curl) */
	f.tty = isatty(STDERR_FILENO) && (f.out_path != NULL || !isatty(STDOUT_FILENO));
	f.total = -1;
	f.name = f.out_path != NULL ? f.out_path : url;
	if (begin_out(&f, &e) != 0)
		goto out;
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = url;
	rq.headers = headers;
	rq.nheaders = nh;
	rq.max_body_bytes = max_bytes;
	rq.max_redirects = BOUNDS_HTTP_REDIRECTS;
	rq.attempts = 1 + (int)retries;
	rq.retry_base_ms = 1000;
	rq.retry_max_ms = 8000;
	rq.retry_after_cap_ms = 60000;
	rq.jitter_lo = 0.8;
	rq.jitter_hi = 1.2;
	rq.retry_status = http_retry_status_default;
	rq.on_body = on_body;
	rq.on_headers = on_headers;
	rq.on_restart = on_restart;
	rq.body_arg = &f;
	if (!f.tty)
		fprintf(stderr, "agentd: downloading %s\n", url);
	f.t0 = f.last_draw = now_s();
	if (http_request(c, &rq, &r, &e) != 0)
		goto out;
	if (r.status / 100 != 2) {
		if (r.status == 404)
			err_set(&e, "not found (HTTP 404)");
		else
			err_set(&e, "server answered HTTP %d", r.status);
		goto out;
	}
	if (f.out != NULL) {
		struct fsutil_atomic *o = f.out;
		f.out = NULL;
		if (fsutil_atomic_commit(o, &e) != 0)
			goto out;
	} else if (fflush(stdout) != 0) {
		err_set(&e, "write to stdout failed");
		goto out;
	}
	draw(&f, 1);
	if (!f.tty) {
		double el = now_s() - f.t0;
		fprintf(stderr, "agentd: downloaded %llu bytes in %.3f s (%.1f MiB/s)\n",
			(unsigned long long)f.got, el,
			el > 0 ? (double)f.got / 1048576.0 / el : 0.0);
	}
	rc = 0;
out:
	if (rc != 0) {
		if (f.tty && f.got > 0)
			fputc('\n', stderr);
		fprintf(stderr, "agentd: cannot fetch %s: %s\n", url, e.msg);
	}
	fsutil_atomic_abort(f.out);
	http_response_clear(&r);
	http_client_free(c);
	return rc;
}
