#include "scan.h"

#include "events.h"
#include "fsutil.h"
#include "json.h"
#include "runner.h"
#include "scan_out.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void scan_tail_append(struct scan_tail *t, const char *p, size_t n)
{
	if (n >= SCAN_TAIL_MAX) {
		t->dropped += t->b.len + (n - SCAN_TAIL_MAX);
		t->b.len = 0;
		p += n - SCAN_TAIL_MAX;
		n = SCAN_TAIL_MAX;
	}
	if (scan_buf_append(&t->b, p, n) != 0) {
		t->dropped += n;
		return;
	}
	/* amortised: trim back to the maximum once twice over it */
	if (t->b.len > 2 * (size_t)SCAN_TAIL_MAX) {
		size_t cut = t->b.len - SCAN_TAIL_MAX;
		t->dropped += cut;
		scan_buf_consume(&t->b, cut);
	}
}

char *scan_tail_text(const struct scan_tail *t, const char *what)
{
	struct scan_buf o = {NULL, 0, 0};
	size_t len = t->b.len, cut = 0;
	uint64_t dropped = t->dropped;

	if (len > SCAN_TAIL_MAX) {
		cut = len - SCAN_TAIL_MAX;
		dropped += cut;
	}
	if (dropped > 0)
		(void)scan_buf_appendf(&o, "[... %llu bytes of %s dropped ...]\n",
				       (unsigned long long)dropped, what);
	if (len > cut)
		(void)scan_buf_append(&o, t->b.data + cut, len - cut);
	if (o.data == NULL)
		return strdup("");
	return o.data;
}

void scan_tail_free(struct scan_tail *t)
{
	scan_buf_free(&t->b);
	t->dropped = 0;
}

void scan_result_free(struct scan_result *r)
{
	scan_tail_free(&r->out);
	scan_tail_free(&r->err);
}

int scan_exit_status(int rc)
{
	if (rc < 0)
		return 128 + (-rc);
	return rc > 255 ? 255 : rc;
}

/* ---- progress file */

int scan_progress_file_init(struct scan_progress_file *f, const char *out)
{
	scan_progress_init(&f->p);
	if (snprintf(f->path, sizeof(f->path), "%s.progress", out) >= (int)sizeof(f->path) ||
	    snprintf(f->tmp, sizeof(f->tmp), "%s.progress.tmp", out) >= (int)sizeof(f->tmp))
		return -1;
	return 0;
}

void scan_progress_file_write(struct scan_progress_file *f, const struct scan_progress_snap *s)
{
	char buf[512];
	int fd;

	if (scan_progress_format(s, buf, sizeof(buf)) != 0)
		return;
	fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return;
	if (fsutil_write_all(fd, buf, strlen(buf)) != 0) {
		close(fd);
		(void)unlink(f->tmp);
		return;
	}
	close(fd);
	(void)rename(f->tmp, f->path);
}

void scan_progress_file_feed(struct scan_progress_file *f, const char *p, size_t n)
{
	if (scan_progress_feed(&f->p, p, n) > 0)
		scan_progress_file_write(f, &f->p.last);
}

void scan_progress_file_finish(struct scan_progress_file *f)
{
	if (scan_progress_finish(&f->p) > 0)
		scan_progress_file_write(f, &f->p.last);
}

/* ---- static run (anyscan) */

struct static_io {
	struct scan_result *res;
	struct scan_progress_file *pf;
};

static void static_on_out(void *ctx, const char *p, size_t n)
{
	struct static_io *io = ctx;
	scan_tail_append(&io->res->out, p, n);
}

static void static_on_err(void *ctx, const char *p, size_t n)
{
	struct static_io *io = ctx;
	scan_tail_append(&io->res->err, p, n);
	scan_progress_file_feed(io->pf, p, n);
}

int scan_static_anyscan(struct scan_ctx *ctx, double grace, struct scan_result *res,
			struct errbuf *e)
{
	struct scan_argv argv = {NULL, 0, 0};
	struct runner_spawn_opts so;
	struct runner_child child;
	struct runner_cb cb;
	static struct scan_progress_file pf;
	struct static_io io = {res, &pf};
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (scan_progress_file_init(&pf, ctx->out) != 0) {
		err_set(e, "agentd scan: output path too long");
		return -1;
	}
	if (engine_anyscan_command(ctx, 0, 0, -1, NULL, &argv) != 0) {
		err_set(e, "agentd scan: out of memory");
		goto out;
	}
	memset(&so, 0, sizeof(so));
	so.path = ctx->scanner;
	so.argv = argv.v;
	so.in = RUNNER_IO_NULL;
	so.out = RUNNER_IO_PIPE;
	so.err = RUNNER_IO_PIPE;
	so.pdeathsig = SIGKILL;
	if (runner_stop_count() > 0) {
		res->stop_signal = runner_stop_signal();
		rc = 0;
		goto out;
	}
	if (runner_spawn(&so, &child, e) != 0)
		goto out;
	memset(&cb, 0, sizeof(cb));
	cb.on_out = static_on_out;
	cb.on_err = static_on_err;
	cb.ctx = &io;
	if (runner_wait(&child, -1, &cb) == RUNNER_W_STOP) {
		res->stop_signal = runner_stop_signal();
		runner_terminate(&child, grace, &cb, true);
	}
	runner_drain(&child, 5.0, &cb);
	scan_progress_file_finish(&pf);
	runner_close(&child);
	if (!runner_check(&child)) {
		/* §12.5 "Always": still alive after the sequence */
		runner_kill(&child);
	}
	res->rc = runner_exit_code(&child);
	if (runner_stop_count() > 0 && res->stop_signal == 0)
		res->stop_signal = runner_stop_signal();
	rc = 0;
out:
	scan_argv_free(&argv);
	return rc;
}

/* ---- output */

static int write_all_fd(int fd, const char *p, size_t n)
{
	return fsutil_write_all(fd, p, n);
}

static void print_trimmed(int fd, const char *s, size_t len)
{
	scan_text_trim(&s, &len);
	if (len == 0)
		return;
	(void)write_all_fd(fd, s, len);
	(void)write_all_fd(fd, "\n", 1);
}

int scan_emit_endpoints(const char *raw, size_t len, const char *target_range, const char *ports,
			int out_fd, struct errbuf *e)
{
	struct ports set;
	struct scan_buf out = {NULL, 0, 0};
	int rc = 0;

	ports_parse_lenient(ports, strlen(ports), &set);
	if (scan_out_endpoints(raw, len, target_range, &set, &out) != 0) {
		err_set(e, "agentd scan: cannot write endpoints: out of memory");
		rc = -1;
	} else if (out.len > 0 && write_all_fd(out_fd, out.data, out.len) != 0) {
		err_sys(e, errno, "agentd scan: cannot write endpoints");
		rc = -1;
	}
	scan_buf_free(&out);
	return rc;
}

int scan_postprocess(struct scan_ctx *ctx, const struct scan_result *res, int shard_mode,
		     int out_fd, int err_fd)
{
	char *err_text = scan_tail_text(&res->err, "scanner stderr");
	int status = 0;

	if (res->rc != 0) {
		const char *s = err_text ? err_text : "";
		size_t len = strlen(s);
		scan_text_trim(&s, &len);
		if (len > 0) {
			print_trimmed(err_fd, s, len);
		} else {
			char *out_text = scan_tail_text(&res->out, "scanner stdout");
			const char *o = out_text ? out_text : "";
			size_t ol = strlen(o);
			scan_text_trim(&o, &ol);
			if (ol > 0)
				print_trimmed(err_fd, o, ol);
			else
				print_trimmed(err_fd, "unknown scanner failure", 23);
			free(out_text);
		}
		status = scan_exit_status(res->rc);
	} else {
		if (!shard_mode) {
			char *data = NULL;
			size_t len = 0;
			struct errbuf e;
			const char *raw;
			size_t rawlen;

			err_clear(&e);
			if (fsutil_read_file(ctx->out, SCAN_RESULTS_MAX, 0, &data, &len, &e) == 0) {
				raw = data;
				rawlen = len;
			} else {
				raw = res->out.b.data ? res->out.b.data : "";
				rawlen = res->out.b.len;
			}
			if (scan_emit_endpoints(raw, rawlen, ctx->inv->target_range,
						ctx->inv->ports, out_fd, &e) != 0) {
				(void)write_all_fd(err_fd, e.msg, strlen(e.msg));
				(void)write_all_fd(err_fd, "\n", 1);
				status = 1;
			}
			free(data);
		}
		if (err_text != NULL)
			print_trimmed(err_fd, err_text, strlen(err_text));
	}
	free(err_text);
	return status;
}

static void unlink_suffix(const char *out, const char *suffix)
{
	char p[4200];

	if (snprintf(p, sizeof(p), "%s%s", out, suffix) < (int)sizeof(p))
		(void)unlink(p);
}

void scan_cleanup_files(const char *out, int keep_out)
{
	unlink_suffix(out, ".checkpoint");
	unlink_suffix(out, ".progress");
	unlink_suffix(out, ".progress.tmp");
	unlink_suffix(out, ".zmap-targets");
	unlink_suffix(out, ".zmap-run");
	unlink_suffix(out, ".zmap-status");
	if (!keep_out)
		(void)unlink(out);
}

int scan_emit_engine(const struct scan_ctx *ctx, const char *mode, int err_fd)
{
	struct json_value *o = json_new_object();
	struct events_sink s;
	int rc = 0;

	rc |= json_object_set_string(o, "engine", engine_name(ctx->engine));
	if (ctx->engine == SCAN_ENGINE_ANYSCAN)
		rc |= json_object_set_string(o, "io_engine",
					     engine_io_engine((struct scan_ctx *)ctx));
	else
		rc |= json_object_set_null(o, "io_engine");
	rc |= json_object_set_string(o, "mode", mode);
	rc |= json_object_set_string(o, "scanner", ctx->scanner);
	events_sink_fd(&s, err_fd);
	if (o == NULL || rc != 0 || events_metric(&s, "scan_engine", o, NULL) != 0)
		rc = -1;
	json_free(o);
	return rc;
}
