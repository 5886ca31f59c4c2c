#include "engine_zmap.h"

#include "fsutil.h"
#include "json.h"
#include "nic.h"
#include "rate_ctl.h"
#include "rate_jitter.h"
#include "num.h"
#include "ports.h"
#include "runner.h"
#include "scan.h"
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- §13.1 refusals */

int engine_zmap_check(struct scan_ctx *ctx, struct errbuf *e)
{
	uint32_t s, t;
	size_t i;

	if (target_parse_range(ctx->inv->target_range, &s, &t) != 0) {
		err_set(e,
			"target_range not scannable by the zmap engine: %.200s (expected an IPv4 "
			"address, CIDR or a-b range)",
			ctx->inv->target_range);
		return -1;
	}
	if (ctx->env->whitelist != NULL) {
		err_set(e, "SCANNER_WHITELIST_FILE is not supported by the zmap engine (zmap would "
			   "scan its union with target_range)");
		return -1;
	}
	for (i = 0; i < ctx->env->extra.n; i++) {
		if (ctx->env->extra.v[i][0] != '-') {
			err_set(e,
				"SCANNER_EXTRA_ARGS for the zmap engine must use --option=value "
				"words: "
				"'%.200s'",
				ctx->env->extra.v[i]);
			return -1;
		}
	}
	return 0;
}

/* ---- §13.2 chunks */

uint64_t zmap_chunk_size(int64_t rate, double window_seconds, size_t nports)
{
	double v;

	if (nports == 0)
		nports = 1;
	v = floor((double)rate * window_seconds / (double)nports);
	if (!(v >= 1.0))
		return 1;
	if (v >= 18446744073709551615.0)
		return UINT64_MAX;
	return (uint64_t)v;
}

void zmap_chunk_plan(const struct zmap_cursor *c, uint64_t size, uint32_t *s, uint32_t *e)
{
	uint64_t end = c->next + size - 1;

	if (size == 0 || end > c->r1 || end < c->next)
		end = c->r1;
	*s = (uint32_t)c->next;
	*e = (uint32_t)end;
}

double zmap_deadline_offset(double window_seconds, size_t nports, size_t port_index,
			    int64_t cooldown)
{
	return window_seconds + (double)(nports - port_index) * ((double)cooldown + 2.0);
}

/* ---- §13.8 cursor JSON */

static int ports_text(const uint16_t *ports, size_t n, struct scan_buf *b)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (scan_buf_appendf(b, "%s%u", i ? "," : "", (unsigned)ports[i]) != 0)
			return -1;
	return 0;
}

char *zmap_cursor_json(const struct zmap_cursor *c, const uint16_t *ports, size_t nports)
{
	struct json_value *o = json_new_object();
	struct scan_buf pt = {NULL, 0, 0};
	char a[16], range[TARGET_TEXT_MAX];
	char *text = NULL;
	int rc = 0;

	if (ports_text(ports, nports, &pt) != 0)
		goto out;
	if (c->port_index > 0) {
		target_format_ipv4(c->chunk_end, a);
		rc |= json_object_set_string(o, "chunk_end", a);
	} else {
		rc |= json_object_set_null(o, "chunk_end");
	}
	rc |= json_object_set_string(o, "engine", "zmap");
	if (c->next > c->r1) {
		rc |= json_object_set_null(o, "next");
	} else {
		target_format_ipv4((uint32_t)c->next, a);
		rc |= json_object_set_string(o, "next", a);
	}
	rc |= json_object_set_int(o, "port_index", (int64_t)c->port_index);
	rc |= json_object_set_string(o, "ports", pt.data ? pt.data : "");
	target_format_range(c->r0, c->r1, range);
	rc |= json_object_set_string(o, "target_range", range);
	rc |= json_object_set_int(o, "version", 1);
	if (o != NULL && rc == 0)
		text = json_write_alloc(o, JSON_WRITE_CANONICAL, 4096, NULL, NULL);
out:
	scan_buf_free(&pt);
	json_free(o);
	return text;
}

int zmap_cursor_parse(const char *text, size_t len, uint32_t r0, uint32_t r1, const uint16_t *ports,
		      size_t nports, struct zmap_cursor *out)
{
	struct json_value *v = json_parse(text, len, 65536, 0, NULL);
	struct scan_buf pt = {NULL, 0, 0};
	char range[TARGET_TEXT_MAX];
	const char *s;
	size_t sl;
	int64_t i64;
	uint32_t a;
	int rc = -1;

	if (v == NULL || json_type(v) != JSON_OBJECT)
		goto out;
	s = json_get_string(json_object_get(v, "engine"), &sl);
	if (s == NULL || strcmp(s, "zmap") != 0)
		goto out;
	if (json_get_int64(json_object_get(v, "version"), &i64) != 0 || i64 != 1)
		goto out;
	target_format_range(r0, r1, range);
	s = json_get_string(json_object_get(v, "target_range"), &sl);
	if (s == NULL || strcmp(s, range) != 0)
		goto out;
	if (ports_text(ports, nports, &pt) != 0)
		goto out;
	s = json_get_string(json_object_get(v, "ports"), &sl);
	if (s == NULL || strcmp(s, pt.data ? pt.data : "") != 0)
		goto out;
	memset(out, 0, sizeof(*out));
	out->r0 = r0;
	out->r1 = r1;
	if (json_type(json_object_get(v, "next")) == JSON_NULL) {
		out->next = (uint64_t)r1 + 1;
	} else {
		s = json_get_string(json_object_get(v, "next"), &sl);
		if (s == NULL || target_parse_ipv4(s, sl, &a) != 0 || a < r0 || a > r1)
			goto out;
		out->next = a;
	}
	if (json_get_int64(json_object_get(v, "port_index"), &i64) != 0 || i64 < 0 ||
	    (uint64_t)i64 >= nports)
		goto out;
	out->port_index = (size_t)i64;
	if (out->port_index > 0) {
		s = json_get_string(json_object_get(v, "chunk_end"), &sl);
		if (s == NULL || target_parse_ipv4(s, sl, &a) != 0 || a < out->next || a > r1)
			goto out;
		out->chunk_end = a;
	}
	rc = 0;
out:
	scan_buf_free(&pt);
	json_free(v);
	return rc;
}

/* ---- §13.4 argv */

static int push_int(struct scan_argv *a, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)v);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return scan_argv_push(a, buf);
}

static int push2(struct scan_argv *a, const char *flag, const char *value)
{
	if (value == NULL)
		return 0;
	return scan_argv_push(a, flag) | scan_argv_push(a, value);
}

static int push_path(struct scan_argv *a, const char *flag, const char *out, const char *suffix)
{
	struct scan_buf b = {NULL, 0, 0};
	int rc = scan_buf_appendf(&b, "%s%s", out, suffix);
	if (rc == 0)
		rc = push2(a, flag, b.data);
	scan_buf_free(&b);
	return rc;
}

int zmap_command(struct scan_ctx *ctx, unsigned port, int64_t rate, int use_bandwidth,
		 struct scan_argv *argv)
{
	const struct scan_env *env = ctx->env;
	int rc = 0;
	size_t i;

	rc |= scan_argv_push(argv, ctx->scanner);
	rc |= scan_argv_push(argv, "-p");
	rc |= push_int(argv, port);
	if (rate > 0) {
		rc |= scan_argv_push(argv, "-r");
		rc |= push_int(argv, rate > 2147483647 ? 2147483647 : rate);
	} else if (use_bandwidth && env->bandwidth != NULL) {
		rc |= push2(argv, "-B", env->bandwidth);
	}
	rc |= scan_argv_push(argv, "-T");
	rc |= push_int(argv, ctx->inv->sender_threads > 0 ? ctx->inv->sender_threads
							  : env->sender_threads);
	rc |= push2(argv, "-M",
		    strcmp(env->probe_module, "tcp") == 0 ? "tcp_synscan" : env->probe_module);
	rc |= scan_argv_push(argv, "--cooldown-time");
	rc |= push_int(argv, env->cooldown);
	rc |= push_path(argv, "-o", ctx->out, ".zmap-run");
	rc |= push_path(argv, "--status-updates-file", ctx->out, ".zmap-status");
	rc |= push_path(argv, "-w", ctx->out, ".zmap-targets");
	rc |= push2(argv, "-i", env->interface);
	rc |= push2(argv, "-S", env->source_ip);
	rc |= push2(argv, "--gateway-mac", env->gateway_mac);
	rc |= push2(argv, "-b", env->blacklist);
	rc |= push2(argv, "--probe-args", env->probe_args);
	for (i = 0; i < env->extra.n; i++)
		rc |= scan_argv_push(argv, env->extra.v[i]);
	return rc ? -1 : 0;
}

/* ---- §13.5 status CSV */

static const char *const status_names[ZS_NCOLS] = {
	"time-elapsed",      "percent-complete", "active-send-threads", "sent-total",
	"sent-last-one-sec", "sent-avg-per-sec", "recv-success-total",  "recv-success-last-one-sec",
};

void zmap_status_init(struct zmap_status *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < ZS_NCOLS; i++)
		s->col[i] = -1;
}

static void status_header(struct zmap_status *s, const char *line, size_t len)
{
	size_t i = 0;
	int pos = 0, k;

	s->have_header = true;
	while (i <= len) {
		const char *f = line + i;
		const char *comma = memchr(f, ',', len - i);
		size_t fl = comma ? (size_t)(comma - f) : len - i;

		scan_text_trim(&f, &fl);
		if (fl == strlen("sendto-fail-total") && memcmp(f, "sendto-fail-total", fl) == 0)
			break; /* nothing at or after it is read */
		for (k = 0; k < ZS_NCOLS; k++)
			if (s->col[k] < 0 && strlen(status_names[k]) == fl &&
			    memcmp(status_names[k], f, fl) == 0)
				s->col[k] = pos;
		pos++;
		if (comma == NULL)
			break;
		i = (size_t)(comma - line) + 1;
	}
	s->usable = s->col[ZS_SENT_TOTAL] >= 0 && s->col[ZS_SENT_AVG] >= 0;
}

static void status_row(struct zmap_status *s, const char *line, size_t len)
{
	const char *fields[64];
	size_t flen[64], nf = 0, i = 0;
	int64_t row[ZS_NCOLS];
	int k;

	while (nf < 64) {
		const char *f = line + i;
		const char *comma = memchr(f, ',', len - i);
		size_t fl = comma ? (size_t)(comma - f) : len - i;
		fields[nf] = f;
		flen[nf++] = fl;
		if (comma == NULL)
			break;
		i = (size_t)(comma - line) + 1;
	}
	for (k = 0; k < ZS_NCOLS; k++) {
		double d;
		const char *f;
		size_t fl;

		row[k] = 0;
		if (s->col[k] < 0)
			continue;
		if ((size_t)s->col[k] >= nf)
			return; /* fewer fields than a needed column */
		f = fields[s->col[k]];
		fl = flen[s->col[k]];
		scan_text_trim(&f, &fl);
		if (num_parse_double(f, fl, &d) != 0 || !(d >= 0))
			d = 0;
		row[k] = d >= 9.2e18 ? INT64_MAX : (int64_t)d;
	}
	memcpy(s->row, row, sizeof(row));
	s->have_row = true;
	s->rows++;
}

int zmap_status_feed(struct zmap_status *s, const char *p, size_t n)
{
	uint64_t before = s->rows;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\n') {
			size_t len = s->plen;
			if (len > 0 && s->pending[len - 1] == '\r')
				len--;
			if (!s->have_header)
				status_header(s, s->pending, len);
			else if (s->usable && len > 0)
				status_row(s, s->pending, len);
			s->plen = 0;
			continue;
		}
		if (s->plen < sizeof(s->pending))
			s->pending[s->plen++] = c;
	}
	return (int)(s->rows - before);
}

double zmap_send_seconds(const struct zmap_status *s, double wall, int64_t cooldown)
{
	double v;

	if (s->usable && s->have_row) {
		if (s->row[ZS_SENT_TOTAL] == 0)
			return 0;
		if (s->row[ZS_SENT_AVG] > 0)
			return (double)s->row[ZS_SENT_TOTAL] / (double)s->row[ZS_SENT_AVG];
	}
	v = wall - (double)cooldown;
	return v > 0 ? v : 0;
}

/* ---- §13.6 results */

int zmap_results_convert(const char *run, size_t len, unsigned port, struct scan_buf *out)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i, k = i;
		uint32_t ip;
		char a[16];

		while (j < len && run[j] != '\n')
			j++;
		while (k < j && run[k] != ',' && !scan_text_isspace((unsigned char)run[k]))
			k++;
		if (k > i && target_parse_ipv4(run + i, k - i, &ip) == 0) {
			target_format_ipv4(ip, a);
			if (scan_buf_appendf(out, "%s:%u\n", a, port) != 0)
				return -1;
		}
		i = j + 1;
	}
	return 0;
}

/* ---- running zmap */

struct zmap_engine {
	struct scan_ctx *ctx;
	uint16_t ports[65536];
	size_t nports;
	struct zmap_cursor cur;
	char targets[4200], run[4200], status[4200], cursor_path[4200];
	struct scan_progress_file pf;
	struct scan_tail err; /* the last run's stderr */
	/* current run */
	struct zmap_status st;
	int status_fd;
	uint32_t chunk_s, chunk_e;
	size_t ports_done_in_chunk;
	uint64_t sent_sum, recv_sum; /* finished runs of this process */
	double grace;
	/* dynamic mode */
	const char *iface;
	struct rate_jitter jitter;
};

static void warn_once(struct scan_ctx *ctx, unsigned bit, const char *line)
{
	if (ctx->warned & bit)
		return;
	ctx->warned |= bit;
	if (ctx->warn != NULL)
		ctx->warn(ctx->warn_ctx, line);
}

/* §13.10 warnings valid in every mode */
static void zmap_warnings(struct zmap_engine *z, bool dynamic)
{
	struct scan_ctx *ctx = z->ctx;
	const char *io = ctx->env->io_engine;

	if (ctx->env->icmp)
		warn_once(ctx, SCAN_WARN_ZMAP_ICMP,
			  "[anyscan-adapter] SCANNER_ICMP_PRESCAN is not supported by the zmap "
			  "engine; ignored");
	if (dynamic && ctx->env->bandwidth != NULL)
		warn_once(
			ctx, SCAN_WARN_ZMAP_BANDWIDTH,
			"[anyscan-adapter] SCANNER_BANDWIDTH is ignored while the rate controller "
			"sets -r");
	if (io != NULL && !scan_text_eq_nocase(io, strlen(io), "af_packet")) {
		char line[512];
		if (snprintf(line, sizeof(line),
			     "[anyscan-adapter] io engine %.200s is not supported by the zmap "
			     "engine; "
			     "zmap uses its own packet I/O",
			     io) < (int)sizeof(line))
			warn_once(ctx, SCAN_WARN_ZMAP_IO, line);
	}
}

static int write_cursor(struct zmap_engine *z)
{
	char *text = zmap_cursor_json(&z->cur, z->ports, z->nports);
	int rc;

	if (text == NULL)
		return -1;
	rc = fsutil_write_file(z->cursor_path, text, strlen(text), NULL, NULL);
	free(text);
	return rc;
}

/* Create/truncate path with exactly mode (not subject to the umask). */
static int create_mode(const char *path, mode_t mode, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	int rc = 0;

	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) != 0 || (len > 0 && fsutil_write_all(fd, data, len) != 0))
		rc = -1;
	close(fd);
	return rc;
}

static int write_targets(struct zmap_engine *z)
{
	struct target_cidr blocks[TARGET_CIDR_MAX];
	struct scan_buf b = {NULL, 0, 0};
	size_t n = target_cidr_list(z->chunk_s, z->chunk_e, blocks), i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		char c[20];
		target_format_cidr(&blocks[i], c);
		rc = scan_buf_appendf(&b, "%s\n", c);
	}
	if (rc == 0)
		rc = create_mode(z->targets, 0640, b.data, b.len);
	scan_buf_free(&b);
	return rc;
}

static void write_progress(struct zmap_engine *z)
{
	struct scan_progress_snap s;
	uint64_t addrs = (uint64_t)z->cur.r1 - z->cur.r0 + 1, total, done;
	uint64_t sent = z->st.have_row ? (uint64_t)z->st.row[ZS_SENT_TOTAL] : 0;

	if (!z->st.usable || !z->st.have_row)
		return;
	total = addrs * z->nports;
	done = ((uint64_t)z->chunk_s - z->cur.r0) * z->nports +
	       ((uint64_t)z->chunk_e - z->chunk_s + 1) * z->ports_done_in_chunk + sent;
	memset(&s, 0, sizeof(s));
	s.percent = total ? done * 100 / total : 0;
	if (s.percent > 100)
		s.percent = 100;
	s.sent = z->sent_sum + sent;
	s.recv = z->recv_sum + (uint64_t)z->st.row[ZS_RECV_TOTAL];
	s.send_millis = (uint64_t)z->st.row[ZS_SENT_LAST] * 1000;
	s.avg_millis = (uint64_t)z->st.row[ZS_SENT_AVG] * 1000;
	s.recv_millis = (uint64_t)z->st.row[ZS_RECV_LAST] * 1000;
	scan_progress_file_write(&z->pf, &s);
}

static void zmap_on_tick(void *ctx, double now)
{
	struct zmap_engine *z = ctx;
	char buf[4096];
	ssize_t n;
	int rows = 0;

	(void)now;
	if (z->status_fd < 0)
		return;
	while ((n = read(z->status_fd, buf, sizeof(buf))) > 0)
		rows += zmap_status_feed(&z->st, buf, (size_t)n);
	if (rows > 0)
		write_progress(z);
}

static void zmap_on_err(void *ctx, const char *p, size_t n)
{
	struct zmap_engine *z = ctx;
	scan_tail_append(&z->err, p, n);
}

/* Append the run file's results to <out>. */
static int append_results(struct zmap_engine *z, unsigned port)
{
	char *data = NULL;
	size_t len = 0;
	struct scan_buf conv = {NULL, 0, 0};
	int fd, rc = 0;

	if (fsutil_read_file(z->run, SCAN_RESULTS_MAX, 0, &data, &len, NULL) != 0)
		return 0; /* no results file */
	if (zmap_results_convert(data, len, port, &conv) == 0 && conv.len > 0) {
		fd = open(z->ctx->out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || fsutil_write_all(fd, conv.data, conv.len) != 0)
			rc = -1;
		if (fd >= 0)
			close(fd);
	}
	scan_buf_free(&conv);
	free(data);
	return rc;
}

enum run_end { RUN_OK = 0, RUN_FAILED, RUN_INTERRUPTED, RUN_STOPPED };

/* One zmap run for port (§13.3 step 4.1-4.6).  *rc gets the exit code. */
static enum run_end run_port(struct zmap_engine *z, unsigned port, int64_t rate, int use_bw,
			     double deadline, struct runner_cb *cb, int *rc, struct errbuf *e)
{
	struct scan_argv argv = {NULL, 0, 0};
	struct runner_spawn_opts so;
	struct runner_child child;
	enum runner_wait w;
	enum run_end end;
	char *err_text;

	unsigned attempt = 1;
	int64_t carry_sent = 0, carry_recv = 0; /* of aborted runs (counted in) */

again:
	*rc = 0;
	if (runner_stop_count() > 0)
		return RUN_STOPPED;
	scan_tail_free(&z->err);
	zmap_status_init(&z->st);
	if (create_mode(z->run, 0660, NULL, 0) != 0 || create_mode(z->status, 0660, NULL, 0) != 0) {
		err_sys(e, errno, "agentd scan: cannot create the zmap work files for %s",
			z->ctx->out);
		*rc = 1;
		return RUN_FAILED;
	}
	if (zmap_command(z->ctx, port, rate, use_bw, &argv) != 0) {
		err_set(e, "agentd scan: out of memory");
		*rc = 1;
		return RUN_FAILED;
	}
	memset(&so, 0, sizeof(so));
	so.path = z->ctx->scanner;
	so.argv = argv.v;
	so.out = RUNNER_IO_NULL;
	so.err = RUNNER_IO_PIPE;
	so.pdeathsig = SIGKILL;
	if (runner_spawn(&so, &child, e) != 0) {
		scan_argv_free(&argv);
		*rc = 1;
		return RUN_FAILED;
	}
	scan_argv_free(&argv);
	z->status_fd = open(z->status, O_RDONLY | O_CLOEXEC);
	w = runner_wait(&child, deadline, cb);
	if (w == RUNNER_W_STOP) {
		runner_terminate(&child, z->grace, cb, true);
		end = RUN_STOPPED;
	} else if (w == RUNNER_W_TIMEOUT) {
		runner_terminate(&child, z->grace, cb, false);
		end = runner_stop_count() > 0 ? RUN_STOPPED : RUN_INTERRUPTED;
	} else {
		end = RUN_OK;
	}
	runner_drain(&child, 5.0, cb);
	runner_close(&child);
	if (!runner_check(&child))
		runner_kill(&child);
	zmap_on_tick(z, 0);
	if (z->status_fd >= 0)
		close(z->status_fd);
	z->status_fd = -1;
	*rc = runner_exit_code(&child);
	(void)append_results(z, port);
	if (end == RUN_OK && *rc != 0) {
		err_text = scan_tail_text(&z->err, "scanner stderr");
		if (err_text != NULL && strstr(err_text, "no addresses are eligible") != NULL) {
			*rc = 0; /* an ineligible chunk: as exit 0 with sent-total 0 */
			z->st.have_row = false;
		} else if (zmap_abort_retryable(*rc, err_text, attempt, runner_now(), deadline)) {
			char line[256];
			free(err_text);
			if (snprintf(line, sizeof(line),
				     "[anyscan-adapter] zmap aborted on its constraint assertion "
				     "(zmap bug, few targets per sender thread); running port %u "
				     "again (attempt %u of %u)",
				     port, attempt + 1, ZMAP_ABORT_ATTEMPTS) < (int)sizeof(line) &&
			    z->ctx->warn != NULL)
				z->ctx->warn(z->ctx->warn_ctx, line);
			if (z->st.have_row) {
				carry_sent += z->st.row[ZS_SENT_TOTAL];
				carry_recv += z->st.row[ZS_RECV_TOTAL];
			}
			attempt++;
			goto again;
		} else {
			end = RUN_FAILED;
		}
		free(err_text);
	}
	if (z->st.have_row) {
		z->st.row[ZS_SENT_TOTAL] += carry_sent;
		z->st.row[ZS_RECV_TOTAL] += carry_recv;
	}
	return end;
}

bool zmap_abort_retryable(int rc, const char *err_text, unsigned attempt, double now,
			  double deadline)
{
	return rc == -SIGABRT && err_text != NULL &&
	       strstr(err_text, "constraint_lookup_index: Assertion") != NULL &&
	       attempt < ZMAP_ABORT_ATTEMPTS && (deadline < 0 || now < deadline);
}

static int engine_setup(struct zmap_engine *z, struct scan_ctx *ctx, double grace)
{
	struct ports set;
	const char *ck = ctx->inv->checkpoint_path;

	memset(z, 0, sizeof(*z));
	z->ctx = ctx;
	z->grace = grace;
	z->status_fd = -1;
	ports_parse_lenient(ctx->inv->ports, strlen(ctx->inv->ports), &set);
	z->nports = ports_list(&set, z->ports, 65536);
	if (target_parse_range(ctx->inv->target_range, &z->cur.r0, &z->cur.r1) != 0)
		return -1;
	z->cur.next = z->cur.r0;
	if (snprintf(z->targets, sizeof(z->targets), "%s.zmap-targets", ctx->out) >=
		    (int)sizeof(z->targets) ||
	    snprintf(z->run, sizeof(z->run), "%s.zmap-run", ctx->out) >= (int)sizeof(z->run) ||
	    snprintf(z->status, sizeof(z->status), "%s.zmap-status", ctx->out) >=
		    (int)sizeof(z->status) ||
	    snprintf(z->cursor_path, sizeof(z->cursor_path), "%s%s", ck ? ck : ctx->out,
		     ck ? "" : ".checkpoint") >= (int)sizeof(z->cursor_path) ||
	    scan_progress_file_init(&z->pf, ctx->out) != 0)
		return -1;
	return 0;
}

/* §13.8 begin: resume handling, truncate <out> unless resuming, write the
 * cursor file. */
static void engine_begin(struct zmap_engine *z)
{
	struct scan_ctx *ctx = z->ctx;

	if (ctx->inv->resume) {
		char *data = NULL;
		size_t len = 0;
		struct zmap_cursor c;
		if (fsutil_read_file(z->cursor_path, 65536, 0, &data, &len, NULL) == 0) {
			if (zmap_cursor_parse(data, len, z->cur.r0, z->cur.r1, z->ports, z->nports,
					      &c) == 0) {
				z->cur = c;
			} else {
				char line[4400];
				if (snprintf(line, sizeof(line),
					     "[anyscan-adapter] checkpoint %s does not match this "
					     "scan; starting from the beginning",
					     z->cursor_path) < (int)sizeof(line) &&
				    ctx->warn != NULL)
					ctx->warn(ctx->warn_ctx, line);
			}
		} else if (errno != ENOENT) {
			char line[4400];
			if (snprintf(line, sizeof(line),
				     "[anyscan-adapter] checkpoint %s does not match this scan; "
				     "starting from the beginning",
				     z->cursor_path) < (int)sizeof(line) &&
			    ctx->warn != NULL)
				ctx->warn(ctx->warn_ctx, line);
		}
		free(data);
	} else {
		int fd = open(ctx->out, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
	}
	(void)write_cursor(z);
}

static void engine_finish(struct zmap_engine *z, bool completed)
{
	if (completed)
		(void)unlink(z->cursor_path);
	(void)unlink(z->targets);
	(void)unlink(z->run);
	(void)unlink(z->status);
}

static int64_t static_rate(const struct scan_ctx *ctx)
{
	if (ctx->inv->has_rate)
		return ctx->inv->rate_limit;
	if (ctx->env->has_default_rate)
		return ctx->env->default_rate;
	return 500000;
}

int engine_zmap_static_main(struct scan_ctx *ctx, int out_fd, int err_fd)
{
	static struct zmap_engine z;
	struct runner_cb cb;
	struct scan_result res;
	struct errbuf e;
	int64_t rate;
	int rc = 0, status;
	bool completed = false;
	size_t k;

	memset(&res, 0, sizeof(res));
	err_clear(&e);
	(void)scan_emit_engine(ctx, "static", err_fd);
	if (engine_setup(&z, ctx, ctx->env->grace) != 0) {
		const char *m = "agentd scan: cannot set up the zmap engine: path too long\n";
		(void)fsutil_write_all(err_fd, m, strlen(m));
		return 1;
	}
	zmap_warnings(&z, false);
	engine_begin(&z);
	rate = static_rate(ctx);
	memset(&cb, 0, sizeof(cb));
	cb.on_err = zmap_on_err;
	cb.on_tick = zmap_on_tick;
	cb.ctx = &z;
	if (z.cur.next > z.cur.r1) {
		completed = true;
		goto done;
	}
	/* §13.9: the recorded chunk first (resume), then [next, R1] */
	while (!completed) {
		z.chunk_s = (uint32_t)z.cur.next;
		z.chunk_e = z.cur.port_index > 0 ? z.cur.chunk_end : z.cur.r1;
		z.cur.chunk_end = z.chunk_e;
		if (write_targets(&z) != 0) {
			err_sys(&e, errno, "agentd scan: cannot write %s", z.targets);
			rc = 1;
			goto done;
		}
		for (k = z.cur.port_index; k < z.nports; k++) {
			enum run_end end;
			z.ports_done_in_chunk = k;
			end = run_port(&z, z.ports[k], rate > 0 ? rate : 0, rate <= 0, -1, &cb, &rc,
				       &e);
			if (z.st.have_row) {
				z.sent_sum += (uint64_t)z.st.row[ZS_SENT_TOTAL];
				z.recv_sum += (uint64_t)z.st.row[ZS_RECV_TOTAL];
			}
			if (end == RUN_STOPPED) {
				res.stop_signal = runner_stop_signal();
				goto done;
			}
			if (end != RUN_OK) {
				if (rc == 0)
					rc = 1;
				goto done;
			}
			z.cur.port_index = k + 1;
			if (z.cur.port_index == z.nports) {
				z.cur.next = (uint64_t)z.chunk_e + 1;
				z.cur.port_index = 0;
				completed = z.cur.next > z.cur.r1;
			}
			(void)write_cursor(&z);
		}
	}
done:
	engine_finish(&z, completed && rc == 0 && res.stop_signal == 0);
	if (res.stop_signal != 0) {
		scan_tail_free(&z.err);
		return 128 + res.stop_signal;
	}
	if (e.msg[0] != '\0') {
		(void)fsutil_write_all(err_fd, e.msg, strlen(e.msg));
		(void)fsutil_write_all(err_fd, "\n", 1);
	}
	res.rc = rc;
	res.err = z.err;
	memset(&z.err, 0, sizeof(z.err));
	status = scan_postprocess(ctx, &res, ctx->env->shard_mode, out_fd, err_fd);
	scan_result_free(&res);
	return status;
}

/* ---- §13.3 dynamic windows */

struct zmap_engine *engine_zmap_dyn_new(struct scan_ctx *ctx, const char *iface, double grace)
{
	struct zmap_engine *z = malloc(sizeof(*z));

	if (z == NULL)
		return NULL;
	if (engine_setup(z, ctx, grace) != 0 ||
	    rate_jitter_init(&z->jitter, RATE_JITTER_INTERVAL_SECONDS, NULL) != 0) {
		free(z);
		return NULL;
	}
	z->iface = iface;
	zmap_warnings(z, true);
	engine_begin(z);
	return z;
}

void engine_zmap_dyn_finish(struct zmap_engine *z, bool completed, struct scan_tail *err_out)
{
	if (z == NULL)
		return;
	engine_finish(z, completed);
	if (err_out != NULL) {
		*err_out = z->err;
		memset(&z->err, 0, sizeof(z->err));
	}
	scan_tail_free(&z->err);
	free(z);
}

void zmap_window_measure(const struct zmap_window_result *r, struct rate_measurement *m)
{
	if (r->how == ZMAP_WINDOW_DONE || r->how == ZMAP_WINDOW_PARTIAL) {
		m->elapsed_seconds = r->send_seconds;
		m->scanner_exit_code = 0;
		m->scanner_finished_naturally = r->how == ZMAP_WINDOW_DONE && r->complete;
	} else {
		m->elapsed_seconds = r->wall_seconds < 0 ? 0 : r->wall_seconds;
		m->scanner_exit_code = r->code;
		m->scanner_finished_naturally = false;
	}
}

bool zmap_window_continues(bool complete, int64_t chunk_sent, double now, double deadline)
{
	return !complete && chunk_sent == 0 && now < deadline;
}

/* Plan the next chunk at the current rate and write its targets file. */
static int plan_chunk(struct zmap_engine *z, int64_t rate, double window_seconds)
{
	uint32_t s, e;

	zmap_chunk_plan(&z->cur, zmap_chunk_size(rate, window_seconds, z->nports), &s, &e);
	z->chunk_s = s;
	z->chunk_e = e;
	z->cur.chunk_end = e;
	return write_targets(z);
}

enum rate_run_status engine_zmap_run_window(void *engine, int64_t rate, double window_seconds,
					    bool first_window, struct rate_window_out *out)
{
	struct zmap_engine *z = engine;
	struct nic_counters before = {0, 0}, after = {0, 0}, delta;
	struct runner_cb cb;
	double t0, deadline, send_secs = 0, wall_end;
	int64_t window_sent = 0, chunk_sent = 0;
	bool any_row = false, finished = false;
	int code = 0;
	struct zmap_window_result res = {ZMAP_WINDOW_DONE, 0, 0, 0, false};

	(void)first_window;
	/* 1. complete: nothing to spawn */
	if (z->cur.next > z->cur.r1) {
		out->m.set_rate = rate;
		out->m.scanner_finished_naturally = true;
		return RATE_RUN_MEASURED;
	}
	if (runner_stop_count() > 0) {
		out->stop_signal = runner_stop_signal();
		return RATE_RUN_STOP;
	}
	/* 2. a chunk with no port done is (re)planned at the current rate */
	if (z->cur.port_index == 0) {
		if (plan_chunk(z, rate, window_seconds) != 0) {
			err_sys(&out->err, errno, "cannot write %s", z->targets);
			return RATE_RUN_ERROR;
		}
	} else {
		z->chunk_s = (uint32_t)z->cur.next;
		z->chunk_e = z->cur.chunk_end;
		if (write_targets(z) != 0) {
			err_sys(&out->err, errno, "cannot write %s", z->targets);
			return RATE_RUN_ERROR;
		}
	}
	/* 3. */
	if (z->iface != NULL)
		nic_read(NULL, z->iface, &before);
	memset(&cb, 0, sizeof(cb));
	cb.on_err = zmap_on_err;
	cb.on_tick = zmap_on_tick;
	cb.ctx = z;
	cb.jitter = &z->jitter;
	t0 = runner_now();
	rate_jitter_reset(&z->jitter, t0);
	deadline = t0 + zmap_deadline_offset(window_seconds, z->nports, z->cur.port_index,
					     z->ctx->env->cooldown);
	wall_end = t0;
	for (;;) {
		size_t k;
		/* 4. the chunk's remaining ports */
		for (k = z->cur.port_index; k < z->nports; k++) {
			enum run_end end;
			double rs = runner_now();
			int rc = 0;
			struct errbuf e;

			if (runner_now() >= deadline) {
				res.how = ZMAP_WINDOW_PARTIAL;
				break;
			}
			z->ports_done_in_chunk = k;
			err_clear(&e);
			end = run_port(z, z->ports[k], rate, 0, deadline, &cb, &rc, &e);
			wall_end = runner_now();
			if (z->st.have_row) {
				any_row = true;
				window_sent += z->st.row[ZS_SENT_TOTAL];
				chunk_sent += z->st.row[ZS_SENT_TOTAL];
				z->sent_sum += (uint64_t)z->st.row[ZS_SENT_TOTAL];
				z->recv_sum += (uint64_t)z->st.row[ZS_RECV_TOTAL];
			}
			if (end == RUN_STOPPED) {
				out->stop_signal = runner_stop_signal();
				return RATE_RUN_STOP;
			}
			if (end == RUN_INTERRUPTED) {
				res.how = ZMAP_WINDOW_INTERRUPTED;
				code = rc;
				break;
			}
			if (end == RUN_FAILED) {
				res.how = ZMAP_WINDOW_FAILED;
				code = rc != 0 ? rc : 1;
				if (e.msg[0] != '\0')
					scan_tail_append(&z->err, e.msg, strlen(e.msg));
				break;
			}
			send_secs +=
				zmap_send_seconds(&z->st, wall_end - rs, z->ctx->env->cooldown);
			z->cur.port_index = k + 1;
			if (z->cur.port_index < z->nports)
				(void)write_cursor(z);
		}
		if (res.how != ZMAP_WINDOW_DONE || k < z->nports)
			break;
		/* 5. all ports of the chunk done */
		z->cur.next = (uint64_t)z->chunk_e + 1;
		z->cur.port_index = 0;
		(void)write_cursor(z);
		finished = z->cur.next > z->cur.r1;
		if (!zmap_window_continues(finished, chunk_sent, runner_now(), deadline))
			break;
		/* an ineligible chunk does not end the window */
		chunk_sent = 0;
		if (plan_chunk(z, rate, window_seconds) != 0)
			break;
	}
	/* 6. */
	if (z->iface != NULL)
		nic_read(NULL, z->iface, &after);
	nic_delta(&before, &after, &delta);
	/* 7. */
	out->m.set_rate = rate;
	out->m.heartbeat_max_latency_ms = rate_jitter_max_gap_ms(&z->jitter);
	res.send_seconds = send_secs;
	res.wall_seconds = wall_end - t0;
	res.code = code;
	res.complete = finished;
	zmap_window_measure(&res, &out->m);
	nic_apply_measurement(&out->m, &delta, any_row, window_sent);
	return RATE_RUN_MEASURED;
}
