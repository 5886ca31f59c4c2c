/*
 * fake_imds: a small IMDSv2 server for tests (rate-controller.md §10.5), and a
 * canned-response HTTP server for the HTTP client's tests.  Not shipped.
 *
 *   fake_imds --port-file F [--log F] [--type T] [--optional] [--bind ADDR]
 *             [--fault NAME [--fault-count N]]
 *   fake_imds --port-file F [--log F] --raw FILE [--raw-stall]
 *
 * Binds ADDR (default 127.0.0.1) on an ephemeral port and writes the port to
 * F.  Each request is logged as one JSON line: {"headers": {...}, "method":
 * ..., "path": ..., "violation": ...}.  Repeated slashes in the path are
 * collapsed before routing.  Token PUT: the TTL header must be 1..21600 (else
 * 400); X-Forwarded-For is a violation (403).  GET: a missing, unknown or
 * expired token is 401 unless --optional (then a GET without a token is 200).
 * Faults (applied to the first N matching requests with --fault-count, else
 * to all): put400 put403 put404 put405 put500 put-timeout get401once
 * get401always big-body crlf-token slow-body redirect.
 * --raw answers every request with FILE's bytes verbatim and closes (with
 * --raw-stall: sends them and never closes).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "num.h"

enum { REQ_MAX = 16384, MAX_TOKENS = 256, MAX_HUNG = 256 };

static const char *log_path, *itype = "c6in.xlarge", *fault = "", *raw_path;
static int optional, raw_stall, fault_left = -1, get401_done;
static char *raw_buf;
static size_t raw_len;
static int hung[MAX_HUNG], nhung;
static unsigned port;

static struct {
	char tok[40];
	double expires;
} tokens[MAX_TOKENS];
static int ntok;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *m)
{
	fprintf(stderr, "fake_imds: %s: %s\n", m, strerror(errno));
	exit(1);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return;
		}
		p += r;
		n -= (size_t)r;
	}
}

static void json_str(FILE *f, const char *s, size_t n)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

struct req {
	char method[16];
	char path[2048];     /* as routed: repeated slashes collapsed */
	char raw_path[2048]; /* as received (logged) */
	int nh;
	char *name[64], *value[64];
};

static const char *hdr(const struct req *r, const char *name)
{
	int i;

	for (i = 0; i < r->nh; i++)
		if (strcasecmp(r->name[i], name) == 0)
			return r->value[i];
	return NULL;
}

static void log_req(const struct req *r, const char *violation)
{
	FILE *f;
	int i;

	if (log_path == NULL)
		return;
	f = fopen(log_path, "a");
	if (f == NULL)
		die("open log");
	fputs("{\"headers\": {", f);
	for (i = 0; i < r->nh; i++) {
		if (i > 0)
			fputs(", ", f);
		json_str(f, r->name[i], strlen(r->name[i]));
		fputs(": ", f);
		json_str(f, r->value[i], strlen(r->value[i]));
	}
	fputs("}, \"method\": ", f);
	json_str(f, r->method, strlen(r->method));
	fputs(", \"path\": ", f);
	json_str(f, r->raw_path, strlen(r->raw_path));
	if (violation != NULL) {
		fputs(", \"violation\": ", f);
		json_str(f, violation, strlen(violation));
	}
	fputs("}\n", f);
	fclose(f);
}

static void respond(int fd, int status, const char *reason, const char *extra, const char *body,
		    size_t blen)
{
	char h[1024];
	int n = snprintf(h, sizeof(h),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s"
			 "Connection: close\r\nServer: fake_imds\r\n\r\n",
			 status, reason, blen, extra != NULL ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(h))
		return;
	write_all(fd, h, (size_t)n);
	write_all(fd, body, blen);
}

static int fault_is(const char *name)
{
	if (strcmp(fault, name) != 0 || fault_left == 0)
		return 0;
	if (fault_left > 0)
		fault_left--;
	return 1;
}

static void hang(int fd)
{
	if (nhung < MAX_HUNG)
		hung[nhung++] = fd;
	else
		close(fd);
}

/* Returns 1 when fd was kept open (hung). */
static int handle(int fd, struct req *r)
{
	const char *ttl_s, *tok;
	int64_t ttl;
	int i;

	if (raw_path != NULL) {
		log_req(r, NULL);
		write_all(fd, raw_buf, raw_len);
		if (raw_stall) {
			hang(fd);
			return 1;
		}
		return 0;
	}
	if (strcmp(r->method, "PUT") == 0 && strcmp(r->path, "/latest/api/token") == 0) {
		if (hdr(r, "X-Forwarded-For") != NULL) {
			log_req(r, "x-forwarded-for on token PUT");
			respond(fd, 403, "Forbidden", NULL, "", 0);
			return 0;
		}
		log_req(r, NULL);
		static const struct {
			const char *f;
			int st;
			const char *reason;
		} pf[] = {{"put400", 400, "Bad Request"},
			  {"put403", 403, "Forbidden"},
			  {"put404", 404, "Not Found"},
			  {"put405", 405, "Method Not Allowed"},
			  {"put500", 500, "Internal Error"}};
		for (i = 0; i < 5; i++)
			if (fault_is(pf[i].f)) {
				respond(fd, pf[i].st, pf[i].reason, NULL, "", 0);
				return 0;
			}
		if (fault_is("put-timeout")) {
			hang(fd);
			return 1;
		}
		ttl_s = hdr(r, "X-aws-ec2-metadata-token-ttl-seconds");
		if (ttl_s == NULL || num_parse_i64(ttl_s, strlen(ttl_s), &ttl) != 0 || ttl < 1 ||
		    ttl > 21600) {
			respond(fd, 400, "Bad Request", NULL, "", 0);
			return 0;
		}
		if (fault_is("crlf-token")) {
			respond(fd, 200, "OK", NULL, "AQAE\r\nX-Injected: 1", 19);
			return 0;
		}
		{
			unsigned char rnd[32];
			char extra[96];
			int k = ntok % MAX_TOKENS;
			if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
				die("getrandom");
			for (i = 0; i < 32; i++)
				tokens[k].tok[i] =
					"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789-_=+"[rnd[i] % 66];
			tokens[k].tok[32] = '\0';
			tokens[k].expires = mono() + (double)ttl;
			ntok++;
			if (snprintf(extra, sizeof(extra),
				     "X-aws-ec2-metadata-token-ttl-seconds: %lld\r\n",
				     (long long)ttl) >= (int)sizeof(extra))
				die("snprintf");
			respond(fd, 200, "OK", extra, tokens[k].tok, 32);
		}
		return 0;
	}
	log_req(r, hdr(r, "X-Forwarded-For") != NULL ? "x-forwarded-for" : NULL);
	if (strcmp(r->method, "GET") != 0) {
		respond(fd, 405, "Method Not Allowed", NULL, "", 0);
		return 0;
	}
	tok = hdr(r, "X-aws-ec2-metadata-token");
	if (tok != NULL || !optional) {
		int valid = 0;
		for (i = 0; tok != NULL && i < ntok && i < MAX_TOKENS; i++)
			if (strcmp(tokens[i].tok, tok) == 0 && tokens[i].expires > mono())
				valid = 1;
		if (!valid) {
			respond(fd, 401, "Unauthorized", NULL, "", 0);
			return 0;
		}
	}
	if (strcmp(r->path, "/latest/meta-data/instance-type") != 0) {
		respond(fd, 404, "Not Found", NULL, "", 0);
		return 0;
	}
	if (fault_is("get401always") || (strcmp(fault, "get401once") == 0 && !get401_done)) {
		get401_done = 1;
		respond(fd, 401, "Unauthorized", NULL, "", 0);
		return 0;
	}
	if (fault_is("big-body")) {
		static char big[5000];
		memset(big, 'a', sizeof(big));
		respond(fd, 200, "OK", NULL, big, sizeof(big));
		return 0;
	}
	if (fault_is("redirect")) {
		char extra[128];
		if (snprintf(extra, sizeof(extra), "Location: http://127.0.0.1:%u/elsewhere\r\n",
			     port) >= (int)sizeof(extra))
			die("snprintf");
		respond(fd, 302, "Found", extra, "", 0);
		return 0;
	}
	if (fault_is("slow-body")) {
		static const char h[] = "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nc6in.";
		write_all(fd, h, sizeof(h) - 1);
		hang(fd);
		return 1;
	}
	respond(fd, 200, "OK", NULL, itype, strlen(itype));
	return 0;
}

/* Read one request head (and a PUT's small body) with a 5 s limit. */
static int read_req(int fd, char *buf, struct req *r)
{
	size_t len = 0;
	char *end = NULL, *p, *line;
	double deadline = mono() + 5;

	while (end == NULL) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;
		int left = (int)((deadline - mono()) * 1000);
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		n = recv(fd, buf + len, REQ_MAX - 1 - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end == NULL && len >= REQ_MAX - 1)
			return -1;
	}
	*end = '\0';
	memset(r, 0, sizeof(*r));
	line = buf;
	p = strstr(line, "\r\n");
	if (p != NULL)
		*p = '\0';
	{
		char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		size_t i, o = 0;
		if (sp1 == NULL || sp2 == NULL || (size_t)(sp1 - line) >= sizeof(r->method))
			return -1;
		memcpy(r->method, line, (size_t)(sp1 - line));
		if ((size_t)(sp2 - sp1 - 1) >= sizeof(r->raw_path))
			return -1;
		memcpy(r->raw_path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
		/* path as routed: repeated slashes collapsed */
		for (i = 1; sp1 + i < sp2 && o + 1 < sizeof(r->path); i++) {
			char c = sp1[i];
			if (c == '/' && o > 0 && r->path[o - 1] == '/')
				continue;
			r->path[o++] = c;
		}
		r->path[o] = '\0';
	}
	while (p != NULL && r->nh < 64) {
		char *colon;
		line = p + 2;
		p = strstr(line, "\r\n");
		if (p != NULL)
			*p = '\0';
		colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		r->name[r->nh] = line;
		r->value[r->nh] = colon;
		r->nh++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *bind_addr = "127.0.0.1";
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int ls, i, one = 1;
	static char buf[REQ_MAX];

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--optional") == 0) {
			optional = 1;
			continue;
		}
		if (strcmp(a, "--raw-stall") == 0) {
			raw_stall = 1;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "fake_imds: bad arguments\n");
			return 2;
		}
		i++;
		if (strcmp(a, "--port-file") == 0)
			port_file = v;
		else if (strcmp(a, "--log") == 0)
			log_path = v;
		else if (strcmp(a, "--type") == 0)
			itype = v;
		else if (strcmp(a, "--fault") == 0)
			fault = v;
		else if (strcmp(a, "--fault-count") == 0) {
			int64_t n;
			if (num_parse_i64(v, strlen(v), &n) != 0 || n < 0 || n > 1000)
				return 2;
			fault_left = (int)n;
		} else if (strcmp(a, "--bind") == 0)
			bind_addr = v;
		else if (strcmp(a, "--raw") == 0)
			raw_path = v;
		else {
			fprintf(stderr, "fake_imds: unknown option %s\n", a);
			return 2;
		}
	}
	if (port_file == NULL) {
		fprintf(stderr, "fake_imds: --port-file is required\n");
		return 2;
	}
	if (raw_path != NULL) {
		FILE *f = fopen(raw_path, "rb");
		if (f == NULL)
			die("open raw file");
		raw_buf = malloc(1 << 20);
		if (raw_buf == NULL)
			die("malloc");
		raw_len = fread(raw_buf, 1, 1 << 20, f);
		fclose(f);
	}
	signal(SIGPIPE, SIG_IGN);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "fake_imds: bad --bind address\n");
		return 2;
	}
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 64) != 0)
		die("bind");
	if (getsockname(ls, (struct sockaddr *)&sa, &sl) != 0)
		die("getsockname");
	port = ntohs(sa.sin_port);
	{
		char tmp[4096];
		FILE *f;
		if (snprintf(tmp, sizeof(tmp), "%s.tmp", port_file) >= (int)sizeof(tmp))
			die("port file name too long");
		f = fopen(tmp, "w");
		if (f == NULL)
			die("open port file");
		fprintf(f, "%u\n", port);
		fclose(f);
		if (rename(tmp, port_file) != 0)
			die("rename port file");
	}
	for (;;) {
		struct req r;
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		if (read_req(fd, buf, &r) == 0 && handle(fd, &r))
			continue;
		shutdown(fd, SHUT_WR);
		close(fd);
	}
}
